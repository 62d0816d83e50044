//! The record engine on 1 and 2 workers, interleaved in one run: W1 over pre-decoded
//! events held in memory (engine only: decoding is not measured), the two worker counts
//! alternating round by round (1, 2, then 2, 1, ...) so that a noisy machine slows both
//! alike. Prints every run, each count's median events/s and the ratio of the medians.
//! Run: `cargo bench -p streamlab-experiments --bench record_workers` (events and rounds:
//! `RECORD_WORKERS_EVENTS`, default 4M; `RECORD_WORKERS_ROUNDS`, default 9).
#![allow(missing_docs, clippy::unwrap_used)]

mod held;

use held::{events, hold, w1, CountingSink, HeldSource};
use std::sync::Arc;
use std::time::Instant;
use streamlab_core::engine::RunOptions;
use streamlab_core::Engine;
use streamlab_record_engine::RecordEngine;

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let plan = w1();
    let n = setting("RECORD_WORKERS_EVENTS", 4_000_000);
    let rounds = setting("RECORD_WORKERS_ROUNDS", 9) as usize;
    let input = events(&plan, n);
    let engine = RecordEngine::default();
    let mut rates: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    let mut rows = [0u64; 2];
    for round in 0..rounds {
        let order = if round % 2 == 0 { [1, 2] } else { [2, 1] };
        for workers in order {
            let held = hold(input.clone());
            let options = RunOptions {
                workers: Some(workers),
                ..Default::default()
            };
            let start = Instant::now();
            let summary = engine
                .run(
                    &plan,
                    &options,
                    Box::new(HeldSource(Arc::clone(&held))),
                    Box::new(CountingSink(0)),
                )
                .unwrap();
            let secs = start.elapsed().as_secs_f64();
            let rate = input.len() as f64 / secs;
            println!(
                "round {round} workers {workers}: {:.2}M events/s ({:.3} s, {} rows)",
                rate / 1e6,
                secs,
                summary.rows_out
            );
            rates[workers - 1].push(rate);
            rows[workers - 1] = summary.rows_out;
            drop(held);
        }
    }
    assert_eq!(rows[0], rows[1], "1 and 2 workers give the same rows");
    let [one, two] = rates.map(median);
    println!(
        "W1 engine only, {} events, {rounds} rounds: 1 worker {:.2}M events/s, 2 workers {:.2}M events/s (medians), 2/1 = {:.2}",
        input.len(),
        one / 1e6,
        two / 1e6,
        two / one
    );
}
