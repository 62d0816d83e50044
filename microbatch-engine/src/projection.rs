//! A batch of a query without windows: each partition maps the events it owns to rows.
//! There is no state, so a partition owns events by arrival `seq` (spread evenly) rather
//! than by key, and the watermark never moves (nothing waits for it). A regular join, which
//! has state, is [`crate::regular_join`]'s.

use crate::exec::PartOutput;
use streamlab_core::ops::projection::Projection;
use streamlab_core::{Event, Plan};

/// Partition `me` of `n`: the rows of its share of `events`.
pub fn project(plan: &Plan, p: &Projection, me: usize, n: usize, events: &[Event]) -> PartOutput {
    let mut out = PartOutput::default();
    let n64 = n as u64;
    for e in events {
        if n > 1 && (e.seq % n64) as usize != me {
            continue;
        }
        if p.keeps(&plan.filters, e) {
            out.rows.push(p.row(e));
        } else {
            out.filtered += 1;
        }
    }
    out
}
