//! `streamlab experiment ysb`: the Yahoo Streaming Benchmark on every engine and the
//! baseline. Ad events (`user_id, page_id, ad_id, ad_type, event_type, ts`) are filtered
//! to views, joined with the campaign table and counted per campaign in 10 s tumbling
//! windows (`queries/ysb.toml`; the table comes from the seed,
//! [`with_generated_table`]).
//!
//! Two measurements, as the benchmark reports them:
//! - **throughput**: closed loop over pre-generated input, each run in its own process,
//!   engines interleaved, medians over `--reps` (as `streamlab bench` measures);
//! - **latency, window end to result** ([`streamlab_measure::window_latency`]): an open-loop replay at a
//!   fixed offered rate; for each output row, its emit time minus the scheduled arrival of
//!   the first event at or past the window's end. Event time advances `time_scale` times as
//!   fast as the replay clock (1 in the full run: event time is the replay clock, as YSB
//!   stamps events when they are produced; faster in `--quick` so that windows close
//!   within seconds). The rows of these runs are checked against the oracle.
//!
//! The disorder (5 % of events up to 1 s back) stays within the query's 2 s watermark
//! delay: nothing is late, so every engine must give the oracle's rows exactly.

use crate::config::ExperimentConfig;
use crate::sweep::{closed_loop, engines, interleaved, throughput_table, Measured, Outcome};
use anyhow::{bail, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use streamlab_core::engine::{CollectSink, RunOptions};
use streamlab_core::Plan;
use streamlab_engines::runner::to_result_rows;
use streamlab_io::decode::decode_all;
use streamlab_measure::accuracy::compare;
use streamlab_measure::measured::measure_observed;
use streamlab_measure::metrics::{hgrm, Percentiles};
use streamlab_measure::replay::{Profile, Rate, Schedule};
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;
use streamlab_measure::sustainable::sustained;
use streamlab_measure::window_latency::{WindowEndLatency, WindowEndSink, WindowEnds};
use streamlab_reference::Oracle;
use streamlab_workloads::gen::{generate_to_vec, with_generated_table, GenConfig, Workload};

/// The benchmark's query.
pub const QUERY: &str = include_str!("../../../queries/ysb.toml");
/// Where it lives in the repository (for READMEs).
const QUERY_FILE: &str = "queries/ysb.toml";
/// Fraction of each run treated as warm-up.
const WARMUP: f64 = 0.1;
/// Events per second of event time in the closed-loop input (as `streamlab bench`).
const THROUGHPUT_EVENT_RATE: f64 = 100_000.0;
/// Largest disorder: within the query's watermark delay, so nothing is late.
const MAX_DELAY_MS: i64 = 1_000;

/// The definition written into results (README, summary.json).
pub const LATENCY_DEFINITION: &str = "YSB latency (window end to result): for each output row, \
the wall time the row was emitted minus the scheduled arrival, in the open-loop replay, of the \
first event (in arrival order) whose event time is at or past the row's window end. With event \
time following the replay clock (time_scale 1) that arrival is the wall time the window end \
maps to. It includes the 2 s watermark delay (in wall time: 2 s / time_scale), which the \
append-mode query waits for late events; latency_p*_us in raw.csv is measurement.md's \
append-row latency, which starts when the watermark passes the window end instead. Rows of \
windows the stream never passes (closed by the end of input) and of windows passed during \
warm-up (the first 10 % of events) are not recorded.";

/// How big one run of the experiment is.
#[derive(Clone, Debug)]
struct Settings {
    /// Events of each closed-loop run.
    throughput_events: u64,
    /// Offered rates of the latency runs (events per wall second).
    rates: Vec<f64>,
    /// Wall seconds each latency run replays.
    seconds: f64,
    /// Event-time seconds per wall second of the latency replay.
    time_scale: f64,
}

impl Settings {
    fn of(quick: bool) -> Settings {
        if quick {
            Settings {
                throughput_events: 200_000,
                rates: vec![100_000.0],
                seconds: 2.0,
                time_scale: 20.0,
            }
        } else {
            Settings {
                throughput_events: 10_000_000,
                rates: vec![200_000.0],
                seconds: 32.0,
                time_scale: 1.0,
            }
        }
    }
}

/// Ad events at `event_rate` events per second of event time.
fn ad_events(events: u64, event_rate: f64, seed: u64) -> GenConfig {
    GenConfig {
        rate: event_rate,
        disorder: 0.05,
        max_delay_ms: MAX_DELAY_MS,
        ..GenConfig::new(Workload::Ysb, events, seed)
    }
}

/// One engine's oracle check over all its latency runs.
#[derive(Default)]
struct OracleTally {
    runs: usize,
    exact_runs: usize,
    rows_exact: usize,
    rows_expected: usize,
}

/// Runs the experiment (see the module doc).
pub fn run(
    cfg: &ExperimentConfig,
    raw: &mut RawCsv,
    files: &mut Vec<(String, String)>,
) -> Result<Outcome> {
    let s = Settings::of(cfg.quick);
    let engines = engines();
    let delay_ms = Plan::from_toml(QUERY)?.delay_ms;
    if MAX_DELAY_MS >= delay_ms {
        bail!("{QUERY_FILE}: its watermark delay ({delay_ms} ms) must exceed the input's disorder ({MAX_DELAY_MS} ms) for an exact comparison");
    }

    let tgen = ad_events(s.throughput_events, THROUGHPUT_EVENT_RATE, cfg.seed);
    let runs = closed_loop(
        "ysb",
        QUERY,
        &tgen,
        &engines,
        cfg.reps,
        "measure=throughput",
        raw,
    )?;
    let throughput = throughput_table(&runs);

    let mut points = Vec::new();
    let mut tally: BTreeMap<String, OracleTally> = BTreeMap::new();
    let mut by_engine: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for &rate in &s.rates {
        let events = (rate * s.seconds) as u64;
        let gen = ad_events(events, rate / s.time_scale, cfg.seed);
        let plan = with_generated_table(Plan::from_toml(QUERY)?, &gen)?;
        let input = {
            let (bytes, _) = generate_to_vec(&gen)?;
            decode_all(
                bytes.as_slice(),
                "<generated>",
                &plan,
                false,
                &mut std::io::sink(),
            )?
        };
        let (exact, _) = Oracle::answer(&plan, &input.events)?;
        let exact = to_result_rows(&exact, &input.keys);
        let ends = WindowEnds::new(&input.events);
        let warmup_events = (input.events.len() as f64 * WARMUP) as u64;
        let setting = format!("measure=latency;rate={rate}");
        let mut per_rate: BTreeMap<String, Vec<Percentiles>> = BTreeMap::new();
        interleaved(&engines, cfg.reps, &setting, raw, |kind, rep| {
            tracing::debug!(
                "ysb: {} at {rate:.0} events/s for {} s, rep {}",
                kind.name(),
                s.seconds,
                rep + 1
            );
            let start = Arc::new(OnceLock::new());
            let latency = Arc::new(Mutex::new(WindowEndLatency::new(
                ends.clone(),
                Schedule::new(rate, &Profile::Constant),
                start.clone(),
                warmup_events,
            )));
            let collect = CollectSink::default();
            let sink = WindowEndSink::new(latency.clone(), Some(Box::new(collect.clone())));
            let engine = kind.build();
            let m = measure_observed(
                engine.as_ref(),
                &plan,
                &RunOptions::default(),
                input.events.clone(),
                Rate::PerSecond(rate),
                &Profile::Constant,
                WARMUP,
                Some(Box::new(sink)),
                Some(&start),
            )?;
            let acc = compare(&to_result_rows(&collect.rows(), &input.keys), &exact, &plan);
            let latency = latency.lock().unwrap_or_else(|e| e.into_inner());
            let ysb = Percentiles::of(latency.histogram());
            let (kept_up, why_not) = sustained(&m, rate, Duration::from_secs(1));
            let rows = vec![
                ("ysb_latency_p50_us", ysb.p50 as f64),
                ("ysb_latency_p90_us", ysb.p90 as f64),
                ("ysb_latency_p99_us", ysb.p99 as f64),
                ("ysb_latency_max_us", ysb.max as f64),
                ("ysb_rows", latency.rows as f64),
                ("ysb_rows_closed_by_end", latency.closed_by_end as f64),
                // Emitted before the window end was reached: a measurement error if any.
                (
                    "ysb_latency_negative_rows",
                    latency.anomalies.negative as f64,
                ),
                ("rows_exact", acc.exact as f64),
                ("rows_expected", acc.rows_expected as f64),
                ("rows_missing", acc.missing as f64),
                ("rows_wrong", acc.wrong as f64),
                ("rows_extra", acc.extra as f64),
                ("kept_up", f64::from(u8::from(kept_up))),
            ];
            if rep == 0 {
                files.push((
                    format!("{}-rate{rate:.0}.hgrm", kind.name()),
                    hgrm(latency.histogram()),
                ));
            }
            let t = tally.entry(kind.name()).or_default();
            t.runs += 1;
            t.exact_runs += usize::from(acc.is_exact());
            t.rows_exact += acc.exact;
            t.rows_expected += acc.rows_expected;
            per_rate.entry(kind.name()).or_default().push(ysb);
            points.push(json!({
                "engine": kind.name(), "rate": rate, "rep": rep,
                "ysb_latency_us": ysb, "append_latency_us": m.latency_us,
                "rows_measured": latency.rows, "rows_closed_by_end": latency.closed_by_end,
                "rows_warmup": latency.warmup_rows,
                "throughput_eps": m.throughput_eps, "kept_up": kept_up, "why_not": why_not,
                "accuracy": acc,
            }));
            Ok(Measured { metrics: m, rows })
        })?;
        for (engine, ps) in per_rate {
            let med = |f: fn(&Percentiles) -> u64| {
                Spread::of(&ps.iter().map(|p| f(p) as f64).collect::<Vec<_>>())
            };
            by_engine.entry(engine).or_default().push(json!({
                "rate": rate,
                "p50_us": med(|p| p.p50), "p99_us": med(|p| p.p99), "max_us": med(|p| p.max),
            }));
        }
    }

    let oracle: BTreeMap<String, serde_json::Value> = tally
        .iter()
        .map(|(e, t)| {
            (
                e.clone(),
                json!({"runs": t.runs, "exact_runs": t.exact_runs, "rows_exact": t.rows_exact,
                       "rows_expected": t.rows_expected, "exact": t.exact_runs == t.runs}),
            )
        })
        .collect();
    let all_exact = tally.values().all(|t| t.exact_runs == t.runs);
    let table = readme_table(&throughput, &by_engine, &tally);
    let summary = json!({
        "query": QUERY_FILE,
        "watermark_delay_ms": delay_ms,
        "throughput": {"events": s.throughput_events, "event_rate": THROUGHPUT_EVENT_RATE,
                       "engines": throughput},
        "latency": {"definition": LATENCY_DEFINITION, "rates": s.rates, "seconds": s.seconds,
                    "time_scale": s.time_scale,
                    "watermark_delay_wall_ms": delay_ms as f64 / s.time_scale,
                    "engines": by_engine, "points": points},
        "oracle": oracle,
        "all_exact": all_exact,
    });
    let what = format!(
        "The Yahoo Streaming Benchmark (`{QUERY_FILE}`): ad events filtered to views, joined with \
         the campaign table on `ad_id` (1000 ads in 100 campaigns, the table from the seed), \
         counted per campaign in 10 s tumbling windows; 5 % of events up to 1 s out of order, \
         within the 2 s watermark delay.\n\n\
         **Throughput**: closed loop over {} pre-generated events, each run in its own process, \
         engines interleaved, {} repetition(s); parsing and the join (done while lines are \
         decoded) are outside the measured part.\n\n\
         **Latency**: an open-loop replay of {} s at each offered rate ({}), event time running \
         {}× the replay clock. {LATENCY_DEFINITION} The latency runs share this process (their \
         rows are collected and compared with the oracle's, exact rows / expected rows).\n\n{table}",
        s.throughput_events,
        cfg.reps,
        s.seconds,
        s.rates
            .iter()
            .map(|r| format!("{r:.0} events/s"))
            .collect::<Vec<_>>()
            .join(", "),
        s.time_scale,
    );
    Ok((summary, what))
}

/// The README's table: throughput, YSB latency per rate and the oracle check per engine.
fn readme_table(
    throughput: &serde_json::Value,
    latency: &BTreeMap<String, Vec<serde_json::Value>>,
    tally: &BTreeMap<String, OracleTally>,
) -> String {
    let mut t = String::from(
        "| engine | events/s closed loop (median, min–max) | vs baseline | offered rate | YSB latency p50 / p99 / max (ms) | oracle: exact rows / expected |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let ms = |v: &serde_json::Value| v["median"].as_f64().unwrap_or(f64::NAN) / 1e3;
    for engine in engines().iter().map(|k| k.name()) {
        let th = &throughput[&engine];
        let tp = &th["throughput_eps"];
        let ratio = th["ratio_to_baseline"]
            .as_f64()
            .map(|r| format!("{r:.2}×"))
            .unwrap_or_else(|| "–".into());
        let check = tally
            .get(&engine)
            .map(|t| format!("{} / {}", t.rows_exact, t.rows_expected))
            .unwrap_or_default();
        for point in latency.get(&engine).into_iter().flatten() {
            let _ = writeln!(
                t,
                "| {engine} | {:.2}M ({:.2}–{:.2}M) | {ratio} | {:.0}k/s | {:.0} / {:.0} / {:.0} | {check} |",
                tp["median"].as_f64().unwrap_or(f64::NAN) / 1e6,
                tp["min"].as_f64().unwrap_or(f64::NAN) / 1e6,
                tp["max"].as_f64().unwrap_or(f64::NAN) / 1e6,
                point["rate"].as_f64().unwrap_or(f64::NAN) / 1e3,
                ms(&point["p50_us"]),
                ms(&point["p99_us"]),
                ms(&point["max_us"]),
            );
        }
    }
    t
}
