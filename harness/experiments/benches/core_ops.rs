//! Micro-benchmarks of the hot parts every engine shares: decoding a JSON line, assigning
//! windows, and folding an event into accumulators (state update).
//! Run: `cargo bench -p streamlab-experiments --bench core_ops`.
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rustc_hash::FxHashMap;
use streamlab_core::{Accs, Plan, WindowSpec};
use streamlab_io::json_lines::Decoder;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

fn w1() -> Plan {
    Plan::from_toml(streamlab_workloads::W1_QUERY).unwrap()
}

fn lines(n: u64) -> Vec<String> {
    let (bytes, _) = generate_to_vec(&GenConfig::new(Workload::Clicks, n, 1)).unwrap();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

fn decode(c: &mut Criterion) {
    let plan = w1();
    let lines = lines(10_000);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("w1_clicks_line", |b| {
        b.iter_batched_ref(
            || Decoder::new(&plan),
            |d| {
                for (i, l) in lines.iter().enumerate() {
                    black_box(d.decode(l, i as u64).unwrap());
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn assign(c: &mut Criterion) {
    let times: Vec<i64> = (0..10_000i64)
        .map(|i| i * 7919 % 1_000_000 - 500_000)
        .collect();
    let mut g = c.benchmark_group("window_assign");
    g.throughput(Throughput::Elements(times.len() as u64));
    for (name, spec) in [
        ("tumbling_10s", WindowSpec::Tumbling { size: 10_000 }),
        (
            "sliding_60s_by_10s",
            WindowSpec::Sliding {
                size: 60_000,
                slide: 10_000,
            },
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut acc = 0i64;
                for &t in &times {
                    spec.assign(black_box(t), |w| acc = acc.wrapping_add(w.start));
                }
                acc
            })
        });
    }
    g.finish();
}

fn state_update(c: &mut Criterion) {
    let plan = w1();
    let mut d = Decoder::new(&plan);
    let events: Vec<_> = lines(100_000)
        .iter()
        .enumerate()
        .map(|(i, l)| d.decode(l, i as u64).unwrap())
        .collect();
    let mut g = c.benchmark_group("state_update");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.bench_function("w1_fxhashmap_count_sum_10k_keys", |b| {
        b.iter_batched_ref(
            FxHashMap::<u32, Accs>::default,
            |state| {
                for e in &events {
                    state
                        .entry(e.key)
                        .or_insert_with(|| Accs::new(&plan.aggregates))
                        .update(&plan.aggregates, e);
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, decode, assign, state_update);
criterion_main!(benches);
