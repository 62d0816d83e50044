#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The regular join (`[[join]] kind = "regular"`: two inputs paired on a key with no
//! window, a row per pair) on every engine configuration:
//! - on random two-input streams (keys, arrival order, malformed lines at random), the
//!   oracle equals a nested-loop join computed here from the lines, and every engine
//!   configuration equals the oracle as a multiset of rows;
//! - NEXMark Q3 (`queries/nexmark_q3_local_item_suggestion.toml`) over a generated
//!   stream with bids and malformed lines equals the join computed directly from the
//!   generated lines with serde_json.

use crate::fixtures::{beside_the_oracle, default_of, Configuration};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use streamlab_core::engine::RunSummary;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::{Plan, ResultRow};
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
use streamlab_io::decode::{decode_inputs, DecodedInput};
use streamlab_io::json_lines::Decoder;
use streamlab_io::sink::SharedBuffer;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// A row as text columns then numbers, sortable (the engines' rows are a multiset).
type Row = (Vec<String>, Vec<i64>);

fn row_of(r: &ResultRow) -> Row {
    let text = r
        .group
        .iter()
        .map(|v| match v {
            FieldValue::Str(s) => s.to_string(),
            FieldValue::Bool(b) => b.to_string(),
            other => panic!("not a text column: {other:?}"),
        })
        .collect();
    let numbers = r
        .values
        .iter()
        .map(|v| match v {
            AggValue::Int(i) => *i,
            other => panic!("not an integer: {other:?}"),
        })
        .collect();
    (text, numbers)
}

fn run(config: &Configuration, plan: &Plan, input: DecodedInput) -> (RunSummary, Vec<Row>) {
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        config.engine().as_ref(),
        plan,
        &config.options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap_or_else(|e| panic!("{config}: {e:#}"));
    let rows = parse_rows(&String::from_utf8(buffer.contents()).unwrap(), plan, "out").unwrap();
    let mut rows: Vec<Row> = rows.iter().map(row_of).collect();
    rows.sort();
    (summary, rows)
}

/// Persons `a` (key `id`, columns `name`, `vip`) join sales `b` (key `seller`, columns
/// `amount` and `amount * 3 - 1`).
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
field = "name"
type = "string"
input = "a"
[[select]]
field = "amount"
input = "b"
[[select]]
field = "vip"
type = "bool"
input = "a"
[[select]]
as = "scaled"
expr = "amount * 3 - 1"
input = "b"
"#;

/// One line in arrival order: input (0 `a`, 1 `b`), key, value, whether it is broken.
type Item = (u8, u8, i64, bool);

fn line(&(input, key, v, broken): &Item) -> String {
    match (input, broken) {
        (0, false) => format!("{{\"id\":{key},\"name\":\"n{v}\",\"vip\":{}}}", v % 2 == 0),
        (0, true) => format!("{{\"id\":{key},\"vip\":true}}"),
        (_, false) => format!("{{\"seller\":{key},\"amount\":{v}}}"),
        (_, true) => format!("{{\"seller\":{key},\"amount\":\"{v}\"}}"),
    }
}

/// The lines decoded as the harness decodes `[[input]]`s (malformed ones counted).
fn decoded(plan: &Plan, items: &[Item]) -> DecodedInput {
    let mut decoder = Decoder::new(plan);
    let mut malformed = 0;
    let events = items
        .iter()
        .enumerate()
        .filter_map(|(seq, item)| {
            let e = decoder.decode_input(u16::from(item.0), &line(item), seq as u64);
            malformed += u64::from(e.is_err());
            e.ok()
        })
        .collect();
    DecodedInput {
        events,
        malformed,
        keys: decoder.key_table().clone(),
        decode_time: std::time::Duration::ZERO,
        partitions: 2,
        unmatched: 0,
        restore_time: std::time::Duration::ZERO,
    }
}

/// Every pair of a valid `a` line and a valid `b` line with equal keys, by nested loops.
fn naive(items: &[Item]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &(ia, ka, va, broken_a) in items {
        for &(ib, kb, vb, broken_b) in items {
            if ia == 0 && ib == 1 && ka == kb && !broken_a && !broken_b {
                rows.push((
                    vec![format!("n{va}"), (va % 2 == 0).to_string()],
                    vec![vb, vb * 3 - 1],
                ));
            }
        }
    }
    rows.sort();
    rows
}

fn stream() -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec(
        (0..2u8, 0..6u8, -50i64..50, proptest::bool::weighted(0.05)),
        0..150,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn every_engine_equals_the_oracle_and_the_oracle_the_nested_loop(items in stream()) {
        let plan = Plan::from_toml(QUERY).unwrap();
        let want = naive(&items);
        let broken = items.iter().filter(|i| i.3).count() as u64;
        let (summary, exact) = run(&default_of(EngineKind::Oracle), &plan, decoded(&plan, &items));
        prop_assert_eq!(&exact, &want, "the oracle differs from the nested loop");
        prop_assert_eq!(summary.malformed, broken);
        for config in beside_the_oracle() {
            let (summary, got) = run(&config, &plan, decoded(&plan, &items));
            prop_assert_eq!(&got, &want, "{}", config);
            prop_assert_eq!(summary.rows_out, want.len() as u64);
            prop_assert_eq!(summary.events_in, items.len() as u64 - broken);
        }
    }
}

/// A folder with the Q3 query and a generated NEXMark stream (persons, auctions and
/// bids, 5 % out of order), every 499th line replaced by a broken one; both inputs read
/// the file, each keeping its own kind of line.
fn q3_setup() -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("streamlab-q3-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let query = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../queries/nexmark_q3_local_item_suggestion.toml");
    std::fs::copy(&query, dir.join("q3.toml")).unwrap();
    let mut cfg = GenConfig::new(Workload::Nexmark, 100_000, 3);
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 1_500;
    let lines = generate_to_vec(&cfg).unwrap().0;
    let text: String = std::str::from_utf8(&lines)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i % 499 == 7 {
                "{\"kind\": \"auct\n".to_owned()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(dir.join("data/nexmark-persons-auctions.jsonl"), &text).unwrap();
    (dir, text.into_bytes())
}

/// Q3 from the lines: persons of OR, ID, CA by id; each category-10 auction of one of
/// them gives (name, city, state, auction id).
fn q3_direct(lines: &[u8]) -> Vec<Row> {
    let events: Vec<serde_json::Value> = std::str::from_utf8(lines)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let text = |o: &serde_json::Value, k: &str| o[k].as_str().unwrap().to_owned();
    let mut rows = Vec::new();
    for p in events.iter().filter(|e| e["kind"] == "person") {
        if !["OR", "ID", "CA"].contains(&p["state"].as_str().unwrap()) {
            continue;
        }
        for a in events.iter().filter(|e| e["kind"] == "auction") {
            if a["seller"] == p["id"] && a["category"] == 10 {
                rows.push((
                    vec![text(p, "name"), text(p, "city"), text(p, "state")],
                    vec![a["id"].as_i64().unwrap()],
                ));
            }
        }
    }
    rows.sort();
    rows
}

#[test]
fn q3_equals_the_join_computed_from_the_lines_on_every_engine() {
    let (dir, lines) = q3_setup();
    let want = q3_direct(&lines);
    assert!(
        want.len() > 100,
        "a test stream with few joins: {}",
        want.len()
    );
    let plan: Plan = streamlab_io::tables::load_plan(&dir.join("q3.toml")).unwrap();
    let input = || decode_inputs(&plan, &dir, false, &mut std::io::sink()).unwrap();
    let (summary, exact) = run(&default_of(EngineKind::Oracle), &plan, input());
    assert_eq!(exact, want, "the oracle differs from the direct join");
    assert!(summary.malformed > 0, "the broken lines are counted");
    for config in beside_the_oracle() {
        let (_, got) = run(&config, &plan, input());
        assert!(got == want, "{config} differs from the direct join");
    }
    std::fs::remove_dir_all(&dir).ok();
}
