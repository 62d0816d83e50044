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
//! - [`driver`]: the driver loop (trigger → plan → run → emit → advance) and the two
//!   watermarks of each batch; end of input; the run summary.
//! - [`trigger`]: when batches fire (`Interval`, `Once`, `AvailableNow`), Spark's rules.
//! - [`planner`]: batch planning: how much of the source one batch takes.
//! - [`pool`]: batch execution across `--workers` partitions on threads.
//! - [`exec`]: what one partition does with one batch (filter, lateness, assignment,
//!   aggregation, closing).
//! - [`projection`]: a query without windows: one row per event, per batch; a regular
//!   join's pairs, per partition and batch.
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
//! Numbers from `cargo bench -p harness --bench microbatch_engine` on the shared 2-core
//! machine (noisy: other builds were running; compare within a group).
//! - **Threads, not timely.** Each batch is a bulk-synchronous step: every partition
//!   reads the whole batch (shared, not copied), keeps the keys that hash to it and
//!   folds them into its own state store; the driver joins them before emitting. Plain
//!   scoped threads with channels do this with one wake-up per worker per batch. The
//!   same [`exec::Partition`] code driven by timely with one epoch per batch (worker 0
//!   reads the batch from the one source, an `Exchange` by key moves events to their
//!   owner, the partition runs when the frontier passes the epoch), group
//!   `microbatch_substrate_w1_2_workers`: at 100k-event batches threads 20.9M ev/s vs
//!   timely 14.9M (load ~1.6); at 1k-event batches 14.3M vs 15.0M, on par, because
//!   timely's workers poll instead of sleeping. On a loaded box (load 2-3, other builds)
//!   the polling hurt timely badly: 12.9M vs 6.8M at 100k, 13.7M vs 1.0M at 1k. The
//!   exchange copies every event and progress tracking costs per epoch; plain threads
//!   share the batch instead. (The issue reports differential's arrangements 3-10×
//!   slower still for this job.) Fed by one worker per share instead of one source,
//!   timely reached 25M at 100k: the serial copy out of the single source is what
//!   limits both (see the report on `VecSource`).
//! - **Fold straight into the store**, no per-batch partial table: the partitions own
//!   their keys, so there is no shuffle for a map-side combine to shrink, and the partial
//!   table costs a second hash lookup per group: 63M ev/s against 82M at 100k-event
//!   batches, 18.5M against 82M at 1k (group `microbatch_fold_strategy`).
//! - **Partition 0 on the driver thread** ([`pool::Placement::DriverRunsOne`]): with
//!   `--workers 2`, two busy threads on two cores; running every partition on helpers
//!   while the driver plans the next batch measured equal or slower (3 threads, 2 cores).
//! - **Plan ahead**: after a full batch the driver reads the next one from the source
//!   while the helpers work (the copy out of the source was 14 % of samples, serial).
//! - **Per-batch overhead**: an empty batch through the pool costs about 0.07 µs on 1
//!   worker and 1.7 µs on 2 (group `microbatch_batch_overhead`, load ~3); a whole run of
//!   one-event batches costs 5 µs per batch on 2 workers. Waiting threads poll with
//!   `yield_now` for up to 200 µs before sleeping ([`pool`]); sleeping on a futex made
//!   the hand-off 10-40 µs.
//! - **Batch bound by default: 100 000 events when batches run back to back**
//!   ([`DEFAULT_MAX_RECORDS_PER_BATCH`]; `Interval(0)` and `AvailableNow`), **none with a
//!   processing-time interval** (everything that arrived since the last trigger, as
//!   Spark does without `maxOffsetsPerTrigger`). Back to back, nothing else bounds a batch:
//!   100 000 events keep a batch at a few ms of work and its buffer at a few MB while the
//!   per-batch overhead (µs) stays under 1 %. With an interval the interval bounds the
//!   batch, and a count bound would silently cap the sustainable rate at bound/interval
//!   (measured: 100 000 per 100 ms held a 1M ev/s replay at 200 ms p50 latency, growing).
//! - **One worker by default**, like the baseline; `--workers N` sets partitions.
//! - **Default trigger `Interval(0)`**: the next batch starts as soon as the previous one
//!   ends, Spark's default.
//! - **Checkpoints after a batch** ([`checkpoint`]): between batches the partitions are
//!   idle, so their state stores and the driver's watermarks are a consistent cut with no
//!   barrier; one checkpoint file serves as Spark's offset and commit logs. W1, 10M events
//!   (the record engine's docs give the commands), `streamlab run` on 1 worker, 3 runs:
//!   45M events/s without, 39-42M with a checkpoint every 100 ms (0.7-1.5 MB each, 5-7 ms per checkpoint including the partitions' snapshot).
//!   `streamlab experiment recovery` (results/2026-12-01-vm-recovery): 100 SIGKILLs, 0 rows
//!   lost, duplicated or wrong.

pub mod batch_log;
pub mod checkpoint;
pub mod driver;
pub mod dstream;
pub mod exec;
pub mod output;
pub mod planner;
pub mod pool;
pub mod projection;
pub mod state_store;
pub mod trigger;

pub use batch_log::{BatchInfo, BatchKind, BatchLog};

use streamlab_core::engine::{
    Engine, EngineError, RunFlag, RunOptions, RunSummary, Sink, Source, Trigger,
};
use streamlab_core::Plan;

/// Events per batch when `--max-records-per-batch` is not given and batches run back to
/// back (`Interval(0)`, `AvailableNow`); with a processing-time interval the default is
/// no bound.
pub const DEFAULT_MAX_RECORDS_PER_BATCH: usize = 100_000;

/// Where partitions run unless [`MicrobatchEngine::with_placement`] says otherwise.
pub const DEFAULT_PLACEMENT: pool::Placement = pool::Placement::DriverRunsOne;

/// Partitions when `--workers` is not given.
pub const DEFAULT_WORKERS: usize = 1;

/// The micro-batch engine (`--engine microbatch`).
#[derive(Clone, Debug, Default)]
pub struct MicrobatchEngine {
    log: Option<BatchLog>,
    placement: Option<pool::Placement>,
}

impl MicrobatchEngine {
    /// An engine that also records every batch of its runs into `log`.
    pub fn with_batch_log(log: BatchLog) -> Self {
        MicrobatchEngine {
            log: Some(log),
            ..Default::default()
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

    /// The settings a run uses, after defaults.
    pub fn config(&self, options: &RunOptions) -> driver::Config {
        let trigger = options
            .trigger
            .unwrap_or(Trigger::Interval(Default::default()));
        let default_bound = match trigger {
            Trigger::Interval(d) if d.ms() > 0 => usize::MAX,
            _ => DEFAULT_MAX_RECORDS_PER_BATCH,
        };
        driver::Config {
            placement: self.placement.unwrap_or(DEFAULT_PLACEMENT),
            workers: options.workers.unwrap_or(DEFAULT_WORKERS).max(1),
            max_records_per_batch: options
                .max_records_per_batch
                .unwrap_or(default_bound)
                .max(1),
            trigger,
            checkpoint: options.checkpoint.clone(),
        }
    }
}

impl Engine for MicrobatchEngine {
    fn name(&self) -> &'static str {
        "microbatch"
    }

    fn supported_flags(&self) -> &'static [RunFlag] {
        &[
            RunFlag::Workers,
            RunFlag::MaxRecordsPerBatch,
            RunFlag::Trigger,
            RunFlag::Checkpoint,
        ]
    }

    fn run(
        &self,
        plan: &Plan,
        options: &RunOptions,
        source: Box<dyn Source>,
        sink: Box<dyn Sink>,
    ) -> Result<RunSummary, EngineError> {
        self.check_options(options)?;
        streamlab_core::engine::refuse_checkpoints(plan, options, self.name())?;
        driver::run(self.config(options), plan, source, sink, self.log.as_ref())
    }
}

#[cfg(test)]
mod tests;
