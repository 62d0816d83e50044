//! The smallest runnable use of the engine, and a quick throughput probe: W1 (10 s
//! tumbling count + sum per key, watermark 5 s) over pre-generated in-memory events
//! (10k keys, 20k events per second of event time, 5 % disordered by up to 3 s).
//!
//! ```text
//! cargo run --release -p streamlab-microbatch-engine --example w1 -- [events] [batch] [workers]
//! ```
//! defaults: 10 000 000 events, batches of 100 000, 2 workers. Set
//! `STREAMLAB_MICROBATCH_LOG=1` to see every batch.
#![allow(clippy::unwrap_used)] // an example: a failure should stop it loudly

use smallvec::smallvec;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use streamlab_core::engine::{EngineError, RunOptions, Sink, VecSource};
use streamlab_core::model::value::Scalar;
use streamlab_core::{Engine, Event, OutRow, Plan};
use streamlab_microbatch_engine::pool::Placement;
use streamlab_microbatch_engine::{Config, MicrobatchEngine};

/// Counts rows instead of printing them.
struct CountingSink(Arc<AtomicU64>);

impl Sink for CountingSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.0.fetch_add(rows.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// W1's input: `n` events, deterministic (a 64-bit LCG), keys 0..10 000 interned as ids.
fn events(n: u64) -> Vec<Event> {
    let mut x = 0x853c_49e6_748f_ea9bu64;
    let mut next = move || {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        x >> 33
    };
    let start = 1_700_000_000_000i64;
    (0..n)
        .map(|seq| {
            let nominal = start + (seq / 20) as i64; // 20 000 events per second
            let time = if next() % 100 < 5 {
                nominal - (next() % 3_000) as i64 - 1
            } else {
                nominal
            };
            Event {
                seq,
                time,
                key: (next() % 10_000) as u32,
                part: 0,
                fields: smallvec![Scalar::Int((next() % 100) as i64)],
            }
        })
        .collect()
}

fn main() {
    let arg = |i: usize, default: u64| -> u64 {
        std::env::args()
            .nth(i)
            .map(|a| a.replace('_', "").parse().unwrap())
            .unwrap_or(default)
    };
    let (n, batch, workers) = (arg(1, 10_000_000), arg(2, 100_000), arg(3, 2));
    let plan = Plan::builder()
        .event_time("ts")
        .group_by(["key"])
        .tumbling_ms(10_000)
        .watermark_ms(5_000)
        .count("n")
        .sum("value", "total")
        .build()
        .unwrap();
    let input = events(n);
    let rows = Arc::new(AtomicU64::new(0));
    let options = RunOptions {
        workers: Some(workers as usize),
        ..Default::default()
    };
    let placement = match std::env::args().nth(4).as_deref() {
        Some("helpers") => Placement::AllOnHelpers,
        _ => Placement::DriverRunsOne,
    };
    let summary = MicrobatchEngine::new(Config {
        max_records_per_batch: Some(batch as usize),
        ..Default::default()
    })
    .with_placement(placement)
    .run(
        &plan,
        &options,
        Box::new(VecSource::new(input)),
        Box::new(CountingSink(rows.clone())),
    )
    .unwrap();
    println!(
        "W1 microbatch: {n} events, batches of {batch}, {workers} workers ({placement:?}): {:.2} M events/s \
         ({:.1} ms, {} batches, {} rows, {} late)",
        summary.throughput_eps / 1e6,
        summary.elapsed_ms,
        summary.emissions,
        rows.load(Ordering::Relaxed),
        summary.late_dropped
    );
    for note in &summary.notes {
        println!("  {note}");
    }
}
