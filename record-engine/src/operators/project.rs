//! The projection operator: a query without windows maps each record to its row as it
//! arrives (the source has already applied the filters and the `where`). No state, no
//! frontier to wait for: rows leave with their record.

use crate::operators::sink::ToSink;
use crate::stamp::Stamp;
use streamlab_core::ops::projection::Projection;
use streamlab_core::Event;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// Maps records to rows.
pub trait Project<'scope> {
    /// One [`ToSink::Row`] per record, spread over the workers by arrival `seq`.
    fn project(self, p: &Projection) -> StreamVec<'scope, Stamp, ToSink>;
}

impl<'scope> Project<'scope> for StreamVec<'scope, Stamp, Event> {
    fn project(self, p: &Projection) -> StreamVec<'scope, Stamp, ToSink> {
        let p = p.clone();
        self.unary::<CapacityContainerBuilder<Vec<ToSink>>, _, _, _>(
            Exchange::new(|e: &Event| e.seq),
            "Project",
            move |_capability, _info| {
                move |input, output| {
                    input.for_each(|cap, data| {
                        let mut session = output.session(&cap);
                        for e in data.drain(..) {
                            session.give(ToSink::Row(p.row(&e)));
                        }
                    });
                }
            },
        )
    }
}
