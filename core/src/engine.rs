//! The contract between the harness and an engine: a [`Source`] of events, a [`Sink`] for
//! rows, [`RunOptions`], and the [`RunSummary`] every run returns. Both engines and the
//! oracle implement [`Engine`], so the harness can swap them by name.
//!
//! Only what every engine can mean is here: parallelism (`workers`) and checkpoints. Each
//! engine's own knobs (the micro-batch trigger, the record engine's watermark interval, ...)
//! live in that engine's crate, in its `Config`, and the engine is built from it; an engine
//! declares which of the options here it supports, and [`Engine::run`] refuses the others,
//! once, before the engine does anything.

use crate::model::duration::DurationMs;
use crate::model::event::{Event, Part};
use crate::query::Plan;
use crate::semantics::row::OutRow;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::{Arc, Mutex};

/// What a [`Source`] had.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Poll {
    /// Events were appended to the buffer.
    Ready,
    /// Nothing right now; more may come.
    Pending,
    /// The input has ended; nothing more will come.
    End,
    /// The run was asked to stop (SIGINT, SIGTERM) before its input ended: nothing more
    /// will come, but the input is not over. An engine keeps the rows that are already
    /// final (it does not close open windows as at the end of input) and, with
    /// checkpoints, takes a last one to resume from (Flink's stop-with-savepoint).
    Stopped,
}

/// Where events come from. The harness owns reading and decoding; engines only pull.
pub trait Source: Send {
    /// Appends up to `max` events that are available now to `buf`. May block briefly
    /// (about a millisecond at most) waiting for data before answering `Pending`.
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError>;

    /// How many partitions the source reads (events carry their index in
    /// [`Event::part`]). Each partition holds the watermark back until it has delivered
    /// events, as every Kafka partition does in Flink and Spark; 1 for a file.
    fn partitions(&self) -> Part {
        1
    }

    /// Where the source stands after the events with `seq < next_seq`, in its own terms
    /// (a file: the line and its byte offset; Kafka: the next offset of every partition),
    /// for a checkpoint. `None` for a source that a restart reads again from its start and
    /// skips by `seq` (events in memory, a generator).
    fn position(&self, _next_seq: u64) -> Option<SourcePosition> {
        None
    }

    /// Before the first poll, after a restart: go on from a checkpoint's `position`, so
    /// that the first event delivered is the one with `seq == next_seq`.
    fn seek(&mut self, _position: &SourcePosition, _next_seq: u64) -> Result<(), EngineError> {
        Err(EngineError::Source(
            "the checkpoint names a source position, but this input cannot seek: resume with the input the checkpoint was written for".into(),
        ))
    }
}

/// A source's position as a checkpoint keeps it: opaque to engines, JSON the source
/// defines, so that a person reading the checkpoint sees the offsets (as in Spark's
/// offset log). Kept as text, not as a parsed tree: a position can carry the decoder's
/// dictionary of a million keys, and is cloned and stored at every checkpoint.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SourcePosition(String);

impl SourcePosition {
    /// `value` as JSON.
    pub fn encode<T: serde::Serialize>(value: &T) -> Result<SourcePosition, serde_json::Error> {
        serde_json::to_string(value).map(SourcePosition)
    }

    /// A position from JSON text (as the checkpoint store gives it back).
    pub fn from_json(text: String) -> SourcePosition {
        SourcePosition(text)
    }

    /// The position as the source's own type.
    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.0)
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Shows the start of the text only: a dictionary can make it megabytes long.
impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 120;
        match self.0.char_indices().nth(SHOWN) {
            Some((i, _)) => write!(f, "{}...", &self.0[..i]),
            None => f.write_str(&self.0),
        }
    }
}

impl fmt::Debug for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourcePosition({self})")
    }
}

/// Where rows go. Called from the engine's thread that owns the sink.
///
/// Exactly-once output with checkpoints is a two-phase commit between the engine's
/// checkpoint and a transactional sink: rows of epoch `e` are emitted, the sink
/// [`prepares`](Sink::prepare) them (durable, not yet visible), the engine writes the
/// checkpoint naming `e`, then the sink [`commits`](Sink::commit) `e`. After a crash the
/// engine restores its last checkpoint and calls [`recover`](Sink::recover) with the epoch
/// it names: a prepared epoch up to it is committed, anything later discarded and
/// produced again by the replay. Plain sinks keep the no-op defaults (at-least-once).
pub trait Sink: Send {
    /// Takes rows of one emission (or part of one), in emission order.
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError>;
    /// Called once after the last row.
    fn finish(&mut self) -> Result<(), EngineError> {
        Ok(())
    }
    /// Whether the sink takes part in checkpoints (prepare/commit/recover do something).
    fn transactional(&self) -> bool {
        false
    }
    /// Phase 1: rows emitted since the last prepare become durable as epoch `epoch`.
    fn prepare(&mut self, _epoch: u64) -> Result<(), EngineError> {
        Ok(())
    }
    /// Phase 2: epoch `epoch` becomes visible (after the checkpoint naming it is durable).
    fn commit(&mut self, _epoch: u64) -> Result<(), EngineError> {
        Ok(())
    }
    /// After a restart from the checkpoint naming `epoch` (None: no checkpoint): commit a
    /// prepared epoch up to it, discard everything after it.
    fn recover(&mut self, _epoch: Option<u64>) -> Result<(), EngineError> {
        Ok(())
    }
}

/// An in-memory source over pre-decoded events (tests, benchmarks).
pub struct VecSource {
    events: std::vec::IntoIter<Event>,
    partitions: Part,
}

impl VecSource {
    /// Serves `events` in order, then ends.
    pub fn new(events: Vec<Event>) -> VecSource {
        VecSource::with_partitions(events, 1)
    }

    /// Serves `events`, which come from `partitions` source partitions (their
    /// [`Event::part`]), in order, then ends.
    pub fn with_partitions(events: Vec<Event>, partitions: Part) -> VecSource {
        VecSource {
            events: events.into_iter(),
            partitions,
        }
    }
}

impl Source for VecSource {
    fn partitions(&self) -> Part {
        self.partitions
    }

    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        buf.extend(self.events.by_ref().take(max));
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }
}

/// A sink that keeps every row in memory; clone the handle to read them after the run.
#[derive(Clone, Default)]
pub struct CollectSink {
    rows: Arc<Mutex<Vec<OutRow>>>,
}

impl CollectSink {
    /// Every row emitted so far.
    pub fn rows(&self) -> Vec<OutRow> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Sink for CollectSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(rows);
        Ok(())
    }
}

/// A run option an engine may or may not support; unsupported ones given by the user are
/// rejected, never ignored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFlag {
    /// `--workers N`
    Workers,
    /// `--checkpoint DIR`
    Checkpoint,
}

impl RunFlag {
    /// The command-line spelling.
    pub fn flag(self) -> &'static str {
        match self {
            RunFlag::Workers => "--workers",
            RunFlag::Checkpoint => "--checkpoint",
        }
    }
}

/// Options of one run that every engine can mean; `None` means "the engine's default".
/// An engine's own knobs are in its crate's `Config`, which the engine is built from.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Parallel workers.
    pub workers: Option<usize>,
    /// Checkpointing, when asked for.
    pub checkpoint: Option<CheckpointOptions>,
}

/// Where and how often an engine checkpoints (issue 5's `--checkpoint DIR` family).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointOptions {
    /// Directory of checkpoint files (a second run with the same one resumes).
    pub dir: std::path::PathBuf,
    /// Take a checkpoint every this many input events (engines that count events).
    pub every_events: Option<u64>,
    /// Take a checkpoint every this much processing time.
    pub interval: Option<DurationMs>,
    /// Checkpoints kept.
    pub retain: usize,
    /// Fall back to the previous good checkpoint when the newest is corrupt (else fail).
    pub fall_back_on_corrupt: bool,
    /// Write checkpoints on the engine's thread, stopping the stream for the whole write
    /// (`--checkpoint-write sync`); else on a background thread, the stream stopping
    /// only to capture the state (asynchronous snapshots, the default).
    pub sync_writes: bool,
    /// Incremental checkpoints (`--incremental`): `Some(K)`, a full checkpoint after
    /// every K increments (`--full-every K`); `None`, every checkpoint is full.
    pub full_every: Option<u32>,
}

impl RunOptions {
    /// Workers (or partitions) when `--workers` is not given: one, as in Flink's and
    /// Spark's local defaults for a lab run; the same for every engine.
    pub const DEFAULT_WORKERS: usize = 1;

    /// Workers per core a run may ask for, and the least limit on any machine.
    pub const WORKERS_PER_CORE: usize = 4;
    /// See [`Self::WORKERS_PER_CORE`].
    pub const MIN_WORKERS_LIMIT: usize = 64;

    /// The most workers a run may ask for on a machine of `cores` cores: every worker is
    /// a thread with its own state and buffers, so `--workers 1000` took 3.4 GB on 2000
    /// events and a count near `usize::MAX` panicked allocating them, while more workers
    /// than a few per core only compete for the cores.
    pub fn max_workers(cores: usize) -> usize {
        cores
            .saturating_mul(Self::WORKERS_PER_CORE)
            .max(Self::MIN_WORKERS_LIMIT)
    }

    /// The workers to run with: the user's number (at least one) or the default.
    pub fn workers_or_default(&self) -> usize {
        self.workers.unwrap_or(Self::DEFAULT_WORKERS).max(1)
    }

    /// The flags the user set.
    pub fn given(&self) -> Vec<RunFlag> {
        let mut v = Vec::new();
        if self.workers.is_some() {
            v.push(RunFlag::Workers);
        }
        if self.checkpoint.is_some() {
            v.push(RunFlag::Checkpoint);
        }
        v
    }
}

/// What a run did. The harness adds `malformed` (decoding is the harness's job).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// Engine name.
    pub engine: String,
    /// Valid events read (malformed lines excluded).
    pub events_in: u64,
    /// Lines skipped as malformed.
    pub malformed: u64,
    /// Events with at least one assignment dropped as late.
    pub late_dropped: u64,
    /// Events removed by the query's filters.
    pub filtered: u64,
    /// Rows emitted (all emissions).
    pub rows_out: u64,
    /// Wall time of the run in ms.
    pub elapsed_ms: f64,
    /// events_in / elapsed seconds.
    pub throughput_eps: f64,
    /// Workers used.
    pub workers: usize,
    /// Emission points (batches for micro-batch, emissions for the others).
    pub emissions: u64,
    /// Free-form remarks the user should see (e.g. how end of input was handled). Always
    /// serialized: checkpoints encode summaries with bincode, which has no optional fields.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl RunSummary {
    /// Fills elapsed time and throughput from a measured duration.
    pub fn timed(mut self, elapsed: std::time::Duration) -> RunSummary {
        self.elapsed_ms = elapsed.as_secs_f64() * 1e3;
        self.throughput_eps = if elapsed.as_secs_f64() > 0.0 {
            self.events_in as f64 / elapsed.as_secs_f64()
        } else {
            0.0
        };
        self
    }
}

/// Where a resumed run's input resumes, for its message: `input from offset N`, or for
/// the checkpoint of a finished run (whose offset is the marker `u64::MAX`, no line
/// number) that nothing is left to read.
pub fn resume_point(next_seq: u64) -> String {
    if next_seq == u64::MAX {
        "the input was already read to its end".to_owned()
    } else {
        format!("input from offset {next_seq}")
    }
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The user asked for something this engine does not do.
    #[error("engine `{engine}` does not support {flag}")]
    Unsupported {
        /// Engine name.
        engine: String,
        /// The flag, e.g. `--workers`.
        flag: String,
    },
    /// The source failed (bad input under `--strict`, I/O).
    #[error("source: {0}")]
    Source(String),
    /// The sink failed.
    #[error("sink: {0}")]
    Sink(String),
    /// The engine itself failed.
    #[error("{0}")]
    Internal(String),
    /// A run option beyond what a run may use: the message names the flag and the limit.
    #[error("{0}")]
    OverLimit(String),
}

/// An execution model that can answer a [`Plan`].
///
/// An engine implements [`execute`](Engine::execute); callers call [`run`](Engine::run),
/// which checks the options against [`supported_flags`](Engine::supported_flags) first, so
/// no engine checks them itself. A caller that must refuse before it opens its input calls
/// [`check`](trait.Engine.html#method.check) and runs the [`CheckedRun`] it returns.
pub trait Engine: Send + Sync {
    /// Registry name (`record`, `microbatch`, `oracle`, ...).
    fn name(&self) -> &'static str;

    /// The options of [`RunOptions`] this engine understands; [`Engine::run`] refuses the
    /// others before executing.
    fn supported_flags(&self) -> &'static [RunFlag] {
        &[]
    }

    /// This process's place, `(process, processes)`, when the engine runs as one of
    /// several processes of which process 0 reads the input and writes the output (a
    /// timely cluster); `None` for an engine in one process.
    fn cluster_process(&self) -> Option<(usize, usize)> {
        None
    }

    /// Whether the engine runs a plan's later stages (`[[stage]]`, see
    /// [`crate::ops::stages`]); [`Engine::run`] refuses such plans on the others.
    fn runs_stages(&self) -> bool {
        false
    }

    /// Runs the job's plan over its source until it ends, emitting into its sink. The
    /// options are ones the engine supports ([`Engine::run`] has checked them): the
    /// engine's own work only.
    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError>;

    /// Refuses options this engine does not support, naming the flag, then
    /// [`executes`](Engine::execute) the plan over the source into the sink.
    fn run(
        &self,
        plan: &Plan,
        options: &RunOptions,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
    ) -> Result<RunSummary, EngineError> {
        refusal(
            self.name(),
            self.supported_flags(),
            self.runs_stages(),
            plan,
            options,
        )?;
        self.execute(Job {
            plan,
            options,
            source,
            sink,
        })
    }
}

/// What one run of an engine is given: the plan, the options, where events come from and
/// where rows go. One value, so that every engine's [`Engine::execute`] has the same
/// short signature and the contract can grow without touching each engine.
pub struct Job<'a> {
    /// The compiled query.
    pub plan: &'a Plan,
    /// Options the engine supports (already checked).
    pub options: &'a RunOptions,
    /// The input.
    pub source: Box<dyn Source>,
    /// The output.
    pub sink: Box<dyn Sink>,
}

impl<'e> dyn Engine + 'e {
    /// The check [`Engine::run`] makes, on its own: for a caller that refuses a run before
    /// it opens the input and the output (the `streamlab run` command). The run it returns
    /// executes without checking again.
    pub fn check<'a>(
        &'a self,
        plan: &'a Plan,
        options: &'a RunOptions,
    ) -> Result<CheckedRun<'a>, EngineError> {
        refusal(
            self.name(),
            self.supported_flags(),
            self.runs_stages(),
            plan,
            options,
        )?;
        Ok(CheckedRun {
            engine: self,
            plan,
            options,
        })
    }
}

/// A run whose options its engine supports ([`check`](trait.Engine.html#method.check)
/// said so): what is left is executing it.
pub struct CheckedRun<'a> {
    engine: &'a dyn Engine,
    plan: &'a Plan,
    options: &'a RunOptions,
}

impl<'a> CheckedRun<'a> {
    /// The engine that runs.
    pub fn engine(&self) -> &'a dyn Engine {
        self.engine
    }

    /// The plan it runs.
    pub fn plan(&self) -> &'a Plan {
        self.plan
    }

    /// The options it runs with.
    pub fn options(&self) -> &'a RunOptions {
        self.options
    }

    /// [`Engine::execute`] over the source into the sink.
    pub fn run(
        self,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
    ) -> Result<RunSummary, EngineError> {
        self.engine.execute(Job {
            plan: self.plan,
            options: self.options,
            source,
            sink,
        })
    }
}

/// Why engine `engine`, which supports `supported`, cannot run `plan` with `options`: the
/// first option given that it does not support, named by its flag; or a checkpoint of a
/// query without windows. Checkpoints are not there yet for projections (a row is final
/// when its event arrives, so exactly-once output needs only the input offset with the
/// committed rows; no engine has that path yet): a run asking for one is refused rather
/// than left without it.
fn refusal(
    engine: &str,
    supported: &[RunFlag],
    runs_stages: bool,
    plan: &Plan,
    options: &RunOptions,
) -> Result<(), EngineError> {
    if let Some(flag) = options.given().into_iter().find(|f| !supported.contains(f)) {
        return Err(EngineError::Unsupported {
            engine: engine.into(),
            flag: flag.flag().into(),
        });
    }
    if let Some(workers) = options.workers {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let limit = RunOptions::max_workers(cores);
        if workers > limit {
            return Err(EngineError::OverLimit(format!(
                "--workers {workers} is more than the limit of {limit} workers ({} per core on \
                 this machine's {cores} cores, at least {}): each worker is a thread with its own state",
                RunOptions::WORKERS_PER_CORE,
                RunOptions::MIN_WORKERS_LIMIT,
            )));
        }
    }
    if plan.stages.is_some() && !runs_stages {
        return Err(EngineError::Unsupported {
            engine: engine.into(),
            flag: "a query with [[stage]]s (the record and micro-batch engines and the oracle run them)".into(),
        });
    }
    if plan.stages.is_some() && options.checkpoint.is_some() {
        return Err(EngineError::Unsupported {
            engine: engine.into(),
            flag: "--checkpoint with a query with [[stage]]s (the stages' state is not checkpointed yet)".into(),
        });
    }
    if plan.projection.is_some() && options.checkpoint.is_some() {
        return Err(EngineError::Unsupported {
            engine: engine.into(),
            flag: "--checkpoint with a query without [window] (one row per event)".into(),
        });
    }
    Ok(())
}

/// Wall-clock time in ms since the Unix epoch: the clock of processing-time windows.
pub fn processing_time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Nothing;
    impl Engine for Nothing {
        fn name(&self) -> &'static str {
            "nothing"
        }
        fn supported_flags(&self) -> &'static [RunFlag] {
            &[RunFlag::Workers]
        }
        fn execute(&self, _: Job<'_>) -> Result<RunSummary, EngineError> {
            Ok(RunSummary {
                engine: "executed".into(),
                ..Default::default()
            })
        }
    }

    fn run(options: &RunOptions) -> Result<RunSummary, EngineError> {
        let plan = Plan::from_toml(
            "event_time = \"ts\"\n[window]\nkind = \"tumbling\"\nsize = 10\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n",
        )
        .expect("a valid plan");
        Nothing.run(
            &plan,
            options,
            Box::new(VecSource::new(Vec::new())),
            Box::new(CollectSink::default()),
        )
    }

    #[test]
    fn unsupported_flags_are_rejected_by_name() {
        let ok = RunOptions {
            workers: Some(2),
            ..Default::default()
        };
        assert_eq!(run(&ok).expect("supported").engine, "executed");
        let bad = RunOptions {
            checkpoint: Some(CheckpointOptions {
                dir: "ck".into(),
                every_events: None,
                interval: None,
                retain: 3,
                fall_back_on_corrupt: true,
                sync_writes: false,
                full_every: None,
            }),
            ..Default::default()
        };
        let err = run(&bad).expect_err("refused before executing").to_string();
        assert_eq!(err, "engine `nothing` does not support --checkpoint");
    }

    /// `--workers 18446744073709551615` panicked (capacity overflow) and 1000 workers took
    /// 3.4 GB: a count beyond the limit is refused before anything runs, naming the flag
    /// and the limit.
    #[test]
    fn workers_beyond_the_limit_are_refused_with_the_limit() {
        assert_eq!(RunOptions::max_workers(2), 64);
        assert_eq!(RunOptions::max_workers(32), 128);
        assert_eq!(RunOptions::max_workers(usize::MAX), usize::MAX);
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let limit = RunOptions::max_workers(cores);
        let workers = |n: usize| RunOptions {
            workers: Some(n),
            ..Default::default()
        };
        assert_eq!(
            run(&workers(limit)).expect("at the limit").engine,
            "executed"
        );
        for n in [limit + 1, usize::MAX] {
            let err = run(&workers(n)).expect_err("over the limit").to_string();
            assert_eq!(
                err,
                format!(
                    "--workers {n} is more than the limit of {limit} workers (4 per core on this \
                     machine's {cores} cores, at least 64): each worker is a thread with its own state"
                )
            );
        }
    }
}
