//! The loop every comparison shares: repetitions of every engine, interleaved
//! (A B C A B C) so that a drift of the machine touches every engine alike, each run
//! recorded in the tidy table (`raw.csv`) under the setting it measured; and what the
//! experiments derive from such runs (the engines measured, the throughput table).

use crate::child::{query_spec, run_in_child};
use anyhow::Result;
use serde_json::json;
use std::collections::BTreeMap;
use streamlab_engines::EngineKind;
use streamlab_measure::measured::RunMetrics;
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;
use streamlab_workloads::gen::GenConfig;

/// What an experiment returns: its summary and the paragraph of its README.
pub type Outcome = (serde_json::Value, String);

/// Engines measured (every registered engine but the oracle, baseline last).
pub fn engines() -> Vec<EngineKind> {
    let mut v: Vec<EngineKind> = EngineKind::all()
        .into_iter()
        .filter(|k| *k != EngineKind::Oracle && *k != EngineKind::Baseline)
        .collect();
    v.push(EngineKind::Baseline);
    v
}

/// One run of a sweep: its metrics, and rows of its own (accuracy, say) that follow them
/// in `raw.csv`.
pub struct Measured {
    /// What the run measured.
    pub metrics: RunMetrics,
    /// Further (metric, value) rows of the run.
    pub rows: Vec<(&'static str, f64)>,
}

impl From<RunMetrics> for Measured {
    fn from(metrics: RunMetrics) -> Measured {
        Measured {
            metrics,
            rows: Vec::new(),
        }
    }
}

/// `reps` repetitions of every engine of `engines`, interleaved (A B C A B C): `run`
/// measures one engine's repetition (numbered from 0), and its metrics, then its own rows,
/// are recorded in `raw` under `setting`. Returns the runs per engine name.
pub fn interleaved<E: Clone>(
    engines: &[E],
    reps: usize,
    setting: &str,
    raw: &mut RawCsv,
    mut run: impl FnMut(E, usize) -> Result<Measured>,
) -> Result<BTreeMap<String, Vec<RunMetrics>>> {
    let mut runs: BTreeMap<String, Vec<RunMetrics>> = BTreeMap::new();
    for rep in 0..reps {
        for engine in engines {
            let Measured { metrics, rows } = run(engine.clone(), rep)?;
            record_metrics(raw, &metrics, setting, rep);
            crate::runs::finished_run(&metrics, setting, rep);
            for (metric, value) in rows {
                raw.row(&metrics.engine, setting, rep, metric, value);
            }
            runs.entry(metrics.engine.clone())
                .or_default()
                .push(metrics);
        }
    }
    Ok(runs)
}

/// Adds every metric of a run to the tidy table (one row per metric).
pub fn record_metrics(raw: &mut RawCsv, m: &RunMetrics, setting: &str, rep: usize) {
    let mut put = |metric: &str, v: f64| raw.row(&m.engine, setting, rep, metric, v);
    put("throughput_eps", m.throughput_eps);
    put("elapsed_s", m.elapsed_s);
    put("cpu_s", m.cpu_s);
    put("cores_used", m.cores_used);
    put("events_per_core_s", m.events_per_core_s);
    put("peak_rss_bytes", m.peak_rss_bytes as f64);
    put("input_rss_bytes", m.input_rss_bytes as f64);
    put("rows_out", m.rows_out as f64);
    put("late_dropped", m.late_dropped as f64);
    if let Some(l) = m.latency_us {
        put("backlog_growth", m.backlog_growth);
        put("latency_p50_us", l.p50 as f64);
        put("latency_p90_us", l.p90 as f64);
        put("latency_p99_us", l.p99 as f64);
        put("latency_p999_us", l.p999 as f64);
        put("latency_max_us", l.max as f64);
        put("max_backlog", m.max_backlog as f64);
        put("latency_negative_rows", m.latency_anomalies.negative as f64);
        put(
            "latency_negative_max_us",
            m.latency_anomalies.negative_max_us as f64,
        );
        put(
            "latency_unscheduled_rows",
            m.latency_anomalies.unscheduled as f64,
        );
        put("finish_lag_s", m.finish_lag_s);
    }
}

/// Closed-loop max throughput of every engine in `engines` over `gen`: `reps` runs each,
/// every run in its own process, engines interleaved (A B C A B C); each run is recorded
/// in `raw` under `setting`.
pub fn closed_loop(
    label: &str,
    query: &str,
    gen: &GenConfig,
    engines: &[EngineKind],
    reps: usize,
    setting: &str,
    raw: &mut RawCsv,
) -> Result<BTreeMap<String, Vec<RunMetrics>>> {
    interleaved(engines, reps, setting, raw, |kind, rep| {
        tracing::debug!("{label}: {} closed loop, rep {}", kind.name(), rep + 1);
        Ok(run_in_child(&query_spec(kind, query, gen, None))?.into())
    })
}

/// [`closed_loop`] end to end: the generated input written to a file first, then read,
/// decoded, run and written as `streamlab run` does, all of it timed
/// ([`crate::child::InputPath::File`]).
pub fn closed_loop_end_to_end(
    label: &str,
    query: &str,
    gen: &GenConfig,
    engines: &[EngineKind],
    reps: usize,
    setting: &str,
    raw: &mut RawCsv,
) -> Result<BTreeMap<String, Vec<RunMetrics>>> {
    interleaved(engines, reps, setting, raw, |kind, rep| {
        tracing::debug!("{label}: {} end to end, rep {}", kind.name(), rep + 1);
        let mut spec = query_spec(kind, query, gen, None);
        spec.path = crate::child::InputPath::File;
        Ok(run_in_child(&spec)?.into())
    })
}

/// Per engine: throughput median/min/max, median events per core-second and the ratio of
/// the median to the baseline's median (when the baseline ran).
pub fn throughput_table(runs: &BTreeMap<String, Vec<RunMetrics>>) -> serde_json::Value {
    let spread = |rs: &[RunMetrics], f: fn(&RunMetrics) -> f64| {
        Spread::of(&rs.iter().map(f).collect::<Vec<_>>())
    };
    let baseline = runs
        .get(&EngineKind::Baseline.name())
        .map(|rs| spread(rs, |r| r.throughput_eps).median);
    let mut table = serde_json::Map::new();
    for (engine, rs) in runs {
        let throughput = spread(rs, |r| r.throughput_eps);
        table.insert(
            engine.clone(),
            json!({
                "throughput_eps": throughput,
                "events_per_core_s": spread(rs, |r| r.events_per_core_s).median,
                "cores_used": spread(rs, |r| r.cores_used).median,
                "ratio_to_baseline": baseline.filter(|b| *b > 0.0).map(|b| throughput.median / b),
                "reps": rs.len(),
            }),
        );
    }
    serde_json::Value::Object(table)
}
