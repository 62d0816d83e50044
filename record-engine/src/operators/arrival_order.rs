//! Arrival order again, after several readers: a window operator fed by more than one
//! source reader holds the records it receives until its frontier has passed their stamp,
//! then hands them on in stamp order, which is the input's order.
//!
//! Why this is exact: the source gives every chunk stamps of its own and stamps only grow
//! along the input ([`super::source`]), so the records of one stamp come from one chunk,
//! sent by one reader over a FIFO channel, and a record at a smaller stamp came earlier in
//! the input. Once the frontier has passed a stamp no record at it (or before it) can
//! still arrive. Handing the held stamps on from the smallest, each stamp's records in the
//! order they came, is therefore the order in which one reader of the whole input would
//! have delivered them, so lateness, closing, sessions, update rows and complete-mode
//! tables come out as they do on one worker.
//!
//! What it costs: records wait for the frontier (about one round of the readers' chunks),
//! and are moved once into the holding map (the containers, not the records).

use crate::stamp::Stamp;
use std::collections::BTreeMap;
use streamlab_core::Event;

/// Containers kept for reuse.
const SPARE: usize = 64;

/// Records held until the frontier passes their stamp.
#[derive(Default)]
pub struct ArrivalOrder {
    /// Containers by stamp, each stamp's in the order they arrived.
    held: BTreeMap<Stamp, Vec<Vec<Event>>>,
    spare: Vec<Vec<Event>>,
}

impl ArrivalOrder {
    /// Holds the records of `data`, which travelled at `s` (leaves `data` empty).
    pub fn hold(&mut self, s: Stamp, data: &mut Vec<Event>) {
        if data.is_empty() {
            return;
        }
        let records = std::mem::replace(data, self.spare.pop().unwrap_or_default());
        self.held.entry(s).or_default().push(records);
    }

    /// Hands on, in stamp order, every held stamp before `frontier` (all of them when the
    /// frontier is empty): `apply(stamp, records)`.
    pub fn release(
        &mut self,
        frontier: Option<Stamp>,
        mut apply: impl FnMut(Stamp, &mut Vec<Event>),
    ) {
        while let Some(entry) = self.held.first_entry() {
            if frontier.is_some_and(|f| *entry.key() >= f) {
                break;
            }
            let (s, containers) = entry.remove_entry();
            for mut records in containers {
                apply(s, &mut records);
                if self.spare.len() < SPARE {
                    records.clear();
                    self.spare.push(records);
                }
            }
        }
    }

    /// Whether no record is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stamp::stamp;

    fn event(seq: u64) -> Event {
        Event {
            seq,
            time: 0,
            key: 0,
            part: 0,
            fields: Default::default(),
        }
    }

    #[test]
    fn records_leave_in_stamp_order_once_the_frontier_has_passed_them() {
        let mut order = ArrivalOrder::default();
        // A later chunk arrives first (another reader was faster).
        order.hold(stamp(5, 0, 1), &mut vec![event(3), event(4)]);
        order.hold(stamp(5, 0, 0), &mut vec![event(0), event(1)]);
        order.hold(stamp(5, 0, 0), &mut vec![event(2)]);
        order.hold(stamp(7, 0, 0), &mut vec![event(5)]);
        let mut seen = Vec::new();
        order.release(Some(stamp(5, 0, 1)), |_, r| {
            seen.extend(r.drain(..).map(|e| e.seq))
        });
        assert_eq!(seen, vec![0, 1, 2], "stamp (5,0,1) may still get records");
        order.release(Some(stamp(7, 0, 0)), |_, r| {
            seen.extend(r.drain(..).map(|e| e.seq))
        });
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
        assert!(!order.is_empty());
        order.release(None, |s, r| {
            assert_eq!(s, stamp(7, 0, 0));
            seen.extend(r.drain(..).map(|e| e.seq))
        });
        assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
        assert!(order.is_empty());
    }
}
