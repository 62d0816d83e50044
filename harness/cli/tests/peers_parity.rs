//! Parity with the real engines: on small hostile streams (disorder, late records) the
//! micro-batch engine reproduces real Spark 4.3 batch by batch, and the record engine real
//! Flink 2.3 record by record.
//!
//! - Spark (`peers/parity_spark.py`): one JSON Lines file per micro-batch
//!   (`maxFilesPerTrigger=1`), every row tagged with the batch that emitted it; the lab's
//!   micro-batch engine runs with `--max-records-per-batch` = the lines per file and logs
//!   its batches (`STREAMLAB_MICROBATCH_LOG`), so its rows are cut into batches by each
//!   batch's output count. Every batch with input must emit exactly Spark's rows. After the
//!   input, Spark runs a no-data batch at the last watermark; the lab runs its final batch
//!   at +infinity (it closes every window, Spark never does): Spark's rows there are a
//!   subset of the lab's.
//! - Flink (`peers/parity_flink.py`): the bounded filesystem source at parallelism 1 with a
//!   watermark after every record; the record engine with `--watermark-interval 1`. The
//!   rows must be equal, which needs the same records judged late one by one (tumbling,
//!   sliding and session windows).
//!
//! Needs PySpark and PyFlink in the Python that `STREAMLAB_PEERS_PYTHON` names (`.ci/run`
//! installs them); without them the test prints `SKIPPED:` and checks nothing.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// Lines per Spark batch file (and per lab micro-batch).
const BATCH: usize = 50;
/// Watermark delay of every case, ms.
const DELAY_MS: i64 = 1000;

/// The windows every case runs: name, the lab's `[window]` body, the peers' description.
fn windows() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        (
            "tumbling",
            "kind = \"tumbling\"\nsize = 10000",
            json!({"kind": "tumbling", "size_ms": 10000}),
        ),
        (
            "sliding",
            "kind = \"sliding\"\nsize = 20000\nslide = 5000",
            json!({"kind": "sliding", "size_ms": 20000, "slide_ms": 5000}),
        ),
        (
            "session",
            "kind = \"session\"\ngap = 1500",
            json!({"kind": "session", "gap_ms": 1500}),
        ),
    ]
}

/// The Python with the peers' packages, or why the test is skipped.
fn peers_python() -> Result<String, String> {
    let python = std::env::var("STREAMLAB_PEERS_PYTHON").unwrap_or_else(|_| "python3".into());
    for module in ["pyspark", "pyflink"] {
        let ok = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Err(format!(
                "SKIPPED: parity with real Spark and Flink: {python} cannot import {module} \
                 (set STREAMLAB_PEERS_PYTHON to a Python with peers/requirements.txt installed)"
            ));
        }
    }
    Ok(python)
}

/// 800 events over about 80 s of event time, three keys; one in seven arrives up to 8 s
/// late (a delay of 1 s makes many of them late).
fn events() -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut t: i64 = 1_700_000_000_000;
    (0..800)
        .map(|_| {
            t += next(200) as i64;
            let back = if next(7) == 0 { next(8000) as i64 } else { 0 };
            let key = next(3);
            let v = next(101) as i64 - 50;
            format!("{{\"ts\":{},\"key\":\"k{key}\",\"v\":{v}}}", t - back)
        })
        .collect()
}

fn query(window: &str, mode: &str) -> String {
    format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
         [watermark]\ndelay = {DELAY_MS}\n[window]\n{window}\n\
         [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
         [[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"s\"\n\
         [[aggregate]]\nfn = \"max\"\nfield = \"v\"\nas = \"hi\"\n"
    )
}

/// A result row without its batch tag, in a canonical text.
fn canonical(mut row: Value) -> String {
    let o = row.as_object_mut().unwrap();
    o.remove("batch");
    o.remove("emit");
    serde_json::to_string(&o.iter().collect::<BTreeMap<_, _>>()).unwrap()
}

fn rows(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs the lab's `engine` on `input` for `query`; its stderr.
fn lab(engine: &str, query: &Path, input: &Path, output: &Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["run", "--engine", engine, "--query"])
        .arg(query)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .args(extra)
        .env("STREAMLAB_MICROBATCH_LOG", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

fn peers_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../peers")
        .join(name)
}

fn run_peer(python: &str, script: &str, cases: &Path) {
    let out = Command::new(python)
        .arg(peers_script(script))
        .arg("--cases")
        .arg(cases)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The lab's rows per batch, cut by the batch log's output counts; and which batch ran
/// at end of input.
fn lab_batches(stderr: &str, output: &Path) -> (BTreeMap<u64, BTreeSet<String>>, u64) {
    let rows = rows(output);
    let (mut at, mut batches, mut last) = (0, BTreeMap::new(), 0);
    for line in stderr.lines() {
        let Some(rest) = line.split("batch ").nth(1) else {
            continue;
        };
        let Some(out_at) = rest.find(" output ") else {
            continue;
        };
        let id: u64 = rest.split(' ').next().unwrap().parse().unwrap();
        let n: usize = rest[out_at + 8..]
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let set: BTreeSet<String> = rows[at..at + n].iter().cloned().map(canonical).collect();
        batches.insert(id, set);
        at += n;
        if rest.contains("(Final)") {
            last = id;
        }
    }
    assert_eq!(at, rows.len(), "the batch log accounts for every row");
    (batches, last)
}

#[test]
fn the_engines_reproduce_real_spark_batch_by_batch_and_real_flink_record_by_record() {
    let python = match peers_python() {
        Ok(p) => p,
        Err(why) => {
            println!("{why}");
            eprintln!("{why}");
            return;
        }
    };
    let dir = std::env::temp_dir().join(format!("streamlab-parity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let batches_dir = dir.join("batches");
    std::fs::create_dir_all(&batches_dir).unwrap();
    let lines = events();
    let input = dir.join("events.jsonl");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    // Spark orders a directory's files by modification time: one second apart.
    let base = SystemTime::now() - Duration::from_secs(3600);
    for (i, chunk) in lines.chunks(BATCH).enumerate() {
        let path = batches_dir.join(format!("{i:05}.jsonl"));
        std::fs::write(&path, chunk.join("\n") + "\n").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(base + Duration::from_secs(i as u64))
            .unwrap();
    }
    let data_batches = lines.len().div_ceil(BATCH) as u64;

    // The cases, as each peer's script and the lab take them.
    let (mut spark_cases, mut flink_cases) = (Vec::new(), Vec::new());
    for (name, _, window) in windows() {
        // Spark refuses update mode for session windows (STREAMING_OUTPUT_MODE).
        let modes: &[&str] = if name == "session" {
            &["append"]
        } else {
            &["append", "update"]
        };
        for mode in modes {
            spark_cases.push(json!({
                "name": format!("{name}-{mode}"), "input": batches_dir,
                "output": dir.join(format!("spark-{name}-{mode}.jsonl")),
                "window": window, "delay_ms": DELAY_MS, "mode": mode,
            }));
        }
        flink_cases.push(json!({
            "name": name, "input": input, "output": dir.join(format!("flink-{name}.jsonl")),
            "window": window, "delay_ms": DELAY_MS,
        }));
    }
    let spark_file = dir.join("spark-cases.json");
    std::fs::write(&spark_file, serde_json::to_string(&spark_cases).unwrap()).unwrap();
    let flink_file = dir.join("flink-cases.json");
    std::fs::write(&flink_file, serde_json::to_string(&flink_cases).unwrap()).unwrap();
    run_peer(&python, "parity_spark.py", &spark_file);
    run_peer(&python, "parity_flink.py", &flink_file);

    let mut late_in_flink = 0;
    for (name, window, _) in windows() {
        // Micro-batch engine against Spark, batch by batch.
        for mode in ["append", "update"] {
            if name == "session" && mode == "update" {
                continue;
            }
            let q = dir.join(format!("{name}-{mode}.toml"));
            std::fs::write(&q, query(window, mode)).unwrap();
            let out = dir.join(format!("microbatch-{name}-{mode}.jsonl"));
            let batch = BATCH.to_string();
            let log = lab(
                "microbatch",
                &q,
                &input,
                &out,
                &["--max-records-per-batch", &batch],
            );
            let (lab, final_batch) = lab_batches(&log, &out);
            assert_eq!(final_batch, data_batches, "{name} {mode}: {log}");
            let mut spark: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
            for row in rows(&dir.join(format!("spark-{name}-{mode}.jsonl"))) {
                let b = row["batch"].as_u64().unwrap();
                spark.entry(b).or_default().insert(canonical(row));
            }
            let empty = BTreeSet::new();
            for b in 0..data_batches {
                let (s, l) = (
                    spark.get(&b).unwrap_or(&empty),
                    lab.get(&b).unwrap_or(&empty),
                );
                assert_eq!(
                    s, l,
                    "{name} {mode}: batch {b} differs from Spark's (Spark first)"
                );
            }
            for (b, s) in spark.range(data_batches..) {
                let l = lab.get(&final_batch).unwrap_or(&empty);
                assert!(
                    s.is_subset(l),
                    "{name} {mode}: Spark's no-data batch {b} emitted rows the lab's final batch did not: {:?}",
                    s.difference(l).collect::<Vec<_>>()
                );
            }
            let emitted: usize = (0..data_batches)
                .map(|b| lab.get(&b).map_or(0, BTreeSet::len))
                .sum();
            assert!(
                emitted > 0,
                "{name} {mode}: no batch emitted before the end"
            );
        }
        // Record engine against Flink: the same rows, sessions included (in append mode a
        // closed session is forgotten, as Flink does: docs/semantics.md, "Watermarks
        // and late data").
        let q = dir.join(format!("{name}-append.toml"));
        let out = dir.join(format!("record-{name}.jsonl"));
        let log = lab("record", &q, &input, &out, &["--watermark-interval", "1"]);
        let lab: BTreeSet<String> = rows(&out).into_iter().map(canonical).collect();
        let flink: BTreeSet<String> = rows(&dir.join(format!("flink-{name}.jsonl")))
            .into_iter()
            .map(canonical)
            .collect();
        assert_eq!(lab, flink, "{name}: the record engine against Flink");
        late_in_flink += log
            .split(" late dropped")
            .next()
            .and_then(|s| s.rsplit(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap();
    }
    // The streams are hostile enough for the late rule to matter.
    assert!(late_in_flink > 0, "no record was late");
    std::fs::remove_dir_all(&dir).ok();
}
