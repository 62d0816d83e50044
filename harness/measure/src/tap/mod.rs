//! Live taps: what a running engine has done so far, read by the live view (`--serve`,
//! the `streamlab-live` crate) while the run goes on.
//!
//! A tap sits outside the engine, on its [`Source`](streamlab_core::Source) and
//! [`Sink`](streamlab_core::Sink) ([`TappedSource`], [`TappedSink`]), so every engine is
//! tapped the same way and no engine's code changes. The costs are per poll (one atomic add,
//! one clock read and one uncontended lock per chunk of events handed to the engine) and per
//! emission (a relaxed add; latencies sampled at most once a millisecond into a histogram
//! of the sink's own, handed over every 100 ms): never a lock or a channel send per record.
//! Without `--serve` no tap exists: [`board`] is `None` and the run's source and sink are
//! the ones it had.

mod board;
mod sink;
mod source;

pub use board::{board, install, observe, Board, Observed};
pub use sink::TappedSink;
pub use source::TappedSource;

use crate::metrics::{latency_histogram, Percentiles};
use hdrhistogram::Histogram;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;
use streamlab_core::RunSummary;

/// Deliveries remembered for latency look-ups (a row whose trigger is older is not sampled).
const DELIVERIES_KEPT: usize = 1 << 16;

/// One micro-batch as the live view shows it (the micro-batch engine's batch log).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BatchMark {
    /// Batch id.
    pub id: u64,
    /// Events in the batch.
    pub events: u64,
    /// Events dropped as late.
    pub late: u64,
    /// Rows emitted.
    pub rows: u64,
    /// Wall time of the batch, ms.
    pub duration_ms: f64,
    /// The watermark after the batch (event time, ms), when finite.
    pub watermark_ms: Option<i64>,
}

/// Hands over the batches logged since its last call (the CLI builds it from the engine's
/// batch log).
pub type BatchFeed = Box<dyn FnMut() -> Vec<BatchMark> + Send>;

/// The numbers a finished run reported: what the live view shows at the end, so that the
/// page's final figures are the summary's.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct FinalNumbers {
    /// Valid events read.
    pub events_in: u64,
    /// Rows emitted.
    pub rows_out: u64,
    /// Events dropped as late.
    pub late_dropped: u64,
    /// Wall time, ms.
    pub elapsed_ms: f64,
    /// Events per second.
    pub throughput_eps: f64,
    /// The run's own latency percentiles (µs), when it measured them (experiments).
    pub latency_us: Option<Percentiles>,
}

impl FinalNumbers {
    /// The figures of an engine's summary.
    pub fn of(summary: &RunSummary) -> FinalNumbers {
        FinalNumbers {
            events_in: summary.events_in,
            rows_out: summary.rows_out,
            late_dropped: summary.late_dropped,
            elapsed_ms: summary.elapsed_ms,
            throughput_eps: summary.throughput_eps,
            latency_us: None,
        }
    }
}

/// A chunk handed to the engine: the last `seq` in it, the watermark after it (max event
/// time − the plan's delay) and when, in ns since the tap started.
#[derive(Clone, Copy, Debug)]
struct Delivery {
    last_seq: u64,
    watermark: i64,
    at_ns: u64,
}

/// One run's live counters.
pub struct EngineTap {
    /// The run's label (engine name, and what the experiment varies).
    pub label: String,
    /// The engine's name.
    pub engine: String,
    started: Instant,
    delay_ms: i64,
    events_in: AtomicU64,
    rows_out: AtomicU64,
    max_event_time: AtomicI64,
    deliveries: Mutex<VecDeque<Delivery>>,
    latency: Mutex<Histogram<u64>>,
    final_numbers: Mutex<Option<FinalNumbers>>,
}

/// What a tap holds at one moment.
#[derive(Clone, Debug)]
pub struct TapReading {
    /// Seconds since the run started.
    pub elapsed_s: f64,
    /// Events handed to the engine.
    pub events_in: u64,
    /// Rows the engine emitted.
    pub rows_out: u64,
    /// The source's watermark (max event time − delay, ms), once an event arrived.
    pub watermark_ms: Option<i64>,
    /// Sampled latencies so far (µs, from the trigger event's delivery to the row's
    /// emission).
    pub latency: Histogram<u64>,
    /// The summary's numbers, once the run has finished.
    pub final_numbers: Option<FinalNumbers>,
}

impl EngineTap {
    /// A tap for a run of `engine` whose plan has watermark delay `delay_ms`.
    pub fn new(engine: &str, label: &str, delay_ms: i64) -> EngineTap {
        EngineTap {
            label: label.to_owned(),
            engine: engine.to_owned(),
            started: Instant::now(),
            delay_ms,
            events_in: AtomicU64::new(0),
            rows_out: AtomicU64::new(0),
            max_event_time: AtomicI64::new(i64::MIN),
            deliveries: Mutex::new(VecDeque::new()),
            latency: Mutex::new(latency_histogram()),
            final_numbers: Mutex::new(None),
        }
    }

    /// Notes a chunk of `n` events handed to the engine, its last `seq` and its largest
    /// event time.
    fn delivered(&self, n: u64, last_seq: u64, max_time: i64) {
        self.events_in.fetch_add(n, Ordering::Relaxed);
        let max = self.max_event_time.fetch_max(max_time, Ordering::Relaxed);
        let delivery = Delivery {
            last_seq,
            watermark: max.max(max_time).saturating_sub(self.delay_ms),
            at_ns: self.started.elapsed().as_nanos() as u64,
        };
        let mut kept = lock(&self.deliveries);
        if kept.len() == DELIVERIES_KEPT {
            kept.pop_front();
        }
        kept.push_back(delivery);
    }

    /// Records the latencies of `rows` emitted at `now_ns` into `into`: each row from the
    /// delivery of its trigger event (update and complete rows name it), an append row from
    /// the delivery that moved the watermark to its window's end. Rows whose trigger was
    /// not seen (or is too old to be remembered) are not sampled.
    fn sample_latencies(
        &self,
        rows: &[streamlab_core::semantics::row::OutRow],
        now_ns: u64,
        into: &mut Histogram<u64>,
    ) {
        let kept = lock(&self.deliveries);
        for row in rows {
            let at = match row.trigger {
                Some(seq) => first(&kept, |d| d.last_seq >= seq),
                None => first(&kept, |d| d.watermark >= row.window.end),
            };
            if let Some(at) = at {
                let _ = into.record(now_ns.saturating_sub(at) / 1_000);
            }
        }
    }

    /// Merges the sink's sampled latencies into the shared histogram.
    fn hand_over(&self, sampled: &mut Histogram<u64>) {
        let _ = lock(&self.latency).add(&*sampled);
        sampled.reset();
    }

    fn emitted(&self, n: u64) {
        self.rows_out.fetch_add(n, Ordering::Relaxed);
    }

    fn now_ns(&self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }

    /// Marks the run finished with the numbers of its summary.
    pub fn finish(&self, numbers: FinalNumbers) {
        *lock(&self.final_numbers) = Some(numbers);
    }

    /// The tap's counters now.
    pub fn read(&self) -> TapReading {
        let max = self.max_event_time.load(Ordering::Relaxed);
        TapReading {
            elapsed_s: self.started.elapsed().as_secs_f64(),
            events_in: self.events_in.load(Ordering::Relaxed),
            rows_out: self.rows_out.load(Ordering::Relaxed),
            watermark_ms: (max != i64::MIN).then(|| max.saturating_sub(self.delay_ms)),
            latency: lock(&self.latency).clone(),
            final_numbers: lock(&self.final_numbers).clone(),
        }
    }
}

/// When the first delivery that satisfies `reached` happened (deliveries are in order, and
/// `reached` turns true once and stays true).
fn first(kept: &VecDeque<Delivery>, reached: impl Fn(&Delivery) -> bool) -> Option<u64> {
    let i = kept.partition_point(|d| !reached(d));
    // The oldest remembered delivery already satisfies it: the trigger may be older still.
    if i == 0 && kept.len() == DELIVERIES_KEPT {
        return None;
    }
    kept.get(i).map(|d| d.at_ns)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
