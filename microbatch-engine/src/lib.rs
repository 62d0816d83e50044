//! Micro-batch engine: the Spark Structured Streaming execution model.
//!
//! A driver wakes on a trigger, fixes the offset range of the next batch, runs the batch
//! as a whole over hash partitions on worker threads, merges it into the state store,
//! emits by output mode and advances the watermark, which moves only between batches.
//! It answers exactly as semantics.md's micro-batch rule says Spark 4.x does, batch for
//! batch: batch k drops assignments to windows closed by batch k-1 (`end <= W_(k-1)`)
//! and closes windows with `end <= W_k`, where `W_k` comes from batches 0..k-1.
//!
//! # Layout
//! In reading order:
//! - [`config`]: the engine's own knobs ([`Config`]: `--trigger`, `--max-records-per-batch`)
//!   and their defaults, resolved with a run's options into the driver's settings.
//! - [`driver`]: the driver loop (trigger → plan → run → emit → advance) and the two
//!   watermarks of each batch; end of input; the run summary. It runs batches on
//!   [`driver::Partitions`]: the thread pool, or a timely cluster.
//! - [`trigger`]: when batches fire ([`Trigger`]: `Interval`, `Once`, `AvailableNow`),
//!   Spark's rules.
//! - [`planner`]: batch planning: how much of the source one batch takes.
//! - [`pool`]: batch execution across `--workers` partitions on threads.
//! - [`cluster`]: batch execution across processes (`--processes/--process/--hostfile`):
//!   timely's cluster mode, one epoch per batch, the same partitions and driver.
//! - [`exec`]: what one partition does with one batch (filter, lateness, assignment,
//!   aggregation, closing).
//! - [`projection`]: a query without windows: one row per event, per batch.
//! - [`regular_join`]: a regular join's pairs, per partition and batch.
//! - [`stages`]: a multi-stage query's later stages, stage by stage inside each batch,
//!   a state store per stage and partition.
//! - [`state_store`]: per-partition keyed state: rows that carry the batch that changed
//!   them, sessions by key (fixed windows are core's `FixedWindows`, kept in [`exec`]).
//! - [`output`]: which rows a batch emits in each output mode, with `emit` = batch id.
//! - [`batch_log`]: the per-batch log (id, offsets, rows, duration, watermarks).
//! - [`checkpoint`]: a checkpoint after a batch (state stores, watermarks, offset),
//!   two-phase commit with the sink, restore.
//! - [`dstream`]: the second front end, Spark Streaming's DStream API (`map`, `filter`,
//!   `flat_map`, `reduce_by_key`, `window` over batch time, `union`, `foreach_batch`) on
//!   the same trigger clock and batch planner.
//!
//! Window assignment, the watermark and lateness rules and the aggregates all come from
//! `streamlab-core`; this crate only decides *when* they are applied.
//!
//! # Design decisions
//! Measured with the criterion groups of `cargo bench -p streamlab-experiments --bench
//! microbatch_engine` (named below) on a shared 2-core machine; what `streamlab bench` and
//! the experiments measured is in the results folders (`results/`, see its README).
//! - **Threads, not timely.** Each batch is a bulk-synchronous step: every partition
//!   reads the whole batch (shared, not copied), keeps the keys that hash to it and
//!   folds them into its own state store; the driver joins them before emitting. Plain
//!   scoped threads with channels do this with one wake-up per worker per batch. The
//!   same [`exec::Partition`] code driven by timely with one epoch per batch (worker 0
//!   reads the batch from the one source, an `Exchange` by key moves events to their
//!   owner, the partition runs when the frontier passes the epoch), group
//!   `microbatch_substrate_w1_2_workers`, was slower at large batches and on par at small
//!   ones, and much slower on a loaded machine, where timely's workers poll instead of
//!   sleeping. The exchange copies every event and progress tracking costs per epoch;
//!   plain threads share the batch instead. Fed by one worker per share instead of one
//!   source, timely got faster: the serial copy out of the single source is what limits
//!   both (see the report on `VecSource`).
//! - **Timely across processes.** Threads cannot span processes; there
//!   (`--processes/--process/--hostfile`) the batch goes through timely's cluster mode,
//!   one epoch per batch, the same driver and [`exec::Partition`] code ([`cluster`]).
//!   One process, even with a host file, keeps the thread pool.
//! - **Fold straight into the store**, no per-batch partial table: the partitions own
//!   their keys, so there is no shuffle for a map-side combine to shrink, and the partial
//!   table costs a second hash lookup per group, which measured slower at every batch
//!   size (group `microbatch_fold_strategy`).
//! - **Partition 0 on the driver thread** ([`pool::Placement::DriverRunsOne`]): with
//!   `--workers 2`, two busy threads on two cores; running every partition on helpers
//!   while the driver plans the next batch measured equal or slower (3 threads, 2 cores).
//! - **Plan ahead**: after a full batch the driver reads the next one from the source
//!   while the helpers work (the copy out of the source is serial).
//! - **Per-batch overhead** in microseconds (group `microbatch_batch_overhead`): waiting
//!   threads poll with `yield_now` for up to 200 µs before sleeping ([`pool`]); sleeping
//!   on a futex made the hand-off several times slower.
//! - **Batch bound by default: 100 000 events when batches run back to back**
//!   ([`DEFAULT_MAX_RECORDS_PER_BATCH`]; `Interval(0)` and `AvailableNow`), **none with a
//!   processing-time interval** (everything that arrived since the last trigger, as
//!   Spark does without `maxOffsetsPerTrigger`). Back to back, nothing else bounds a batch:
//!   100 000 events keep a batch at a few ms of work and its buffer at a few MB while the
//!   per-batch overhead (µs) stays under 1 %. With an interval the interval bounds the
//!   batch, and a count bound would silently cap the sustainable rate at bound/interval.
//! - **One worker by default**, like the baseline; `--workers N` sets partitions.
//! - **Default trigger `Interval(0)`**: the next batch starts as soon as the previous one
//!   ends, Spark's default.
//! - **Checkpoints after a batch** ([`checkpoint`]): between batches the partitions are
//!   idle, so their state stores and the driver's watermarks are a consistent cut with no
//!   barrier; one checkpoint file serves as Spark's offset and commit logs. What a
//!   checkpoint costs and that every row survives 100 SIGKILLs exactly once: `streamlab
//!   experiment recovery`, in `results/2026-12-01-vm-recovery` (and
//!   `results/2026-12-01-vm-recovery-1m-keys` for a million keys of state).

pub mod batch_log;
pub mod checkpoint;
pub mod cluster;
pub mod config;
pub mod driver;
pub mod dstream;
pub mod exchange;
pub mod exec;
pub mod output;
pub mod planner;
pub mod pool;
pub mod projection;
pub mod regular_join;
pub mod stages;
pub mod state_store;
pub mod trigger;

pub use batch_log::{BatchInfo, BatchKind, BatchLog};
pub use config::{Config, DEFAULT_MAX_RECORDS_PER_BATCH};
pub use trigger::Trigger;

use streamlab_core::engine::{Engine, EngineError, Job, RunFlag, RunOptions, RunSummary};
pub use streamlab_record_engine::Cluster;

/// Where partitions run unless [`MicrobatchEngine::with_placement`] says otherwise.
pub const DEFAULT_PLACEMENT: pool::Placement = pool::Placement::DriverRunsOne;

/// The micro-batch engine (`--engine microbatch`), built from its [`Config`].
#[derive(Clone, Debug, Default)]
pub struct MicrobatchEngine {
    config: Config,
    cluster: Option<Cluster>,
    log: Option<BatchLog>,
    placement: Option<pool::Placement>,
    split: pool::Split,
}

impl MicrobatchEngine {
    /// The engine with the knobs of `config`.
    pub fn new(config: Config) -> Self {
        MicrobatchEngine {
            config,
            ..Default::default()
        }
    }

    /// The same engine as process `cluster.process` of a timely cluster ([`cluster`];
    /// `None`, or one process: the thread pool). `streamlab run` builds it from
    /// `--processes/--process/--hostfile`, the flags the record engine declares
    /// ([`streamlab_record_engine::ClusterArgs`]), so both engines take the same ones.
    pub fn with_cluster(self, cluster: Option<Cluster>) -> Self {
        MicrobatchEngine { cluster, ..self }
    }

    /// The same engine, also recording every batch of its runs into `log`.
    pub fn with_batch_log(self, log: BatchLog) -> Self {
        MicrobatchEngine {
            log: Some(log),
            ..self
        }
    }

    /// The same engine with its partitions placed as `placement` says (for measuring
    /// the choice; the default is [`DEFAULT_PLACEMENT`]).
    pub fn with_placement(self, placement: pool::Placement) -> Self {
        MicrobatchEngine {
            placement: Some(placement),
            ..self
        }
    }

    /// The same engine with batches shared out among partitions as `split` says (for
    /// measuring the exchange, and as the tests' reference; the default is
    /// [`pool::Split::Exchange`]).
    pub fn with_split(self, split: pool::Split) -> Self {
        MicrobatchEngine { split, ..self }
    }

    /// The settings a run with `options` uses, after defaults.
    pub fn settings(&self, options: &RunOptions) -> driver::Settings {
        driver::Settings {
            split: self.split,
            ..self
                .config
                .settings(options, self.placement.unwrap_or(DEFAULT_PLACEMENT))
        }
    }
}

impl Engine for MicrobatchEngine {
    fn name(&self) -> &'static str {
        "microbatch"
    }

    fn supported_flags(&self) -> &'static [RunFlag] {
        &[RunFlag::Workers, RunFlag::Checkpoint]
    }

    fn cluster_process(&self) -> Option<(usize, usize)> {
        self.cluster.as_ref().map(|c| (c.process, c.processes))
    }

    fn runs_stages(&self) -> bool {
        true
    }

    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        let settings = self.settings(job.options);
        match &self.cluster {
            // One process (with or without a host file): the thread pool.
            Some(c) if c.processes > 1 => cluster::run(
                &settings,
                c,
                job.plan,
                job.source,
                job.sink,
                self.log.as_ref(),
            ),
            _ => driver::run(settings, job.plan, job.source, job.sink, self.log.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests;
