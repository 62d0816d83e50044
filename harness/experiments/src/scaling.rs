//! `experiment scaling`: 1 and 2 workers: throughput and events per core-second.

use crate::child::run_in_child;
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Outcome};
use crate::w1::{spec, w1_gen};
use anyhow::{bail, Result};
use serde_json::json;
use streamlab_measure::results::RawCsv;

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let events = if cfg.quick { 300_000 } else { 10_000_000 };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    let mut any = false;
    for kind in engines() {
        let worker_counts: Vec<Option<usize>> = if kind.takes("--workers") {
            any = true;
            vec![Some(1), Some(2)]
        } else {
            vec![None]
        };
        for workers in worker_counts {
            let setting = format!("workers={}", workers.unwrap_or(1));
            interleaved(&[kind], cfg.reps, &setting, raw, |kind, rep| {
                eprintln!(
                    "scaling: {} with {:?} workers, rep {}",
                    kind.name(),
                    workers,
                    rep + 1
                );
                let mut s = spec(kind, &gen, None);
                s.flags.workers = workers;
                let m = run_in_child(&s)?;
                points.push(json!({"engine": kind.name(), "workers": workers.unwrap_or(1), "rep": rep,
                                   "throughput_eps": m.throughput_eps, "cpu_s": m.cpu_s,
                                   "events_per_core_s": m.events_per_core_s, "cores_used": m.cores_used}));
                Ok(m.into())
            })?;
        }
    }
    if !any {
        bail!("scaling needs an engine with --workers; none is registered");
    }
    Ok((
        json!({"events": events, "points": points}),
        format!(
            "W1 closed loop over {events} events with 1 and 2 workers: throughput, cores used and \
             events per core-second (the number that compares fairly across worker counts; the \
             baseline is one thread)."
        ),
    ))
}
