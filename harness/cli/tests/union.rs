#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! A query over the union of named inputs (`[[input]]`), each with its own event-time field
//! and watermark delay: "web" in event-time order under `ts`, "mobile" under `time`, up to
//! 40 ms out of order and lagging 30 ms. With mobile's own 40 ms delay nothing is late and
//! every engine gives the oracle's answer; with web's delay for both, mobile's disorder is
//! dropped as late. Through `streamlab run`, so paths resolve from the query file.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-union-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Writes web.jsonl, mobile.jsonl and q.toml (mobile's delay `mobile_delay`) into `dir`.
fn setup(dir: &Path, mobile_delay: Option<i64>) -> PathBuf {
    let (mut web, mut mobile) = (String::new(), String::new());
    for i in 0..3_000i64 {
        let key = format!("k{}", (i * 7) % 11);
        web.push_str(&format!(
            "{{\"ts\":{i},\"key\":\"{key}\",\"v\":{}}}\n",
            i % 5
        ));
        let back = (i * 13) % 41; // 0..=40 ms out of order
        let t = (i - 30 - back).max(0);
        mobile.push_str(&format!(
            "{{\"time\":{t},\"key\":\"{key}\",\"v\":{}}}\n",
            i % 3
        ));
    }
    mobile.push_str("{\"time\": \"soon\", \"key\": \"k1\", \"v\": 1}\n"); // malformed
    std::fs::write(dir.join("web.jsonl"), web).unwrap();
    std::fs::write(dir.join("mobile.jsonl"), mobile).unwrap();
    let delay = mobile_delay.map_or(String::new(), |d| format!("watermark_delay = {d}\n"));
    let query = format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"append\"\n\
         [window]\nkind = \"tumbling\"\nsize = 50\n\
         [[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"s\"\n\
         [[input]]\nname = \"web\"\npath = \"web.jsonl\"\n\
         [[input]]\nname = \"mobile\"\npath = \"mobile.jsonl\"\nevent_time = \"time\"\n{delay}"
    );
    let q = dir.join("q.toml");
    std::fs::write(&q, query).unwrap();
    q
}

/// Runs an engine on the query; returns (sorted output lines, summary JSON, stderr).
fn run(
    dir: &Path,
    q: &Path,
    engine: &str,
    extra: &[&str],
) -> (Vec<String>, serde_json::Value, String) {
    let summary = dir.join(format!("{engine}{}.json", extra.join("")));
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["run", "--engine", engine, "--query", q.to_str().unwrap()])
        .args(["--summary", summary.to_str().unwrap()])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{engine}: {stderr}");
    let mut rows: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    rows.sort();
    let s = serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    (rows, s, stderr)
}

/// Engine configurations. Batches stay small: a micro-batch judges lateness against the
/// watermark of the batch before, so disorder shorter than about two batches is never late
/// and the second test could not tell the delays apart.
const ENGINES: [(&str, &[&str]); 5] = [
    ("baseline", &[]),
    ("microbatch", &["--max-records-per-batch", "10"]),
    (
        "microbatch",
        &["--workers", "2", "--max-records-per-batch", "16"],
    ),
    ("record", &["--watermark-interval", "1"]),
    ("record", &["--workers", "2"]),
];

#[test]
fn each_input_has_its_own_watermark_so_the_union_is_exact() {
    let dir = workdir("exact");
    let q = setup(&dir, Some(40));
    let (exact, s, stderr) = run(&dir, &q, "oracle", &[]);
    assert_eq!(s["events_in"], 6_000);
    assert_eq!(s["malformed"], 1);
    assert!(
        stderr.contains("input `mobile`"),
        "the malformed line is named by its input: {stderr}"
    );
    assert!(exact.len() > 500);
    for (engine, extra) in ENGINES {
        let (rows, s, _) = run(&dir, &q, engine, extra);
        assert_eq!(s["late_dropped"], 0, "{engine} {extra:?}: {s}");
        assert!(rows == exact, "{engine} {extra:?} differs from the oracle");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn without_its_own_delay_the_disordered_input_loses_records() {
    let dir = workdir("late");
    let q = setup(&dir, None);
    let (exact, _, _) = run(&dir, &q, "oracle", &[]);
    for (engine, extra) in ENGINES {
        let (rows, s, _) = run(&dir, &q, engine, extra);
        assert!(
            s["late_dropped"].as_u64().unwrap() > 0,
            "{engine} {extra:?}: {s}"
        );
        assert!(rows != exact, "{engine} {extra:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn named_inputs_and_input_flags_are_checked() {
    let dir = workdir("errors");
    let q = setup(&dir, Some(40));
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args([
            "run",
            "--engine",
            "oracle",
            "--query",
            q.to_str().unwrap(),
            "--input",
            "x.jsonl",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("leave out --input"));
    std::fs::remove_file(dir.join("mobile.jsonl")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["run", "--engine", "oracle", "--query", q.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot read input `mobile`"), "{stderr}");
    let dup = std::fs::read_to_string(&q)
        .unwrap()
        .replace("name = \"mobile\"", "name = \"web\"");
    std::fs::write(&q, dup).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["run", "--engine", "oracle", "--query", q.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("input[1].name") && stderr.contains("names two inputs"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// The shipped example, `queries/likes_web_mobile.toml`, says what it shows: with the
/// mobile input's own 20 s delay every engine gives the oracle's 2494 rows; with the
/// query's 2 s for both inputs the per-record engines drop mobile likes as late (the
/// baseline, per record, 387; the record engine, stepping its watermark every 1024
/// records, 224), while the micro-batch engine, which takes the whole file in one batch,
/// drops none (lateness is judged against the batch before).
#[test]
fn the_web_and_mobile_likes_example_shows_what_its_comment_says() {
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let q = queries.join("likes_web_mobile.toml");
    let dir = workdir("example");
    let (exact, _, _) = run(&dir, &q, "oracle", &[]);
    assert_eq!(exact.len(), 2494);
    for engine in ["baseline", "microbatch", "record"] {
        let (rows, s, _) = run(&dir, &q, engine, &[]);
        assert_eq!(s["late_dropped"], 0, "{engine}");
        assert!(rows == exact, "{engine} differs from the oracle");
    }
    let text = std::fs::read_to_string(&q).unwrap();
    assert!(text.contains("watermark_delay = \"20s\""));
    // The same query in the work directory, its data paths made absolute.
    let short = dir.join("likes_2s.toml");
    let text = text.replace("watermark_delay = \"20s\"", "").replace(
        "path = \"data/",
        &format!("path = \"{}/data/", queries.display()),
    );
    std::fs::write(&short, text).unwrap();
    let late = |engine| {
        run(&dir, &short, engine, &[]).1["late_dropped"]
            .as_u64()
            .unwrap()
    };
    let (baseline, record, microbatch) = (late("baseline"), late("record"), late("microbatch"));
    assert_eq!((baseline, record, microbatch), (387, 224, 0));
    std::fs::remove_dir_all(&dir).ok();
}
