//! The window operator: keyed window aggregation, one record at a time.
//!
//! Records arrive exchanged by group key, so each worker owns the state of its keys
//! ([`WindowState`]). A record is applied in the input's order, judged late against its
//! own stamp's watermark: with one source reader as soon as it arrives (the reader sends
//! in stamp order over FIFO channels), with several once the frontier has passed its
//! stamp ([`super::arrival_order`] puts the readers' chunks back in order). Windows close
//! when a record's stamp (the watermark its source emitted before it) or the operator's
//! input frontier (the smallest stamp still in flight) moves past their end; an empty
//! frontier is the end of the input, watermark +infinity. The operator holds one
//! capability, at its input frontier, and emits every row under it.
//!
//! Epoch boundaries: the table of epoch `k` (complete mode) and the worker's share of
//! checkpoint `k` are made once every record of epochs `<= k` has been applied. A worker
//! knows that when it applies a record of a later epoch (records are applied in stamp
//! order) or when its frontier passes `k`.

use crate::checkpoint::{Restored, WorkerPart};
use crate::operators::arrival_order::ArrivalOrder;
use crate::operators::sink::ToSink;
use crate::operators::source::{Control, ControlKind};
use crate::stamp::{epoch_of, watermark_of, Stamp};
use crate::state::WindowState;
use std::sync::Arc;
use streamlab_core::model::key_hash::{key_hash, worker_of};
use streamlab_core::semantics::watermark::MAX_WATERMARK;
use streamlab_core::{Event, OutRow, OutputMode, Plan};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// Keyed window aggregation on a stream of events.
pub trait WindowAggregate<'scope> {
    /// Aggregates `self` by `plan`'s windows and keys; `control` is the source's control
    /// stream. Yields rows (with `checkpoints`, inside one [`ToSink::Part`] per epoch) and,
    /// at the end, each worker's [`ToSink::Done`]. `restored`: the checkpoint to resume
    /// from; each worker takes the keys it owns. `readers`: how many source readers send
    /// into `self` (more than one: records are put back in order at the frontier).
    fn window_aggregate(
        self,
        control: StreamVec<'scope, Stamp, Control>,
        plan: &Plan,
        checkpoints: bool,
        restored: Option<Arc<Restored>>,
        readers: usize,
    ) -> StreamVec<'scope, Stamp, ToSink>;
}

/// One worker's window operator, between activations: its state, the rows not yet sent,
/// and where it is in the epochs (complete-mode tables and checkpoint boundaries).
struct WindowWorker {
    state: WindowState,
    complete: bool,
    /// Checkpoints on: rows are held until their epoch's boundary and leave inside a
    /// [`WorkerPart`] with the state.
    checkpoints: bool,
    me: u64,
    /// Rows produced since the last boundary (or since the last send).
    rows: Vec<OutRow>,
    /// Finished epochs, ready to send.
    parts: Vec<WorkerPart>,
    /// The first epoch boundary not handled yet.
    next_boundary: u32,
    /// From the source's `End`: the final complete-mode table's number.
    final_emit: Option<u64>,
    /// From the source's `End`: stopped before the input ended (open windows stay open).
    stopped: bool,
}

impl WindowWorker {
    /// Handles every boundary before `epoch`: all records of those epochs have been
    /// applied. Complete mode emits its table; with checkpoints the epoch's rows and a
    /// snapshot of the state become a part.
    fn boundaries_before(&mut self, epoch: u32) {
        while self.next_boundary < epoch {
            let k = u64::from(self.next_boundary);
            if self.complete {
                self.state.table(k, &mut self.rows);
            }
            if self.checkpoints {
                self.seal(k, false);
            }
            self.next_boundary += 1;
        }
    }

    fn seal(&mut self, epoch: u64, last: bool) {
        self.parts.push(WorkerPart {
            epoch,
            worker: self.me,
            rows: std::mem::take(&mut self.rows),
            state: self.state.snapshot(),
            last,
        });
    }

    /// Records that travelled at stamp `s`, in the input's order, after every record of a
    /// smaller stamp.
    fn on_records(&mut self, s: Stamp, events: &mut Vec<Event>) {
        // Every record of the earlier epochs has been applied (stamp order).
        self.boundaries_before(epoch_of(s));
        let watermark = watermark_of(s);
        if !self.complete {
            // The source emitted this watermark before these records and every later
            // record carries a larger one (stamp order): close now, as Flink's
            // in-band watermark would, so a record never joins a session that its
            // watermark has closed.
            self.state.close(watermark, &mut self.rows);
        }
        for e in events.drain(..) {
            self.state.apply(&e, watermark, &mut self.rows);
        }
    }

    /// The input frontier is `frontier` (`None`: empty); `ended`: both inputs are done.
    fn on_frontier(&mut self, frontier: Option<Stamp>, ended: bool) {
        match frontier {
            Some(f) => {
                // Every worker handles every boundary, so each table and checkpoint is whole.
                self.boundaries_before(epoch_of(f));
                if !self.complete {
                    self.state.close(watermark_of(f), &mut self.rows);
                }
            }
            None if ended => {
                let emit = self.final_emit.unwrap_or(u64::from(self.next_boundary) + 1);
                let last = u32::try_from(emit - 1).unwrap_or(u32::MAX);
                self.boundaries_before(last);
                if self.complete {
                    self.state.table(emit, &mut self.rows);
                } else if !self.stopped {
                    self.state.close(MAX_WATERMARK, &mut self.rows);
                }
                if self.checkpoints {
                    self.seal(emit - 1, true);
                }
            }
            None => {}
        }
    }

    /// What can leave now.
    fn output(&mut self) -> impl Iterator<Item = ToSink> + '_ {
        let rows = if self.checkpoints {
            None
        } else {
            Some(self.rows.drain(..).map(ToSink::Row))
        };
        self.parts
            .drain(..)
            .map(ToSink::Part)
            .chain(rows.into_iter().flatten())
    }
}

impl<'scope> WindowAggregate<'scope> for StreamVec<'scope, Stamp, Event> {
    fn window_aggregate(
        self,
        control: StreamVec<'scope, Stamp, Control>,
        plan: &Plan,
        checkpoints: bool,
        restored: Option<Arc<Restored>>,
        readers: usize,
    ) -> StreamVec<'scope, Stamp, ToSink> {
        let plan = plan.clone();
        let (me, peers) = (self.scope().index() as u64, self.scope().peers() as u64);
        self.binary_frontier::<_, CapacityContainerBuilder<Vec<ToSink>>, _, _, _, _>(
            control,
            Exchange::new(|e: &Event| key_hash(e.key)),
            Exchange::new(|c: &Control| c.to),
            "WindowAggregate",
            move |capability, _info| {
                let mut cap = Some(capability);
                let mut worker = WindowWorker {
                    state: WindowState::new(&plan),
                    complete: plan.mode == OutputMode::Complete,
                    checkpoints,
                    me,
                    rows: Vec::new(),
                    parts: Vec::new(),
                    next_boundary: 0,
                    final_emit: None,
                    stopped: false,
                };
                if let Some(r) = restored {
                    worker
                        .state
                        .restore_from(&r, me as usize, peers as usize, |key| {
                            worker_of(key, peers) == me
                        });
                    worker.next_boundary = u32::try_from(r.epoch + 1).unwrap_or(u32::MAX);
                }
                // Several readers: records wait here for the frontier, to be applied in order.
                let mut arrival = (readers > 1).then(ArrivalOrder::default);
                move |(events, event_frontier), (control, control_frontier), output| {
                    events.for_each(|time, data| {
                        let s = *time.least().expect("a message has a time");
                        match arrival.as_mut() {
                            Some(order) => order.hold(s, data),
                            None => worker.on_records(s, data),
                        }
                    });
                    control.for_each(|_, data| {
                        for c in data.drain(..) {
                            match c.what {
                                ControlKind::End { emit, stopped } => {
                                    worker.final_emit = Some(emit);
                                    worker.stopped = stopped;
                                }
                            }
                        }
                    });
                    let frontier = event_frontier.frontier().first().copied();
                    if let Some(order) = arrival.as_mut() {
                        order.release(frontier, |s, data| worker.on_records(s, data));
                    }
                    let ended = frontier.is_none() && control_frontier.is_empty();
                    worker.on_frontier(frontier, ended);
                    if let Some(c) = cap.as_ref() {
                        let mut session = output.session(c);
                        session.give_iterator(worker.output());
                        if ended {
                            session.give(ToSink::Done(worker.state.stats()));
                        }
                    }
                    match frontier {
                        _ if ended => cap = None,
                        Some(f) => {
                            if let Some(c) = cap.as_mut() {
                                if *c.time() < f {
                                    c.downgrade(&f);
                                }
                            }
                        }
                        None => {}
                    }
                }
            },
        )
    }
}
