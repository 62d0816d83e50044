//! A benchmark suite (`streamlab bench`): repetitions of every engine interleaved
//! (A B C A B C), each in a child process, summarised as medians with min and max and as
//! ratios to the baseline, and written as a results folder.

use crate::child::{run_in_child, EngineFlags, InputPath, RunSpec, HAND};
use crate::cost::{workers_to_match, Cost};
use crate::sweep::record_metrics;
use anyhow::Result;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;
use streamlab_engines::EngineKind;
use streamlab_measure::measured::RunMetrics;
use streamlab_measure::metrics::Percentiles;
use streamlab_measure::results::{write_folder, RawCsv};
use streamlab_measure::spread::Spread;
use streamlab_measure::sustainable::{find_sustainable, Probe};
use streamlab_workloads::gen::GenConfig;

/// Every parameter of a suite; written to `config.toml`.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteConfig {
    /// Engines, in the order they are interleaved.
    pub engines: Vec<String>,
    /// The query (TOML text).
    pub query: String,
    /// Input generator settings (including the seed).
    pub gen: GenConfig,
    /// Events per second, or absent for closed loop.
    pub rate: Option<f64>,
    /// Rate profile.
    pub profile: String,
    /// Repetitions per engine.
    pub reps: usize,
    /// Warm-up fraction.
    pub warmup: f64,
    /// The input paths measured: engine only (decoded beforehand) and/or end to end
    /// from a file.
    pub paths: Vec<InputPath>,
    /// Engine flags, each for the engines that take it.
    #[serde(flatten)]
    pub flags: EngineFlags,
    /// Search for the sustainable rate instead of running one rate.
    pub find_sustainable: bool,
    /// The search's first rate.
    pub start_rate: f64,
    /// p99 latency bound of a sustained rate, ms.
    pub p99_bound_ms: u64,
    /// The exact command line.
    pub command: String,
}

/// Per engine, the medians (and spreads) over repetitions.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EngineSummary {
    /// Median throughput (events/s).
    pub throughput_eps: f64,
    /// Throughput median/min/max.
    pub throughput: Spread,
    /// Median latency percentiles (µs), open-loop runs only.
    pub latency_us: Option<BTreeMap<String, f64>>,
    /// Rows of all repetitions whose latency was negative or charged to no scheduled
    /// event (measurement errors: never folded into the percentiles).
    pub latency_anomalies: streamlab_measure::metrics::LatencyAnomalies,
    /// Median CPU seconds.
    pub cpu_s: f64,
    /// Median cores used.
    pub cores_used: f64,
    /// Median events per CPU second.
    pub events_per_core_s: f64,
    /// Median peak RSS.
    pub peak_rss_bytes: u64,
    /// Median throughput / baseline median throughput (the generic single-thread loop).
    pub ratio_to_baseline: Option<f64>,
    /// Median throughput / the hand-written W1 loop's (`hand`, W1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio_to_hand: Option<f64>,
    /// COST: the workers this engine needs to match `hand` (W1 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost: Option<Cost>,
    /// Sustainable rate found by the search.
    pub sustainable_eps: Option<f64>,
    /// The rates the search tried.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub search: Vec<Probe>,
    /// Rows emitted (last repetition).
    pub rows_out: u64,
    /// Events dropped as late (last repetition).
    pub late_dropped: u64,
    /// The same engine end to end from a file (read, decode, engine, sink), when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end: Option<EndToEnd>,
    /// The same end to end from the same events as a CSV file, when measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_to_end_csv: Option<EndToEnd>,
}

/// An engine measured end to end from a file ([`InputPath::File`], [`InputPath::Csv`]).
#[derive(Clone, Debug, Default, Serialize)]
pub struct EndToEnd {
    /// Rows the run wrote (last repetition): the same as engine only's, for the same
    /// events whatever the path.
    pub rows_out: u64,
    /// Events per second of the whole run, median/min/max.
    pub throughput: Spread,
    /// Median cores used.
    pub cores_used: f64,
    /// Median peak RSS (the engine's state and the chunks in flight, not the input).
    pub peak_rss_bytes: u64,
    /// The share of the end-to-end time the input path adds to the engine's own:
    /// 1 − end-to-end / engine-only median throughput (0 when reading and decoding hide
    /// entirely behind the engine).
    pub input_share: f64,
}

/// `summary.json`.
#[derive(Clone, Debug, Serialize)]
pub struct SuiteSummary {
    /// Per engine.
    pub engines: BTreeMap<String, EngineSummary>,
    /// Events per run.
    pub events: u64,
    /// What the numbers mean.
    pub notes: Vec<String>,
}

/// The run of `engine` (a registered engine, or [`HAND`]) in this suite.
pub(crate) fn spec_for(
    cfg: &SuiteConfig,
    engine: &str,
    rate: Option<f64>,
    path: InputPath,
) -> Result<RunSpec> {
    let flags = if engine == HAND {
        EngineFlags::default()
    } else {
        let kind = <EngineKind as clap::ValueEnum>::from_str(engine, false)
            .map_err(|_| anyhow::anyhow!("unknown engine `{engine}`"))?;
        cfg.flags.taken_by(kind)
    };
    Ok(RunSpec {
        engine: engine.to_owned(),
        query: cfg.query.clone(),
        gen: cfg.gen.clone(),
        rate,
        profile: cfg.profile.clone(),
        warmup: cfg.warmup,
        path,
        flags,
    })
}

fn summarize(runs: &[RunMetrics]) -> EngineSummary {
    let med =
        |f: &dyn Fn(&RunMetrics) -> f64| Spread::of(&runs.iter().map(f).collect::<Vec<_>>()).median;
    let throughput = Spread::of(&runs.iter().map(|r| r.throughput_eps).collect::<Vec<_>>());
    let latency_us = runs.iter().all(|r| r.latency_us.is_some()).then(|| {
        let pick = |f: fn(&Percentiles) -> u64| {
            med(&|r: &RunMetrics| r.latency_us.map(|l| f(&l) as f64).unwrap_or(0.0))
        };
        BTreeMap::from([
            ("p50".to_string(), pick(|l| l.p50)),
            ("p90".to_string(), pick(|l| l.p90)),
            ("p99".to_string(), pick(|l| l.p99)),
            ("p999".to_string(), pick(|l| l.p999)),
            ("max".to_string(), pick(|l| l.max)),
        ])
    });
    let mut anomalies = streamlab_measure::metrics::LatencyAnomalies::default();
    for r in runs {
        let a = r.latency_anomalies;
        anomalies.negative += a.negative;
        anomalies.negative_max_us = anomalies.negative_max_us.max(a.negative_max_us);
        anomalies.unscheduled += a.unscheduled;
    }
    EngineSummary {
        throughput_eps: throughput.median,
        throughput,
        latency_us,
        latency_anomalies: anomalies,
        cpu_s: med(&|r| r.cpu_s),
        cores_used: med(&|r| r.cores_used),
        events_per_core_s: med(&|r| r.events_per_core_s),
        peak_rss_bytes: med(&|r| r.peak_rss_bytes as f64) as u64,
        rows_out: runs.last().map(|r| r.rows_out).unwrap_or(0),
        late_dropped: runs.last().map(|r| r.late_dropped).unwrap_or(0),
        ..Default::default()
    }
}

/// Runs the suite, prints the table to stdout and writes the results folder `out`.
pub fn run_suite(cfg: &SuiteConfig, out: &Path) -> Result<SuiteSummary> {
    let mut raw = RawCsv::new();
    let mut files = Vec::new();
    let setting = match cfg.rate {
        Some(r) => format!("rate={r}"),
        None => "rate=max".into(),
    };
    let mut summaries: BTreeMap<String, EngineSummary> = BTreeMap::new();
    if cfg.find_sustainable {
        for engine in &cfg.engines {
            tracing::info!("streamlab bench: searching the sustainable rate of {engine}");
            let (found, walked) = find_sustainable(
                cfg.start_rate,
                1e9,
                0.05,
                Duration::from_millis(cfg.p99_bound_ms),
                |rate| {
                    let m = run_in_child(&spec_for(cfg, engine, Some(rate), InputPath::Decoded)?)?;
                    record_metrics(&mut raw, &m, &format!("rate={rate}"), 0);
                    crate::runs::finished(
                        &format!("{engine} at {}", streamlab_measure::human::rate(rate)),
                        &format!(
                            "p99 {}, backlog at end {}, finished {:.3} s after the last arrival",
                            streamlab_measure::human::micros(
                                m.latency_us.map(|l| l.p99).unwrap_or(0) as f64
                            ),
                            m.backlog_at_end,
                            m.finish_lag_s
                        ),
                    );
                    Ok(m)
                },
            )?;
            let s = summaries.entry(engine.clone()).or_default();
            s.sustainable_eps = found;
            s.throughput_eps = found.unwrap_or(0.0);
            s.search = walked;
        }
    } else {
        // Engines and paths interleaved (A B C A B C, each engine's paths side by side),
        // so every ratio comes from one stretch of the machine's time.
        let paths = measured_paths(cfg);
        let mut runs: BTreeMap<(String, InputPath), Vec<RunMetrics>> = BTreeMap::new();
        crate::runs::expect(
            "streamlab bench",
            Some(cfg.reps * cfg.engines.len() * paths.len()),
        );
        for rep in 0..cfg.reps {
            for engine in &cfg.engines {
                for &path in &paths {
                    let m = run_in_child(&spec_for(cfg, engine, cfg.rate, path)?)?;
                    let setting = match path {
                        InputPath::Decoded => setting.clone(),
                        other => format!("{setting};path={other}"),
                    };
                    record_metrics(&mut raw, &m, &setting, rep);
                    let what = match path {
                        InputPath::Decoded => "engine only",
                        InputPath::File => "end to end from a file",
                        InputPath::Csv => "end to end from a CSV file",
                    };
                    crate::runs::finished(
                        &format!("{engine}, {what}, rep {}/{}", rep + 1, cfg.reps),
                        &crate::runs::result(&m),
                    );
                    if let Some(h) = &m.hgrm {
                        files.push((format!("{engine}-rep{rep}.hgrm"), h.clone()));
                    }
                    runs.entry((engine.clone(), path)).or_default().push(m);
                }
            }
        }
        for engine in &cfg.engines {
            let mut s = match runs.get(&(engine.clone(), InputPath::Decoded)) {
                Some(rs) => summarize(rs),
                None => EngineSummary::default(),
            };
            let engine_only = s.throughput_eps;
            let end_to_end = |path: InputPath| {
                let e2e = summarize(runs.get(&(engine.clone(), path))?);
                Some(EndToEnd {
                    rows_out: e2e.rows_out,
                    input_share: if engine_only > 0.0 {
                        (1.0 - e2e.throughput_eps / engine_only).max(0.0)
                    } else {
                        0.0
                    },
                    throughput: e2e.throughput,
                    cores_used: e2e.cores_used,
                    peak_rss_bytes: e2e.peak_rss_bytes,
                })
            };
            s.end_to_end = end_to_end(InputPath::File);
            s.end_to_end_csv = end_to_end(InputPath::Csv);
            summaries.insert(engine.clone(), s);
        }
    }
    let baseline = summaries.get("baseline").map(|b| b.throughput_eps);
    let hand = summaries
        .get(HAND)
        .map(|b| b.throughput_eps)
        .filter(|h| *h > 0.0);
    for s in summaries.values_mut() {
        s.ratio_to_baseline = baseline.filter(|b| *b > 0.0).map(|b| s.throughput_eps / b);
        s.ratio_to_hand = hand.map(|h| s.throughput_eps / h);
    }
    if let (Some(hand), false) = (hand, cfg.find_sustainable || cfg.rate.is_some()) {
        for (engine, cost) in workers_to_match(cfg, hand, &mut raw)? {
            if let Some(s) = summaries.get_mut(&engine) {
                s.cost = Some(cost);
            }
        }
    }
    let table = table(cfg, &summaries);
    println!("{table}");
    let summary = SuiteSummary {
        engines: summaries,
        events: cfg.gen.events,
        notes: vec![
            "Engine only (`events/s`): input generated and decoded before the measured part; parsing is excluded.".into(),
            "End to end (`end to end`, when measured): the input generated into a file first, then reading, decoding (the parallel pipeline, while the engine runs), the engine and the JSON Lines sink timed from the open of the file to the last row, every event counted; `input share` = 1 − end-to-end / engine-only throughput. `CSV`: the same from the same events written as CSV with a header line (`--path csv`).".into(),
            "Throughput counts events after the warm-up fraction, from the end of warm-up to the end of the run.".into(),
            "Two references: `vs baseline` divides by the baseline engine (one thread, the generic loop over core's window state, any query); `vs hand` by `hand`, W1's loop written by hand for W1 alone (the best single thread we have). COST is the number of workers an engine needs to match `hand` (engine only, closed loop, workers 1 to the machine's cores; `> N` when none of them does).".into(),
            "Latency is from each event's scheduled arrival (open loop), so queueing is included.".into(),
            "CPU excludes the replay driver thread; peak RSS includes the pre-loaded input (see raw.csv input_rss_bytes).".into(),
        ],
    };
    let readme = format!(
        "# streamlab bench\n\nCommand:\n\n    {}\n\n{}\n\nRate: {}. {} repetition(s) per engine, interleaved, each in its own process.\n\
         Query:\n\n```toml\n{}```\n\nNotes:\n{}\n",
        cfg.command,
        table,
        setting,
        cfg.reps,
        cfg.query,
        summary.notes.iter().map(|n| format!("- {n}\n")).collect::<String>()
    );
    write_folder(out, &readme, cfg, &raw, &summary, &files)?;
    let (runs, took) = crate::runs::end();
    tracing::info!(
        "streamlab bench: {runs} runs in {}, results in {}",
        crate::runs::duration(took),
        out.display()
    );
    Ok(summary)
}

/// The paths this suite measures: end to end only in closed loop (a replay at a rate is
/// the engine-only path's), and not for a query with `[[input]]`s (one file feeds one
/// input).
fn measured_paths(cfg: &SuiteConfig) -> Vec<InputPath> {
    let named_inputs = cfg.query.lines().any(|l| l.trim() == "[[input]]");
    cfg.paths
        .iter()
        .copied()
        .filter(|p| *p == InputPath::Decoded || (cfg.rate.is_none() && !named_inputs))
        .collect()
}

fn table(cfg: &SuiteConfig, s: &BTreeMap<String, EngineSummary>) -> String {
    let mut t = String::new();
    // The CSV path's columns only when it was measured (`--path csv`).
    let csv = s.values().any(|e| e.end_to_end_csv.is_some());
    let _ = writeln!(
        t,
        "| engine | events/s (median) | min–max | p50 µs | p99 µs | p99.9 µs | max µs | cores | events/core-s | peak RSS MiB | vs baseline | vs hand | COST | end to end (file) | min–max | input share | e2e peak RSS MiB |{}",
        if csv {
            " end to end (CSV) | min–max | input share | CSV peak RSS MiB |"
        } else {
            ""
        }
    );
    let _ = writeln!(
        t,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|{}",
        if csv { "---:|---:|---:|---:|" } else { "" }
    );
    let e2e_cells = |f: &Option<EndToEnd>| match f {
        Some(f) => format!(
            "{:.2}M | {:.2}–{:.2}M | {:.0} % | {:.0}",
            f.throughput.median / 1e6,
            f.throughput.min / 1e6,
            f.throughput.max / 1e6,
            f.input_share * 100.0,
            f.peak_rss_bytes as f64 / (1 << 20) as f64
        ),
        None => "– | – | – | –".into(),
    };
    for engine in &cfg.engines {
        let Some(e) = s.get(engine) else { continue };
        let lat = |k: &str| {
            e.latency_us
                .as_ref()
                .and_then(|l| l.get(k))
                .map(|v| format!("{v:.0}"))
                .unwrap_or_else(|| "–".into())
        };
        let _ = writeln!(
            t,
            "| {engine} | {:.2}M | {:.2}–{:.2}M | {} | {} | {} | {} | {:.2} | {:.2}M | {:.0} | {} | {} | {} | {} |{}",
            e.throughput_eps / 1e6,
            e.throughput.min / 1e6,
            e.throughput.max / 1e6,
            lat("p50"),
            lat("p99"),
            lat("p999"),
            lat("max"),
            e.cores_used,
            e.events_per_core_s / 1e6,
            e.peak_rss_bytes as f64 / (1 << 20) as f64,
            e.ratio_to_baseline
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "–".into()),
            e.ratio_to_hand
                .map(|r| format!("{r:.2}×"))
                .unwrap_or_else(|| "–".into()),
            e.cost.as_ref().map(Cost::cell).unwrap_or_else(|| "–".into()),
            e2e_cells(&e.end_to_end),
            if csv {
                format!(" {} |", e2e_cells(&e.end_to_end_csv))
            } else {
                String::new()
            }
        );
    }
    for engine in &cfg.engines {
        let Some(a) = s.get(engine).map(|e| e.latency_anomalies) else {
            continue;
        };
        if a.negative > 0 || a.unscheduled > 0 {
            let _ = writeln!(
                t,
                "\n{engine}: {} row(s) emitted before their event was due (negative latency, down to −{} µs) and {} charged to no scheduled event, left out of the percentiles: a measurement error.",
                a.negative, a.negative_max_us, a.unscheduled
            );
        }
    }
    t
}
