//! The regular-join operator: records are exchanged by their join key, and each one is
//! joined at once with every earlier record of the other input under that key, then kept
//! (a symmetric hash join, as Flink's regular join runs). Its rows leave with the record
//! that completed them; nothing waits for the frontier and nothing is evicted. The join
//! itself is core's [`JoinState`]; this operator only decides where and when it runs.

use crate::operators::sink::ToSink;
use crate::stamp::Stamp;
use streamlab_core::model::key_hash::key_hash;
use streamlab_core::ops::joins::regular::{JoinColumns, JoinState};
use streamlab_core::Event;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::StreamVec;

/// Joins the two inputs' records.
pub trait RegularJoin<'scope> {
    /// One [`ToSink::Row`] per pair of records of the two inputs with equal keys.
    fn regular_join(self, columns: &JoinColumns) -> StreamVec<'scope, Stamp, ToSink>;
}

impl<'scope> RegularJoin<'scope> for StreamVec<'scope, Stamp, Event> {
    fn regular_join(self, columns: &JoinColumns) -> StreamVec<'scope, Stamp, ToSink> {
        let columns = columns.clone();
        self.unary::<CapacityContainerBuilder<Vec<ToSink>>, _, _, _>(
            Exchange::new(|e: &Event| key_hash(e.key)),
            "RegularJoin",
            move |_capability, _info| {
                let mut state = JoinState::default();
                let mut rows = Vec::new();
                move |input, output| {
                    input.for_each(|cap, data| {
                        for e in data.drain(..) {
                            state.arrive(&columns, &e, &mut rows);
                        }
                        if !rows.is_empty() {
                            let mut session = output.session(&cap);
                            for row in rows.drain(..) {
                                session.give(ToSink::Row(row));
                            }
                        }
                    });
                }
            },
        )
    }
}
