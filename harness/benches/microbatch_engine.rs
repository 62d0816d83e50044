//! The micro-batch engine end to end on W1 (10 s tumbling count + sum per key, 10k keys,
//! watermark 5 s), over pre-generated, pre-decoded events held in memory (decoding is not
//! measured), on 2 workers at batch sizes 1k, 100k and 1M; and the per-batch overhead:
//! an empty batch through the worker pool, and whole runs of one-event batches.
//! Run: `cargo bench -p harness --bench microbatch_engine`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use harness::gen::{generate_to_vec, GenConfig, Workload};
use harness::input::decode_all;
use microbatch_engine::exec::BatchParams;
use microbatch_engine::pool::{Placement, WorkerPool};
use microbatch_engine::MicrobatchEngine;
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::engine::{EngineError, Poll, RunOptions, Sink, Source};
use streamlab_core::{Engine, Event, OutRow, Plan};

/// Counts rows (printing is the sink's cost, not the engine's).
struct CountingSink(u64);

impl Sink for CountingSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.0 += rows.len() as u64;
        Ok(())
    }
}

/// Serves shared, pre-decoded events by copying them out, like `VecSource` moves them,
/// without handing the engine a fresh multi-hundred-MB vector to free in every iteration.
struct SharedSource {
    events: Arc<Vec<Event>>,
    at: usize,
}

impl Source for SharedSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let end = self.events.len().min(self.at.saturating_add(max));
        if end == self.at {
            return Ok(Poll::End);
        }
        buf.extend_from_slice(&self.events[self.at..end]);
        self.at = end;
        Ok(Poll::Ready)
    }
}

fn w1() -> Plan {
    Plan::from_toml(harness::demo::W1_QUERY).unwrap()
}

/// W1's input: clicks over 10k keys, 20k events per second of event time, 5 % moved
/// back by up to 3 s (within the 5 s watermark).
fn events(plan: &Plan, n: u64) -> Vec<Event> {
    let mut cfg = GenConfig::new(Workload::Clicks, n, 7);
    cfg.rate = 20_000.0;
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 3_000;
    let (bytes, _) = generate_to_vec(&cfg).unwrap();
    decode_all(
        bytes.as_slice(),
        "<bench>",
        plan,
        true,
        &mut std::io::sink(),
    )
    .unwrap()
    .events
}

fn run(plan: &Plan, events: &Arc<Vec<Event>>, batch: usize, workers: usize) -> u64 {
    let options = RunOptions {
        workers: Some(workers),
        max_records_per_batch: Some(batch),
        ..Default::default()
    };
    MicrobatchEngine::default()
        .run(
            plan,
            &options,
            Box::new(SharedSource {
                events: Arc::clone(events),
                at: 0,
            }),
            Box::new(CountingSink(0)),
        )
        .unwrap()
        .rows_out
}

fn w1_throughput(c: &mut Criterion) {
    let plan = w1();
    let input = Arc::new(events(&plan, 4_000_000));
    let mut g = c.benchmark_group("microbatch_w1_2_workers");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for batch in [1_000usize, 100_000, 1_000_000] {
        g.bench_function(format!("batch_{batch}"), |b| {
            b.iter(|| black_box(run(&plan, &input, batch, 2)))
        });
    }
    g.finish();
}

fn batch_overhead(c: &mut Criterion) {
    let plan = w1();
    let mut g = c.benchmark_group("microbatch_batch_overhead");
    for workers in [1usize, 2] {
        // One empty batch through the pool: dispatch, every partition's (empty) ingest
        // and close, collect. What a trigger costs when there is nothing to do.
        g.bench_function(format!("empty_batch_{workers}_workers"), |b| {
            std::thread::scope(|scope| {
                let mut pool =
                    WorkerPool::start(scope, &plan, workers, Placement::DriverRunsOne).unwrap();
                let mut buf = Vec::new();
                let mut id = 0u64;
                b.iter(|| {
                    let params = BatchParams {
                        id,
                        late_bound: i64::MIN,
                        close_at: 1_000,
                        last_seq: None,
                    };
                    id += 1;
                    let (out, events) = pool
                        .run_batch(params, std::mem::take(&mut buf), &mut || Ok(()))
                        .unwrap();
                    buf = events;
                    black_box(out);
                });
            })
        });
    }
    // Whole runs where every batch holds one event: time per element is the cost of one
    // batch end to end (planning, dispatch, watermark, log) plus one event's work.
    let input = Arc::new(events(&plan, 20_000));
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    for workers in [1usize, 2] {
        g.bench_function(format!("one_event_batches_{workers}_workers"), |b| {
            b.iter(|| black_box(run(&plan, &input, 1, workers)))
        });
    }
    g.finish();
}

criterion_group!(benches, batch_overhead, w1_throughput);
criterion_main!(benches);
