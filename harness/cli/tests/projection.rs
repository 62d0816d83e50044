#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! NEXMark Q0, Q1 and Q2 (`queries/nexmark_q*_*.toml`: queries without windows, one row
//! per bid) on a generated bid stream, clean and with malformed lines: the oracle's rows
//! are the ones computed directly from the lines, and every engine configuration gives the
//! oracle's rows (as a multiset: several workers emit them in another order).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn streamlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = streamlab(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn query(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../queries/{name}.toml"))
}

fn lines(out: &Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// The rows each query stands for, straight from the bid lines (malformed ones skipped
/// as the decoder skips them: not an object, or a field the query reads missing or of
/// another type).
fn direct(q: &str, text: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let Ok(Value::Object(b)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let int = |k: &str| b.get(k).and_then(Value::as_i64);
        let string = |k: &str| b.get(k).and_then(Value::as_str);
        let row = match q {
            "nexmark_q0_passthrough" => {
                let (Some(ts), Some(auction), Some(bidder), Some(price), Some(channel), Some(url)) = (
                    int("ts"),
                    int("auction"),
                    int("bidder"),
                    int("price"),
                    string("channel"),
                    string("url"),
                ) else {
                    continue;
                };
                serde_json::json!({"ts": ts, "auction": auction, "bidder": bidder,
                    "price": price, "channel": channel, "url": url})
            }
            "nexmark_q1_currency" => {
                let (Some(auction), Some(bidder), Some(price), Some(ts)) =
                    (int("auction"), int("bidder"), int("price"), int("ts"))
                else {
                    continue;
                };
                serde_json::json!({"auction": auction, "bidder": bidder,
                    "price": price as f64 * 0.908, "ts": ts})
            }
            "nexmark_q2_selection" => {
                let (Some(auction), Some(price)) = (int("auction"), int("price")) else {
                    continue;
                };
                if auction % 123 != 0 {
                    continue;
                }
                serde_json::json!({"auction": auction, "price": price})
            }
            other => panic!("no direct answer for {other}"),
        };
        // Through text, as the engines' rows come (serde_json reads some floats one unit
        // in the last place off; the same text reads the same).
        rows.push(serde_json::from_str(&row.to_string()).unwrap());
    }
    rows
}

/// The first difference of two sorted row lists, for a short failure message.
fn first_difference(a: &[Value], b: &[Value]) -> String {
    let i = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    format!(
        "{} rows against {}; first difference at {i}: {:?} against {:?}",
        a.len(),
        b.len(),
        a.get(i).map(Value::to_string),
        b.get(i).map(Value::to_string)
    )
}

/// Parsed rows in a canonical order, so that two outputs compare as multisets.
fn parsed(lines: &[String]) -> Vec<Value> {
    let mut v: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    v.sort_by_key(|r| r.to_string());
    v
}

const ENGINES: [(&str, &[&str]); 6] = [
    ("baseline", &[]),
    ("microbatch", &[]),
    ("microbatch", &["--max-records-per-batch", "500"]),
    (
        "microbatch",
        &["--workers", "2", "--max-records-per-batch", "3000"],
    ),
    ("record", &[]),
    ("record", &["--workers", "2", "--watermark-interval", "1"]),
];

fn every_engine_gives_the_direct_rows(malformed: &str, extra_lines: &str) {
    let dir = std::env::temp_dir().join(format!(
        "streamlab-projection-{}-{malformed}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("bids.jsonl");
    ok(&[
        "gen",
        "--workload",
        "nexmark",
        "--kind",
        "bid",
        "--events",
        "20000",
        "--seed",
        "11",
        "--malformed",
        malformed,
        "--output",
        events.to_str().unwrap(),
    ]);
    let mut text = std::fs::read_to_string(&events).unwrap();
    text.push_str(extra_lines);
    std::fs::write(&events, &text).unwrap();
    for q in [
        "nexmark_q0_passthrough",
        "nexmark_q1_currency",
        "nexmark_q2_selection",
    ] {
        let query = query(q);
        let run = |engine: &str, extra: &[&str]| {
            let summary = dir.join(format!("{engine}.json"));
            let mut args = vec![
                "run",
                "--engine",
                engine,
                "--query",
                query.to_str().unwrap(),
                "--input",
                events.to_str().unwrap(),
                "--summary",
                summary.to_str().unwrap(),
            ];
            args.extend_from_slice(extra);
            let rows = lines(&ok(&args));
            let s: Value =
                serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
            (rows, s)
        };
        let (exact, summary) = run("oracle", &[]);
        let want = direct(q, &text);
        assert!(!want.is_empty(), "{q}: the stream has rows for the query");
        let mut want = want;
        want.sort_by_key(|r| r.to_string());
        let got = parsed(&exact);
        assert!(
            got == want,
            "{q}: the oracle differs from the rows computed from the lines: {}",
            first_difference(&got, &want)
        );
        let events_in = summary["events_in"].as_u64().unwrap();
        assert_eq!(
            summary["rows_out"].as_u64().unwrap() + summary["filtered"].as_u64().unwrap(),
            events_in,
            "{q}: every valid bid is a row or filtered"
        );
        if malformed != "0" {
            assert!(summary["malformed"].as_u64().unwrap() > 0, "{q}: {summary}");
        }
        for (engine, extra) in ENGINES {
            let (rows, s) = run(engine, extra);
            assert!(
                rows == exact,
                "{q}: {engine} {extra:?} differs from the oracle: {}",
                first_difference(&parsed(&rows), &got)
            );
            for k in ["events_in", "malformed", "filtered", "rows_out"] {
                assert_eq!(s[k], summary[k], "{q}: {engine} {extra:?}: {k}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn nexmark_q0_q1_q2_on_a_clean_stream_are_the_direct_rows_on_every_engine() {
    every_engine_gives_the_direct_rows("0", "");
}

#[test]
fn nexmark_q0_q1_q2_skip_malformed_lines_on_every_engine() {
    // The generator's broken lines, and bids whose selected fields have the wrong type.
    every_engine_gives_the_direct_rows(
        "0.02",
        concat!(
            "{\"ts\":1700000100000,\"kind\":\"bid\",\"auction\":1107,\"bidder\":1001,\"price\":\"12\",\"channel\":\"Apple\",\"url\":\"u\"}\n",
            "{\"ts\":1700000100001,\"kind\":\"bid\",\"auction\":1107,\"bidder\":1001,\"price\":12,\"channel\":7,\"url\":\"u\"}\n",
            "{\"ts\":1700000100002,\"kind\":\"bid\",\"auction\":1230,\"bidder\":1001,\"price\":99,\"channel\":\"Apple\",\"url\":\"u\"}\n",
        ),
    );
}

#[test]
fn compare_counts_a_changed_computed_value_as_wrong_and_checkpoints_are_refused() {
    let dir = std::env::temp_dir().join(format!("streamlab-projection-cmp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let events = dir.join("bids.jsonl");
    std::fs::write(
        &events,
        "{\"ts\":1,\"auction\":1,\"bidder\":2,\"price\":100}\n{\"ts\":2,\"auction\":1,\"bidder\":3,\"price\":200}\n",
    )
    .unwrap();
    let q = query("nexmark_q1_currency");
    let exact = dir.join("exact.jsonl");
    ok(&[
        "oracle",
        "--query",
        q.to_str().unwrap(),
        "--input",
        events.to_str().unwrap(),
        "--output",
        exact.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&exact).unwrap();
    assert_eq!(
        text,
        "{\"auction\":1,\"bidder\":2,\"price\":90.8,\"ts\":1}\n{\"auction\":1,\"bidder\":3,\"price\":181.6,\"ts\":2}\n"
    );
    let changed = dir.join("changed.jsonl");
    std::fs::write(&changed, text.replace("181.6", "181.7")).unwrap();
    let out = streamlab(&[
        "compare",
        changed.to_str().unwrap(),
        exact.to_str().unwrap(),
        "--query",
        q.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("exact 1 | missing 0 | extra 0 | wrong value 1"),
        "{report}"
    );

    let out = streamlab(&[
        "run",
        "--engine",
        "record",
        "--query",
        q.to_str().unwrap(),
        "--input",
        events.to_str().unwrap(),
        "--output",
        dir.join("out.jsonl").to_str().unwrap(),
        "--checkpoint",
        dir.join("ck").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--checkpoint") && err.contains("without [window]"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

mod random_streams {
    use crate::fixtures::{default_of, Configuration};
    use proptest::prelude::*;
    use streamlab_core::Plan;
    use streamlab_engines::EngineKind;
    use streamlab_measure::accuracy::compare;

    /// Every arithmetic rule at once: integer and float columns, division and remainder
    /// (by zero too), a text column, a filter and a `where`.
    const QUERY: &str = r#"
where = "a % 3 != 1"
[[filter]]
field = "b"
op = "ge"
value = -40
[[select]]
field = "k"
type = "string"
[[select]]
field = "a"
[[select]]
as = "q"
expr = "(a * b - 7) / (b % 5)"
[[select]]
as = "f"
expr = "a * 0.25 + b / 3.0"
"#;

    /// Lines with small integers (zero often), some floats, some broken ones.
    fn stream() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            8 => (0..4u8, -60i64..60, -60i64..60)
                .prop_map(|(k, a, b)| format!("{{\"k\":\"k{k}\",\"a\":{a},\"b\":{b}}}")),
            2 => (0..4u8, -60i64..60, -60.0f64..60.0)
                .prop_map(|(k, a, b)| format!("{{\"k\":\"k{k}\",\"a\":{a},\"b\":{b:?}}}")),
            1 => (0..4u8, -60i64..60).prop_map(|(k, a)| format!("{{\"k\":\"k{k}\",\"a\":\"{a}\",\"b\":1}}")),
            1 => (-60i64..60).prop_map(|a| format!("{{\"k\":{a},\"a\":{a},\"b\":1}}")),
        ];
        proptest::collection::vec(line, 1..200).prop_map(|v| v.join("\n") + "\n")
    }

    fn configs() -> Vec<Configuration> {
        [
            ("baseline", "--engine baseline"),
            (
                "microbatch-b7",
                "--engine microbatch --max-records-per-batch 7",
            ),
            (
                "microbatch-w2-b13",
                "--engine microbatch --workers 2 --max-records-per-batch 13",
            ),
            ("record", "--engine record"),
            (
                "record-i1-w2",
                "--engine record --workers 2 --watermark-interval 1",
            ),
        ]
        .into_iter()
        .map(|(label, flags)| Configuration::parse(label, flags))
        .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn every_engine_gives_the_oracles_rows(input in stream()) {
            let plan = Plan::from_toml(QUERY).unwrap();
            let (want, exact) = default_of(EngineKind::Oracle).run_text(&plan, &input).unwrap();
            for config in configs() {
                let (got, rows) = config.run_text(&plan, &input).unwrap();
                let acc = compare(&rows, &exact, &plan);
                prop_assert!(acc.is_exact(), "{}: {}", config, acc);
                prop_assert_eq!(
                    (got.events_in, got.malformed, got.filtered, got.rows_out),
                    (want.events_in, want.malformed, want.filtered, want.rows_out),
                    "{}", config
                );
            }
        }
    }
}
