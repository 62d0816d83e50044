//! A batch of a regular join (NEXMark Q3): the join has state (every event so far), so a
//! partition owns keys, as a windowed query's does. Each batch joins its events, in arrival
//! order, with the partition's state and with each other (Spark's symmetric hash join of a
//! batch: the new rows of each side against the other side's state, then the state grows);
//! the pairs formed in the batch are its rows.

use crate::exec::PartOutput;
use streamlab_core::ops::joins::regular::{JoinColumns, JoinState};
use streamlab_core::Event;

/// The pairs `events` (a partition's, past the filters, in arrival order) form with each
/// other and with the partition's `state`, which keeps them all.
pub fn join<'e>(
    columns: &JoinColumns,
    state: &mut JoinState,
    events: impl Iterator<Item = &'e Event>,
    out: &mut PartOutput,
) {
    for e in events {
        state.arrive(columns, e, &mut out.rows);
    }
}
