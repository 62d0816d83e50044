//! The later stages of a multi-stage query (`[[stage]]`, core's
//! [`streamlab_core::ops::stages`]), one timely operator each, in the same dataflow after
//! the first stage's operator: each exchanges the changes it reads by its group (or
//! partition) hash, applies each arriving batch to its worker's share of the stage's
//! state, and sends the changes that batch made on at once. Nothing waits for the
//! frontier: these stages have no windows, and their state counts copies of rows (core's
//! Z-set rule), so the answer after the last change is the same whatever order changes
//! from different workers arrive in.

use crate::operators::sink::ToSink;
use crate::stamp::Stamp;
use std::sync::Arc;
use streamlab_core::ops::stages::{Change, Stages};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// Runs a plan's later stages over the first stage's rows.
pub trait LaterStages<'scope> {
    /// The last stage's changes, as rows (a change's kind travels as its first value).
    fn later_stages(self, stages: &Stages) -> StreamVec<'scope, Stamp, ToSink>;
}

impl<'scope> LaterStages<'scope> for StreamVec<'scope, Stamp, ToSink> {
    fn later_stages(self, stages: &Stages) -> StreamVec<'scope, Stamp, ToSink> {
        let shared = Arc::new(stages.clone());
        let first = Arc::clone(&shared);
        // The first stage's rows become inserts where they are (no exchange).
        let mut stream = self.unary::<CapacityContainerBuilder<Vec<ToSink>>, _, _, _>(
            Pipeline,
            "FirstStageChanges",
            move |_capability, _info| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for item in data.drain(..) {
                            session.give(match item {
                                ToSink::Row(r) => ToSink::Row(first.first_change(r).into_out_row()),
                                other => other,
                            });
                        }
                    });
                }
            },
        );
        for index in 0..shared.stages.len() {
            let route_stages = Arc::clone(&shared);
            let run_stages = Arc::clone(&shared);
            let route = move |item: &ToSink| match item {
                ToSink::Row(r) => Change::from_out_row(r.clone())
                    .map_or(0, |c| route_stages.stages[index].route(&c.row)),
                ToSink::Part(p) => p.worker,
                ToSink::Done(_) => 0,
            };
            stream = stream.unary::<CapacityContainerBuilder<Vec<ToSink>>, _, _, _>(
                Exchange::new(route),
                "LaterStage",
                move |_capability, _info| {
                    let mut state = run_stages.stages[index].state();
                    move |input, output| {
                        let stage = &run_stages.stages[index];
                        input.for_each(|cap, data| {
                            let mut changes = Vec::with_capacity(data.len());
                            let mut passed = Vec::new();
                            for item in data.drain(..) {
                                match item {
                                    ToSink::Row(r) => changes.extend(Change::from_out_row(r)),
                                    other => passed.push(other),
                                }
                            }
                            let mut session = output.session(&cap);
                            for c in state.apply(stage, changes) {
                                session.give(ToSink::Row(c.into_out_row()));
                            }
                            for p in passed {
                                session.give(p);
                            }
                        });
                    }
                },
            );
        }
        stream
    }
}
