//! The sink operator: rows leave the dataflow as soon as a window operator emits them.
//!
//! The harness's [`Sink`] lives in process 0 and is shared by its workers. Rows are routed
//! to [`worker_of`] their key among the workers per process (the key hash modulo their
//! number), which in one process is the worker that computed them (no hop) and in a
//! cluster is the worker of process 0 with the same local index.
//! Each worker's final [`ToSink::Done`] goes to worker 0, which adds up the counts. With
//! checkpoints, rows arrive inside each worker's [`ToSink::Part`] of an epoch and go to the
//! [`Coordinator`], which hands them to the sink when the epoch is checkpointed.

use crate::checkpoint::{Coordinator, SourcePart, WorkerPart};
use crate::stamp::Stamp;
use crate::state::WorkerStats;
use std::sync::{Arc, Mutex};
use streamlab_core::engine::{EngineError, Sink};
use streamlab_core::model::key_hash::worker_of;
use streamlab_core::OutRow;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// What a window operator sends towards the sink.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum ToSink {
    /// A result row.
    Row(OutRow),
    /// With checkpoints: one worker's rows and state of one epoch.
    Part(WorkerPart),
    /// The worker's counts, once, at the end of the input.
    Done(WorkerStats),
}

/// The sink and what passed through it, shared by the workers of process 0.
#[derive(Default)]
pub struct SinkState {
    /// The harness's sink (`None` outside process 0, or after a failure took it).
    pub sink: Option<Box<dyn Sink>>,
    /// Rows handed to the sink.
    pub rows_out: u64,
    /// Counts of every worker, summed.
    pub stats: WorkerStats,
    /// Workers whose counts arrived.
    pub done: usize,
    /// The first sink error; later rows are dropped and the run fails with it.
    pub error: Option<EngineError>,
    /// With checkpoints: the epochs being collected and written.
    pub checkpoints: Option<Coordinator>,
}

impl SinkState {
    /// Hands the source's share of checkpoint `epoch` to the coordinator.
    pub fn source_part(&mut self, epoch: u64, part: SourcePart) {
        self.coordinate(|c, sink| c.source_part(epoch, part, sink));
    }

    fn worker_part(&mut self, part: WorkerPart) {
        self.coordinate(|c, sink| c.worker_part(part, sink));
    }

    /// Commits the epochs whose checkpoints have become durable on the writer's thread.
    fn poll_checkpoints(&mut self) {
        self.coordinate(|c, sink| c.poll(sink).map(|()| 0));
    }

    /// At the end of the run: waits for the checkpoint in flight and commits its epoch.
    pub fn finish_checkpoints(&mut self) -> Result<(), EngineError> {
        self.coordinate(|c, sink| c.finish(sink).map(|()| 0));
        self.error.take().map_or(Ok(()), Err)
    }

    /// Runs `step` on the coordinator with the sink, counting the rows it wrote; the first
    /// failure is kept for the run to report.
    fn coordinate(
        &mut self,
        step: impl FnOnce(&mut Coordinator, &mut dyn Sink) -> Result<u64, EngineError>,
    ) {
        if let (Some(sink), Some(c)) = (self.sink.as_mut(), self.checkpoints.as_mut()) {
            match step(c, sink.as_mut()) {
                Ok(n) => self.rows_out += n,
                Err(e) => {
                    self.error.get_or_insert(e);
                }
            }
        }
    }
}

/// Shared handle to the [`SinkState`].
pub type SharedSink = Arc<Mutex<SinkState>>;

/// Writes a stream of [`ToSink`] into the shared sink.
pub trait EmitRows {
    /// Routes rows to process 0 and emits them there; `local_workers` is the number of
    /// workers per process.
    fn emit_rows(self, sink: SharedSink, local_workers: usize);
}

impl EmitRows for StreamVec<'_, Stamp, ToSink> {
    fn emit_rows(self, sink: SharedSink, local_workers: usize) {
        let local = local_workers.max(1) as u64;
        let route = move |item: &ToSink| match item {
            ToSink::Row(r) => worker_of(r.key, local),
            ToSink::Part(p) => p.worker % local,
            ToSink::Done(_) => 0,
        };
        let mut rows: Vec<OutRow> = Vec::new();
        let mut parts: Vec<WorkerPart> = Vec::new();
        self.sink(Exchange::new(route), "Sink", move |(input, _frontier)| {
            let mut stats = WorkerStats::default();
            let mut done = 0;
            input.for_each(|_, data| {
                for item in data.drain(..) {
                    match item {
                        ToSink::Row(r) => rows.push(r),
                        ToSink::Part(p) => parts.push(p),
                        ToSink::Done(s) => {
                            stats.late_dropped += s.late_dropped;
                            stats.emissions += s.emissions;
                            done += 1;
                        }
                    }
                }
            });
            if rows.is_empty() && parts.is_empty() && done == 0 {
                // A checkpoint may have become durable meanwhile: commit its epoch now,
                // not only when the next epoch's parts arrive (a busy lock: next time).
                if let Ok(mut shared) = sink.try_lock() {
                    if shared.checkpoints.is_some() {
                        shared.poll_checkpoints();
                    }
                }
                return;
            }
            let mut shared = sink.lock().unwrap_or_else(|e| e.into_inner());
            for part in parts.drain(..) {
                shared.worker_part(part);
            }
            shared.stats.late_dropped += stats.late_dropped;
            shared.stats.emissions += stats.emissions;
            shared.done += done;
            if !rows.is_empty() {
                if let Some(s) = shared.sink.as_mut() {
                    match s.emit(&rows) {
                        Ok(()) => shared.rows_out += rows.len() as u64,
                        Err(e) => {
                            shared.sink = None;
                            shared.error.get_or_insert(e);
                        }
                    }
                }
                rows.clear();
            }
        });
    }
}
