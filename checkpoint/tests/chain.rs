//! Incremental checkpoints: a chain restores to exactly what a full checkpoint of the same
//! state restores to; a corrupt or missing increment ends the chain with a warning naming
//! it; full checkpoints make older increments go; the background writer reports a
//! checkpoint only once it is durable.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use std::collections::HashMap;
use std::fs;
use std::path::PathBuf;
use streamlab_checkpoint::delta::{
    apply_fixed, apply_pairs, fixed_delta, pairs_delta, FixedDelta, Incremental, MapDelta,
};
use streamlab_checkpoint::{CheckpointStore, OnCorrupt, WriteMode, Writer, WriterOptions};
use streamlab_core::Window;

/// State shaped as the engines' is: rows of fixed windows by key, sessions by key, a counter.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct State {
    query: String,
    fixed: Vec<(Window, HashMap<u32, u64>)>,
    sessions: Vec<(u32, Vec<u64>)>,
    n: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Delta {
    fixed: FixedDelta<u32, u64>,
    sessions: MapDelta<u32, Vec<u64>>,
    n: u64,
}

impl Incremental for State {
    type Delta = Delta;
    fn delta(prev: &Self, cur: &Self) -> Delta {
        Delta {
            fixed: fixed_delta(&prev.fixed, &cur.fixed),
            sessions: pairs_delta(&prev.sessions, &cur.sessions),
            n: cur.n,
        }
    }
    fn apply(&mut self, d: Delta) {
        apply_fixed(&mut self.fixed, d.fixed);
        apply_pairs(&mut self.sessions, d.sessions);
        self.n = d.n;
    }
}

impl State {
    /// The same state in one order (sessions are a map written as a list).
    fn normal(mut self) -> State {
        self.sessions.sort();
        self
    }
}

/// One change to the state.
#[derive(Clone, Debug)]
enum Op {
    /// Add to key `k`'s row in window `w` (opening it).
    Add(i64, u32, u64),
    /// Close the earliest open window.
    Close,
    /// Set key `k`'s sessions.
    Session(u32, Vec<u64>),
    /// Forget key `k`'s sessions.
    Forget(u32),
    /// Take a checkpoint.
    Checkpoint,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0i64..6, 0u32..40, 1u64..5).prop_map(|(w, k, v)| Op::Add(w, k, v)),
        1 => Just(Op::Close),
        2 => (0u32..20, proptest::collection::vec(0u64..9, 0..3)).prop_map(|(k, s)| Op::Session(k, s)),
        1 => (0u32..20).prop_map(Op::Forget),
        2 => Just(Op::Checkpoint),
    ]
}

fn apply_op(s: &mut State, op: &Op) {
    match op {
        Op::Add(w, k, v) => {
            let window = Window {
                start: w * 10,
                end: w * 10 + 10,
            };
            match s
                .fixed
                .binary_search_by_key(&(window.end, window.start), |(x, _)| (x.end, x.start))
            {
                Ok(i) => *s.fixed[i].1.entry(*k).or_default() += v,
                Err(i) => s.fixed.insert(i, (window, HashMap::from([(*k, *v)]))),
            }
        }
        Op::Close => {
            if !s.fixed.is_empty() {
                s.fixed.remove(0);
            }
        }
        Op::Session(k, v) => match s.sessions.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1.clone_from(v),
            None => s.sessions.push((*k, v.clone())),
        },
        Op::Forget(k) => s.sessions.retain(|(x, _)| x != k),
        Op::Checkpoint => {}
    }
    s.n += 1;
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("slck-chain-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn store(d: &PathBuf, on_corrupt: OnCorrupt) -> CheckpointStore {
    CheckpointStore::open(d, 3, on_corrupt).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Base + increments restore to the state a full checkpoint at the same point holds,
    /// for any sequence of updates, closed windows and removed keys, and any `--full-every`.
    #[test]
    fn a_chain_restores_to_what_a_full_checkpoint_holds(
        ops in proptest::collection::vec(op(), 1..120),
        full_every in 1u32..5,
        asynchronous in any::<bool>(),
    ) {
        let (inc_dir, full_dir) = (dir("inc"), dir("full"));
        let mode = if asynchronous { WriteMode::Async } else { WriteMode::Sync };
        let mut incremental = Writer::new(
            store(&inc_dir, OnCorrupt::Fail),
            WriterOptions { mode, full_every: Some(full_every) },
        );
        let mut full = Writer::new(store(&full_dir, OnCorrupt::Fail), WriterOptions::default());
        let mut state = State { query: "q".into(), ..State::default() };
        let mut id = 0;
        for op in ops.iter().chain([&Op::Checkpoint]) {
            apply_op(&mut state, op);
            if matches!(op, Op::Checkpoint) {
                id += 1;
                incremental.submit(id, Some(format!("{{\"at\":{id}}}")), state.clone()).unwrap();
                full.submit(id, Some(format!("{{\"at\":{id}}}")), state.clone()).unwrap();
            }
        }
        incremental.wait().unwrap();
        full.wait().unwrap();
        let (chain, restored) = store(&inc_dir, OnCorrupt::Fail).restore_chain::<State>().unwrap().unwrap();
        let (fchain, from_full) = store(&full_dir, OnCorrupt::Fail).restore_chain::<State>().unwrap().unwrap();
        prop_assert_eq!(chain.head(), id);
        prop_assert_eq!(fchain.head(), id);
        prop_assert_eq!(chain.position().cloned(), Some(format!("{{\"at\":{id}}}")));
        prop_assert!(fchain.increments.is_empty());
        prop_assert_eq!(restored.clone().normal(), from_full.normal());
        prop_assert_eq!(restored.normal(), state.normal());
        // Increments before the newest full checkpoint are gone.
        let s = store(&inc_dir, OnCorrupt::Fail);
        let newest_full = s.ids().unwrap()[0];
        prop_assert!(s.increment_ids().unwrap().iter().all(|&i| i > newest_full));
        prop_assert!(s.increment_ids().unwrap().len() <= full_every as usize);
        fs::remove_dir_all(&inc_dir).unwrap();
        fs::remove_dir_all(&full_dir).unwrap();
    }
}

/// Writes a full checkpoint and `n` increments (states with `n` = 1..=n+1).
fn chain_of(d: &PathBuf, n: u64) -> Vec<State> {
    let mut w = Writer::new(
        store(d, OnCorrupt::Fail),
        WriterOptions {
            mode: WriteMode::Sync,
            full_every: Some(10),
        },
    );
    let mut states = Vec::new();
    let mut s = State {
        query: "q".into(),
        ..State::default()
    };
    for id in 1..=n + 1 {
        apply_op(&mut s, &Op::Add(id as i64, id as u32, id));
        let done = w.submit(id, None, s.clone()).unwrap();
        assert_eq!(done[0].increment, id > 1);
        states.push(s.clone());
    }
    states
}

#[test]
fn a_corrupt_middle_increment_falls_back_to_the_one_before_it_by_name() {
    let d = dir("corrupt");
    let states = chain_of(&d, 4); // chk-1, inc-2 .. inc-5
    let s = store(&d, OnCorrupt::Previous);
    let path = s.increment_path(3);
    let mut bytes = fs::read(&path).unwrap();
    *bytes.last_mut().unwrap() ^= 0xff;
    fs::write(&path, &bytes).unwrap();
    let (chain, restored) = s.restore_chain::<State>().unwrap().unwrap();
    assert_eq!(chain.head(), 2);
    assert_eq!(restored.normal(), states[1].clone().normal());
    let warning = &chain.full.skipped[0];
    assert!(
        warning.contains("inc-00000000000000000003.bin") && warning.contains("checksum"),
        "{warning}"
    );
    // With --on-corrupt fail the run stops, naming it.
    let err = store(&d, OnCorrupt::Fail)
        .restore_chain::<State>()
        .unwrap_err()
        .to_string();
    assert!(err.contains("inc-00000000000000000003.bin"), "{err}");
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_missing_increment_ends_the_chain_before_the_gap() {
    let d = dir("missing");
    let states = chain_of(&d, 4);
    let s = store(&d, OnCorrupt::Previous);
    fs::remove_file(s.increment_path(4)).unwrap();
    let (chain, restored) = s.restore_chain::<State>().unwrap().unwrap();
    assert_eq!(chain.head(), 3);
    assert_eq!(restored.normal(), states[2].clone().normal());
    let warning = &chain.full.skipped[0];
    assert!(
        warning.contains("inc-00000000000000000005.bin") && warning.contains("missing"),
        "{warning}"
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_truncated_increment_is_caught_and_the_full_one_still_restores() {
    let d = dir("truncated");
    let states = chain_of(&d, 1);
    let s = store(&d, OnCorrupt::Previous);
    let path = s.increment_path(2);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 2]).unwrap();
    let (chain, restored) = s.restore_chain::<State>().unwrap().unwrap();
    assert_eq!(chain.head(), 1);
    assert_eq!(restored.normal(), states[0].clone().normal());
    assert!(
        chain.full.skipped[0].contains("truncated"),
        "{:?}",
        chain.full.skipped
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn an_increment_is_much_smaller_than_the_state() {
    let d = dir("small");
    let mut w = Writer::new(
        store(&d, OnCorrupt::Fail),
        WriterOptions {
            mode: WriteMode::Async,
            full_every: Some(10),
        },
    );
    let mut s = State {
        query: "q".into(),
        fixed: vec![(
            Window { start: 0, end: 10 },
            (0..100_000).map(|k| (k, 1)).collect(),
        )],
        ..State::default()
    };
    w.submit(1, None, s.clone()).unwrap();
    for k in 0..1_000 {
        *s.fixed[0].1.get_mut(&(k * 100)).unwrap() += 1; // 1 % of the keys change
    }
    let mut done = w.submit(2, None, s.clone()).unwrap();
    done.extend(w.wait().unwrap());
    assert_eq!(done.len(), 2);
    assert!(!done[0].increment && done[1].increment);
    assert!(done[1].bytes * 50 < done[0].bytes, "{done:?}");
    fs::remove_dir_all(&d).unwrap();
}
