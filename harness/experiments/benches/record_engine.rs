//! The record engine end to end on W1 (10 s tumbling count + sum per key, 10k keys,
//! watermark 5 s, 5 % disorder within 3 s), over pre-generated, pre-decoded events held in
//! memory (decoding is not measured), on 1 and 2 workers, beside a hand-written
//! single-threaded hash-map loop of the same query and the baseline engine, in one group
//! so their ratios come from one run; and the cost of the watermark interval, on a stream
//! whose every event has a new millisecond (so every advance is a new timely timestamp).
//! Run: `cargo bench -p streamlab-experiments --bench record_engine`.
#![allow(missing_docs, clippy::unwrap_used)]

mod held;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use held::{events, events_at, hold, w1, CountingSink, Held, HeldSource};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::engine::{Poll, RunOptions, Source};
use streamlab_core::model::value::Scalar;
use streamlab_core::{Engine, Event, Plan};
use streamlab_record_engine::{Config, RecordEngine};

fn run(engine: &dyn Engine, plan: &Plan, events: &Held, options: &RunOptions) -> u64 {
    engine
        .run(
            plan,
            options,
            Box::new(HeldSource(Arc::clone(events))),
            Box::new(CountingSink(0)),
        )
        .unwrap()
        .rows_out
}

/// Open windows by start, each with (count, sum) per key.
type OpenWindows = VecDeque<(i64, FxHashMap<u32, (i64, i64)>)>;

/// W1 by hand, the way one would write it without an engine: one hash map per open
/// window, in start order; the watermark after every event; windows closed from the front.
/// Counts the rows it would emit (like the engines' sink).
#[derive(Default)]
struct HandWritten {
    open: OpenWindows,
    max_time: Option<i64>,
    rows: u64,
}

impl HandWritten {
    const SIZE: i64 = 10_000;
    const DELAY: i64 = 5_000;

    #[inline]
    fn push(&mut self, e: &Event) {
        let start = e.time.div_euclid(Self::SIZE) * Self::SIZE;
        let watermark = self.max_time.map_or(i64::MIN, |m| m - Self::DELAY);
        if start + Self::SIZE > watermark {
            let open = &mut self.open;
            let i = match open.iter().rposition(|(s, _)| *s <= start) {
                Some(i) if open[i].0 == start => i,
                found => {
                    let at = found.map_or(0, |i| i + 1);
                    open.insert(at, (start, FxHashMap::default()));
                    at
                }
            };
            let value = match e.fields[0] {
                Scalar::Int(v) => v,
                _ => 0,
            };
            let row = open[i].1.entry(e.key).or_insert((0, 0));
            row.0 += 1;
            row.1 += value;
        }
        let max_time = self.max_time.map_or(e.time, |m| m.max(e.time));
        self.max_time = Some(max_time);
        let watermark = max_time - Self::DELAY;
        while self
            .open
            .front()
            .is_some_and(|(s, _)| s + Self::SIZE <= watermark)
        {
            self.rows += self.open.pop_front().map_or(0, |(_, m)| m.len() as u64);
        }
    }

    fn finish(self) -> u64 {
        self.rows + self.open.iter().map(|(_, m)| m.len() as u64).sum::<u64>()
    }
}

fn hand_written(events: &[Event]) -> u64 {
    let mut w1 = HandWritten::default();
    for e in events {
        w1.push(e);
    }
    w1.finish()
}

/// Benchmarks one engine configuration over fresh copies of `input` (the copy untimed).
fn bench_engine(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    engine: &dyn Engine,
    plan: &Plan,
    input: &[Event],
    options: &RunOptions,
) {
    g.bench_function(name, |b| {
        b.iter_batched(
            || hold(input.to_vec()),
            |held| {
                black_box(run(engine, plan, &held, options));
                held
            },
            BatchSize::PerIteration,
        )
    });
}

fn w1_throughput(c: &mut Criterion) {
    let plan = w1();
    assert_eq!(
        plan.slots.len(),
        1,
        "W1 carries one field, the summed value"
    );
    let input = events(&plan, 4_000_000);
    let mut g = c.benchmark_group("record_w1");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("hand_written_loop", |b| {
        b.iter(|| black_box(hand_written(black_box(&input))))
    });
    // The same loop fed the way the engines are fed: chunks of 1024 events moved out of
    // the source into a buffer (what the source interface itself costs).
    g.bench_function("hand_written_loop_via_source", |b| {
        b.iter_batched(
            || hold(input.clone()),
            |held| {
                let mut source = HeldSource(Arc::clone(&held));
                let mut buf = Vec::with_capacity(1024);
                let mut w1 = HandWritten::default();
                loop {
                    buf.clear();
                    let status = source.poll(&mut buf, 1024).unwrap();
                    for e in &buf {
                        w1.push(e);
                    }
                    if status == Poll::End {
                        break;
                    }
                }
                black_box(w1.finish());
                held
            },
            BatchSize::PerIteration,
        )
    });
    bench_engine(
        &mut g,
        "baseline_engine",
        &streamlab_reference::Baseline,
        &plan,
        &input,
        &RunOptions::default(),
    );
    for workers in [1usize, 2] {
        let options = RunOptions {
            workers: Some(workers),
            ..Default::default()
        };
        let name = format!("record_{workers}_workers");
        let engine = RecordEngine::default();
        bench_engine(&mut g, &name, &engine, &plan, &input, &options);
    }
    g.finish();
}

fn watermark_interval(c: &mut Criterion) {
    let plan = w1();
    // 1000 events per second of event time: every event has its own millisecond, so at
    // interval 1 the watermark (and the timely timestamp) moves with every record.
    let input = events_at(&plan, 1_000_000, 1_000.0);
    let mut g = c.benchmark_group("record_watermark_interval");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(6));
    for workers in [1usize, 2] {
        for interval in [1u64, 16, 64, 256, 1024] {
            let options = RunOptions {
                workers: Some(workers),
                ..Default::default()
            };
            let engine = RecordEngine::new(Config {
                watermark_interval: Some(interval),
                ..Default::default()
            });
            let name = format!("{workers}_workers_interval_{interval}");
            bench_engine(&mut g, &name, &engine, &plan, &input, &options);
        }
    }
    g.finish();
}

criterion_group!(benches, w1_throughput, watermark_interval);
criterion_main!(benches);
