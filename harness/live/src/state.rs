//! The page's state: every ~100 ms the sampler reads each run's tap and keeps its history
//! (throughput and watermark over time, micro-batches), then renders all of it as one
//! JSON document, the body of a server-sent event.

use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use streamlab_measure::metrics::Percentiles;
use streamlab_measure::tap::{BatchMark, Board, EngineTap, TapReading};

/// Points kept per series; past it every other point is dropped (older history thins out).
const SERIES_POINTS: usize = 2_000;
/// Batches kept per run for the page (the count covers all of them).
const BATCHES_KEPT: usize = 120;
/// Samples a throughput point spans (×100 ms).
const RATE_SPAN: usize = 5;

/// One run's history as the sampler keeps it.
struct RunHistory {
    tap: Arc<EngineTap>,
    /// (seconds since the run started, events taken).
    taken: Vec<(f64, u64)>,
    throughput: Vec<[f64; 2]>,
    /// (processing seconds, watermark in event-time seconds).
    watermark: Vec<[f64; 2]>,
    batches: Vec<BatchMark>,
    batch_count: u64,
    batch_late: u64,
    last: Option<TapReading>,
}

/// Reads the board's taps and renders the page's state.
pub struct Sampler {
    board: Arc<Board>,
    runs: Vec<RunHistory>,
}

/// One latency histogram bucket, `[lo, hi)` µs.
#[derive(Serialize)]
struct Bucket {
    lo_us: u64,
    hi_us: u64,
    count: u64,
}

impl Sampler {
    /// A sampler of `board`.
    pub fn new(board: Arc<Board>) -> Sampler {
        Sampler {
            board,
            runs: Vec::new(),
        }
    }

    /// Samples every run once and renders the state: `(json, final)`, `final` once the
    /// command has finished and every run shows its summary's numbers.
    pub fn tick(&mut self) -> (String, bool) {
        let finished = self.board.is_finished();
        let taps = self.board.runs();
        for tap in taps.iter().skip(self.runs.len()) {
            self.runs.push(RunHistory {
                tap: tap.clone(),
                taken: Vec::new(),
                throughput: Vec::new(),
                watermark: Vec::new(),
                batches: Vec::new(),
                batch_count: 0,
                batch_late: 0,
                last: None,
            });
        }
        let mut latest: HashMap<String, usize> = HashMap::new();
        for (i, run) in self.runs.iter_mut().enumerate() {
            latest.insert(run.tap.engine.clone(), i);
            if run.last.as_ref().is_some_and(|r| r.final_numbers.is_some()) {
                continue;
            }
            let batches = self.board.new_batches(&run.tap.engine);
            run.sample(batches);
        }
        let all_final = self
            .runs
            .iter()
            .all(|r| r.last.as_ref().is_some_and(|l| l.final_numbers.is_some()));
        let runs: Vec<Value> = self
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| r.render(latest.get(&r.tap.engine) == Some(&i)))
            .collect();
        let done = finished && all_final;
        let state = json!({ "finished": done, "runs": runs });
        (state.to_string(), done)
    }
}

impl RunHistory {
    fn sample(&mut self, batches: Vec<BatchMark>) {
        let reading = self.tap.read();
        let t = reading.elapsed_s;
        self.taken.push((t, reading.events_in));
        let from = self.taken.len().saturating_sub(RATE_SPAN + 1);
        let (t0, e0) = self.taken[from];
        if t > t0 {
            push_point(
                &mut self.throughput,
                [t, (reading.events_in - e0) as f64 / (t - t0)],
            );
        }
        if self.taken.len() > SERIES_POINTS {
            self.taken.drain(..self.taken.len() - RATE_SPAN - 1);
        }
        if let Some(w) = reading.watermark_ms.filter(|w| *w > i64::MIN / 2) {
            push_point(&mut self.watermark, [t, w as f64 / 1e3]);
        }
        self.batch_count += batches.len() as u64;
        self.batch_late += batches.iter().map(|b| b.late).sum::<u64>();
        self.batches.extend(batches);
        if self.batches.len() > BATCHES_KEPT {
            self.batches.drain(..self.batches.len() - BATCHES_KEPT);
        }
        self.last = Some(reading);
    }

    /// The run as the page reads it; `with_history`: its series too (the latest run of
    /// each engine; older runs show their numbers only).
    fn render(&self, with_history: bool) -> Value {
        let Some(r) = &self.last else {
            return json!({ "label": self.tap.label, "engine": self.tap.engine, "state": "starting" });
        };
        let sampled = Percentiles::of(&r.latency);
        let live_rate = self.throughput.last().map_or(0.0, |p| p[1]);
        let (state, events, rows, late, elapsed_s, eps, latency, latency_source) =
            match &r.final_numbers {
                Some(f) => (
                    "finished",
                    f.events_in,
                    f.rows_out,
                    Some(f.late_dropped),
                    f.elapsed_ms / 1e3,
                    f.throughput_eps,
                    f.latency_us.unwrap_or(sampled),
                    if f.latency_us.is_some() {
                        "run"
                    } else {
                        "sampled"
                    },
                ),
                None => (
                    "running",
                    r.events_in,
                    r.rows_out,
                    (self.batch_count > 0).then_some(self.batch_late),
                    r.elapsed_s,
                    live_rate,
                    sampled,
                    "sampled",
                ),
            };
        let mut run = json!({
            "label": self.tap.label,
            "engine": self.tap.engine,
            "state": state,
            "elapsed_s": elapsed_s,
            "events_in": events,
            "rows_out": rows,
            "late_dropped": late,
            "throughput_eps": eps,
            "latency_us": latency,
            "latency_source": latency_source,
            "watermark_ms": r.watermark_ms,
            "batch_count": self.batch_count,
        });
        if with_history {
            run["throughput_series"] = json!(self.throughput);
            run["watermark_series"] = json!(self.watermark);
            run["histogram"] = json!(buckets(&r.latency));
            run["batches"] = json!(self.batches);
        }
        run
    }
}

/// Appends a point, thinning the series to half when it is full.
fn push_point(series: &mut Vec<[f64; 2]>, point: [f64; 2]) {
    if series.len() >= SERIES_POINTS {
        let mut i = 0;
        series.retain(|_| {
            i += 1;
            i % 2 == 0
        });
    }
    series.push(point);
}

/// Power-of-two buckets of µs, from the smallest latency to the largest.
fn buckets(h: &hdrhistogram::Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let (min, max) = (h.min().max(1), h.max().max(1));
    let mut lo = 1u64 << (63 - min.leading_zeros());
    let mut out = Vec::new();
    while lo <= max {
        let hi = lo.saturating_mul(2);
        out.push(Bucket {
            lo_us: lo,
            hi_us: hi,
            count: h.count_between(lo, hi - 1),
        });
        lo = hi;
    }
    if let Some(first) = out.first_mut().filter(|_| h.min() == 0) {
        // Latencies under a microsecond are recorded as 0: the first bucket holds them.
        first.lo_us = 0;
        first.count += h.count_between(0, 0);
    }
    out
}
