//! A batch of a regular join (NEXMark Q3): the join has state (every event so far), so a
//! partition owns keys, as a windowed query's does. Each batch joins its events, in arrival
//! order, with the partition's state and with each other (Spark's symmetric hash join of a
//! batch: the new rows of each side against the other side's state, then the state grows);
//! the pairs formed in the batch are its rows.

use crate::exec::PartOutput;
use streamlab_core::model::key_hash::partition_of;
use streamlab_core::ops::joins::regular::{JoinColumns, JoinState};
use streamlab_core::{Event, Plan};

/// Partition `me` of `n` of a regular join: the pairs the batch's events of its keys
/// form with each other and with the partition's `state`, which keeps them all.
pub fn join(
    plan: &Plan,
    columns: &JoinColumns,
    state: &mut JoinState,
    me: usize,
    n: usize,
    events: &[Event],
) -> PartOutput {
    let p = plan.projection.as_ref().expect("a join is a projection");
    let mut out = PartOutput::default();
    for e in events {
        if n > 1 && partition_of(e.key, n) != me {
            continue;
        }
        if p.keeps(&plan.filters, e) {
            state.arrive(columns, e, &mut out.rows);
        } else {
            out.filtered += 1;
        }
    }
    out
}
