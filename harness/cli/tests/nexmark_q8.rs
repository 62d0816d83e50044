#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! NEXMark Q8 (`queries/nexmark_q8_new_sellers.toml`, a window join of persons and
//! auctions) on a small generated stream, every engine configuration against the oracle,
//! and the oracle against the answer counted directly from the generated lines here: per
//! 10 s window, every person registered in it with the auctions they opened in it.
//! The query file is copied next to a freshly generated `data/` file (with bids, which
//! neither input's filter keeps), so its own paths and filters are what is read.

use crate::fixtures::{default_of, Configuration};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::semantics::row::final_rows;
use streamlab_core::Plan;
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
use streamlab_io::decode::decode_inputs;
use streamlab_io::sink::SharedBuffer;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

const WINDOW_MS: i64 = 10_000;

/// (window start, person) -> (auctions, max reserve)
type Answer = BTreeMap<(i64, i64), (i64, i64)>;

/// A folder with the Q8 query and one generated NEXMark stream (persons, auctions and
/// bids; 5 % of the lines up to 1.5 s out of order, within the query's 2 s delay), which
/// both inputs read, each keeping its own kind of line.
fn setup() -> (PathBuf, Vec<u8>) {
    let dir = std::env::temp_dir().join(format!("streamlab-q8-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let query =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/nexmark_q8_new_sellers.toml");
    std::fs::copy(&query, dir.join("q8.toml")).unwrap();
    let mut cfg = GenConfig::new(Workload::Nexmark, 80_000, 11);
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 1_500;
    let lines = generate_to_vec(&cfg).unwrap().0;
    std::fs::write(dir.join("data/nexmark-persons-auctions.jsonl"), &lines).unwrap();
    (dir, lines)
}

fn field(o: &serde_json::Value, name: &str) -> i64 {
    o[name]
        .as_i64()
        .unwrap_or_else(|| panic!("`{name}` in {o}"))
}

/// Q8 counted from the lines: persons by (window, id), then each auction added to the
/// row of its seller in its window, if that person registered there.
fn direct(lines: &[u8]) -> Answer {
    let events: Vec<serde_json::Value> = std::str::from_utf8(lines)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of_kind = |kind: &'static str| events.iter().filter(move |e| e["kind"] == kind);
    let window = |ts: i64| ts.div_euclid(WINDOW_MS) * WINDOW_MS;
    let mut registered: BTreeMap<(i64, i64), (i64, i64)> = BTreeMap::new();
    for p in of_kind("person") {
        registered.insert((window(field(p, "ts")), field(p, "id")), (0, i64::MIN));
    }
    for a in of_kind("auction") {
        let id = (window(field(a, "ts")), field(a, "seller"));
        if let Some(row) = registered.get_mut(&id) {
            row.0 += 1;
            row.1 = row.1.max(field(a, "reserve"));
        }
    }
    registered.retain(|_, (n, _)| *n > 0);
    registered
}

/// Runs `config` on the query in `dir`; the answer and the summary's late drops.
fn run(dir: &Path, config: &Configuration) -> (Answer, u64) {
    let plan: Plan = streamlab_io::tables::load_plan(&dir.join("q8.toml")).unwrap();
    let input = decode_inputs(&plan, dir, true, &mut std::io::sink()).unwrap();
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        config.engine().as_ref(),
        &plan,
        &config.options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap();
    let rows = parse_rows(&String::from_utf8(buffer.contents()).unwrap(), &plan, "out").unwrap();
    let int = |v: &AggValue| match v {
        AggValue::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    };
    let mut answer = Answer::new();
    for r in final_rows(&rows, plan.mode) {
        assert_eq!(r.window.end - r.window.start, WINDOW_MS);
        let FieldValue::Int(person) = r.group[0] else {
            panic!("person {:?}", r.group)
        };
        let (auctions, max_reserve, persons, pairs) = (
            int(&r.values[0]),
            int(&r.values[1]),
            int(&r.values[2]),
            int(&r.values[3]),
        );
        assert_eq!(persons, 1, "person ids are unique");
        assert_eq!(pairs, auctions, "one person: a pair per auction");
        let fresh = answer.insert((r.window.start, person), (auctions, max_reserve));
        assert!(fresh.is_none(), "two rows for one person and window");
    }
    (answer, summary.late_dropped)
}

#[test]
fn q8_equals_the_direct_count_on_every_engine() {
    let (dir, lines) = setup();
    let want = direct(&lines);
    assert!(
        want.len() > 50,
        "a test stream with few joins: {}",
        want.len()
    );
    let (exact, _) = run(&dir, &default_of(EngineKind::Oracle));
    assert_eq!(exact, want, "the oracle differs from the direct count");
    let configurations = [
        ("baseline", "--engine baseline"),
        ("record-i1", "--engine record --watermark-interval 1"),
        ("record-w2", "--engine record --workers 2"),
        (
            "microbatch-w2-b100",
            "--engine microbatch --max-records-per-batch 100 --workers 2",
        ),
        ("microbatch", "--engine microbatch"),
    ];
    for (label, flags) in configurations {
        let config = Configuration::parse(label, flags);
        let (got, late) = run(&dir, &config);
        assert_eq!(late, 0, "{config}: disorder is within the delay");
        assert!(got == want, "{config} differs from the direct count");
    }
    std::fs::remove_dir_all(&dir).ok();
}
