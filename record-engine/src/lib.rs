//! Record engine: per-record dataflow on timely, the Flink execution model.
//!
//! Every event flows through a timely dataflow as soon as it arrives: the source stamps it
//! with the current watermark and sends it, exchanged by group key, to the window operator
//! of the worker that owns the key, which applies it to that key's windows at once. The
//! watermark is timely's progress: a window closes when the frontier has passed its end,
//! and its rows leave the dataflow right then. Update-mode rows leave with the record that
//! changed them.
//!
//! ```text
//!  source (worker 0) ──Exchange(key)──► window (every worker) ──Exchange──► sink (process 0)
//!  stamp = (watermark, epoch, sub)      keyed state, lateness,              the harness's Sink
//!  control (broadcast) ───────────────► close at the frontier
//! ```
//!
//! # Layout
//! In reading order:
//! - [`stamp`]: the timely timestamp, `(watermark, epoch, sub)` packed in an `i128`.
//! - [`operators::source`]: worker 0 reads the harness's source, filters, generates the
//!   watermark every `--watermark-interval` records, bounds the records in flight.
//! - [`operators::window`]: the keyed window operator; closes windows at the frontier.
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
//! - One source instance reads the one input (a Flink job with a non-parallel source), so
//!   the answer does not depend on `--workers` or on the number of processes; the frontier
//!   every window operator sees is the minimum over the source instances, here one.
//! - Emission points: update, every record that changes a row (`emit` = the record's
//!   arrival `seq`); append, the window close; complete, every `--complete-interval` of
//!   processing time (a new epoch) and at the end of the input.
//! - State is evicted when a window closes (append, update); complete mode keeps it all
//!   and drops nothing, as Spark does.
//! - `--checkpoint DIR`: consistent snapshots at epoch boundaries while the stream flows,
//!   exactly-once output through the transactional sink, resume on any worker count
//!   ([`checkpoint`]). W1, 10M events, 105k rows (`streamlab gen --workload clicks
//!   --events 10000000 --seed 7 --rate 100000 --disorder 0.05 --max-delay 3s`, then
//!   `streamlab run --engine record ... --checkpoint DIR --checkpoint-interval 100ms`, 3
//!   runs): 31-35M events/s without, 28-33M with (0.5 MB each, slowest write 1.1 ms). Output-heavy runs pay the
//!   transactional file sink's second copy and fsyncs: 563 MB of rows, 1.3 s → 5.2 s.
//!
//! # Design decisions
//! - **Plain timely operators with hash-map state**, not differential arrangements: the
//!   issue measured arrangements 3-10× slower and 4-25× larger for windowed aggregation,
//!   and they evict nothing by watermark. For the regular join too, differential's
//!   incremental join was measured and not taken: `cargo bench -p harness --bench
//!   regular_join`, 1.1M events, 8.5M events/s for a timely hash-map join against 1.2M
//!   for differential's `join_map` on 1 worker (2.7× apart on 2), at about the same memory.
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
//!   for the measurement behind it.
//! - **Chunks sent whole**: when no watermark step falls inside a source chunk it goes
//!   into the dataflow as one container (no record-by-record copy into the input).
//!
//! # What it measures (2-core machine, `cargo bench -p harness --bench record_engine`)
//! W1 over 4M pre-decoded events: 1 worker 39.5M events/s, 2 workers 39.9M, the baseline
//! engine 41.4M, the hand-written loop 109M over a slice and 80M fed through the source
//! interface. With a per-record watermark on a stream where every record moves it: 2.9M
//! (1 worker) and 1.7M (2 workers). `streamlab bench` (own process, replay driver) in
//! `results/2026-12-01-vm-bench-w1*`: 35.2M on 1 worker, 36.2M on 2 (baseline 34.8M);
//! W1 in update mode at 200k events/s, p50 24 µs, p99 62 µs.
//!
//! **Two workers do not beat one here.** Worker 0 reads and exchanges every record and
//! stays the critical path while the other worker waits (perf: worker 1 mostly in
//! `step_or_park`). Sharing each chunk with every worker instead (one reference-counted
//! buffer per stamp, each worker keeping its keys) removed the per-record exchange copy but
//! measured no faster (40.7M) and halved the per-record-watermark rate (0.94M, two messages
//! per stamp), so it was not kept. Reading with several source instances would need each
//! to keep advancing its input while another blocks in the harness's source: left for the
//! partitioned sources of issue 6 (Kafka partitions), where Flink has them too.

#![forbid(missing_docs)]

pub mod checkpoint;
pub mod dataflow;
pub mod operators;
pub mod stamp;
pub mod state;

use std::time::Duration;
use streamlab_core::engine::{Engine, EngineError, RunFlag, RunOptions, RunSummary, Sink, Source};
use streamlab_core::Plan;

/// Records between watermark advances when `--watermark-interval` is not given: one step
/// per source chunk ([`operators::source::CHUNK`]) while the source is saturated; when it
/// is not, the watermark also steps at the end of every poll that drains it, so the lag
/// stays in the microseconds at any rate.
///
/// Every watermark step is a new timely timestamp, and every timestamp costs a flush of
/// the exchange to every worker plus progress traffic. `streamlab run` on W1 (4M events,
/// 20k events/s of event time, 2-core machine), events/s at intervals 64 / 1024 / 4096:
/// 1 worker 22.0M / 26.5M / 28.7M, 2 workers 19.5M / 18-30M / 30.7-32.7M (bimodal on the
/// shared machine). 1024 keeps most of the throughput while the watermark trails the
/// newest record by at most one chunk. (`cargo bench -p harness --bench record_engine`,
/// group `record_watermark_interval`, measures the sweep on a stream where every record
/// moves the watermark.)
pub const DEFAULT_WATERMARK_INTERVAL: u64 = 1024;

/// Complete-mode emission interval when `--complete-interval` is not given.
pub const DEFAULT_COMPLETE_INTERVAL: Duration = Duration::from_secs(1);

/// Workers when `--workers` is not given.
pub const DEFAULT_WORKERS: usize = 1;

/// The record engine (`--engine record`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordEngine;

impl RecordEngine {
    /// The settings a run uses, after defaults.
    pub fn config(&self, options: &RunOptions) -> dataflow::Config {
        dataflow::Config {
            workers: options.workers.unwrap_or(DEFAULT_WORKERS).max(1),
            watermark_interval: options
                .watermark_interval
                .unwrap_or(DEFAULT_WATERMARK_INTERVAL)
                .max(1),
            complete_interval: options
                .complete_interval
                .map(|d| Duration::from_millis(d.ms().max(1) as u64))
                .unwrap_or(DEFAULT_COMPLETE_INTERVAL),
            cluster: options.cluster.clone(),
            checkpoint: options.checkpoint.clone(),
        }
    }
}

impl Engine for RecordEngine {
    fn name(&self) -> &'static str {
        "record"
    }

    fn supported_flags(&self) -> &'static [RunFlag] {
        &[
            RunFlag::Workers,
            RunFlag::WatermarkInterval,
            RunFlag::CompleteInterval,
            RunFlag::Cluster,
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
        dataflow::run(&self.config(options), plan, source, sink)
    }
}

#[cfg(test)]
mod tests;
