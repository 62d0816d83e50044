//! The micro-batch engine end to end on W1 (10 s tumbling count + sum per key, 10k keys,
//! watermark 5 s), over pre-generated, pre-decoded events held in memory (decoding is not
//! measured), on 2 workers at batch sizes 1k, 100k and 1M; and the per-batch overhead:
//! an empty batch through the worker pool, and whole runs of one-event batches; W1 on 1
//! and 2 workers with and without the exchange, and what the exchange costs on one thread.
//! Run: `cargo bench -p streamlab-experiments --bench microbatch_engine`.
#![allow(missing_docs, clippy::unwrap_used)]

mod held;

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use held::{events, hold, w1, CountingSink, Held, HeldSource};
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::engine::RunOptions;
use streamlab_core::{Engine, Event, Plan};
use streamlab_microbatch_engine::exchange::Exchange;
use streamlab_microbatch_engine::exec::{BatchParams, Partition};
use streamlab_microbatch_engine::pool::{Placement, Split, WorkerPool};
use streamlab_microbatch_engine::{Config, MicrobatchEngine};

fn run(plan: &Plan, events: &Held, batch: usize, workers: usize) -> u64 {
    run_split(plan, events, batch, workers, Split::default())
}

fn run_split(plan: &Plan, events: &Held, batch: usize, workers: usize, split: Split) -> u64 {
    let options = RunOptions {
        workers: Some(workers),
        ..Default::default()
    };
    MicrobatchEngine::new(Config {
        max_records_per_batch: Some(batch),
        ..Default::default()
    })
    .with_split(split)
    .run(
        plan,
        &options,
        Box::new(HeldSource(Arc::clone(events))),
        Box::new(CountingSink(0)),
    )
    .unwrap()
    .rows_out
}

fn w1_throughput(c: &mut Criterion) {
    let plan = w1();
    let input = events(&plan, 4_000_000);
    let mut g = c.benchmark_group("microbatch_w1_2_workers");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for batch in [1_000usize, 100_000, 1_000_000] {
        g.bench_function(format!("batch_{batch}"), |b| {
            b.iter_batched(
                || hold(input.clone()),
                |held| {
                    black_box(run(&plan, &held, batch, 2));
                    held
                },
                BatchSize::PerIteration,
            )
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
    let input = events(&plan, 20_000);
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    for workers in [1usize, 2] {
        g.bench_function(format!("one_event_batches_{workers}_workers"), |b| {
            b.iter_batched(
                || hold(input.clone()),
                |held| {
                    black_box(run(&plan, &held, 1, workers));
                    held
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// The same batch execution on timely instead of threads, to choose the substrate by
/// measurement: one epoch per batch, worker 0 reads the batch from the one source (as the
/// engine's driver does), an `Exchange` by key moves events to their owner, and the owner
/// runs the engine's own [`Partition`] over the epoch's events once the frontier has
/// passed it. The watermark is per worker here (no global max), so this measures the
/// substrate's cost (copies, exchange, progress tracking), not the engine's answer.
fn timely_run(plan: &'static Plan, input: &Held, batch: usize, workers: usize) -> u64 {
    use std::cell::Cell;
    use std::collections::BTreeMap;
    use std::rc::Rc;
    use timely::container::CapacityContainerBuilder;
    use timely::dataflow::channels::pact::Exchange;
    use timely::dataflow::operators::{Input, Operator, Probe};
    use timely::dataflow::InputHandle;

    let input = Arc::clone(input);
    let batches = input.lock().unwrap().len().div_ceil(batch.max(1));
    let guards = timely::execute(timely::Config::process(workers), move |worker| {
        let index = worker.index();
        let mut handle: InputHandle<u64, CapacityContainerBuilder<Vec<Event>>> = InputHandle::new();
        let rows = Rc::new(Cell::new(0u64));
        let rows_in_op = Rc::clone(&rows);
        let probe = worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut handle)
                .unary_frontier::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                    Exchange::new(|e: &Event| u64::from(e.key)),
                    "MicroBatch",
                    move |_, _| {
                        let mut part = Partition::new(plan, 0, 1);
                        let mut pending: BTreeMap<u64, Vec<Event>> = BTreeMap::new();
                        let (mut max_time, mut w) = (i64::MIN, i64::MIN);
                        move |(input, frontier), _output| {
                            input.for_each_stamp(|cap, data| {
                                let t = cap.least().copied().unwrap_or_default();
                                let buf = pending.entry(t).or_default();
                                for d in data {
                                    buf.append(d);
                                }
                            });
                            while let Some((&t, _)) = pending.first_key_value() {
                                if frontier.less_equal(&t) {
                                    break;
                                }
                                let events = pending.remove(&t).unwrap_or_default();
                                let params = BatchParams {
                                    id: t,
                                    late_bound: i64::MIN,
                                    close_at: w,
                                    last_seq: None,
                                };
                                let out = part.run(&params, &events);
                                max_time = max_time.max(out.maxima.overall());
                                w = w.max(max_time.saturating_sub(plan.delay_ms));
                                rows_in_op.set(rows_in_op.get() + out.rows.len() as u64);
                            }
                        }
                    },
                )
                .probe()
                .0
        });
        // One pull-based source, as the engine has: worker 0 moves each batch out of it.
        for epoch in 1..=batches as u64 {
            if index == 0 {
                let mut buf: Vec<Event> = input.lock().unwrap().by_ref().take(batch).collect();
                handle.send_batch(&mut buf);
            }
            handle.advance_to(epoch);
            while probe.less_than(handle.time()) {
                worker.step();
            }
        }
        rows.get()
    })
    .unwrap();
    guards.join().into_iter().map(|r| r.unwrap()).sum()
}

fn substrate(c: &mut Criterion) {
    let plan: &'static Plan = Box::leak(Box::new(w1()));
    let input = events(plan, 2_000_000);
    let mut g = c.benchmark_group("microbatch_substrate_w1_2_workers");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(6));
    for batch in [1_000usize, 100_000] {
        g.bench_function(format!("threads_batch_{batch}"), |b| {
            b.iter_batched(
                || hold(input.clone()),
                |held| {
                    black_box(run(plan, &held, batch, 2));
                    held
                },
                BatchSize::PerIteration,
            )
        });
        g.bench_function(format!("timely_epoch_batch_{batch}"), |b| {
            b.iter_batched(
                || hold(input.clone()),
                |held| {
                    black_box(timely_run(plan, &held, batch, 2));
                    held
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// Folding a batch straight into the state store against grouping it into per-batch
/// partial accumulators first and merging those (map-side combine). Same events (W1,
/// 10k keys), same core accumulators, one window: only the strategy differs.
fn fold_strategy(c: &mut Criterion) {
    use rustc_hash::FxHashMap;
    use streamlab_core::Accs;
    let plan = w1();
    let aggs = &plan.aggregates;
    let input = events(&plan, 1_000_000);
    let mut g = c.benchmark_group("microbatch_fold_strategy");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(20);
    for batch in [1_000usize, 100_000] {
        g.bench_function(format!("direct_batch_{batch}"), |b| {
            b.iter(|| {
                let mut store: FxHashMap<u32, Accs> = FxHashMap::default();
                for chunk in input.chunks(batch) {
                    for e in chunk {
                        store
                            .entry(e.key)
                            .or_insert_with(|| Accs::new(aggs))
                            .update(aggs, e);
                    }
                }
                black_box(store.len())
            })
        });
        g.bench_function(format!("partial_then_merge_batch_{batch}"), |b| {
            b.iter(|| {
                let mut store: FxHashMap<u32, Accs> = FxHashMap::default();
                let mut partial: FxHashMap<u32, Accs> = FxHashMap::default();
                for chunk in input.chunks(batch) {
                    for e in chunk {
                        partial
                            .entry(e.key)
                            .or_insert_with(|| Accs::new(aggs))
                            .update(aggs, e);
                    }
                    for (k, a) in partial.drain() {
                        match store.entry(k) {
                            std::collections::hash_map::Entry::Occupied(mut o) => {
                                o.get_mut().merge(a)
                            }
                            std::collections::hash_map::Entry::Vacant(v) => {
                                v.insert(a);
                            }
                        }
                    }
                }
                black_box(store.len())
            })
        });
    }
    g.finish();
}

/// W1 at the default batch bound (100k) on 1 worker, on 2 through the exchange (map,
/// exchange by key, reduce), and on 2 with every partition scanning the whole batch (the
/// engine before the exchange): the 2/1 ratio, and what the exchange changed.
fn w1_workers(c: &mut Criterion) {
    let plan = w1();
    let input = events(&plan, 4_000_000);
    let mut g = c.benchmark_group("microbatch_w1_workers");
    g.throughput(Throughput::Elements(input.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(8));
    for (name, workers, split) in [
        ("1_worker", 1, Split::Exchange),
        ("2_workers_exchange", 2, Split::Exchange),
        ("2_workers_scan_whole_batch", 2, Split::ScanWholeBatch),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || hold(input.clone()),
                |held| {
                    black_box(run_split(&plan, &held, 100_000, workers, split));
                    held
                },
                BatchSize::PerIteration,
            )
        });
    }
    g.finish();
}

/// What the exchange costs, in CPU, on one thread (so the machine's load hardly matters):
/// one batch of 100k W1 events into an empty state store by one partition (no exchange),
/// against the same batch mapped into buckets and reduced by 2 partitions one after the
/// other on the same thread (the work 2 workers share), and the map side alone
/// (bucketing). The second minus the first is what the exchange adds to a batch.
fn exchange_cost(c: &mut Criterion) {
    let plan = w1();
    let batch: Vec<Event> = events(&plan, 1_000_000)
        .into_iter()
        .skip(500_000)
        .take(100_000)
        .collect();
    let params = BatchParams {
        id: 0,
        late_bound: i64::MIN,
        close_at: i64::MIN,
        last_seq: None,
    };
    let mut g = c.benchmark_group("microbatch_exchange_cost");
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("one_partition_no_exchange", |b| {
        b.iter(|| {
            let mut part = Partition::new(&plan, 0, 1);
            black_box(part.run(&params, &batch).rows.len())
        })
    });
    g.bench_function("two_partitions_through_the_exchange", |b| {
        b.iter(|| {
            let exchange = Exchange::new(2, batch.len());
            let mut rows = 0;
            for me in 0..2 {
                let mut part = Partition::new(&plan, me, 2);
                rows += part
                    .run_exchanged(&params, &batch, &exchange)
                    .unwrap()
                    .rows
                    .len();
            }
            black_box(rows)
        })
    });
    g.bench_function("map_side_alone", |b| {
        b.iter(|| {
            let exchange = Exchange::new(2, batch.len());
            let mut tally = Default::default();
            exchange.map(&plan, &batch, &mut tally);
            black_box(exchange)
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    w1_workers,
    exchange_cost,
    batch_overhead,
    w1_throughput,
    substrate,
    fold_strategy
);
criterion_main!(benches);
