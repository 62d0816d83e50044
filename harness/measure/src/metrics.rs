//! Latency and resource metrics (measurement.md, "Latency" and "Throughput").
//!
//! Every output row is charged to the event that made it determinable: update rows to the
//! last event that changed them and complete rows to the last event before the emission
//! (both reported by the engine in [`OutRow::trigger`]); append rows to the first event
//! whose event time moved the watermark to or past the window end, which
//! [`AppendTriggers`] derives from the input alone, so no engine can flatter itself.
//! `latency = emit time - scheduled arrival of that event`.

use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, Sink};
use streamlab_core::{Event, OutRow};

/// For append rows: which event first raised the watermark (max event time - delay) to a
/// given window end.
#[derive(Clone, Debug, Default)]
pub struct AppendTriggers {
    /// (running max event time, seq of the event that raised it), increasing.
    steps: Vec<(i64, u64)>,
    delay: i64,
    last_seq: Option<u64>,
}

impl AppendTriggers {
    /// Scans the input in arrival order.
    pub fn new(events: &[Event], delay: i64) -> AppendTriggers {
        let mut steps: Vec<(i64, u64)> = Vec::new();
        for e in events {
            if steps.last().is_none_or(|&(max, _)| e.time > max) {
                steps.push((e.time, e.seq));
            }
        }
        AppendTriggers {
            steps,
            delay,
            last_seq: events.last().map(|e| e.seq),
        }
    }

    /// The seq of the event that made a window ending at `end` closable; the last event
    /// when only the end of input closes it.
    pub fn trigger(&self, end: i64) -> Option<u64> {
        trigger_in(&self.steps, self.delay, end).or(self.last_seq)
    }
}

/// In `steps` (running max event time, seq that raised it), the first event whose max
/// minus `delay` reaches `end`.
pub fn trigger_in(steps: &[(i64, u64)], delay: i64, end: i64) -> Option<u64> {
    let i = steps.partition_point(|&(max, _)| max.saturating_sub(delay) < end);
    steps.get(i).map(|&(_, seq)| seq)
}

/// Summary percentiles of a latency histogram, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Samples.
    pub count: u64,
}

impl Percentiles {
    /// Reads the percentiles of a histogram.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            count: h.len(),
        }
    }
}

/// Writes the percentile distribution in HdrHistogram's `.hgrm` text format.
pub fn hgrm(h: &Histogram<u64>) -> String {
    let mut out = String::from("       Value     Percentile TotalCount 1/(1-Percentile)\n\n");
    for v in h.iter_quantiles(1) {
        let q = v.quantile_iterated_to();
        let inv = if q < 1.0 {
            1.0 / (1.0 - q)
        } else {
            f64::INFINITY
        };
        out.push_str(&format!(
            "{:12.3} {:14.12} {:10} {:14.2}\n",
            v.value_iterated_to() as f64,
            q,
            v.count_since_last_iteration(),
            inv
        ));
    }
    out.push_str(&format!(
        "#[Mean    = {:12.3}, StdDeviation   = {:12.3}]\n#[Max     = {:12.3}, Total count    = {:12}]\n",
        h.mean(),
        h.stdev(),
        h.max() as f64,
        h.len()
    ));
    out
}

/// Collects per-row latencies against a schedule of arrivals.
pub struct LatencyRecorder {
    histogram: Histogram<u64>,
    /// When each event was due: `due(seq)`; None for a seq the replay never sent.
    due: Box<dyn Fn(u64) -> Option<Instant> + Send>,
    /// The trigger of an append row, by window end.
    append: Box<dyn Fn(i64) -> Option<u64> + Send>,
    /// Rows charged to events with `seq` below this are warm-up and not recorded.
    warmup_seq: u64,
    /// Rows with no known trigger (processing-time append rows).
    pub untriggered: u64,
    /// Rows charged to warm-up events.
    pub warmup_rows: u64,
    /// Negative latencies and rows charged to a seq the schedule does not have.
    pub anomalies: LatencyAnomalies,
}

/// What a latency measurement could not record honestly: kept apart, never clamped into
/// the histogram, so a wrong due time shows instead of reading as a 1 µs latency.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct LatencyAnomalies {
    /// Rows emitted before the event they are charged to was due (negative latency): no
    /// engine can do that, so a count above 0 is a measurement error.
    pub negative: u64,
    /// The most negative latency, as a positive number of µs.
    pub negative_max_us: u64,
    /// Rows charged to a seq no replayed event has.
    pub unscheduled: u64,
}

impl LatencyAnomalies {
    /// Notes a row emitted `early` before its due time.
    pub fn note_negative(&mut self, early: Duration) {
        self.negative += 1;
        self.negative_max_us = self.negative_max_us.max(early.as_micros() as u64);
    }
}

impl LatencyRecorder {
    /// A recorder for arrivals at `due(seq)`; rows charged to events before `warmup_seq`
    /// are counted but not recorded.
    pub fn new(
        due: impl Fn(u64) -> Option<Instant> + Send + 'static,
        append: AppendTriggers,
        warmup_seq: u64,
    ) -> LatencyRecorder {
        LatencyRecorder::with_lookup(due, move |end| append.trigger(end), warmup_seq)
    }

    /// A recorder whose append-row triggers come from `append(window_end)` (live inputs).
    pub fn with_lookup(
        due: impl Fn(u64) -> Option<Instant> + Send + 'static,
        append: impl Fn(i64) -> Option<u64> + Send + 'static,
        warmup_seq: u64,
    ) -> LatencyRecorder {
        LatencyRecorder {
            histogram: latency_histogram(),
            due: Box::new(due),
            append: Box::new(append),
            warmup_seq,
            untriggered: 0,
            warmup_rows: 0,
            anomalies: LatencyAnomalies::default(),
        }
    }

    /// Records the rows of one emission, emitted at `at`.
    pub fn record(&mut self, rows: &[OutRow], at: Instant) {
        for row in rows {
            let Some(seq) = row.trigger.or_else(|| (self.append)(row.window.end)) else {
                self.untriggered += 1;
                continue;
            };
            if seq < self.warmup_seq {
                self.warmup_rows += 1;
                continue;
            }
            let Some(due) = (self.due)(seq) else {
                self.anomalies.unscheduled += 1;
                continue;
            };
            record_since(&mut self.histogram, &mut self.anomalies, due, at);
        }
    }

    /// The histogram so far.
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.histogram
    }
}

/// A histogram of latencies in µs, 0 (under a microsecond) to an hour, 3 significant digits.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid histogram bounds")
}

/// Records `at - due` in µs (true), or notes it as negative when `at` is before `due`.
pub fn record_since(
    histogram: &mut Histogram<u64>,
    anomalies: &mut LatencyAnomalies,
    due: Instant,
    at: Instant,
) -> bool {
    match at.checked_duration_since(due) {
        Some(latency) => {
            histogram.saturating_record(latency.as_micros() as u64);
            true
        }
        None => {
            anomalies.note_negative(due - at);
            false
        }
    }
}

/// What measures emitted rows, given the moment they left the engine: the latency from
/// arrival ([`LatencyRecorder`]) or from the window's end
/// ([`crate::window_latency::WindowEndLatency`]).
pub trait RecordsEmissions: Send {
    /// Notes `rows`, emitted at `at`.
    fn record_emission(&mut self, rows: &[OutRow], at: Instant);
}

impl RecordsEmissions for LatencyRecorder {
    fn record_emission(&mut self, rows: &[OutRow], at: Instant) {
        self.record(rows, at);
    }
}

/// A sink that timestamps each emission for its recorder (by default the
/// [`LatencyRecorder`]), optionally passing the rows on.
pub struct MeasuringSink<R: RecordsEmissions = LatencyRecorder> {
    recorder: Arc<Mutex<R>>,
    inner: Option<Box<dyn Sink>>,
}

impl<R: RecordsEmissions> MeasuringSink<R> {
    /// Measures rows, then hands them to `inner` (if any).
    pub fn new(recorder: Arc<Mutex<R>>, inner: Option<Box<dyn Sink>>) -> Self {
        MeasuringSink { recorder, inner }
    }
}

impl<R: RecordsEmissions> Sink for MeasuringSink<R> {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        let at = Instant::now();
        self.recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .record_emission(rows, at);
        match &mut self.inner {
            Some(s) => s.emit(rows),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        match &mut self.inner {
            Some(s) => s.finish(),
            None => Ok(()),
        }
    }
}

/// Resets this process's peak resident size to its current one (Linux's
/// `/proc/self/clear_refs`), so that [`peak_rss_since_reset`] is the peak of what runs
/// from now on, not of what came before (decoding an input peaks above the engine's
/// state); returns the current resident size. `None` where Linux does not offer it.
pub fn reset_peak_rss() -> Option<u64> {
    std::fs::write("/proc/self/clear_refs", "5").ok()?;
    status_kib("VmRSS:").map(|k| k * 1024)
}

/// The peak resident size since the last [`reset_peak_rss`] (or since the start).
pub fn peak_rss_since_reset() -> Option<u64> {
    status_kib("VmHWM:").map(|k| k * 1024)
}

fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// CPU time and peak memory of this process (getrusage; includes finished threads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Usage {
    /// User + system CPU seconds.
    pub cpu_s: f64,
    /// Peak resident set size in bytes.
    pub peak_rss_bytes: u64,
}

impl Usage {
    /// Reads the process's usage now.
    pub fn now() -> Usage {
        use nix::sys::resource::{getrusage, UsageWho};
        match getrusage(UsageWho::RUSAGE_SELF) {
            Ok(u) => {
                let secs =
                    |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
                Usage {
                    cpu_s: secs(u.user_time()) + secs(u.system_time()),
                    // Linux reports ru_maxrss in KiB.
                    peak_rss_bytes: u.max_rss().max(0) as u64 * 1024,
                }
            }
            Err(_) => Usage::default(),
        }
    }

    /// CPU seconds spent since `earlier` (peak RSS is the later one's: it never shrinks).
    pub fn since(self, earlier: Usage) -> Usage {
        Usage {
            cpu_s: self.cpu_s - earlier.cpu_s,
            peak_rss_bytes: self.peak_rss_bytes,
        }
    }
}

/// Converts a duration to whole microseconds (for reports).
pub fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::smallvec;
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

    #[test]
    fn append_triggers_are_the_events_that_raised_the_watermark() {
        let events = [ev(0, 3), ev(1, 12), ev(2, 5), ev(3, 19), ev(4, 26)];
        let t = AppendTriggers::new(&events, 5);
        assert_eq!(t.trigger(7), Some(1), "12 - 5 = 7 reaches end 7");
        assert_eq!(t.trigger(8), Some(3));
        assert_eq!(t.trigger(21), Some(4));
        assert_eq!(t.trigger(22), Some(4), "only the end of input closes it");
        assert_eq!(AppendTriggers::new(&[], 5).trigger(1), None);
    }

    fn row(trigger: Option<u64>) -> OutRow {
        OutRow {
            window: Window { start: 0, end: 10 },
            key: 0,
            values: smallvec![AggValue::Int(1)],
            emit: Some(0),
            trigger,
        }
    }

    #[test]
    fn known_schedule_and_emit_times_give_exact_percentiles() {
        // Event i is due at i ms; each row is emitted 1..=100 ms after its event.
        let t0 = Instant::now();
        let mut rec = LatencyRecorder::new(
            move |seq| Some(t0 + Duration::from_millis(seq)),
            AppendTriggers::default(),
            0,
        );
        for i in 1..=100u64 {
            rec.record(&[row(Some(i))], t0 + Duration::from_millis(i + i));
        }
        let p = Percentiles::of(rec.histogram());
        // 3 significant digits: values are exact to 0.1 %.
        let close = |got: u64, want: u64| (got as f64 - want as f64).abs() <= want as f64 * 0.001;
        assert!(close(p.p50, 50_000), "{p:?}");
        assert!(close(p.p90, 90_000), "{p:?}");
        assert!(close(p.p99, 99_000), "{p:?}");
        assert!(close(p.max, 100_000), "{p:?}");
        assert_eq!(p.count, 100);
        assert!(hgrm(rec.histogram()).contains("Total count    =          100"));
    }

    #[test]
    fn warmup_rows_are_not_recorded() {
        let t0 = Instant::now();
        let mut rec = LatencyRecorder::new(move |_| Some(t0), AppendTriggers::default(), 10);
        rec.record(&[row(Some(3)), row(Some(10)), row(None)], t0);
        assert_eq!(rec.histogram().len(), 1);
        assert_eq!(rec.warmup_rows, 1);
        assert_eq!(rec.untriggered, 1);
    }

    #[test]
    fn negative_latencies_are_counted_not_clamped() {
        // Event seq is due at seq ms; seq 7 is not in the schedule.
        let t0 = Instant::now();
        let mut rec = LatencyRecorder::new(
            move |seq| (seq != 7).then(|| t0 + Duration::from_millis(seq)),
            AppendTriggers::default(),
            0,
        );
        let at = t0 + Duration::from_millis(5);
        rec.record(
            &[row(Some(2)), row(Some(5)), row(Some(9)), row(Some(7))],
            at,
        );
        assert_eq!(rec.histogram().len(), 2, "3 ms and 0 µs are recorded");
        assert_eq!(rec.histogram().min(), 0, "a latency under 1 µs is 0, not 1");
        assert_eq!(
            rec.anomalies,
            LatencyAnomalies {
                negative: 1,
                negative_max_us: 4_000,
                unscheduled: 1
            }
        );
    }

    #[test]
    fn usage_reads_this_process() {
        let before = Usage::now();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_add(i * i));
        }
        assert!(x > 0);
        let u = Usage::now().since(before);
        assert!(u.cpu_s > 0.0, "a busy loop used no CPU: {u:?}");
        assert!(u.peak_rss_bytes > 1_000_000, "{u:?}");
    }
}
