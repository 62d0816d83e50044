//! `experiment latency-throughput`: latency percentiles against input rate, per engine
//! and the baseline, and each engine's closed-loop maximum throughput.

use crate::child::run_in_child;
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Outcome};
use crate::w1::{spec, w1_gen};
use anyhow::Result;
use serde_json::json;
use std::time::Duration;
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;
use streamlab_measure::sustainable::sustained;

/// Runs the experiment (see the module doc).
pub fn run(
    cfg: &ExperimentConfig,
    raw: &mut RawCsv,
    files: &mut Vec<(String, String)>,
) -> Result<Outcome> {
    let (events, rates): (u64, Vec<f64>) = if cfg.quick {
        (300_000, vec![250_000.0, 1_000_000.0, 4_000_000.0])
    } else {
        (
            10_000_000,
            vec![250e3, 500e3, 1e6, 2e6, 4e6, 8e6, 16e6, 32e6],
        )
    };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    crate::runs::expect(
        "latency-throughput",
        Some((rates.len() + 1) * engines().len() * cfg.reps),
    );
    for &rate in &rates {
        let setting = format!("rate={rate}");
        interleaved(&engines(), cfg.reps, &setting, raw, |kind, rep| {
            let m = run_in_child(&spec(kind, &gen, Some(rate)))?;
            let (ok, why) = sustained(&m, rate, Duration::from_secs(1));
            if rep == 0 {
                if let Some(h) = &m.hgrm {
                    files.push((format!("{}-rate{rate:.0}.hgrm", kind.name()), h.clone()));
                }
            }
            points.push(json!({
                "engine": kind.name(), "rate": rate, "rep": rep,
                "throughput_eps": m.throughput_eps, "latency_us": m.latency_us,
                "sustained": ok, "why_not": why,
            }));
            Ok(m.into())
        })?;
    }
    // Closed loop: each engine's max throughput.
    let mut max = serde_json::Map::new();
    for kind in engines() {
        let runs = interleaved(&[kind], cfg.reps, "rate=max", raw, |kind, _| {
            Ok(run_in_child(&spec(kind, &gen, None))?.into())
        })?;
        let runs = runs.into_values().flatten().collect::<Vec<_>>();
        max.insert(
            kind.name(),
            json!(Spread::of(
                &runs.iter().map(|r| r.throughput_eps).collect::<Vec<_>>()
            )),
        );
    }
    Ok((
        json!({"events": events, "rates": rates, "points": points, "max_throughput_eps": max,
               "reference": peer_reference()?}),
        format!(
            "W1 (10 s tumbling count+sum per key, 10k keys, watermark 5 s, 5 % disorder) over {events} \
             events, open loop at each rate, latency from scheduled arrival. A point is *sustained* \
             when the backlog stays bounded over a run long enough to show it (docs/measurement.md: \
             at least 4 s of input, p99 ≤ 1 s, ≥ 95 % of the rate delivered, backlog not growing, \
             done within 1 s); `why_not` says which condition failed. The real Spark and Flink \
             throughputs beside them (`reference`) are those of the committed `experiment peers` \
             run {PEERS_RESULTS} (end to end, parsing included), not constants."
        ),
    ))
}

/// The committed `experiment peers` run whose real Spark and Flink W1 throughputs this
/// experiment draws beside its own (rerun `experiment peers` and point here to update).
pub const PEERS_RESULTS: &str = "results/2026-12-07-vm-peers";
const PEERS_SUMMARY: &str = include_str!("../../../results/2026-12-07-vm-peers/summary.json");

/// Real Spark's and Flink's W1 throughput range (min, max over repetitions) from
/// [`PEERS_RESULTS`], keyed by peer, with where it comes from.
fn peer_reference() -> Result<serde_json::Value> {
    let s: serde_json::Value = serde_json::from_str(PEERS_SUMMARY)?;
    let mut reference = serde_json::Map::new();
    if let Some(peers) = s["peers"].as_object() {
        for (name, p) in peers {
            let t = &p["throughput_eps"];
            reference.insert(
                name.clone(),
                json!({"throughput_eps": [t["min"], t["max"]], "source": PEERS_RESULTS,
                       "end_to_end": true}),
            );
        }
    }
    Ok(serde_json::Value::Object(reference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_real_engines_figures_come_from_the_committed_peers_run() {
        let r = peer_reference().unwrap_or_default();
        for peer in ["spark", "flink"] {
            let t = &r[peer]["throughput_eps"];
            let (lo, hi) = (t[0].as_f64().unwrap_or(0.0), t[1].as_f64().unwrap_or(0.0));
            assert!(lo > 0.0 && lo <= hi, "{peer}: {r}");
            assert_eq!(r[peer]["source"], PEERS_RESULTS);
        }
    }
}
