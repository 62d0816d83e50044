//! Whether differential dataflow's `reduce` pays for the later stages of a multi-stage
//! query (an aggregate whose rows are revised, feeding an aggregate that must take the old
//! row back before adding the new one: NEXMark Q4's shape), against core's stage state
//! (`streamlab_core::ops::stages`: hash maps of groups that count copies and emit
//! `-U`/`+U` changes), which both engines run.
//!
//! Workload (generated once, outside the timed part, seed 7): 1_000_000 bids
//! `(auction, category, price)` over 100_000 auctions (uniform), each auction in one of
//! 10 categories, prices uniform in 0..1_000_000. Stage 1: the highest price per auction;
//! stage 2: the average of those maxima per category. Every variant's final averages are
//! checked against a direct computation before timing.
//!
//! Variants:
//! - `stage states, 1 thread`: a plan with those two `[[stage]]`s; the bids as first-stage
//!   rows, in batches of 1024, through `StageChain::apply` (the micro-batch engine's
//!   stage-by-stage execution, one partition), every change it emits counted.
//! - `differential reduce, N workers`: the bids as a collection `(auction, (category,
//!   price))`, `reduce` to the maximum per auction, `map` to `(category, max)`, `reduce` to
//!   (sum, count) per category; one epoch per 1024 bids, fed by worker 0 and stepped after
//!   every epoch; output updates counted.
//!
//! Run: `cargo bench -p streamlab-experiments --bench stage_aggregate`. Not yet run on
//! the project's machine: until it is, which of the two the stages keep is not decided by
//! a measurement (they keep core's stage states, which both engines already run).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{BatchSize, Criterion, Throughput};
use differential_dataflow::input::Input as _;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::model::value::AggValue;
use streamlab_core::ops::stages::Change;
use streamlab_core::{OutRow, Plan, Window};
use timely::dataflow::ProbeHandle;

const BIDS: usize = 1_000_000;
const AUCTIONS: u32 = 100_000;
const CATEGORIES: u32 = 10;
/// Bids per batch (stage states) and per epoch (differential).
const BATCH: usize = 1024;

/// A bid: auction, category, price.
type Bid = (u32, u32, i64);

fn workload() -> Vec<Bid> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(7);
    (0..BIDS)
        .map(|_| {
            let auction = rng.gen_range(0..AUCTIONS);
            (auction, auction % CATEGORIES, rng.gen_range(0..1_000_000))
        })
        .collect()
}

/// The average of the maxima per category, computed directly.
fn direct(bids: &[Bid]) -> FxHashMap<u32, f64> {
    let mut max: FxHashMap<u32, (u32, i64)> = FxHashMap::default();
    for &(a, c, p) in bids {
        let e = max.entry(a).or_insert((c, p));
        e.1 = e.1.max(p);
    }
    let mut sums: FxHashMap<u32, (i64, i64)> = FxHashMap::default();
    for (c, m) in max.into_values() {
        let s = sums.entry(c).or_default();
        s.0 += m;
        s.1 += 1;
    }
    sums.into_iter()
        .map(|(c, (s, n))| (c, s as f64 / n as f64))
        .collect()
}

const QUERY: &str = "output_mode = \"update\"\n[[select]]\nfield = \"auction\"\n[[select]]\nfield = \"category\"\n[[select]]\nfield = \"price\"\n[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"auction\", \"category\"]\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"final\"\n[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"category\"]\n[[stage.aggregate]]\nfn = \"avg\"\nfield = \"final\"\nas = \"avg_final\"\n";

fn rows(bids: &[Bid]) -> Vec<OutRow> {
    bids.iter()
        .map(|&(a, c, p)| OutRow {
            window: Window { start: 0, end: 0 },
            key: 0,
            values: [a, c]
                .map(|v| AggValue::Int(i64::from(v)))
                .into_iter()
                .chain([AggValue::Int(p)])
                .collect(),
            emit: None,
            trigger: None,
        })
        .collect()
}

/// Core's stage states over the bids: (changes emitted, the final average per category).
fn stage_states(plan: &Plan, rows: Vec<OutRow>) -> (u64, FxHashMap<u32, f64>) {
    let stages = plan.stages.as_ref().unwrap();
    let mut chain = stages.chain();
    let mut emitted = 0u64;
    let mut last: FxHashMap<u32, f64> = FxHashMap::default();
    let mut rows = rows.into_iter();
    loop {
        let batch: Vec<OutRow> = rows.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        for out in chain.apply(stages, batch) {
            emitted += 1;
            let c = Change::from_out_row(out).unwrap();
            if c.kind.sign() > 0 {
                let category = match c.row.values[0] {
                    AggValue::Int(i) => i as u32,
                    AggValue::Float(_) => unreachable!(),
                };
                last.insert(category, c.row.values[1].as_f64());
            }
        }
    }
    (emitted, last)
}

fn timely_config(workers: usize) -> timely::Config {
    if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    }
}

/// Differential's two reduces over the bids on `workers` workers: (output updates, the
/// final (sum, count) per category).
fn differential(bids: &Arc<Vec<Bid>>, workers: usize) -> (u64, FxHashMap<u32, (i64, i64)>) {
    let bids = Arc::clone(bids);
    let guards = timely::execute(timely_config(workers), move |worker| {
        let probe = ProbeHandle::new();
        let seen = Rc::new(RefCell::new((
            0u64,
            FxHashMap::<u32, (i64, i64)>::default(),
        )));
        let out = Rc::clone(&seen);
        let mut input = worker.dataflow::<u64, _, _>(|scope| {
            let (input, bids) = scope.new_collection::<(u32, (u32, i64)), isize>();
            bids.reduce(|_auction, input, output| {
                let (category, _) = *input[0].0;
                let max = input.iter().map(|((_, p), _)| *p).max().unwrap();
                output.push(((category, max), 1));
            })
            .map(|(_auction, (category, max))| (category, max))
            .reduce(|_category, input, output| {
                let sum: i64 = input.iter().map(|(m, n)| **m * *n as i64).sum();
                let count: isize = input.iter().map(|(_, n)| *n).sum();
                output.push(((sum, count as i64), 1));
            })
            .inspect_batch(move |_, updates| {
                let mut o = out.borrow_mut();
                for ((category, (sum, count)), _, diff) in updates {
                    o.0 += 1;
                    if *diff > 0 {
                        o.1.insert(*category, (*sum, *count));
                    }
                }
            })
            .probe_with(&probe);
            input
        });
        if worker.index() == 0 {
            let mut epoch = 0u64;
            for chunk in bids.chunks(BATCH) {
                for &(a, c, p) in chunk {
                    input.update((a, (c, p)), 1);
                }
                epoch += 1;
                input.advance_to(epoch);
                input.flush();
                worker.step();
                while probe.less_than(&epoch.saturating_sub(256)) {
                    worker.step();
                }
            }
        }
        drop(input);
        while worker.step_or_park(None) {}
        let s = seen.borrow();
        (s.0, s.1.clone())
    })
    .unwrap();
    let mut total = (0u64, FxHashMap::default());
    for r in guards.join() {
        let (n, map) = r.unwrap();
        total.0 += n;
        total.1.extend(map);
    }
    total
}

fn main() {
    let bids = Arc::new(workload());
    let want = direct(&bids);
    let plan = Plan::from_toml(QUERY).unwrap();
    let (_, got) = stage_states(&plan, rows(&bids));
    for (c, avg) in &want {
        assert!(
            (got[c] - avg).abs() <= 1e-9 * avg.abs(),
            "stage states, category {c}"
        );
    }
    for workers in [1, 2] {
        let (_, got) = differential(&bids, workers);
        for (c, avg) in &want {
            let (s, n) = got[c];
            assert!(
                (s as f64 / n as f64 - avg).abs() <= 1e-9 * avg.abs(),
                "differential, category {c}"
            );
        }
    }
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let mut g = c.benchmark_group("stage_aggregate");
    g.throughput(Throughput::Elements(BIDS as u64));
    g.bench_function("stage states, 1 thread", |b| {
        b.iter_batched(
            || rows(&bids),
            |r| stage_states(&plan, r),
            BatchSize::LargeInput,
        )
    });
    for workers in [1, 2] {
        let w = if workers == 1 { "worker" } else { "workers" };
        g.bench_function(format!("differential reduce, {workers} {w}"), |b| {
            b.iter(|| differential(&bids, workers))
        });
    }
    g.finish();
    c.final_summary();
}
