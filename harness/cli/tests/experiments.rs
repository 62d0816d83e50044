#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! `streamlab experiment ysb` and `experiment nexmark` with `--quick`: each writes the
//! results layout of measurement.md, measures every engine and the baseline, and every
//! engine's rows equal the oracle's. No speed is asserted; the YSB latency must include the
//! watermark delay (an append row cannot leave before the watermark passes its window).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const ENGINES: [&str; 3] = ["record", "microbatch", "baseline"];

fn run_quick(experiment: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!(
        "streamlab-experiment-{experiment}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["experiment", experiment, "--quick", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "experiment {experiment} failed: {status}");
    for file in [
        "README.md",
        "config.toml",
        "machine.json",
        "raw.csv",
        "summary.json",
    ] {
        assert!(out.join(file).is_file(), "{experiment}: {file} missing");
    }
    out
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

/// Whether `raw.csv` (tidy: a column per parameter) has a row of `engine` with every
/// `name=value` of `setting` (`;`-separated) in its columns and `metric`.
fn raw_has(dir: &Path, engine: &str, setting: &str, metric: &str) -> bool {
    let text = std::fs::read_to_string(dir.join("raw.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name);
    let wanted: Vec<(usize, &str)> = setting
        .split(';')
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap();
            (
                col(k).unwrap_or_else(|| panic!("no column {k} in {header:?}")),
                v,
            )
        })
        .collect();
    let (e, m) = (col("engine").unwrap(), col("metric").unwrap());
    lines.any(|l| {
        let cells: Vec<&str> = l.split(',').collect();
        cells[e] == engine && cells[m] == metric && wanted.iter().all(|&(c, v)| cells[c] == v)
    })
}

#[test]
fn ysb_measures_every_engine_and_every_engine_is_exact() {
    let dir = run_quick("ysb");
    let s = summary(&dir);
    assert_eq!(s["all_exact"], true, "{}", s["oracle"]);
    let delay_wall_us = s["latency"]["watermark_delay_wall_ms"].as_f64().unwrap() * 1e3;
    for engine in ENGINES {
        let o = &s["oracle"][engine];
        assert_eq!(o["exact_runs"], o["runs"], "{engine}: {o}");
        assert!(o["rows_expected"].as_u64().unwrap() > 0, "{engine}: {o}");
        assert_eq!(o["rows_exact"], o["rows_expected"], "{engine}: {o}");
        let tp = &s["throughput"]["engines"][engine]["throughput_eps"]["median"];
        assert!(tp.as_f64().unwrap() > 0.0, "{engine}: no throughput");
        assert!(raw_has(
            &dir,
            engine,
            "measure=throughput",
            "throughput_eps"
        ));
        assert!(dir.join(format!("{engine}-rate100000.hgrm")).is_file());
    }
    let points = s["latency"]["points"].as_array().unwrap();
    assert_eq!(points.len(), ENGINES.len(), "one latency run per engine");
    for p in points {
        assert!(p["rows_measured"].as_u64().unwrap() > 0, "{p}");
        let p50 = p["ysb_latency_us"]["p50"].as_f64().unwrap();
        assert!(
            p50 >= 0.9 * delay_wall_us,
            "{}: p50 {p50} µs is less than the watermark delay ({delay_wall_us} µs of replay)",
            p["engine"]
        );
        assert!(
            p["rows_closed_by_end"].as_u64().unwrap() > 0,
            "the last window is closed by the end of input and not measured: {p}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn nexmark_measures_every_query_on_every_engine_and_every_engine_is_exact() {
    let dir = run_quick("nexmark");
    let s = summary(&dir);
    assert_eq!(s["all_exact"], true);
    let queries = s["queries"].as_array().unwrap();
    let names: Vec<&str> = queries
        .iter()
        .map(|q| q["query"].as_str().unwrap())
        .collect();
    for q in [
        "q0", "q1", "q2", "q3", "q5", "q7", "q11", "q20", "q21", "q22",
    ] {
        assert!(names.contains(&q), "{q} missing: {names:?}");
    }
    let csv = std::fs::read_to_string(dir.join("throughput.csv")).unwrap();
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .ends_with("published_nexmark_flink_eps,published_nexmark_flink_per_core_eps"));
    // Multi-stage queries: the baseline refuses them (by name, saying who runs them);
    // every other engine runs every query.
    let staged = ["q4", "q9", "q17", "q18", "q19"];
    for q in ["q4", "q9", "q17", "q18", "q19"] {
        assert!(names.contains(&q), "{q} missing: {names:?}");
    }
    for q in queries {
        let name = q["query"].as_str().unwrap();
        let refused = q["refused"].as_object().unwrap();
        if staged.contains(&name) {
            let why = refused["baseline"].as_str().unwrap();
            assert!(why.contains("[[stage]]"), "{name}: {why}");
            assert_eq!(refused.len(), 1, "{name}: {refused:?}");
        } else {
            assert!(refused.is_empty(), "{name}: {refused:?}");
        }
        for engine in ENGINES.iter().filter(|e| !refused.contains_key(**e)) {
            let o = &q["oracle"][engine];
            assert_eq!(o["exact"], true, "{name} {engine}: {o}");
            assert!(o["rows_expected"].as_u64().unwrap() > 0, "{name}: {o}");
            let tp = &q["engines"][engine]["throughput_eps"]["median"];
            assert!(tp.as_f64().unwrap() > 0.0, "{name} {engine}");
            // End to end (read, decode, engine, sink) for a query of one input; none for
            // Q3, whose two inputs read one stream (no figure counts lines never decoded).
            let e2e = q["engines"][engine]["end_to_end_eps"].as_f64();
            // Q4, Q9 and Q20 join two inputs too.
            let joins_two_inputs = ["q3", "q4", "q9", "q20"].contains(&name);
            assert_eq!(e2e.is_some(), !joins_two_inputs, "{name} {engine}: {e2e:?}");
            assert!(q["engines"][engine].get("lines_per_s").is_none());
            assert!(raw_has(
                &dir,
                engine,
                &format!("query={name}"),
                "throughput_eps"
            ));
            assert!(
                csv.lines()
                    .any(|l| l.starts_with(&format!("{name},{engine},"))),
                "{name} {engine} not in throughput.csv"
            );
        }
    }
    // The published figures sit beside ours, labelled, with their source.
    let q5 = &s["published_nexmark_flink"]["queries"]["q5"];
    assert!((q5["events_per_s"].as_f64().unwrap() - 1e8 / 418.242).abs() < 1.0);
    assert!(s["published_nexmark_flink"]["source"]
        .as_str()
        .unwrap()
        .contains("github.com/nexmark/nexmark"));
    std::fs::remove_dir_all(&dir).ok();
}

/// `experiment peers --quick`: real Spark and Flink (when their Python packages are
/// installed: `STREAMLAB_PEERS_PYTHON`) on W1 beside the lab's engines. Flink's bounded
/// source closes every window: its answer is the oracle's. Spark's append mode cannot
/// close the last windows: every row it misses is one only the end of input closes. A
/// peer that is not installed is reported as skipped, and so is the test's check of it.
#[test]
fn peers_run_real_spark_and_flink_or_say_they_were_skipped() {
    let dir = run_quick("peers");
    let s = summary(&dir);
    for engine in ENGINES {
        let tp = &s["lab_end_to_end"][engine]["throughput_eps"]["median"];
        assert!(tp.as_f64().unwrap() > 0.0, "{engine}: {s}");
    }
    for peer in ["spark", "flink"] {
        if let Some(why) = s["skipped"][peer].as_str() {
            assert!(why.starts_with("SKIPPED: "), "{why}");
            println!("{why}");
            eprintln!("{why}");
            continue;
        }
        let p = &s["peers"][peer];
        assert!(
            p["throughput_eps"]["median"].as_f64().unwrap() > 0.0,
            "{peer}: {p}"
        );
        let run = &p["runs"][0];
        assert_eq!(run["events"], 20_000, "{peer}: {run}");
        // The job's fixed cost was measured on ten lines and is not charged to the events.
        assert!(run["startup_s"].as_f64().unwrap() > 0.0, "{peer}: {run}");
        assert!(
            run["whole_job_eps"].as_f64().unwrap() > 0.0,
            "{peer}: {run}"
        );
        assert_eq!(run["wrong"], 0, "{peer}: {run}");
        assert_eq!(run["extra"], 0, "{peer}: {run}");
        match peer {
            "flink" => assert_eq!(run["equals_oracle"], true, "{run}"),
            _ => {
                assert_eq!(run["missing"], run["missing_at_end"], "{run}");
                assert!(run["missing_at_end"].as_u64().unwrap() > 0, "{run}");
                // The stream spans a minute: the windows before the last are emitted.
                assert!(run["rows_exact"].as_u64().unwrap() > 0, "{run}");
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// `streamlab bench` on W1 with its default engines runs `hand`, the loop written for W1
/// alone, beside them: every engine has its ratio to it, and each engine that takes
/// `--workers` its COST, the workers it needs to match `hand` (or how many were tried).
#[test]
fn bench_on_w1_has_a_hand_row_and_each_engines_cost() {
    let out = std::env::temp_dir().join(format!("streamlab-bench-hand-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args([
            "bench", "--events", "50000", "--reps", "1", "--path", "decoded", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(table.contains("| vs hand | COST |"), "{table}");
    assert!(table.contains("| hand |"), "{table}");
    let s = summary(&out);
    let hand = s["engines"]["hand"]["throughput_eps"].as_f64().unwrap();
    assert!(hand > 0.0, "{s}");
    assert_eq!(
        s["engines"]["hand"]["rows_out"],
        s["engines"]["baseline"]["rows_out"]
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for engine in ["record", "microbatch"] {
        let e = &s["engines"][engine];
        assert!(e["ratio_to_hand"].as_f64().unwrap() > 0.0, "{engine}: {e}");
        let cost = &e["cost"];
        assert_eq!(cost["tried_up_to"], cores, "{engine}: {cost}");
        let tried = cost["throughput"].as_array().unwrap();
        assert!(!tried.is_empty(), "{engine}: {cost}");
        // COST is the first worker count tried that reached hand's median, if any.
        match cost["workers"].as_u64() {
            Some(w) => {
                let last = &tried[tried.len() - 1];
                assert_eq!(last[0], w, "{engine}: {cost}");
                assert!(last[1].as_f64().unwrap() >= hand, "{engine}: {cost}");
            }
            None => assert!(
                tried.iter().all(|t| t[1].as_f64().unwrap() < hand),
                "{engine}: {cost}"
            ),
        }
    }
    assert!(raw_has(
        &out,
        "record",
        "measure=cost;workers=1",
        "throughput_eps"
    ));
    std::fs::remove_dir_all(&out).ok();
}

/// `experiment checkpoint-interval` on one engine, small: every mode measured against
/// the interleaved run without checkpoints; only the incremental mode writes increments
/// (that they are smaller than the state: `checkpoint/tests/chain.rs`).
#[test]
fn checkpoint_interval_compares_every_mode_with_a_run_without_checkpoints() {
    let out = std::env::temp_dir().join(format!("streamlab-ck-interval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["experiment", "checkpoint-interval", "--reps", "1"])
        .args([
            "--engine",
            "microbatch",
            "--events",
            "200000",
            "--keys",
            "20000",
        ])
        .args(["--intervals-ms", "20", "--out"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "{status}");
    let s = summary(&out);
    let point = &s["points"][0];
    assert_eq!(point["engine"], "microbatch");
    for mode in ["sync-full", "async-full", "async-incremental"] {
        let set = format!("keys=20000;interval_ms=20;mode={mode}");
        assert!(
            raw_has(&out, "microbatch", &set, "throughput_ratio"),
            "{mode}"
        );
        let m = &point["modes"][mode];
        assert!(m["checkpoints"].as_u64().unwrap() > 1, "{mode}: {m}");
        let increments = m["increments"].as_u64().unwrap();
        assert_eq!(increments > 0, mode == "async-incremental", "{mode}: {m}");
    }
    let per = |mode: &str| {
        point["modes"][mode]["bytes_per_checkpoint"]
            .as_f64()
            .unwrap()
    };
    assert!(
        per("async-incremental") > 0.0 && per("async-full") > 0.0,
        "{point}"
    );
    assert!(raw_has(
        &out,
        "microbatch",
        "keys=20000;interval_ms=20;mode=none",
        "throughput_eps"
    ));
    let _ = std::fs::remove_dir_all(&out);
}
