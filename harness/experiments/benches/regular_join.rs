//! Whether differential dataflow's arranged join pays for the regular join (an unwindowed,
//! append-only inner equi-join of two streams: a row per pair as soon as the second event
//! of the pair arrives, state never evicted; NEXMark Q3's join), against the plain timely
//! operator with hash-map state that the record engine runs
//! (`record-engine/src/operators/join.rs`), in one group so the ratios come from one run.
//!
//! Workload (generated once, outside the timed part, seed 42): 100_000 "persons" (side A,
//! one event per key 0..100_000) and 1_000_000 "auctions" (side B) whose key is a person's:
//! 10 % of them on 10 hot keys (0..10, about 10_000 auctions each), the rest uniform over all
//! 100_000 keys. The 1_100_000 events `(side, key: u32, seq: u64, value: i64)` are shuffled
//! into one arrival order (`seq` is the position), so an auction comes before its person
//! about half the time. Every auction has its person: 1_000_000 rows, which every variant
//! must produce once, checked before timing.
//!
//! Variants (all over the same events, rows `(key, a.seq, b.seq, a.value, b.value)` counted,
//! not printed):
//! - `hand-written loop`: one thread, `FxHashMap<u32, (Vec<A>, Vec<B>)>`, probe the other
//!   side, then insert.
//! - `timely hash join, N workers`: one timely input fed by worker 0 (the others drop
//!   theirs), exchanged by key hash into a `unary` operator holding that map and giving a
//!   row per pair as it arrives: the record engine's design with these small payloads. The
//!   epoch advances every 1024 events (the record engine's watermark interval) and at the
//!   end; worker 0 steps after every epoch and waits while more than 256 epochs (2^18
//!   events, the record engine's `MAX_IN_FLIGHT`) are not through the probe.
//! - `differential join, N workers`: the two sides as differential collections
//!   `(key, (seq, value))` with diff +1, fed the same way (same epochs, same stepping and
//!   in-flight bound), joined with `join_map` (`arrange_by_key` on both sides); rows counted
//!   weighted by diff. Differential gives a pair at the later event's epoch: the same
//!   semantics at epoch granularity.
//! - `record engine, 1 worker` and `baseline engine`: the real engines on an equivalent two-input
//!   `[[join]] kind = "regular"` plan, over the same events decoded from JSON lines
//!   beforehand (decoding not timed), into a counting sink: what the real operator (with
//!   `OutRow`s, the sink path and the source driver) costs beside the simplified one.
//!
//! After the group (only under `--bench`), each of the hand-written loop, the timely hash
//! join and the differential join runs once more in a child process of its own (so
//! allocator reuse from earlier runs cannot hide growth) that reports, on stderr, the
//! resident memory it adds (`/proc/self/statm`, after all events are through the probe and
//! while the state is still held, minus before building) and its peak (`VmHWM` minus the
//! same baseline).
//!
//! Results, 2026-12-02, 2-core shared machine (load average about 3.3 when it started),
//! one run of `cargo bench -p streamlab-experiments --bench regular_join`, system allocator (the bench
//! does not install the binary's mimalloc), criterion's median, 1.1 M events per iteration:
//!
//! | variant                        | time/run | events/s |
//! |--------------------------------|---------:|---------:|
//! | hand-written loop              |   128 ms |   8.60 M |
//! | timely hash join, 1 worker     |   129 ms |   8.54 M |
//! | timely hash join, 2 workers    |   176 ms |   6.25 M |
//! | differential join, 1 worker    |   939 ms |   1.17 M |
//! | differential join, 2 workers   |   474 ms |   2.32 M |
//! | record engine, 1 worker        |   645 ms |   1.71 M |
//!
//! Differential / timely hash join, in events/s: 0.137 at 1 worker (the hash join is
//! 7.3x faster), 0.371 at 2 workers (2.7x). Differential halves its time with a second
//! worker; the hash join does about 120 ns of work per event, so exchanging events
//! between threads (on a box that other load shared) costs more than the second core
//! gives back. Differential does not pay for this join: a profile of one 1-worker run
//! (perf, of the memory child's process, whose workload generation is about 5 %) puts
//! about 30 % of it in merging the arrangements' batches (the spine's fueled merges:
//! rewriting append-only state that is never retracted), about 18 % in the arrange
//! operators' batchers (sorting and consolidating each epoch's updates into a batch, 1075
//! epochs) and about 41 % in the join proper (walking a cursor over each new batch and
//! seeking its keys in every batch of the other side's trace), where the hash join does
//! one hash probe and one push per event. The real record engine runs 5x below the
//! simplified hash join (its `OutRow`s, the sink and the source driver), and still 1.46x
//! above differential at 1 worker.
//!
//! `baseline engine` (added later, run with `-- engine`, three runs on the same machine
//! while it slowed down run by run: record engine 1.77 / 1.71 / 1.49 M events/s, baseline
//! engine 2.07 / 1.68 / 1.54 M): the real engines are about equal, so their distance from
//! the simplified hash join is the join's own representation (core's `JoinState`: a
//! half-row of `AggValue`s per event, an `OutRow` per pair), not the dataflow around it.
//!
//! Resident memory added over the whole workload, with the state still held (child
//! process per variant, statm delta; the peak, `VmHWM` minus the same baseline, was within
//! 0.3 MB of it in every case): hand-written loop 40.1 MB, timely hash join 41.5 MB
//! (1 worker) and 44.2 MB (2 workers), differential join 38.7 MB (1 worker) and 61.9 MB
//! (2 workers). Malloc's free lists and per-thread arenas count as resident; the 23 MB
//! that differential adds at 2 workers over 1 was not broken down (arenas, or merges in
//! progress when it was read, are both possible).
//!
//! Fairness: differential gives a pair when its epoch's batch is joined (up to 1024 events
//! later than the hash join, latency not measured here) and supports retractions and
//! multi-versioned times the regular join does not need; only one epoch size (1024) was
//! tried (larger epochs would likely amortize its per-batch costs, untested); the two
//! partition keys by different hashes (10 hot keys); every key has exactly one person (no
//! many-to-many growth).
//!
//! Run: `cargo bench -p streamlab-experiments --bench regular_join`.
#![allow(missing_docs, clippy::unwrap_used)]

mod held;

use criterion::{black_box, BatchSize, Criterion, Throughput};
use differential_dataflow::input::Input as _;
use held::{hold, CountingSink, Held, HeldSource};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rustc_hash::FxHashMap;
use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use streamlab_core::engine::{EngineError, Poll, RunOptions, Source};
use streamlab_core::{Engine, Event, Part, Plan};
use streamlab_io::json_lines::Decoder;
use streamlab_record_engine::RecordEngine;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::{Input, Inspect, Operator, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Persons: one per key.
const PERSONS: u32 = 100_000;
/// Auctions: each names a person.
const AUCTIONS: usize = 1_000_000;
/// Keys 0..HOT take `HOT_SHARE` of the auctions.
const HOT: u32 = 10;
const HOT_SHARE: f64 = 0.1;
/// Events per epoch (the record engine's default watermark interval).
const EPOCH: usize = 1024;
/// Epochs worker 0 may be ahead of the probe (2^18 events: the record engine's bound).
const IN_FLIGHT_EPOCHS: u64 = 256;

/// An event: side (0 = person, 1 = auction), key, arrival seq, value.
type Ev = (u8, u32, u64, i64);
/// A row: key, the person's seq, the auction's seq, their values.
type Row = (u32, u64, u64, i64, i64);
/// One side's kept events under a key: (seq, value).
type Kept = Vec<(u64, i64)>;

fn workload() -> Vec<Ev> {
    let mut rng = rand_pcg::Pcg64::seed_from_u64(42);
    let mut events: Vec<(u8, u32, i64)> = (0..PERSONS)
        .map(|k| (0, k, rng.gen_range(0..1_000)))
        .collect();
    for _ in 0..AUCTIONS {
        let key = if rng.gen_bool(HOT_SHARE) {
            rng.gen_range(0..HOT)
        } else {
            rng.gen_range(0..PERSONS)
        };
        events.push((1, key, rng.gen_range(0..1_000_000)));
    }
    events.shuffle(&mut rng);
    events
        .into_iter()
        .enumerate()
        .map(|(seq, (side, key, value))| (side, key, seq as u64, value))
        .collect()
}

/// The rows the join must give, computed directly: per auction, the persons of its key.
fn expected_rows(events: &[Ev]) -> u64 {
    let mut persons: FxHashMap<u32, u64> = FxHashMap::default();
    for e in events.iter().filter(|e| e.0 == 0) {
        *persons.entry(e.1).or_default() += 1;
    }
    events
        .iter()
        .filter(|e| e.0 == 1)
        .map(|e| persons.get(&e.1).copied().unwrap_or(0))
        .sum()
}

/// The symmetric hash join's state and its step: probe the other side, give a row per
/// pair, keep the event.
#[derive(Default)]
struct HashJoin {
    by_key: FxHashMap<u32, (Kept, Kept)>,
}

impl HashJoin {
    #[inline]
    fn arrive(&mut self, (side, key, seq, value): Ev, mut row: impl FnMut(Row)) {
        let (a, b) = self.by_key.entry(key).or_default();
        if side == 0 {
            for &(bs, bv) in b.iter() {
                row((key, seq, bs, value, bv));
            }
            a.push((seq, value));
        } else {
            for &(a_seq, av) in a.iter() {
                row((key, a_seq, seq, av, value));
            }
            b.push((seq, value));
        }
    }
}

fn hand_written(events: &[Ev]) -> (u64, HashJoin) {
    let mut join = HashJoin::default();
    let mut rows = 0u64;
    for &e in events {
        join.arrive(e, |r| {
            black_box(r);
            rows += 1;
        });
    }
    (rows, join)
}

fn key_hash(key: u32) -> u64 {
    u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

fn timely_config(workers: usize) -> timely::Config {
    if workers == 1 {
        timely::Config::thread()
    } else {
        timely::Config::process(workers)
    }
}

/// Resident bytes of this process now.
fn resident() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Peak resident bytes of this process so far.
fn peak_resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Worker 0's feeding loop, shared by the timely and differential variants: `send` each
/// event, `advance(epoch)` every [`EPOCH`] events and at the end, step after every epoch
/// and wait while more than [`IN_FLIGHT_EPOCHS`] are not through `probe`. With `measure`,
/// waits until everything is through and returns the resident bytes then (state held).
fn feed(
    worker: &mut timely::worker::Worker,
    events: &[Ev],
    probe: &ProbeHandle<u64>,
    measure: bool,
    mut send: impl FnMut(Ev),
    mut advance: impl FnMut(u64),
) -> Option<u64> {
    let mut epoch = 0u64;
    for chunk in events.chunks(EPOCH) {
        for &e in chunk {
            send(e);
        }
        epoch += 1;
        advance(epoch);
        worker.step();
        while probe.less_than(&epoch.saturating_sub(IN_FLIGHT_EPOCHS)) {
            worker.step();
        }
    }
    if !measure {
        return None;
    }
    while probe.less_than(&epoch) {
        worker.step();
    }
    Some(resident())
}

/// The timely hash join on `workers` workers: (rows, resident bytes with the state held
/// when `measure`).
/// The workers' row counts summed, with the memory one of them measured.
fn sum_workers<R: std::ops::AddAssign + Default>(
    results: Vec<Result<(R, Option<u64>), String>>,
) -> (R, Option<u64>) {
    let mut total = (R::default(), None);
    for r in results {
        let (rows, memory) = r.unwrap();
        total.0 += rows;
        total.1 = total.1.or(memory);
    }
    total
}

fn timely_hash_join(events: &Arc<Vec<Ev>>, workers: usize, measure: bool) -> (u64, Option<u64>) {
    let events = Arc::clone(events);
    let guards = timely::execute(timely_config(workers), move |worker| {
        let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Ev>>>::new();
        let probe = ProbeHandle::new();
        let rows = Rc::new(Cell::new(0u64));
        let counted = Rc::clone(&rows);
        worker.dataflow::<u64, _, _>(|scope| {
            scope
                .input_from(&mut input)
                .unary::<CapacityContainerBuilder<Vec<Row>>, _, _, _>(
                    Exchange::new(|e: &Ev| key_hash(e.1)),
                    "HashJoin",
                    |_capability, _info| {
                        let mut join = HashJoin::default();
                        let mut out = Vec::new();
                        move |input, output| {
                            input.for_each(|cap, data| {
                                for e in data.drain(..) {
                                    join.arrive(e, |r| out.push(r));
                                }
                                if !out.is_empty() {
                                    let mut session = output.session(&cap);
                                    for r in out.drain(..) {
                                        session.give(r);
                                    }
                                }
                            });
                        }
                    },
                )
                .inspect_core(move |event| {
                    if let Ok((_, data)) = event {
                        counted.set(counted.get() + data.len() as u64);
                    }
                })
                .probe_with(&probe);
        });
        let mut memory = None;
        if worker.index() == 0 {
            let input = &mut input;
            let mut at = 0;
            // Two closures need the handle: send through a cell of it.
            let handle = std::cell::RefCell::new(input);
            memory = feed(
                worker,
                &events,
                &probe,
                measure,
                |e| handle.borrow_mut().send(e),
                |epoch| {
                    at = epoch;
                    handle.borrow_mut().advance_to(epoch);
                },
            );
            handle.borrow_mut().advance_to(at + 1);
        }
        drop(input);
        while worker.step_or_park(None) {}
        (rows.get(), memory)
    })
    .unwrap();
    sum_workers(guards.join())
}

/// The differential join on `workers` workers: (rows weighted by diff, resident bytes
/// with the arrangements held when `measure`).
fn differential_join(events: &Arc<Vec<Ev>>, workers: usize, measure: bool) -> (u64, Option<u64>) {
    let events = Arc::clone(events);
    let guards = timely::execute(timely_config(workers), move |worker| {
        let probe = ProbeHandle::new();
        let rows = Rc::new(Cell::new(0i64));
        let counted = Rc::clone(&rows);
        let (mut persons, mut auctions) = worker.dataflow::<u64, _, _>(|scope| {
            let (persons, a) = scope.new_collection::<(u32, (u64, i64)), isize>();
            let (auctions, b) = scope.new_collection::<(u32, (u64, i64)), isize>();
            a.join_map(b, |&key, &(a_seq, av), &(b_seq, bv)| -> Row {
                (key, a_seq, b_seq, av, bv)
            })
            .inspect_batch(move |_, updates| {
                let n: isize = updates.iter().map(|u| u.2).sum();
                counted.set(counted.get() + n as i64);
            })
            .probe_with(&probe);
            (persons, auctions)
        });
        let mut memory = None;
        if worker.index() == 0 {
            let sessions = std::cell::RefCell::new((&mut persons, &mut auctions));
            let mut at = 0;
            memory = feed(
                worker,
                &events,
                &probe,
                measure,
                |(side, key, seq, value)| {
                    let mut s = sessions.borrow_mut();
                    if side == 0 {
                        s.0.update((key, (seq, value)), 1);
                    } else {
                        s.1.update((key, (seq, value)), 1);
                    }
                },
                |epoch| {
                    at = epoch;
                    let mut s = sessions.borrow_mut();
                    s.0.advance_to(epoch);
                    s.0.flush();
                    s.1.advance_to(epoch);
                    s.1.flush();
                },
            );
            persons.advance_to(at + 1);
            auctions.advance_to(at + 1);
        }
        drop(persons);
        drop(auctions);
        while worker.step_or_park(None) {}
        (rows.get(), memory)
    })
    .unwrap();
    let (rows, memory) = sum_workers(guards.join());
    (u64::try_from(rows).unwrap(), memory)
}

/// The record engine's equivalent plan: persons `a` (on `id`) join auctions `b` (on
/// `seller`); a row is the two values.
const QUERY: &str = r#"
[[join]]
kind = "regular"
[[input]]
name = "a"
path = "a.jsonl"
on = "id"
[[input]]
name = "b"
path = "b.jsonl"
on = "seller"
[[select]]
field = "v"
input = "a"
as = "a_v"
[[select]]
field = "v"
input = "b"
as = "b_v"
"#;

/// The events as the record engine's decoder makes them from JSON lines (untimed).
fn decoded(plan: &Plan, events: &[Ev]) -> Vec<Event> {
    let mut decoder = Decoder::new(plan);
    events
        .iter()
        .map(|&(side, key, seq, value)| {
            let line = if side == 0 {
                format!(r#"{{"id":{key},"v":{value}}}"#)
            } else {
                format!(r#"{{"seller":{key},"v":{value}}}"#)
            };
            decoder.decode_input(Part::from(side), &line, seq).unwrap()
        })
        .collect()
}

/// [`HeldSource`] reading the plan's two inputs as two partitions (what the harness's
/// `VecSource::with_partitions` tells the engine).
struct TwoInputs(HeldSource);

impl Source for TwoInputs {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        self.0.poll(buf, max)
    }

    fn partitions(&self) -> Part {
        2
    }
}

fn record_engine(plan: &Plan, events: &Held) -> u64 {
    engine(&RecordEngine::default(), plan, events)
}

/// The real engine `engine` (1 worker) over the held events, into a counting sink.
fn engine(engine: &dyn Engine, plan: &Plan, events: &Held) -> u64 {
    engine
        .run(
            plan,
            &RunOptions {
                workers: Some(1),
                ..Default::default()
            },
            Box::new(TwoInputs(HeldSource(Arc::clone(events)))),
            Box::new(CountingSink(0)),
        )
        .unwrap()
        .rows_out
}

fn regular_join(c: &mut Criterion) {
    let events = Arc::new(workload());
    let expected = expected_rows(&events);
    assert_eq!(
        expected, AUCTIONS as u64,
        "every auction has its one person"
    );
    let plan = Plan::from_toml(QUERY).unwrap();
    let record_input = decoded(&plan, &events);

    // Each variant computes the whole join once before it is timed.
    assert_eq!(hand_written(&events).0, expected, "hand-written loop");
    for workers in [1, 2] {
        assert_eq!(
            timely_hash_join(&events, workers, false).0,
            expected,
            "timely hash join, {workers} workers"
        );
        assert_eq!(
            differential_join(&events, workers, false).0,
            expected,
            "differential join, {workers} workers"
        );
    }
    assert_eq!(
        record_engine(&plan, &hold(record_input.clone())),
        expected,
        "record engine"
    );

    let mut g = c.benchmark_group("regular_join");
    g.throughput(Throughput::Elements(events.len() as u64));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(12));
    g.bench_function("hand-written loop", |b| {
        b.iter(|| black_box(hand_written(black_box(&events)).0))
    });
    for workers in [1usize, 2] {
        let w = if workers == 1 { "worker" } else { "workers" };
        g.bench_function(format!("timely hash join, {workers} {w}"), |b| {
            b.iter(|| black_box(timely_hash_join(&events, workers, false).0))
        });
        g.bench_function(format!("differential join, {workers} {w}"), |b| {
            b.iter(|| black_box(differential_join(&events, workers, false).0))
        });
    }
    g.bench_function("record engine, 1 worker", |b| {
        b.iter_batched(
            || hold(record_input.clone()),
            |held| {
                black_box(record_engine(&plan, &held));
                held
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("baseline engine", |b| {
        b.iter_batched(
            || hold(record_input.clone()),
            |held| {
                black_box(engine(&streamlab_reference::Baseline, &plan, &held));
                held
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// Set in a child process: the variant whose memory it measures.
const MEMORY_VARIANT: &str = "REGULAR_JOIN_MEMORY";

/// In a child process: runs one variant over the workload with its state held at the end
/// and prints `added peak` (bytes over the resident size before it started).
fn memory_child(variant: &str) {
    let events = Arc::new(workload());
    let before = resident();
    let held = match variant {
        "hand-written loop" => {
            let (rows, join) = hand_written(&events);
            assert_eq!(rows, AUCTIONS as u64);
            let held = resident();
            drop(join);
            held
        }
        "timely hash join, 1 worker" => timely_hash_join(&events, 1, true).1.unwrap(),
        "timely hash join, 2 workers" => timely_hash_join(&events, 2, true).1.unwrap(),
        "differential join, 1 worker" => differential_join(&events, 1, true).1.unwrap(),
        "differential join, 2 workers" => differential_join(&events, 2, true).1.unwrap(),
        other => panic!("no variant {other}"),
    };
    println!(
        "{} {}",
        held.saturating_sub(before),
        peak_resident().saturating_sub(before)
    );
}

/// Runs every variant's memory measurement in a child process and prints it on stderr.
fn memory_report() {
    let exe = std::env::current_exe().unwrap();
    eprintln!("regular_join memory (resident added with the state held / peak added):");
    for variant in [
        "hand-written loop",
        "timely hash join, 1 worker",
        "timely hash join, 2 workers",
        "differential join, 1 worker",
        "differential join, 2 workers",
    ] {
        let out = std::process::Command::new(&exe)
            .env(MEMORY_VARIANT, variant)
            .output()
            .unwrap();
        assert!(out.status.success(), "{variant}: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        let mut numbers = text.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        let (held, peak) = (numbers.next().unwrap(), numbers.next().unwrap());
        eprintln!(
            "  {variant:<30} {:>7.1} MB held, {:>7.1} MB peak",
            held as f64 / 1e6,
            peak as f64 / 1e6
        );
    }
}

fn main() {
    if let Ok(variant) = std::env::var(MEMORY_VARIANT) {
        memory_child(&variant);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    regular_join(&mut c);
    c.final_summary();
    if std::env::args().any(|a| a == "--bench") {
        memory_report();
    }
}
