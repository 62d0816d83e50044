//! The window operator: keyed window aggregation, one record at a time.
//!
//! Records arrive exchanged by group key, so each worker owns the state of its keys
//! ([`WindowState`]). A record is applied as soon as it arrives, judged late against its
//! own stamp's watermark. Windows close when a record's stamp (the watermark its source
//! emitted before it) or the operator's input frontier (the smallest stamp still in
//! flight) moves past their end; an empty frontier is the end of the input, watermark
//! +infinity. The operator holds one
//! capability, at its input frontier, and emits every row under it.
//!
//! Complete mode: the table of epoch `k` is emitted once every record of epochs `<= k` has
//! arrived. A worker knows that when a record of a later epoch arrives (the one source
//! sends in stamp order over FIFO channels) or when its frontier passes `k`.

use crate::operators::sink::ToSink;
use crate::operators::source::{Control, ControlKind};
use crate::stamp::{epoch_of, watermark_of, Stamp};
use crate::state::WindowState;
use streamlab_core::watermark::MAX_WATERMARK;
use streamlab_core::{Event, OutRow, OutputMode, Plan};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// Spreads interned keys over workers (ids are dense: multiply, keep the high bits).
#[inline]
pub fn key_hash(key: streamlab_core::KeyId) -> u64 {
    u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

/// Keyed window aggregation on a stream of events.
pub trait WindowAggregate<'scope> {
    /// Aggregates `self` by `plan`'s windows and keys; `control` is the source's control
    /// stream. Yields rows and, at the end, each worker's [`ToSink::Done`].
    fn window_aggregate(
        self,
        control: StreamVec<'scope, Stamp, Control>,
        plan: &Plan,
    ) -> StreamVec<'scope, Stamp, ToSink>;
}

impl<'scope> WindowAggregate<'scope> for StreamVec<'scope, Stamp, Event> {
    fn window_aggregate(
        self,
        control: StreamVec<'scope, Stamp, Control>,
        plan: &Plan,
    ) -> StreamVec<'scope, Stamp, ToSink> {
        let plan = plan.clone();
        self.binary_frontier::<_, CapacityContainerBuilder<Vec<ToSink>>, _, _, _, _>(
            control,
            Exchange::new(|e: &Event| key_hash(e.key)),
            Exchange::new(|c: &Control| c.to),
            "WindowAggregate",
            move |capability, _info| {
                let complete = plan.mode == OutputMode::Complete;
                let mut cap = Some(capability);
                let mut state = WindowState::new(&plan);
                let mut rows: Vec<OutRow> = Vec::new();
                let mut final_emit: Option<u64> = None;
                // Complete mode: the first epoch whose table is not out yet.
                let mut next_table: u32 = 0;
                move |(events, event_frontier), (control, control_frontier), output| {
                    events.for_each(|time, data| {
                        let s = *time.least().expect("a message has a time");
                        if complete {
                            // Every record of the earlier epochs is here (FIFO, stamp order).
                            while next_table < epoch_of(s) {
                                state.table(u64::from(next_table), &mut rows);
                                next_table += 1;
                            }
                        }
                        let watermark = watermark_of(s);
                        if !complete {
                            // The source emitted this watermark before these records and
                            // every later record carries a larger one (FIFO, stamp order):
                            // close now, as Flink's in-band watermark would, so a record
                            // never joins a session that its watermark has closed.
                            state.close(watermark, &mut rows);
                        }
                        for e in data.drain(..) {
                            state.apply(&e, watermark, &mut rows);
                        }
                    });
                    control.for_each(|_, data| {
                        for c in data.drain(..) {
                            match c.what {
                                ControlKind::End { emit } => final_emit = Some(emit),
                            }
                        }
                    });
                    let frontier = event_frontier.frontier().first().copied();
                    let ended = frontier.is_none() && control_frontier.is_empty();
                    match frontier {
                        Some(f) if complete => {
                            // Every worker emits every table, so each one is whole.
                            while next_table < epoch_of(f) {
                                state.table(u64::from(next_table), &mut rows);
                                next_table += 1;
                            }
                        }
                        Some(f) => state.close(watermark_of(f), &mut rows),
                        None if ended => {
                            if complete {
                                state.table(final_emit.unwrap_or(u64::from(next_table)), &mut rows);
                            } else {
                                state.close(MAX_WATERMARK, &mut rows);
                            }
                        }
                        None => {}
                    }
                    if let Some(c) = cap.as_ref() {
                        let mut session = output.session(c);
                        if !rows.is_empty() {
                            session.give_iterator(rows.drain(..).map(ToSink::Row));
                        }
                        if ended {
                            session.give(ToSink::Done(state.stats()));
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
