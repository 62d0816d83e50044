//! One measured run, as measurement.md says: throughput after the warm-up, latency from
//! each event's scheduled arrival (open loop, no coordinated omission), the engine's CPU
//! (the replay driver's own excluded), peak memory of the run, and the backlog between
//! driver and engine.

use crate::metrics::{hgrm, AppendTriggers, LatencyRecorder, MeasuringSink, Percentiles, Usage};
use crate::replay::{Positions, Profile, Rate, Replay};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, Poll, RunOptions, Source, VecSource};
use streamlab_core::{Event, Plan};

/// What one run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Engine name.
    pub engine: String,
    /// Valid events replayed.
    pub events: u64,
    /// Seconds from the first to the last scheduled arrival (open loop): how long the run
    /// offered its rate, which the sustained-rate rule needs to be long enough.
    #[serde(default)]
    pub schedule_s: f64,
    /// Events after warm-up per second from the end of warm-up to the end of the run.
    pub throughput_eps: f64,
    /// Wall seconds of the whole run.
    pub elapsed_s: f64,
    /// Latency percentiles (open-loop runs only).
    pub latency_us: Option<Percentiles>,
    /// The latency distribution as `.hgrm` text (open-loop runs only).
    pub hgrm: Option<String>,
    /// Rows whose latency could not be recorded: negative (emitted before due) or charged
    /// to no scheduled event; not in the percentiles, reported beside them.
    #[serde(default)]
    pub latency_anomalies: crate::metrics::LatencyAnomalies,
    /// CPU seconds of the engine (the replay driver's own CPU excluded).
    pub cpu_s: f64,
    /// cpu_s / elapsed_s.
    pub cores_used: f64,
    /// Events per CPU-second: the number that compares fairly across worker counts.
    pub events_per_core_s: f64,
    /// Peak RSS of the process during the run (includes the pre-loaded input; on Linux
    /// the peak is reset when the run starts, so decoding before it does not count).
    pub peak_rss_bytes: u64,
    /// RSS when the run starts, with the input loaded.
    pub input_rss_bytes: u64,
    /// Largest queue between driver and engine (open loop).
    pub max_backlog: u64,
    /// Queue length when the driver had sent the last event.
    pub backlog_at_end: u64,
    /// Mean backlog of the last third of the run minus that of the first third (events):
    /// positive and large when the engine falls further behind as the run goes on.
    pub backlog_growth: f64,
    /// How long after the last scheduled arrival the engine finished (open loop).
    pub finish_lag_s: f64,
    /// Rows emitted.
    pub rows_out: u64,
    /// Events dropped as late.
    pub late_dropped: u64,
}

/// A source that notes when the engine has taken the warm-up events.
struct WarmupClock<S> {
    inner: S,
    taken: u64,
    shared_taken: Arc<AtomicU64>,
    warmup: u64,
    warm_at: Arc<Mutex<Option<Instant>>>,
}

impl<S: Source> Source for WarmupClock<S> {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        let status = self.inner.poll(buf, max)?;
        let was = self.taken;
        self.taken += (buf.len() - before) as u64;
        self.shared_taken.store(self.taken, Ordering::Relaxed);
        if was < self.warmup && self.taken >= self.warmup {
            *self.warm_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        }
        Ok(status)
    }

    fn partitions(&self) -> streamlab_core::Part {
        self.inner.partitions()
    }
}

/// Measures one run of `engine` over pre-loaded `events`: closed loop for `Rate::Max`
/// (throughput only), else open loop through the replay driver (throughput, latency,
/// backlog). The first `warmup` fraction of events is run and not counted. Rows go on to
/// `output` when given (accuracy experiments), else are only counted.
#[allow(clippy::too_many_arguments)]
pub fn measure(
    engine: &dyn streamlab_core::Engine,
    plan: &Plan,
    options: &RunOptions,
    events: Vec<Event>,
    rate: Rate,
    profile: &Profile,
    warmup: f64,
    output: Option<Box<dyn streamlab_core::Sink>>,
) -> Result<RunMetrics> {
    measure_observed(
        engine, plan, options, events, rate, profile, warmup, output, None,
    )
}

/// [`measure`], and for an open-loop run the instant event 0 was due is stored in
/// `replay_start` before the engine starts: a sink that measures against the schedule by
/// another rule (the YSB window-end latency, [`crate::window_latency`]) needs it.
#[allow(clippy::too_many_arguments)]
pub fn measure_observed(
    engine: &dyn streamlab_core::Engine,
    plan: &Plan,
    options: &RunOptions,
    events: Vec<Event>,
    rate: Rate,
    profile: &Profile,
    warmup: f64,
    output: Option<Box<dyn streamlab_core::Sink>>,
    replay_start: Option<&std::sync::OnceLock<Instant>>,
) -> Result<RunMetrics> {
    let n = events.len() as u64;
    let warmup_n = (n as f64 * warmup) as u64;
    let warm_at = Arc::new(Mutex::new(None));
    // The run's own peak: decoding the input peaked higher than many engines' state.
    let input_rss = crate::metrics::reset_peak_rss().unwrap_or(Usage::now().peak_rss_bytes);
    let before = Usage::now();
    let started = Instant::now();
    let mut metrics = RunMetrics {
        engine: engine.name().into(),
        events: n,
        input_rss_bytes: input_rss,
        ..Default::default()
    };
    let mut driver_cpu = Duration::ZERO;
    let taken = Arc::new(AtomicU64::new(0));
    let label = format!(
        "{} {}",
        engine.name(),
        match rate {
            Rate::Max => "max".to_string(),
            Rate::PerSecond(r) => format!("{r:.0}/s"),
        }
    );
    let tap;
    let summary = match rate {
        Rate::Max => {
            let _progress = crate::progress::Progress::start(&label, n, taken.clone(), None);
            let source = WarmupClock {
                inner: VecSource::new(events),
                taken: 0,
                shared_taken: taken.clone(),
                warmup: warmup_n,
                warm_at: warm_at.clone(),
            };
            let sink = output.unwrap_or_else(|| Box::new(CountingSink));
            let observed = observe_run(engine, plan, &label, Box::new(source), sink);
            tap = observed.tap;
            engine.run(plan, options, observed.source, observed.sink)?
        }
        Rate::PerSecond(rate) => {
            let triggers = AppendTriggers::new(&events, plan.delay_ms);
            // Due times by place in the schedule, not by seq (which counts lines).
            let positions = Positions::of(&events);
            let warmup_seq = events
                .get(warmup_n as usize)
                .map(|e| e.seq)
                .unwrap_or(u64::MAX);
            let (replay, source) = Replay::start(events, rate, profile);
            if let Some(cell) = replay_start {
                let _ = cell.set(replay.start);
            }
            let due = {
                let start = replay.start;
                let schedule = replay.schedule.clone();
                move |seq: u64| positions.place(seq).map(|i| start + schedule.arrival(i))
            };
            let recorder = Arc::new(Mutex::new(LatencyRecorder::new(due, triggers, warmup_seq)));
            let counters = replay.counters.clone();
            let _progress = crate::progress::Progress::start(
                &label,
                n,
                taken.clone(),
                Some(Box::new(move || counters.backlog())),
            );
            let source = WarmupClock {
                inner: source,
                taken: 0,
                shared_taken: taken.clone(),
                warmup: warmup_n,
                warm_at: warm_at.clone(),
            };
            let sink = MeasuringSink::new(recorder.clone(), output);
            let observed = observe_run(engine, plan, &label, Box::new(source), Box::new(sink));
            tap = observed.tap;
            let summary = engine.run(plan, options, observed.source, observed.sink)?;
            metrics.schedule_s = replay.schedule.arrival(n.saturating_sub(1)).as_secs_f64();
            let last_due = replay.start + replay.schedule.arrival(n.saturating_sub(1));
            metrics.finish_lag_s = Instant::now()
                .saturating_duration_since(last_due)
                .as_secs_f64();
            let counters = replay.counters.clone();
            replay.join();
            metrics.max_backlog = counters.max_backlog.load(Ordering::Relaxed);
            metrics.backlog_at_end = counters.backlog_at_end.load(Ordering::Relaxed);
            metrics.backlog_growth = backlog_growth(
                &counters
                    .backlog_samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            driver_cpu = Duration::from_nanos(counters.driver_cpu_ns.load(Ordering::Relaxed));
            let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
            metrics.latency_us = Some(Percentiles::of(rec.histogram()));
            metrics.hgrm = Some(hgrm(rec.histogram()));
            metrics.latency_anomalies = rec.anomalies;
            summary
        }
    };
    let ended = Instant::now();
    let usage = Usage::now().since(before);
    let elapsed = (ended - started).as_secs_f64().max(1e-9);
    let warm = warm_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .unwrap_or(started);
    metrics.throughput_eps = (n - warmup_n.min(n)) as f64 / (ended - warm).as_secs_f64().max(1e-9);
    metrics.elapsed_s = elapsed;
    metrics.cpu_s = (usage.cpu_s - driver_cpu.as_secs_f64()).max(0.0);
    metrics.cores_used = metrics.cpu_s / elapsed;
    metrics.events_per_core_s = if metrics.cpu_s > 0.0 {
        n as f64 / metrics.cpu_s
    } else {
        0.0
    };
    metrics.peak_rss_bytes = crate::metrics::peak_rss_since_reset().unwrap_or(usage.peak_rss_bytes);
    metrics.rows_out = summary.rows_out;
    metrics.late_dropped = summary.late_dropped;
    if let Some(tap) = tap {
        // The live view ends on this run's own figures (those of raw.csv).
        tap.finish(crate::tap::FinalNumbers {
            events_in: summary.events_in,
            rows_out: summary.rows_out,
            late_dropped: summary.late_dropped,
            elapsed_ms: metrics.elapsed_s * 1e3,
            throughput_eps: metrics.throughput_eps,
            latency_us: metrics.latency_us,
        });
    }
    Ok(metrics)
}

/// The run's source and sink, tapped for the live view when `--serve` is on, labelled
/// with the run's rate (`record 50000/s`).
fn observe_run(
    engine: &dyn streamlab_core::Engine,
    plan: &Plan,
    label: &str,
    source: Box<dyn streamlab_core::Source>,
    sink: Box<dyn streamlab_core::Sink>,
) -> crate::tap::Observed {
    if let Some(board) = crate::tap::board() {
        let context = label.strip_prefix(engine.name()).unwrap_or(label).trim();
        board.set_context(context);
    }
    crate::tap::observe(engine.name(), plan.delay_ms, source, sink)
}

/// Mean of the last third of backlog `samples` minus mean of the first third.
pub fn backlog_growth(samples: &[u64]) -> f64 {
    let third = samples.len() / 3;
    if third == 0 {
        return 0.0;
    }
    let mean = |s: &[u64]| s.iter().sum::<u64>() as f64 / s.len() as f64;
    mean(&samples[samples.len() - third..]) - mean(&samples[..third])
}

/// Counts nothing and keeps nothing: closed-loop runs measure throughput only.
struct CountingSink;

impl streamlab_core::Sink for CountingSink {
    fn emit(&mut self, _rows: &[streamlab_core::OutRow]) -> Result<(), EngineError> {
        Ok(())
    }
}
