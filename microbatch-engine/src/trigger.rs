//! When batches fire: Spark's triggers, run by the driver loop.
//!
//! - `Interval(d)` (Spark's `ProcessingTime`): a batch fires at every multiple of `d`
//!   after the run started. No trigger fires while a batch runs; a batch that overruns
//!   its interval is followed at once by the next, and later triggers fall back onto the
//!   grid (Spark's `ProcessingTimeExecutor`). `Interval(0)`, the default, starts each batch
//!   as soon as the previous one ends (Spark's default trigger).
//! - `Once`: one batch over everything available (the batch bound does not apply, as in
//!   Spark), then the run ends.
//! - `AvailableNow`: batches bounded by `--max-records-per-batch` until what was available
//!   is processed, then the run ends.
//!
//! [`Trigger`] is the `--trigger` knob of the engine's [`Config`](crate::Config);
//! [`TriggerClock`] runs it.

use std::time::{Duration, Instant};
use streamlab_core::model::duration::DurationMs;

/// When a micro-batch fires (Spark's triggers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Every interval of processing time.
    Interval(DurationMs),
    /// One batch over everything available, then stop.
    Once,
    /// Batches (bounded by the batch size) until everything available is processed.
    AvailableNow,
}

impl std::str::FromStr for Trigger {
    type Err = String;
    fn from_str(s: &str) -> Result<Trigger, String> {
        match s {
            "once" => Ok(Trigger::Once),
            "available-now" => Ok(Trigger::AvailableNow),
            other => DurationMs::parse(other)
                .map(Trigger::Interval)
                .map_err(|e| {
                    format!(
                        "{e}; a trigger is an interval like 100ms, or `once`, or `available-now`"
                    )
                }),
        }
    }
}

/// The driver's clock for one run.
#[derive(Debug)]
pub struct TriggerClock {
    trigger: Trigger,
    start: Instant,
    next: Instant,
    fired: u64,
}

impl TriggerClock {
    /// A clock starting now.
    pub fn new(trigger: Trigger) -> Self {
        let now = Instant::now();
        TriggerClock {
            trigger,
            start: now,
            next: now,
            fired: 0,
        }
    }

    /// The trigger.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    fn interval(&self) -> Option<Duration> {
        match self.trigger {
            Trigger::Interval(d) => Some(Duration::from_millis(d.ms().max(0) as u64)),
            _ => None,
        }
    }

    /// Blocks until the next trigger fires; `false` when this trigger fires no more
    /// (`Once` after its batch).
    pub fn wait(&mut self) -> bool {
        if self.trigger == Trigger::Once && self.fired > 0 {
            return false;
        }
        let (now, due) = (Instant::now(), self.due());
        if due > now {
            std::thread::sleep(due - now);
        }
        self.fire(Instant::now());
        true
    }

    /// When the next trigger fires (the run's start before the first).
    fn due(&self) -> Instant {
        self.next
    }

    /// Records a firing at `fired_at` and schedules the next one. Apart from [`wait`]
    /// so the schedule is tested on given instants, not on how long a loaded machine
    /// takes to wake a sleeping thread.
    ///
    /// [`wait`]: TriggerClock::wait
    fn fire(&mut self, fired_at: Instant) {
        self.fired += 1;
        if let Some(d) = self.interval().filter(|d| !d.is_zero()) {
            // The next multiple of the interval strictly after this firing.
            let since = fired_at.duration_since(self.start).as_nanos();
            let step = d.as_nanos();
            let k = since / step + 1;
            self.next = self.start + Duration::from_nanos((k * step) as u64);
        }
    }

    /// Most events one batch may take, given `--max-records-per-batch`.
    pub fn batch_bound(&self, max_records: usize) -> usize {
        match self.trigger {
            Trigger::Once => usize::MAX,
            _ => max_records,
        }
    }

    /// Whether the run ends once the source has nothing more available right now.
    pub fn stops_when_drained(&self) -> bool {
        !matches!(self.trigger, Trigger::Interval(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse() {
        assert_eq!("once".parse(), Ok(Trigger::Once));
        assert_eq!("available-now".parse(), Ok(Trigger::AvailableNow));
        assert_eq!("100ms".parse(), Ok(Trigger::Interval(DurationMs(100))));
        assert!("soon".parse::<Trigger>().is_err());
    }

    #[test]
    fn interval_triggers_fire_on_the_grid_and_overruns_start_at_once() {
        let ms = Duration::from_millis;
        let mut clock = TriggerClock::new(Trigger::Interval(DurationMs(30)));
        let start = clock.start;
        assert_eq!(clock.due(), start, "the first trigger fires at once");
        clock.fire(start);
        assert_eq!(clock.due(), start + ms(30));
        // Woken late: the next trigger stays on the grid, not 30 ms after the wake-up.
        clock.fire(start + ms(41));
        assert_eq!(clock.due(), start + ms(60));
        // A batch that overruns two intervals (from 60 to 130 ms): the trigger due at
        // 90 ms has passed, so the next batch starts at once, and the one after it is
        // back on the grid.
        clock.fire(start + ms(60));
        assert!(clock.due() < start + ms(130));
        clock.fire(start + ms(130));
        assert_eq!(clock.due(), start + ms(150));
        assert_eq!(clock.fired, 4);
    }

    #[test]
    fn waiting_never_fires_before_the_trigger_is_due() {
        let mut clock = TriggerClock::new(Trigger::Interval(DurationMs(5)));
        for _ in 0..3 {
            let due = clock.due();
            assert!(clock.wait());
            // A lower bound only: a loaded machine may wake the thread late, never early.
            assert!(Instant::now() >= due);
        }
        let mut asap = TriggerClock::new(Trigger::Interval(DurationMs(0)));
        assert!(asap.wait() && asap.wait());
        assert_eq!(
            asap.due(),
            asap.start,
            "interval 0: each batch as soon as it can"
        );
    }

    #[test]
    fn once_fires_one_batch_without_a_bound() {
        let mut clock = TriggerClock::new(Trigger::Once);
        assert!(clock.wait());
        assert!(!clock.wait());
        assert_eq!(clock.batch_bound(7), usize::MAX);
        assert!(clock.stops_when_drained());
        let now = TriggerClock::new(Trigger::AvailableNow);
        assert_eq!(now.batch_bound(7), 7);
        assert!(now.stops_when_drained());
    }
}
