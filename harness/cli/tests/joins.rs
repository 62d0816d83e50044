#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The Yahoo Streaming Benchmark query (`queries/ysb.toml`: views joined with the campaign
//! table, counted per campaign per 10 s) on a generated stream whose campaign table comes
//! from the same seed: every engine configuration gives the oracle's rows, and the oracle's
//! rows are the direct count over the generated lines and the table.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

fn streamlab(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sorted(out: &std::process::Output) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

#[test]
fn ysb_over_a_generated_stream_is_the_direct_count_on_every_engine() {
    let dir = std::env::temp_dir().join(format!("streamlab-ysb-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let query = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/ysb.toml"),
    )
    .unwrap();
    let q = dir.join("ysb.toml");
    std::fs::write(&q, query).unwrap();
    let (events, table) = (dir.join("ysb.jsonl"), dir.join("data/ysb-campaigns.csv"));
    streamlab(&[
        "gen",
        "--workload",
        "ysb",
        "--events",
        "60000",
        "--seed",
        "4",
        "--rate",
        "2000",
        "--campaigns",
        table.to_str().unwrap(),
        "--output",
        events.to_str().unwrap(),
    ]);
    // The answer computed directly: views per (10 s window, campaign of the ad).
    let campaign: BTreeMap<String, String> = std::fs::read_to_string(&table)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let (a, c) = l.split_once(',').unwrap();
            (a.to_string(), c.to_string())
        })
        .collect();
    let mut direct: BTreeMap<(i64, String), u64> = BTreeMap::new();
    for line in std::fs::read_to_string(&events).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["event_type"] == "view" {
            let ts = v["ts"].as_i64().unwrap();
            let c = campaign[v["ad_id"].as_str().unwrap()].clone();
            *direct.entry((ts - ts.rem_euclid(10_000), c)).or_default() += 1;
        }
    }
    let direct: Vec<String> = {
        let mut v: Vec<String> = direct
            .into_iter()
            .map(|((start, c), n)| {
                format!("{{\"window_start\":{start},\"window_end\":{},\"campaign_id\":\"{c}\",\"views\":{n}}}", start + 10_000)
            })
            .collect();
        v.sort();
        v
    };
    let run = |engine: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "--engine",
            engine,
            "--query",
            q.to_str().unwrap(),
            "--input",
            events.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        sorted(&streamlab(&args))
    };
    let exact = run("oracle", &[]);
    assert_eq!(
        exact.len(),
        300,
        "3 windows x 100 campaigns (1000 ads by default)"
    );
    assert!(exact == direct, "the oracle differs from the direct count");
    for (engine, extra) in [
        ("baseline", &[][..]),
        ("microbatch", &["--max-records-per-batch", "500"][..]),
        ("microbatch", &["--workers", "2"][..]),
        ("record", &[][..]),
        (
            "record",
            &["--workers", "2", "--watermark-interval", "1"][..],
        ),
    ] {
        assert!(
            run(engine, extra) == exact,
            "{engine} {extra:?} differs from the oracle"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
