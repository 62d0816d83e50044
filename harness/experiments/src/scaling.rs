//! `experiment scaling`: 1 and 2 workers: throughput, events per core-second, and each
//! engine's own 2/1 ratio.
//!
//! Every repetition runs every engine at every worker count, in turn (record 1, record 2,
//! microbatch 1, microbatch 2, baseline, then again), so that a drift of the machine
//! touches both worker counts alike; the 2/1 ratio is taken within each repetition and its
//! median reported, as pairs are steadier than a ratio of two medians on a noisy machine.

use crate::child::run_in_child;
use crate::config::ExperimentConfig;
use crate::sweep::{engines, record_metrics, Outcome};
use crate::w1::{spec, w1_gen};
use anyhow::{bail, Result};
use serde_json::json;
use std::collections::BTreeMap;
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let events = if cfg.quick { 300_000 } else { 10_000_000 };
    let gen = w1_gen(events, cfg.seed);
    let kinds = engines();
    if !kinds.iter().any(|k| k.takes("--workers")) {
        bail!("scaling needs an engine with --workers; none is registered");
    }
    let mut points = Vec::new();
    // Per engine, per repetition: throughput on 1 and 2 workers.
    let mut pairs: BTreeMap<String, Vec<[Option<f64>; 2]>> = BTreeMap::new();
    let per_rep: usize = kinds
        .iter()
        .map(|k| if k.takes("--workers") { 2 } else { 1 })
        .sum();
    crate::runs::expect("scaling", Some(per_rep * cfg.reps));
    for rep in 0..cfg.reps {
        for &kind in &kinds {
            let counts: &[Option<usize>] = if kind.takes("--workers") {
                &[Some(1), Some(2)]
            } else {
                &[None]
            };
            for &workers in counts {
                let n = workers.unwrap_or(1);
                let mut s = spec(kind, &gen, None);
                s.flags.workers = workers;
                let m = run_in_child(&s)?;
                record_metrics(raw, &m, &format!("workers={n}"), rep);
                crate::runs::finished_run(&m, &format!("workers={n}"), rep);
                points.push(json!({"engine": kind.name(), "workers": n, "rep": rep,
                                   "throughput_eps": m.throughput_eps, "cpu_s": m.cpu_s,
                                   "events_per_core_s": m.events_per_core_s, "cores_used": m.cores_used}));
                if workers.is_some() {
                    let reps = pairs.entry(kind.name()).or_default();
                    reps.resize(rep + 1, [None; 2]);
                    reps[rep][n - 1] = Some(m.throughput_eps);
                }
            }
        }
    }
    let mut ratios = serde_json::Map::new();
    let mut lines = Vec::new();
    for (engine, reps) in &pairs {
        let two_over_one: Vec<f64> = reps
            .iter()
            .filter_map(|[one, two]| Some(two.as_ref()? / one.as_ref()?))
            .collect();
        if two_over_one.is_empty() {
            continue;
        }
        let spread = Spread::of(&two_over_one);
        lines.push(format!(
            "{engine} {:.2}x (min {:.2}, max {:.2})",
            spread.median, spread.min, spread.max
        ));
        ratios.insert(engine.clone(), json!(spread));
    }
    Ok((
        json!({"events": events, "points": points, "two_over_one_worker": ratios}),
        format!(
            "W1 closed loop over {events} pre-decoded events with 1 and 2 workers, the worker \
             counts alternating within each repetition: throughput, cores used and events per \
             core-second (the number that compares fairly across worker counts; the baseline \
             is one thread). Each engine's 2-worker throughput over its 1-worker throughput, \
             median of the repetitions' ratios: {}.",
            lines.join(", ")
        ),
    ))
}
