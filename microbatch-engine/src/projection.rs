//! A batch of a query without windows: a partition maps the events it owns to rows.
//! There is no state, so a partition owns events by arrival `seq` (spread evenly) rather
//! than by key ([`crate::exchange::Owners`]), and the watermark never moves (nothing waits
//! for it). A regular join, which has state, is [`crate::regular_join`]'s.

use crate::exec::PartOutput;
use streamlab_core::ops::projection::Projection;
use streamlab_core::Event;

/// The rows of `events` (a partition's, past the filters, in arrival order).
pub fn project<'e>(p: &Projection, events: impl Iterator<Item = &'e Event>, out: &mut PartOutput) {
    out.rows.extend(events.map(|e| p.row(e)));
}
