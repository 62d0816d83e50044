//! COST (McSherry et al.): the number of workers an engine needs to match the best single
//! thread. On W1 that thread is `hand`, the loop written for W1 alone; `bench` measures
//! every engine that takes `--workers` at 1, 2, … up to the machine's cores, engines
//! interleaved, until its median throughput reaches `hand`'s.

use crate::child::{run_in_child, InputPath};
use crate::suite::{spec_for, SuiteConfig};
use anyhow::Result;
use serde::Serialize;
use streamlab_engines::EngineKind;
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;

/// One engine's COST against the hand-written loop.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Cost {
    /// The fewest workers whose median throughput reached `hand`'s; None when no worker
    /// count tried did.
    pub workers: Option<usize>,
    /// The largest worker count tried (the machine's cores).
    pub tried_up_to: usize,
    /// (workers, median events/s) of every count tried.
    pub throughput: Vec<(usize, f64)>,
    /// `hand`'s median events/s it was compared with.
    pub hand_eps: f64,
}

impl Cost {
    /// The table cell: the worker count, or `> N` when none tried matched.
    pub fn cell(&self) -> String {
        match self.workers {
            Some(w) => w.to_string(),
            None => format!("> {}", self.tried_up_to),
        }
    }
}

/// For every engine of the suite that takes `--workers`, the fewest workers (1 up to the
/// machine's cores) at which it matches `hand_eps`. Runs are engine only and closed loop,
/// `cfg.reps` repetitions each, engines interleaved at each worker count; recorded in
/// `raw` with their worker count.
pub fn workers_to_match(
    cfg: &SuiteConfig,
    hand_eps: f64,
    raw: &mut RawCsv,
) -> Result<Vec<(String, Cost)>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut pending: Vec<(String, Cost)> = cfg
        .engines
        .iter()
        .filter(|e| {
            <EngineKind as clap::ValueEnum>::from_str(e, false).is_ok_and(|k| k.takes("--workers"))
        })
        .map(|e| {
            (
                e.clone(),
                Cost {
                    tried_up_to: cores,
                    hand_eps,
                    ..Default::default()
                },
            )
        })
        .collect();
    for workers in 1..=cores {
        let open: Vec<usize> = (0..pending.len())
            .filter(|&i| pending[i].1.workers.is_none())
            .collect();
        if open.is_empty() {
            break;
        }
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); open.len()];
        for rep in 0..cfg.reps {
            for (j, &i) in open.iter().enumerate() {
                let engine = &pending[i].0;
                tracing::info!(
                    "streamlab bench: COST, {engine} on {workers} worker(s), repetition {}/{}",
                    rep + 1,
                    cfg.reps
                );
                let mut spec = spec_for(cfg, engine, None, InputPath::Decoded)?;
                spec.flags.workers = Some(workers);
                let m = run_in_child(&spec)?;
                raw.row(
                    engine,
                    &format!("rate=max;measure=cost;workers={workers}"),
                    rep,
                    "throughput_eps",
                    m.throughput_eps,
                );
                runs[j].push(m.throughput_eps);
            }
        }
        for (j, &i) in open.iter().enumerate() {
            let median = Spread::of(&runs[j]).median;
            let cost = &mut pending[i].1;
            cost.throughput.push((workers, median));
            if median >= hand_eps {
                cost.workers = Some(workers);
            }
        }
    }
    Ok(pending)
}
