//! `streamlab bench`: engines side by side under the same driver, measured as
//! measurement.md says: each run in its own child process (so CPU and peak memory belong
//! to one engine), engines interleaved across repetitions (A B C A B C), warm-up
//! discarded, medians with min and max, every throughput next to the baseline's.

use crate::engines::EngineKind;
use crate::gen::{generate_to_vec, GenConfig};
use crate::input::decode_generated;
use crate::metrics::{hgrm, AppendTriggers, LatencyRecorder, MeasuringSink, Percentiles, Usage};
use crate::replay::{Profile, Rate, Replay};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, Poll, RunOptions, Source, VecSource};
use streamlab_core::{Event, Plan};

/// Everything one measured run needs; passed to the child process as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSpec {
    /// Engine name (registry).
    pub engine: String,
    /// The query, as TOML text.
    pub query: String,
    /// The generated input.
    pub gen: GenConfig,
    /// Events per second, or None for closed loop (max throughput).
    pub rate: Option<f64>,
    /// Rate profile (`constant`, `step:…`, `burst:…`).
    pub profile: String,
    /// Fraction of events treated as warm-up.
    pub warmup: f64,
    /// `--workers`, when given.
    pub workers: Option<usize>,
    /// `--max-records-per-batch`, when given.
    pub max_records_per_batch: Option<usize>,
    /// `--trigger`, when given.
    pub trigger: Option<String>,
    /// `--watermark-interval`, when given.
    pub watermark_interval: Option<u64>,
}

impl RunSpec {
    fn options(&self) -> Result<RunOptions> {
        Ok(RunOptions {
            workers: self.workers,
            max_records_per_batch: self.max_records_per_batch,
            trigger: self
                .trigger
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(anyhow::Error::msg)?,
            watermark_interval: self.watermark_interval,
            ..Default::default()
        })
    }

    fn kind(&self) -> Result<EngineKind> {
        <EngineKind as clap::ValueEnum>::from_str(&self.engine, false)
            .map_err(|_| anyhow::anyhow!("unknown engine `{}`", self.engine))
    }
}

/// What one run measured.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RunMetrics {
    /// Engine name.
    pub engine: String,
    /// Valid events replayed.
    pub events: u64,
    /// Events after warm-up per second from the end of warm-up to the end of the run.
    pub throughput_eps: f64,
    /// Wall seconds of the whole run.
    pub elapsed_s: f64,
    /// Latency percentiles (open-loop runs only).
    pub latency_us: Option<Percentiles>,
    /// The latency distribution as `.hgrm` text (open-loop runs only).
    pub hgrm: Option<String>,
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

/// Runs one measured run in this process (the child side of `bench`): generate and decode
/// the input first (not measured), then [`measure`].
pub fn run_one(spec: &RunSpec) -> Result<RunMetrics> {
    let plan = crate::tables::with_generated_table(Plan::from_toml(&spec.query)?, &spec.gen)?;
    let options = spec.options()?;
    let engine = spec.kind()?.build();
    engine.check_options(&options)?;
    let (bytes, _) = generate_to_vec(&spec.gen)?;
    let input = decode_generated(bytes.as_slice(), &plan, false, &mut std::io::sink())?;
    drop(bytes);
    let profile: Profile = spec.profile.parse().map_err(anyhow::Error::msg)?;
    let rate = spec.rate.map(Rate::PerSecond).unwrap_or(Rate::Max);
    let mut m = measure(
        engine.as_ref(),
        &plan,
        &options,
        input.events,
        rate,
        &profile,
        spec.warmup,
        None,
    )?;
    m.engine = spec.engine.clone();
    Ok(m)
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
            engine.run(plan, options, Box::new(source), sink)?
        }
        Rate::PerSecond(rate) => {
            let triggers = AppendTriggers::new(&events, plan.delay_ms);
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
                move |seq: u64| start + schedule.arrival(seq)
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
            let summary = engine.run(plan, options, Box::new(source), Box::new(sink))?;
            let last_due = replay.start + replay.schedule.arrival(n.saturating_sub(1));
            metrics.finish_lag_s = Instant::now()
                .saturating_duration_since(last_due)
                .as_secs_f64();
            let counters = replay.counters.clone();
            replay.join();
            metrics.max_backlog = counters.max_backlog.load(Ordering::Relaxed);
            metrics.backlog_at_end = counters.backlog_at_end.load(Ordering::Relaxed);
            metrics.backlog_growth = growth(
                &counters
                    .backlog_samples
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            );
            driver_cpu = Duration::from_nanos(counters.driver_cpu_ns.load(Ordering::Relaxed));
            let rec = recorder.lock().unwrap_or_else(|e| e.into_inner());
            metrics.latency_us = Some(Percentiles::of(rec.histogram()));
            metrics.hgrm = Some(hgrm(rec.histogram()));
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
    Ok(metrics)
}

/// Mean of the last third of `samples` minus mean of the first third.
fn growth(samples: &[u64]) -> f64 {
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

/// Runs one spec in a child process of this binary and reads its metrics.
pub fn run_in_child(spec: &RunSpec) -> Result<RunMetrics> {
    let exe = std::env::current_exe().context("locating the streamlab binary")?;
    let dir = std::env::temp_dir().join(format!("streamlab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let spec_path = dir.join("spec.json");
    let out_path = dir.join("metrics.json");
    std::fs::write(&spec_path, serde_json::to_vec(spec)?)?;
    let _ = std::fs::remove_file(&out_path);
    let status = std::process::Command::new(exe)
        .arg("bench-run")
        .arg("--spec")
        .arg(&spec_path)
        .arg("--out")
        .arg(&out_path)
        .status()
        .context("starting a bench child process")?;
    if !status.success() {
        bail!("the {} run failed ({status})", spec.engine);
    }
    let text = std::fs::read_to_string(&out_path).context("reading the child's metrics")?;
    Ok(serde_json::from_str(&text)?)
}

/// Outcome of one probe of the sustainable-throughput search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Probe {
    /// Rate tried (events/s).
    pub rate: f64,
    /// Whether the engine held it.
    pub sustained: bool,
    /// Why not, when it did not.
    pub reason: String,
    /// p99 latency (µs).
    pub p99_us: u64,
    /// Queue length when the driver had sent everything.
    pub backlog_at_end: u64,
    /// Backlog growth over the run (events).
    pub backlog_growth: f64,
}

/// Whether a run held its rate `rate`: p99 under the bound, the backlog not growing by
/// more than a tenth of the bound's worth of input over the run, and the engine done
/// within the bound of the last scheduled arrival.
pub fn sustained(m: &RunMetrics, rate: f64, p99_bound: Duration) -> (bool, String) {
    let p99 = m.latency_us.map(|l| l.p99).unwrap_or(u64::MAX);
    if p99 > p99_bound.as_micros() as u64 {
        return (
            false,
            format!("p99 {} ms > bound {} ms", p99 / 1000, p99_bound.as_millis()),
        );
    }
    let allowed = rate * p99_bound.as_secs_f64() / 10.0;
    if m.backlog_growth > allowed {
        return (
            false,
            format!(
                "backlog grew by {:.0} events over the run (allowed {allowed:.0})",
                m.backlog_growth
            ),
        );
    }
    if m.finish_lag_s > p99_bound.as_secs_f64() {
        return (
            false,
            format!(
                "finished {:.2} s after the last arrival (backlog {} at end)",
                m.finish_lag_s, m.backlog_at_end
            ),
        );
    }
    (true, String::new())
}

/// The search of measurement.md: from `start`, double until the engine no longer holds the
/// rate, then bisect between the last good and the first bad rate until they are within
/// `precision` (0.05). `probe(rate)` runs one measurement.
pub fn find_sustainable(
    start: f64,
    max_rate: f64,
    precision: f64,
    p99_bound: Duration,
    mut probe: impl FnMut(f64) -> Result<RunMetrics>,
) -> Result<(Option<f64>, Vec<Probe>)> {
    let mut walked = Vec::new();
    let mut try_rate = |rate: f64, walked: &mut Vec<Probe>| -> Result<bool> {
        let m = probe(rate)?;
        let (ok, reason) = sustained(&m, rate, p99_bound);
        walked.push(Probe {
            rate,
            sustained: ok,
            reason,
            p99_us: m.latency_us.map(|l| l.p99).unwrap_or(0),
            backlog_at_end: m.backlog_at_end,
            backlog_growth: m.backlog_growth,
        });
        Ok(ok)
    };
    let mut good: Option<f64> = None;
    let mut rate = start;
    let mut bad = loop {
        if try_rate(rate, &mut walked)? {
            good = Some(rate);
            if rate * 2.0 > max_rate {
                return Ok((good, walked));
            }
            rate *= 2.0;
        } else {
            break rate;
        }
    };
    let Some(mut lo) = good else {
        return Ok((None, walked));
    };
    while (bad - lo) / lo > precision {
        let mid = (lo + bad) / 2.0;
        if try_rate(mid, &mut walked)? {
            lo = mid;
        } else {
            bad = mid;
        }
    }
    Ok((Some(lo), walked))
}

/// Median, min and max of a metric over repetitions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// Of a non-empty list.
    pub fn of(values: &[f64]) -> Spread {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let median = if v.is_empty() {
            0.0
        } else if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        Spread {
            median,
            min: v.first().copied().unwrap_or(0.0),
            max: v.last().copied().unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_of_repetitions() {
        assert_eq!(
            Spread::of(&[3.0, 1.0, 2.0]),
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(Spread::of(&[4.0, 1.0]).median, 2.5);
    }

    /// A fake engine that holds any rate up to `capacity` (a model of a throttled engine).
    fn fake(capacity: f64) -> impl FnMut(f64) -> Result<RunMetrics> {
        move |rate| {
            let over = rate > capacity;
            Ok(RunMetrics {
                latency_us: Some(Percentiles {
                    p99: if over { 5_000_000 } else { 2_000 },
                    ..Default::default()
                }),
                finish_lag_s: if over { 3.0 } else { 0.001 },
                ..Default::default()
            })
        }
    }

    #[test]
    fn the_search_brackets_the_capacity_within_five_percent() {
        for capacity in [37_000.0, 250_000.0, 1_300_000.0] {
            let (found, walked) =
                find_sustainable(10_000.0, 1e9, 0.05, Duration::from_secs(1), fake(capacity))
                    .unwrap();
            let found = found.unwrap();
            assert!(
                found <= capacity && found >= capacity * 0.95,
                "{capacity}: {found} {walked:?}"
            );
            assert!(walked.iter().any(|p| !p.sustained));
        }
        let (none, _) =
            find_sustainable(10_000.0, 1e9, 0.05, Duration::from_secs(1), fake(5_000.0)).unwrap();
        assert_eq!(none, None);
    }
}
