//! The watermark rule, once for every engine (semantics.md, "Watermarks and late data").
//!
//! W = (largest event time seen) - delay, never decreasing; -infinity before any event,
//! +infinity at the end of a bounded input. A window closes when `end <= W`; an
//! assignment to a window that closed before the event was processed is late.
//! Engines differ only in *when* they call [`Watermark::advance`]: per record or every N
//! records (record engine), at the end of each batch (micro-batch engine).

/// The watermark value before any event: nothing has closed.
pub const MIN_WATERMARK: i64 = i64::MIN;
/// The watermark value at the end of a bounded input: everything closes.
pub const MAX_WATERMARK: i64 = i64::MAX;

/// Tracks the largest event time seen and the watermark derived from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    delay: i64,
    max_event_time: i64,
    current: i64,
}

impl Watermark {
    /// A watermark with bounded out-of-orderness `delay` ms, at -infinity.
    pub fn new(delay: i64) -> Self {
        Watermark {
            delay,
            max_event_time: i64::MIN,
            current: MIN_WATERMARK,
        }
    }

    /// Notes an event time. Does not move the watermark: see [`Self::advance`].
    #[inline]
    pub fn observe(&mut self, event_time: i64) {
        if event_time > self.max_event_time {
            self.max_event_time = event_time;
        }
    }

    /// Moves the watermark to `max event time - delay` if that is later. Returns the new
    /// value when it moved.
    #[inline]
    pub fn advance(&mut self) -> Option<i64> {
        if self.max_event_time == i64::MIN {
            return None;
        }
        let candidate = self.max_event_time.saturating_sub(self.delay);
        if candidate > self.current {
            self.current = candidate;
            Some(candidate)
        } else {
            None
        }
    }

    /// Moves the watermark to +infinity: the input has ended, every window closes.
    pub fn finish(&mut self) {
        self.current = MAX_WATERMARK;
    }

    /// Raises the watermark to `w` if that is later (a restored or merged watermark).
    pub fn raise_to(&mut self, w: i64) {
        self.current = self.current.max(w);
    }

    /// The current watermark.
    #[inline]
    pub fn current(&self) -> i64 {
        self.current
    }

    /// The largest event time seen (`i64::MIN` before any).
    pub fn max_event_time(&self) -> i64 {
        self.max_event_time
    }

    /// The delay D.
    pub fn delay(&self) -> i64 {
        self.delay
    }
}

/// Whether a window ending at `window_end` is closed under watermark `w`.
#[inline]
pub fn is_closed(window_end: i64, w: i64) -> bool {
    window_end <= w
}

/// Whether assigning an event to a window ending at `window_end` is late, given the
/// watermark `w` in force when the event is processed (the window had already closed).
#[inline]
pub fn is_late(window_end: i64, w: i64) -> bool {
    is_closed(window_end, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_trails_the_max_by_the_delay_and_never_decreases() {
        let mut w = Watermark::new(5);
        assert_eq!(w.current(), MIN_WATERMARK);
        w.observe(20);
        assert_eq!(w.current(), MIN_WATERMARK, "observe alone does not move it");
        assert_eq!(w.advance(), Some(15));
        w.observe(10);
        assert_eq!(w.advance(), None);
        assert_eq!(w.current(), 15);
        w.finish();
        assert_eq!(w.current(), MAX_WATERMARK);
    }

    #[test]
    fn closing_is_end_at_or_below_the_watermark() {
        assert!(is_closed(10, 10));
        assert!(!is_closed(11, 10));
        assert!(
            !is_late(0, MIN_WATERMARK),
            "nothing is late before the first event"
        );
        assert!(is_late(i64::MAX - 1, MAX_WATERMARK));
    }
}
