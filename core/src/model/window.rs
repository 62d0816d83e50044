//! Window arithmetic, once for every engine (docs/semantics.md, "Windows").
//!
//! Fixed windows (tumbling, sliding) are a pure function of the event time
//! ([`WindowSpec::assign`]); session windows depend on the other events of the key and are
//! merged as events bridge gaps (the state that does it is
//! [`crate::semantics::window_state`]'s). Whether a window has closed, or an assignment to
//! it is late, under a watermark value is [`is_closed`] and [`is_late`]; how the watermark
//! moves is [`crate::semantics::watermark`]'s.

use serde::{Deserialize, Serialize};

/// A half-open interval `[start, end)` of time in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start.
    pub start: i64,
    /// Exclusive end.
    pub end: i64,
}

impl Window {
    /// Whether `t` lies in the window.
    pub fn contains(&self, t: i64) -> bool {
        self.start <= t && t < self.end
    }
}

/// A window shape with its sizes in ms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WindowSpec {
    /// `[floor(t/size)*size, +size)`.
    Tumbling {
        /// Length.
        size: i64,
    },
    /// Every `[k*slide, k*slide + size)` containing t; `slide` divides `size`.
    Sliding {
        /// Length.
        size: i64,
        /// Start-to-start distance.
        slide: i64,
    },
    /// Per key: events less than `gap` apart form one session `[first, last + gap)`.
    Session {
        /// Inactivity gap.
        gap: i64,
    },
}

/// Start of the aligned interval of length `step` containing `t` (floor, also for t < 0).
#[inline]
pub fn align(t: i64, step: i64) -> i64 {
    t.div_euclid(step).saturating_mul(step)
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

impl WindowSpec {
    /// Whether windows depend on other events of the key (and need a
    /// [`SessionSet`](crate::semantics::window_state::SessionSet)).
    pub fn is_session(&self) -> bool {
        matches!(self, WindowSpec::Session { .. })
    }

    /// How many fixed windows each event belongs to (1 for tumbling, size/slide for sliding).
    pub fn windows_per_event(&self) -> usize {
        match *self {
            WindowSpec::Tumbling { .. } => 1,
            WindowSpec::Sliding { size, slide } => (size / slide) as usize,
            WindowSpec::Session { .. } => 1,
        }
    }

    /// Calls `f` with every fixed window containing `t`, in increasing start order.
    /// For sessions it calls `f` with the event's own session `[t, t + gap)`, before merging.
    #[inline]
    pub fn assign(&self, t: i64, mut f: impl FnMut(Window)) {
        match *self {
            WindowSpec::Tumbling { size } => {
                let start = align(t, size);
                f(Window {
                    start,
                    end: start.saturating_add(size),
                })
            }
            WindowSpec::Sliding { size, slide } => {
                let last = align(t, slide);
                let mut start = last.saturating_sub(size - slide);
                while start <= last {
                    f(Window {
                        start,
                        end: start.saturating_add(size),
                    });
                    start += slide;
                }
            }
            WindowSpec::Session { gap } => f(Window {
                start: t,
                end: t.saturating_add(gap),
            }),
        }
    }

    /// The fixed windows containing `t`, collected (for tests and cold paths).
    pub fn windows_of(&self, t: i64) -> Vec<Window> {
        let mut out = Vec::with_capacity(self.windows_per_event());
        self.assign(t, |w| out.push(w));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tumbling_floors_negative_times() {
        let spec = WindowSpec::Tumbling { size: 10 };
        assert_eq!(spec.windows_of(-1), vec![Window { start: -10, end: 0 }]);
        assert_eq!(spec.windows_of(0), vec![Window { start: 0, end: 10 }]);
        assert_eq!(spec.windows_of(9), vec![Window { start: 0, end: 10 }]);
        assert_eq!(spec.windows_of(-10), vec![Window { start: -10, end: 0 }]);
    }

    #[test]
    fn sliding_gives_size_over_slide_windows() {
        let spec = WindowSpec::Sliding { size: 10, slide: 5 };
        assert_eq!(
            spec.windows_of(7),
            vec![Window { start: 0, end: 10 }, Window { start: 5, end: 15 }]
        );
        assert_eq!(
            spec.windows_of(-3),
            vec![Window { start: -10, end: 0 }, Window { start: -5, end: 5 }]
        );
    }

    proptest! {
        #[test]
        fn fixed_assignment_matches_the_definition(t in -1_000_000i64..1_000_000, size_k in 1i64..20, slide in 1i64..50) {
            let size = size_k * slide;
            let spec = WindowSpec::Sliding { size, slide };
            let got = spec.windows_of(t);
            // Definition: every [k*P, k*P + S) with k*P <= t < k*P + S, scanned naively.
            let mut want = vec![];
            let mut k = (t - size) / slide - 2;
            while k * slide <= t {
                if t < k * slide + size { want.push(Window { start: k * slide, end: k * slide + size }); }
                k += 1;
            }
            prop_assert_eq!(got, want);
            let tumbling = WindowSpec::Tumbling { size }.windows_of(t);
            prop_assert_eq!(tumbling.len(), 1);
            prop_assert!(tumbling[0].contains(t));
            prop_assert_eq!(tumbling[0].start.rem_euclid(size), 0);
        }
    }
}
