//! The record engine's watermark generator: the source's clock, which stamps every record
//! with the watermark that preceded it (Flink's `BoundedOutOfOrdernessWatermarks`, emitted
//! every `--watermark-interval` records and whenever the source is drained). The rule of
//! what the watermark is (largest event time minus the delay, the minimum over partitions
//! and inputs) is core's [`Watermark`]; this module decides only *when* it steps, which is
//! the per-record model's choice.

use crate::stamp::{stamp, Stamp};
use streamlab_core::semantics::watermark::Watermark;
use streamlab_core::Part;

/// The part of the source's clock a checkpoint keeps, so a resumed run goes on with the stamps
/// the first run would have used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClockState {
    watermark: Watermark,
    since: u64,
    epoch: u32,
}

/// The watermark generator and the rest of the source's clock: the stamp every record
/// leaves the source with.
pub struct SourceClock {
    /// Core's watermark of the records sent so far.
    pub(super) watermark: Watermark,
    /// Records between watermark steps (`--watermark-interval`).
    pub(super) interval: u64,
    /// Records sent since the last step.
    pub(super) since: u64,
    /// Checkpoint and complete-mode epoch.
    pub(super) epoch: u32,
    /// Stamps within one (watermark, epoch), so the frontier can move without either.
    sub: u32,
}

impl SourceClock {
    /// A clock at the start of the input, stepping every `interval` records (at least 1).
    pub fn new(watermark: Watermark, interval: u64) -> SourceClock {
        SourceClock {
            watermark,
            interval: interval.max(1),
            since: 0,
            epoch: 0,
            sub: 0,
        }
    }

    /// What a checkpoint keeps of the clock.
    pub fn state(&self) -> ClockState {
        ClockState {
            watermark: self.watermark.clone(),
            since: self.since,
            epoch: self.epoch,
        }
    }

    /// Goes on from a checkpoint's clock.
    pub fn resume(&mut self, state: &ClockState) {
        self.watermark = state.watermark.clone();
        self.since = state.since;
        self.epoch = state.epoch;
        self.sub = 0;
    }

    /// The stamp the next record leaves with.
    pub fn now(&self) -> Stamp {
        stamp(self.watermark.current(), self.epoch, self.sub)
    }

    /// Notes a record sent; every `interval` records the watermark catches up with it.
    /// Returns whether the stamp changed.
    #[inline]
    pub fn on_record(&mut self, part: Part, time: i64) -> bool {
        self.watermark.observe(part, time);
        self.since += 1;
        if self.since < self.interval {
            return false;
        }
        self.since = 0;
        self.catch_up()
    }

    /// Moves the watermark to what the records sent so far allow (idle input, end of a
    /// chunk that emptied the source). Returns whether the stamp changed.
    pub fn catch_up(&mut self) -> bool {
        if self.watermark.advance().is_some() {
            self.sub = 0;
            true
        } else {
            false
        }
    }

    /// A new stamp with the same watermark and epoch.
    pub fn step(&mut self) -> bool {
        if self.sub == u32::MAX {
            return false;
        }
        self.sub += 1;
        true
    }

    /// The next complete-mode emission epoch.
    pub fn tick(&mut self) {
        self.epoch = self.epoch.saturating_add(1);
        self.sub = 0;
    }
}
