//! Record engine: per-record dataflow on timely, the Flink execution model.
//!
//! Every event flows through a timely dataflow as soon as it arrives: the workers of
//! process 0 read the one source in turns, each stamping the chunk it takes with the
//! watermark one reader of the whole input would have given each record, and send it,
//! exchanged by group key, to the window operator of the worker that owns the key, which
//! applies it to that key's windows in the input's order. The watermark is timely's
//! progress: a window closes when the frontier has passed its end, and its rows leave the
//! dataflow right then. Update-mode rows leave with the record that changed them.
//!
//! ```text
//!  source ─ turns ─► reader (every worker ──Exchange(key)──► window (every worker) ──Exchange──► sink (process 0)
//!  (one, locked)      of process 0)                           arrival order, keyed state,        the harness's Sink
//!  stamp = (watermark, epoch, sub)  control (broadcast) ────► lateness, close at the frontier
//! ```
//!
//! # Layout
//! In reading order:
//! - [`config`]: the engine's own knobs ([`Config`]: `--watermark-interval`,
//!   `--complete-interval`, timely's cluster) and their defaults, resolved with a run's
//!   options into the dataflow's settings.
//! - [`stamp`]: the timely timestamp, `(watermark, epoch, sub)` packed in an `i128`.
//! - [`operators::source`]: the one logical source behind a lock: a turn takes the next
//!   chunk, filters it, stamps it with the watermark generated every
//!   `--watermark-interval` records, starts epochs, bounds the records in flight.
//! - [`operators::reader`]: one reader per worker of process 0, taking turns at the
//!   source and sending its chunks at their stamps.
//! - [`operators::window`]: the keyed window operator; closes windows at the frontier.
//! - [`operators::arrival_order`]: with several readers, holds each window operator's
//!   records until the frontier passes them and hands them on in the input's order.
//! - [`operators::project`]: a query without windows: one row per record, no state.
//! - [`operators::join`]: a regular join: records keyed by the join key, each paired at
//!   once with the other input's records kept under it.
//! - [`state`]: one worker's window state, applied per record: core's fixed windows and
//!   session sets, with a heap of session ends.
//! - [`operators::sink`]: rows to the harness's sink in process 0; the counts.
//! - [`checkpoint`]: epoch-aligned snapshots, two-phase commit with the sink, restore.
//! - [`dataflow`]: building the dataflow on each worker, `timely::execute` on threads or a
//!   cluster, the run summary.
//!
//! Window assignment, the watermark and lateness rules and the aggregates come from
//! `streamlab-core`; this crate only decides *when* they are applied.
//!
//! # Semantics (semantics.md, per-record)
//! - A record is late for a window whose end is at or before the watermark its source had
//!   emitted before it (its stamp). With `--watermark-interval 1` that watermark is the
//!   largest event time of the earlier records minus the delay: Flink's rule record for
//!   record, the same answer as the baseline on any input.
//! - One logical source (a Flink job's source with one split, read by every worker in
//!   turn): a record's stamp is the watermark one reader of the whole input would have
//!   given it, and each window operator applies records in the input's order, so the
//!   answer (rows, their values and emission points, late drops) does not depend on
//!   `--workers` or on the number of processes.
//! - Emission points: update, every record that changes a row (`emit` = the record's
//!   arrival `seq`); append, the window close; complete, every `--complete-interval` of
//!   processing time (a new epoch) and at the end of the input.
//! - State is evicted when a window closes (append, update); complete mode keeps it all
//!   and drops nothing, as Spark does.
//! - `--checkpoint DIR`: consistent snapshots at epoch boundaries while the stream flows,
//!   exactly-once output through the transactional sink, resume on any worker count
//!   ([`checkpoint`]). Output-heavy runs also pay the transactional file sink's second
//!   copy and fsyncs. What a checkpoint costs, and every row exactly once through 100
//!   SIGKILLs: `streamlab experiment recovery`, in `results/2026-12-01-vm-recovery` (and
//!   `results/2026-12-01-vm-recovery-1m-keys` for a million keys of state).
//!
//! # Design decisions
//! - **Plain timely operators with hash-map state**, not differential arrangements: the
//!   issue measured arrangements slower and larger for windowed aggregation, and they
//!   evict nothing by watermark. For the regular join too, differential's incremental
//!   join was measured and not taken: `cargo bench -p streamlab-experiments --bench
//!   regular_join` runs a timely hash-map join beside differential's `join_map`; the
//!   hash map was the faster, at about the same memory.
//! - **The watermark in the timestamp.** Records travel at their source's watermark, so
//!   timely's progress tracking tells every operator what Flink's in-band watermarks
//!   would, and an input that ends closes every window (the frontier empties).
//! - **Flow control by probe**: the source keeps at most [`operators::source::MAX_IN_FLIGHT`]
//!   records ahead of the window operators, so a slow run queues in the harness's source
//!   (counted as latency by the replay driver), not in timely's channels.
//! - **Idle flush**: when a poll finds the source drained, the source closes the current
//!   stamp, which pushes partly filled exchange buffers out at once (latency), and moves
//!   the watermark up to the records sent so far (as Flink's periodic emitter does).
//! - **Default watermark interval** [`DEFAULT_WATERMARK_INTERVAL`] records: see its doc
//!   for the trade-off behind it.
//! - **Chunks sent whole**: when no watermark step falls inside a source chunk it goes
//!   into the dataflow as one container (no record-by-record copy into the input).
//!
//! # What it measures
//! `cargo bench -p streamlab-experiments --bench record_engine` runs W1 over pre-decoded
//! events on 1 and 2 workers beside the baseline engine and a hand-written loop, and with
//! a per-record watermark on a stream where every record moves it. `streamlab bench`
//! (own process, replay driver) put it at about the baseline's throughput on W1 on 1 and
//! 2 workers, and measured W1's per-event latency in update mode:
//! `results/2026-12-01-vm-bench-w1`, `results/2026-12-01-vm-bench-w1-2workers`,
//! `results/2026-12-01-vm-bench-w1-update-200k`.
//!
//! **Two workers**: every worker of process 0 reads the one source in turns (one chunk
//! each, in input order) and exchanges what it read by key, so reading is no longer one
//! worker's critical path. `streamlab experiment scaling` measured each engine's 2/1
//! worker ratio in one run: record 1.52x (1.50-1.75), `results/2026-12-07-vm-scaling`;
//! `cargo bench -p streamlab-experiments --bench record_workers` times the same
//! interleaved. Before, with worker 0 reading alone, two workers were no faster than one.
//!
//! **A cluster** forms through [`cluster_net`]: a handshake (and an optional shared
//! secret) before timely's networking takes the connections, so a stray connection
//! cannot crash a process or join its cluster.

#![forbid(missing_docs)]

pub mod checkpoint;
pub mod cluster_net;
pub mod config;
pub mod dataflow;
pub mod operators;
pub mod stamp;
pub mod state;

pub use config::{
    Cluster, ClusterArgs, Config, DEFAULT_COMPLETE_INTERVAL, DEFAULT_WATERMARK_INTERVAL,
};

use streamlab_core::engine::{Engine, EngineError, Job, RunFlag, RunOptions, RunSummary};

/// The record engine (`--engine record`), built from its [`Config`].
#[derive(Clone, Debug, Default)]
pub struct RecordEngine {
    config: Config,
}

impl RecordEngine {
    /// The engine with the knobs of `config`.
    pub fn new(config: Config) -> Self {
        RecordEngine { config }
    }

    /// The settings a run with `options` uses, after defaults.
    pub fn settings(&self, options: &RunOptions) -> dataflow::Settings {
        self.config.settings(options)
    }
}

impl Engine for RecordEngine {
    fn name(&self) -> &'static str {
        "record"
    }

    fn supported_flags(&self) -> &'static [RunFlag] {
        &[RunFlag::Workers, RunFlag::Checkpoint]
    }

    fn cluster_process(&self) -> Option<(usize, usize)> {
        self.config
            .cluster
            .cluster()
            .map(|c| (c.process, c.processes))
    }

    fn runs_stages(&self) -> bool {
        true
    }

    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        dataflow::run(&self.settings(job.options), job.plan, job.source, job.sink)
    }
}

#[cfg(test)]
mod tests;
