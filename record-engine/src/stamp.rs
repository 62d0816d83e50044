//! The timely timestamp of the record engine: a [`Stamp`] packs the source's watermark, an
//! emission epoch and a sub-step into one `i128` whose integer order is their
//! lexicographic order.
//!
//! - The **watermark** is the point of the design: a record travels at the watermark its
//!   source had emitted before it, so timely's frontier *is* the event-time watermark and a
//!   window closes when the frontier's watermark passes its end (Flink's rule, with
//!   progress tracking doing what Flink's in-band watermark messages do).
//! - The **epoch** counts complete-mode emission points (`--complete-interval` ticks): a
//!   worker emits table `k` once every record of epochs `<= k` has reached it.
//! - The **sub-step** lets the source close a timestamp without moving the watermark: to
//!   flush partly filled exchange buffers when it has caught up with its input (latency), and
//!   to let the flow control observe progress when the watermark stands still.
//!
//! The source only ever moves forward in all three (watermark and epoch never decrease,
//! the sub-step restarts at 0 when either moves), so records sent later carry larger stamps.

/// A packed `(watermark, epoch, sub)`; see the module docs.
pub type Stamp = i128;

/// Packs a stamp.
#[inline]
pub fn stamp(watermark: i64, epoch: u32, sub: u32) -> Stamp {
    (i128::from(watermark) << 64) | (i128::from(epoch) << 32) | i128::from(sub)
}

/// The watermark part: the watermark the source had emitted when it sent the record.
#[inline]
pub fn watermark_of(s: Stamp) -> i64 {
    (s >> 64) as i64
}

/// The epoch part.
#[inline]
pub fn epoch_of(s: Stamp) -> u32 {
    ((s >> 32) & 0xFFFF_FFFF) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extremes_round_trip() {
        for w in [i64::MIN, -1, 0, 1, i64::MAX] {
            for (e, s) in [(0, 0), (u32::MAX, u32::MAX), (7, 0)] {
                let st = stamp(w, e, s);
                assert_eq!(watermark_of(st), w);
                assert_eq!(epoch_of(st), e);
            }
        }
    }

    proptest! {
        #[test]
        fn integer_order_is_lexicographic(a in any::<(i64, u32, u32)>(), b in any::<(i64, u32, u32)>()) {
            prop_assert_eq!(stamp(a.0, a.1, a.2).cmp(&stamp(b.0, b.1, b.2)), a.cmp(&b));
            prop_assert_eq!(watermark_of(stamp(a.0, a.1, a.2)), a.0);
            prop_assert_eq!(epoch_of(stamp(a.0, a.1, a.2)), a.1);
        }
    }
}
