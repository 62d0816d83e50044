//! The Yahoo Streaming Benchmark's latency: from the moment a window's end is reached in
//! the stream to the moment its result row is emitted.
//!
//! YSB stamps each event with the wall time it was produced, so a 10 s window ends at a
//! wall time, and the benchmark reports how long after that its result was written. Here
//! events are replayed open loop (measurement.md): event `i` is due at its scheduled
//! arrival `s_i`. A window ending at event time `E` is **reached** at `s_j`, where `j` is
//! the first event in arrival order whose event time is `E` or later: the stream has
//! moved past the window (when event time follows the replay clock, `s_j` is the wall time
//! `E` maps to). For every output row,
//!
//! `ysb latency = wall time the row was emitted - s_j`.
//!
//! It differs from the append-row latency of [`crate::metrics`], which starts at the event
//! that moved the *watermark* past `E` (an event time of `E + delay`): the YSB latency
//! includes the watermark delay, the time the query waits for late events, as a user
//! waiting for the window sees it. A row whose window end the stream never reaches (it is
//! closed by the end of the input) has no such moment: it is counted, not recorded; so is a
//! row whose end was reached during warm-up.

use crate::replay::Schedule;
use hdrhistogram::Histogram;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use streamlab_core::{Event, OutRow};

/// When the stream reaches each event time: the first event (in arrival order) at or past it.
#[derive(Clone, Debug, Default)]
pub struct WindowEnds {
    /// (running max event time, place in arrival order of the event that raised it),
    /// increasing.
    steps: Vec<(i64, u64)>,
}

impl WindowEnds {
    /// Scans the input in arrival order.
    pub fn new(events: &[Event]) -> WindowEnds {
        let mut steps: Vec<(i64, u64)> = Vec::new();
        for (place, e) in events.iter().enumerate() {
            if steps.last().is_none_or(|&(max, _)| e.time > max) {
                steps.push((e.time, place as u64));
            }
        }
        WindowEnds { steps }
    }

    /// The place in arrival order (= in the replay's schedule) of the first event whose
    /// event time is `end` or later; None when the stream ends before it.
    pub fn reached_by(&self, end: i64) -> Option<u64> {
        crate::metrics::trigger_in(&self.steps, 0, end)
    }
}

/// Collects the YSB latency of every row against the replay's schedule.
pub struct WindowEndLatency {
    histogram: Histogram<u64>,
    ends: WindowEnds,
    schedule: Schedule,
    /// When event 0 was due; set by the replay before the engine starts.
    start: Arc<OnceLock<Instant>>,
    /// Rows of windows reached by one of the first `warmup_events` events are warm-up.
    warmup_events: u64,
    /// Rows recorded.
    pub rows: u64,
    /// Rows of windows the stream never reached (closed by the end of the input).
    pub closed_by_end: u64,
    /// Rows of windows reached during warm-up.
    pub warmup_rows: u64,
    /// Rows emitted before their window's end was reached (a measurement error if any).
    pub anomalies: crate::metrics::LatencyAnomalies,
}

impl WindowEndLatency {
    /// A recorder for a replay following `schedule` (the one the replay driver uses), whose
    /// start is stored in `start` when the replay begins.
    pub fn new(
        ends: WindowEnds,
        schedule: Schedule,
        start: Arc<OnceLock<Instant>>,
        warmup_events: u64,
    ) -> WindowEndLatency {
        WindowEndLatency {
            histogram: crate::metrics::latency_histogram(),
            ends,
            schedule,
            start,
            warmup_events,
            rows: 0,
            closed_by_end: 0,
            warmup_rows: 0,
            anomalies: Default::default(),
        }
    }

    /// Records the rows of one emission, emitted at `at`.
    pub fn record(&mut self, rows: &[OutRow], at: Instant) {
        let Some(&start) = self.start.get() else {
            // Rows before the replay started cannot be: no event has been sent.
            self.closed_by_end += rows.len() as u64;
            return;
        };
        for row in rows {
            let Some(place) = self.ends.reached_by(row.window.end) else {
                self.closed_by_end += 1;
                continue;
            };
            if place < self.warmup_events {
                self.warmup_rows += 1;
                continue;
            }
            let reached = start + self.schedule.arrival(place);
            if crate::metrics::record_since(&mut self.histogram, &mut self.anomalies, reached, at) {
                self.rows += 1;
            }
        }
    }

    /// The latencies so far (µs).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }
}

/// A sink that timestamps each emission for a [`WindowEndLatency`], then passes the rows on.
pub type WindowEndSink = crate::metrics::MeasuringSink<WindowEndLatency>;

impl crate::metrics::RecordsEmissions for WindowEndLatency {
    fn record_emission(&mut self, rows: &[OutRow], at: Instant) {
        self.record(rows, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Percentiles;
    use crate::replay::Profile;
    use smallvec::smallvec;
    use std::time::Duration;
    use streamlab_core::model::value::AggValue;
    use streamlab_core::Window;

    fn ev(seq: u64, time: i64) -> Event {
        Event {
            seq,
            time,
            key: 0,
            part: 0,
            fields: Default::default(),
        }
    }

    fn row(end: i64) -> OutRow {
        OutRow {
            window: Window {
                start: end - 10,
                end,
            },
            key: 0,
            values: smallvec![AggValue::Int(1)],
            emit: None,
            trigger: None,
        }
    }

    #[test]
    fn a_window_end_is_reached_by_the_first_event_at_or_past_it() {
        // Out of order: seq 2 (time 5) does not move the stream back.
        let ends = WindowEnds::new(&[ev(0, 3), ev(1, 12), ev(2, 5), ev(3, 20), ev(4, 31)]);
        assert_eq!(ends.reached_by(10), Some(1));
        assert_eq!(ends.reached_by(12), Some(1));
        assert_eq!(ends.reached_by(13), Some(3));
        assert_eq!(ends.reached_by(31), Some(4));
        assert_eq!(ends.reached_by(32), None, "the stream ends before it");
    }

    #[test]
    fn a_window_end_is_reached_at_a_place_in_the_schedule_not_a_seq() {
        // Every other line was another input's or malformed: seqs 0, 2, 4, ...
        let events: Vec<Event> = (0..10).map(|i| ev(2 * i, 10 * i as i64)).collect();
        let ends = WindowEnds::new(&events);
        assert_eq!(ends.reached_by(50), Some(5), "the sixth event, seq 10");
        let t0 = Instant::now();
        let start = Arc::new(OnceLock::new());
        start.set(t0).unwrap();
        // 1000 events/s: the sixth event is due at 5 ms; emitted at 7 ms.
        let mut lat =
            WindowEndLatency::new(ends, Schedule::new(1_000.0, &Profile::Constant), start, 0);
        lat.record(&[row(50)], t0 + Duration::from_millis(7));
        assert_eq!(lat.anomalies.negative, 0, "{:?}", lat.anomalies);
        let p = Percentiles::of(lat.histogram());
        assert!((p.max as f64 - 2_000.0).abs() <= 2.0, "{p:?}");
    }

    #[test]
    fn latency_runs_from_the_scheduled_arrival_that_reached_the_end() {
        // 1000 events/s: event i is due at i ms; event i has event time 10 * i.
        let events: Vec<Event> = (0..100).map(|i| ev(i, 10 * i as i64)).collect();
        let t0 = Instant::now();
        let start = Arc::new(OnceLock::new());
        start.set(t0).unwrap();
        let mut lat = WindowEndLatency::new(
            WindowEnds::new(&events),
            Schedule::new(1_000.0, &Profile::Constant),
            start,
            10,
        );
        // End 500 is reached by event 50 (due at 50 ms); emitted at 80 ms: 30 ms.
        lat.record(&[row(500)], t0 + Duration::from_millis(80));
        // End 205 is reached by event 21 (due at 21 ms); emitted at 121 ms: 100 ms.
        lat.record(&[row(205)], t0 + Duration::from_millis(121));
        // End 50 is reached by event 5, in the warm-up (seq < 10); end 5000 never.
        lat.record(&[row(50), row(5_000)], t0 + Duration::from_millis(200));
        let p = Percentiles::of(lat.histogram());
        let close = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 0.001;
        assert_eq!(p.count, 2);
        assert!(close(p.p50, 30_000), "{p:?}");
        assert!(close(p.max, 100_000), "{p:?}");
        assert_eq!(
            (lat.rows, lat.warmup_rows, lat.closed_by_end),
            (2, 1, 1),
            "each row is recorded or counted once"
        );
    }
}
