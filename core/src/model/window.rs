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

/// The most windows one event may belong to (a sliding window's size / slide): each is
/// a state entry per key and an update per event, so `size = "1h"`, `slide = "1ms"`
/// (3.6 million) would exhaust memory on a few events. The query is refused instead.
pub const MAX_WINDOWS_PER_EVENT: i64 = 10_000;

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

/// An event time whose windows do not fit in `i64` milliseconds (see
/// [`WindowSpec::check_time`]): the time and the span of its windows, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeOutOfRange {
    /// The event time.
    pub t: i64,
    /// Start of its first window.
    pub start: i128,
    /// End of its last window.
    pub end: i128,
}

impl std::fmt::Display for TimeOutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let TimeOutOfRange { t, start, end } = *self;
        let (edge, at) = if end > i128::from(i64::MAX) {
            ("ends after", i64::MAX)
        } else {
            ("starts before", i64::MIN)
        };
        write!(
            f,
            "time {t} is too close to the edge of 64-bit time: its windows span [{start}, {end}), which {edge} {at}"
        )
    }
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

    /// The span `[first start, last end)` of the windows of an event at `t` (for a
    /// session, its own session), in exact arithmetic: it may lie outside `i64`.
    fn extent(&self, t: i64) -> (i128, i128) {
        let t = i128::from(t);
        match *self {
            WindowSpec::Tumbling { size } => {
                let start = t.div_euclid(size.into()) * i128::from(size);
                (start, start + i128::from(size))
            }
            WindowSpec::Sliding { size, slide } => {
                let last = t.div_euclid(slide.into()) * i128::from(slide);
                (last - i128::from(size - slide), last + i128::from(size))
            }
            WindowSpec::Session { gap } => (t, t + i128::from(gap)),
        }
    }

    /// Whether every window of an event at `t` fits in `i64` milliseconds (starts at or
    /// after `i64::MIN`, ends at or before `i64::MAX`). Decoders refuse an event whose
    /// windows do not as malformed, so that no engine computes a window that would wrap
    /// (docs/semantics.md, "Windows at the edges of time").
    #[inline]
    pub fn check_time(&self, t: i64) -> Result<(), TimeOutOfRange> {
        if self.fits(t) {
            return Ok(());
        }
        let (start, end) = self.extent(t);
        Err(TimeOutOfRange { t, start, end })
    }

    /// [`Self::check_time`]'s test in `i64` arithmetic, for the per-event path (128-bit
    /// division is slow): a bound leaves `i64` exactly when computing it overflows.
    #[inline]
    fn fits(&self, t: i64) -> bool {
        match *self {
            WindowSpec::Tumbling { size } => t
                .div_euclid(size)
                .checked_mul(size)
                .and_then(|start| start.checked_add(size))
                .is_some(),
            WindowSpec::Sliding { size, slide } => {
                t.div_euclid(slide).checked_mul(slide).is_some_and(|last| {
                    last.checked_sub(size - slide).is_some() && last.checked_add(size).is_some()
                })
            }
            WindowSpec::Session { gap } => t.checked_add(gap).is_some(),
        }
    }

    /// Calls `f` with every fixed window containing `t`, in increasing start order.
    /// For sessions it calls `f` with the event's own session `[t, t + gap)`, before merging.
    /// A window that does not fit in `i64` is skipped (decoders refuse such events, see
    /// [`Self::check_time`]): the arithmetic never wraps and the loop is bounded by
    /// [`Self::windows_per_event`] whatever `t` is.
    #[inline]
    pub fn assign(&self, t: i64, mut f: impl FnMut(Window)) {
        match *self {
            WindowSpec::Tumbling { size } => {
                let Some(start) = t.div_euclid(size).checked_mul(size) else {
                    return;
                };
                if let Some(end) = start.checked_add(size) {
                    f(Window { start, end })
                }
            }
            WindowSpec::Sliding { size, slide } => {
                let Some(last) = t.div_euclid(slide).checked_mul(slide) else {
                    return;
                };
                // Back from the last window by whole slides: (size / slide - 1) * slide
                // is at most size - slide, so only the subtraction and the end can leave i64.
                for back in (0..size / slide).rev() {
                    let Some(start) = last.checked_sub(back * slide) else {
                        continue;
                    };
                    if let Some(end) = start.checked_add(size) {
                        f(Window { start, end });
                    }
                }
            }
            WindowSpec::Session { gap } => {
                if let Some(end) = t.checked_add(gap) {
                    f(Window { start: t, end })
                }
            }
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

    /// Every kind at both edges of `i64`: an event whose windows fit gets exactly its
    /// windows; one whose windows do not is refused by `check_time` and `assign` calls
    /// back only with windows that fit, a bounded number of times (it used to wrap
    /// `start += slide` at `i64::MAX` and loop forever).
    #[test]
    fn windows_at_the_edges_of_time_fit_or_are_refused() {
        let specs = [
            WindowSpec::Tumbling { size: 10 },
            WindowSpec::Tumbling { size: 3 },
            WindowSpec::Sliding {
                size: 60_000,
                slide: 10_000,
            },
            WindowSpec::Sliding { size: 6, slide: 3 },
            WindowSpec::Session { gap: 5_000 },
            WindowSpec::Tumbling { size: i64::MAX },
        ];
        let times = [
            i64::MIN,
            i64::MIN + 1,
            i64::MIN + 60_000,
            -1,
            0,
            i64::MAX - 60_000,
            i64::MAX - 1,
            i64::MAX,
        ];
        for spec in specs {
            for t in times {
                let mut got = vec![];
                spec.assign(t, |w| {
                    assert!(
                        got.len() < spec.windows_per_event(),
                        "{spec:?} at {t}: runaway"
                    );
                    got.push(w);
                });
                let fits = spec.check_time(t).is_ok();
                let (start, end) = spec.extent(t);
                let exact = start >= i128::from(i64::MIN) && end <= i128::from(i64::MAX);
                assert_eq!(fits, exact, "{spec:?} at {t}: [{start}, {end})");
                if fits {
                    assert_eq!(got.len(), spec.windows_per_event(), "{spec:?} at {t}");
                    assert!(
                        got.iter().all(|w| w.contains(t)),
                        "{spec:?} at {t}: {got:?}"
                    );
                    assert!(got.windows(2).all(|p| p[0].start < p[1].start));
                } else {
                    assert!(got.len() < spec.windows_per_event(), "{spec:?} at {t}");
                }
            }
        }
        // The repro of the hang: a 1 minute window sliding every 10 s at i64::MAX.
        let sliding = WindowSpec::Sliding {
            size: 60_000,
            slide: 10_000,
        };
        let err = sliding.check_time(i64::MAX).expect_err("cannot fit");
        assert_eq!(
            err.to_string(),
            "time 9223372036854775807 is too close to the edge of 64-bit time: its windows span \
             [9223372036854720000, 9223372036854830000), which ends after 9223372036854775807"
        );
        assert!(sliding.check_time(i64::MAX - 60_000).is_ok());
        let err = WindowSpec::Tumbling { size: 3 }
            .check_time(i64::MIN)
            .expect_err("floor");
        assert!(
            err.to_string()
                .ends_with("starts before -9223372036854775808"),
            "{err}"
        );
        assert!(WindowSpec::Session { gap: 1 }
            .check_time(i64::MAX - 1)
            .is_ok());
        assert!(WindowSpec::Session { gap: 2 }
            .check_time(i64::MAX - 1)
            .is_err());
    }

    proptest! {
        /// The per-event check in i64 is the exact one, near both edges of time.
        #[test]
        fn the_fast_check_is_the_exact_one(off in 0i64..200_000, high: bool, size_k in 1i64..20, slide in 1i64..5_000, gap in 1i64..100_000) {
            let t = if high { i64::MAX - off } else { i64::MIN + off };
            let size = size_k * slide;
            for spec in [
                WindowSpec::Tumbling { size },
                WindowSpec::Sliding { size, slide },
                WindowSpec::Session { gap },
            ] {
                let (start, end) = spec.extent(t);
                let exact = start >= i128::from(i64::MIN) && end <= i128::from(i64::MAX);
                prop_assert_eq!(spec.check_time(t).is_ok(), exact);
            }
        }

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
