#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Checkpoints and recovery on a real process: `streamlab run --checkpoint` is killed with
//! SIGKILL at pseudo-random points and restarted until it finishes; the output must equal a
//! clean run's, with nothing lost and nothing twice. A corrupt newest checkpoint falls back
//! to the previous one, or fails naming the file with `--on-corrupt fail`.
//! Every engine implements the protocol: the baseline, the record engine (on 1 and 2
//! workers) and the micro-batch engine (batches of 1000 and 100 000 events).

use crate::fixtures::run_and_kill;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub(crate) fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn w1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml")
}

pub(crate) fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-recovery-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub(crate) fn generate(dir: &Path, events: u64) -> PathBuf {
    let path = dir.join("events.jsonl");
    let out = streamlab()
        .args([
            "gen",
            "--workload",
            "clicks",
            "--events",
            &events.to_string(),
            "--seed",
            "11",
        ])
        .args([
            "--keys",
            "1000",
            "--rate",
            "5000",
            "--disorder",
            "0.1",
            "--max-delay",
            "3s",
        ])
        .args([
            "--late",
            "0.01",
            "--late-by",
            "20s",
            "--output",
            path.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    path
}

pub(crate) fn sorted_lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// W1 in update mode: a row for every event, so every epoch has rows to lose or duplicate.
pub(crate) fn w1_update(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(w1())
        .unwrap()
        .replace("output_mode = \"append\"", "output_mode = \"update\"");
    assert!(text.contains("\"update\""));
    let path = dir.join("w1_update.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub(crate) fn run_args(
    engine: &str,
    query: &Path,
    events: &Path,
    out: &Path,
    ck: &Path,
    every: u64,
) -> Vec<String> {
    vec![
        "run".into(),
        "--engine".into(),
        engine.into(),
        "--query".into(),
        query.display().to_string(),
        "--input".into(),
        events.display().to_string(),
        "--output".into(),
        out.display().to_string(),
        "--checkpoint".into(),
        ck.display().to_string(),
        "--checkpoint-every".into(),
        every.to_string(),
    ]
}

#[test]
fn killed_ten_times_the_baseline_still_writes_every_row_exactly_once() {
    killed_ten_times("baseline", &[]);
}

#[test]
fn killed_ten_times_the_record_engine_still_writes_every_row_exactly_once() {
    killed_ten_times("record", &[]);
}

#[test]
fn killed_ten_times_the_record_engine_on_two_workers_still_writes_every_row_exactly_once() {
    killed_ten_times("record", &["--workers", "2"]);
}

#[test]
fn killed_ten_times_the_micro_batch_engine_still_writes_every_row_exactly_once() {
    killed_ten_times("microbatch", &["--max-records-per-batch", "1000"]);
}

#[test]
fn killed_ten_times_the_micro_batch_engine_on_two_workers_still_writes_every_row_exactly_once() {
    killed_ten_times(
        "microbatch",
        &["--workers", "2", "--max-records-per-batch", "2000"],
    );
}

#[test]
fn a_corrupt_micro_batch_checkpoint_falls_back_or_fails_naming_the_file() {
    corrupt_checkpoint("microbatch");
}

/// Ten SIGKILLs of `engine` (with `extra` flags) during a 200k-event update-mode run,
/// restarts from the checkpoints, and the output compared with a clean run's.
fn killed_ten_times(engine: &str, extra: &[&str]) {
    let dir = workdir(&format!("kills-{engine}-{}", extra.join("")));
    let events = generate(&dir, 200_000);
    let query = w1_update(&dir);
    let clean = dir.join("clean.jsonl");
    let out = streamlab()
        .args([
            "run",
            "--engine",
            engine,
            "--query",
            query.to_str().unwrap(),
        ])
        .args([
            "--input",
            events.to_str().unwrap(),
            "--output",
            clean.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (output, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
    // ~100 checkpoints in the whole run; each attempt is killed 1-5 checkpoints after
    // it started, plus 0-3 ms: ten kills spread over the run.
    let mut args = run_args(engine, &query, &events, &output, &ck, 2000);
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut landed = 0;
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..10 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let checkpoints = 1 + (seed >> 33) % 5;
        let extra = Duration::from_micros((seed >> 20) % 3000);
        if run_and_kill(&args, &ck, checkpoints, extra) {
            landed += 1;
        }
    }
    let out = streamlab().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        landed >= 3,
        "only {landed} kills landed mid-run: the test did not exercise recovery"
    );
    let (got, want) = (sorted_lines(&output), sorted_lines(&clean));
    assert_eq!(
        got.len(),
        want.len(),
        "rows lost or duplicated after {landed} kills"
    );
    assert_eq!(got, want, "rows differ after {landed} kills");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_corrupt_checkpoint_falls_back_or_fails_naming_the_file() {
    corrupt_checkpoint("baseline");
}

#[test]
fn a_corrupt_record_engine_checkpoint_falls_back_or_fails_naming_the_file() {
    corrupt_checkpoint("record");
}

fn corrupt_checkpoint(engine: &str) {
    let dir = workdir(&format!("corrupt-{engine}"));
    let events = generate(&dir, 100_000);
    let clean = dir.join("clean.jsonl");
    assert!(streamlab()
        .args(["run", "--engine", engine, "--query", w1().to_str().unwrap()])
        .args([
            "--input",
            events.to_str().unwrap(),
            "--output",
            clean.to_str().unwrap()
        ])
        .status()
        .unwrap()
        .success());
    let (output, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
    let args = run_args(engine, &w1(), &events, &output, &ck, 2000);
    // Run until at least two checkpoints exist, then crash.
    let mut child = streamlab()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let count = || {
        std::fs::read_dir(&ck)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .ends_with(".bin")
                })
                .count()
            })
            .unwrap_or(0)
    };
    while count() < 2 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    let newest = files.last().unwrap().clone();
    if files.len() >= 2 {
        let mut bytes = std::fs::read(&newest).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0x55;
        std::fs::write(&newest, &bytes).unwrap();
        let name = newest.file_name().unwrap().to_string_lossy().to_string();

        let mut fail = args.clone();
        fail.extend(["--on-corrupt".to_string(), "fail".to_string()]);
        let out = streamlab().args(&fail).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&name) && err.contains("checksum"), "{err}");

        let out = streamlab().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("warning") && err.contains(&name), "{err}");
        assert_eq!(sorted_lines(&output), sorted_lines(&clean));
    } else {
        panic!("the run finished before two checkpoints were written; make the input larger");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn experiment_recovery_reports_exactly_once_for_every_checkpointing_engine() {
    let dir = workdir("experiment");
    let out = streamlab()
        .args([
            "experiment",
            "recovery",
            "--quick",
            "--kills",
            "3",
            "--events",
            "40000",
        ])
        .args(["--out", dir.join("results").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results/summary.json")).unwrap())
            .unwrap();
    let engines = summary["engines"].as_array().unwrap();
    let names: Vec<&str> = engines
        .iter()
        .map(|e| e["engine"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"record") && names.contains(&"baseline"),
        "{names:?}"
    );
    for e in engines {
        assert!(e["kills"].as_u64().unwrap() >= 1, "{e}");
        for k in ["rows_lost", "rows_duplicated", "rows_wrong"] {
            assert_eq!(e[k], 0, "{}: {k}", e["engine"]);
        }
        // Each restart after a kill reports when the engine was back at work.
        let restarted = e["per_kill"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| !k["resumed_from"].is_null() && k["landed"] == true)
            .count();
        let restores = e["per_kill"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["restore_ms"].as_f64().is_some_and(|ms| ms > 0.0))
            .count();
        assert_eq!(restores, restarted, "{}: {e}", e["engine"]);
    }
    for f in ["README.md", "config.toml", "machine.json", "raw.csv"] {
        assert!(dir.join("results").join(f).exists(), "{f} missing");
    }
    // Options of another experiment are refused by name.
    let out = streamlab()
        .args(["experiment", "scaling", "--quick", "--kills", "3"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--kills"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_restarted_baseline_reads_the_file_from_the_checkpoints_line_on() {
    resumes_mid_file("baseline", &[]);
}

#[test]
fn a_restarted_record_engine_reads_the_file_from_the_checkpoints_line_on() {
    resumes_mid_file("record", &["--workers", "2"]);
}

#[test]
fn a_restarted_micro_batch_engine_reads_the_file_from_the_checkpoints_line_on() {
    resumes_mid_file("microbatch", &["--max-records-per-batch", "1000"]);
}

/// A file edited before the line a checkpoint resumes at, in place and to the same length
/// (so that its size and line starts still match), is refused by name, on every engine:
/// the checkpoint keeps the CRC-32 of the file's bytes before its line.
#[test]
fn a_file_edited_before_the_checkpoints_line_is_refused() {
    for engine in ["baseline", "record", "microbatch"] {
        let dir = workdir(&format!("edited-{engine}"));
        let events = generate(&dir, 20_000);
        let query = w1_update(&dir);
        let (output, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
        let mut args = run_args(engine, &query, &events, &output, &ck, 2000);
        if engine == "microbatch" {
            args.extend(["--max-records-per-batch".to_string(), "1000".to_string()]);
        }
        let out = streamlab().args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Resume from the checkpoint before the finished run's, mid-file.
        let newest = streamlab_checkpoint::newest_id(&ck).unwrap();
        std::fs::remove_file(ck.join(format!("chk-{newest:020}.bin"))).unwrap();
        std::fs::remove_file(&output).unwrap();
        let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
        // One key of the first line renamed: the same length, the same lines.
        let text = std::fs::read_to_string(&events).unwrap();
        let edited = text.replacen("\"key\":\"k", "\"key\":\"j", 1);
        assert_eq!(
            (edited.len(), edited.lines().count()),
            (text.len(), text.lines().count())
        );
        assert_ne!(edited, text);
        std::fs::write(&events, &edited).unwrap();
        let out = streamlab().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{engine}: {err}");
        assert!(
            err.contains("events.jsonl") && err.contains("not those the checkpoint was taken over"),
            "{engine}: {err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// A run over a file with malformed lines, killed mid-run, resumes at the checkpoint's
/// line and byte offset instead of decoding the file again: it says so, its counts (events,
/// malformed lines) and rows equal a clean run's, and a file that is no longer the one the
/// checkpoint was taken over is refused by name.
fn resumes_mid_file(engine: &str, extra: &[&str]) {
    let dir = workdir(&format!("midfile-{engine}"));
    let good = generate(&dir, 200_000);
    let events = dir.join("with-malformed.jsonl");
    let mut text = String::new();
    for (i, line) in std::fs::read_to_string(&good).unwrap().lines().enumerate() {
        text.push_str(line);
        text.push('\n');
        if i % 997 == 0 {
            text.push_str("{\"ts\": \"not a number\"}\n");
        }
    }
    std::fs::write(&events, &text).unwrap();
    let query = w1_update(&dir);
    let summary_of = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let clean = dir.join("clean.jsonl");
    let mut clean_args = run_args(engine, &query, &events, &clean, &dir.join("unused"), 1);
    clean_args.truncate(9); // without --checkpoint
    clean_args.extend(extra.iter().map(|s| s.to_string()));
    let clean_summary = dir.join("clean.summary.json");
    let out = streamlab()
        .args(&clean_args)
        .args(["--summary", clean_summary.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (output, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
    let mut args = run_args(engine, &query, &events, &output, &ck, 2000);
    args.extend(extra.iter().map(|s| s.to_string()));
    assert!(
        run_and_kill(&args, &ck, 5, Duration::ZERO),
        "the run finished before the kill"
    );
    let summary = dir.join("resumed.summary.json");
    let out = streamlab()
        .args(&args)
        .args(["--summary", summary.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let line: u64 = err
        .split(" at line ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no `resuming ... at line N` on stderr: {err}"));
    assert!(line > 1, "resumed at line {line}: {err}");
    assert!(err.contains("resumed from checkpoint"), "{err}");
    let (got, want) = (summary_of(&summary), summary_of(&clean_summary));
    for count in ["events_in", "malformed", "late_dropped"] {
        assert_eq!(got[count], want[count], "{count} after the restart: {err}");
    }
    assert!(want["malformed"].as_u64().unwrap() > 200);
    assert_eq!(sorted_lines(&output), sorted_lines(&clean));

    // The checkpoints now name a line of the old file; a shorter file is refused.
    std::fs::remove_file(&output).unwrap();
    let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
    let newest = streamlab_checkpoint::newest_id(&ck).unwrap();
    std::fs::remove_file(ck.join(format!("chk-{newest:020}.bin"))).unwrap(); // the finished run's
    std::fs::write(&events, &text[..text.len() / 4]).unwrap();
    let out = streamlab().args(&args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("with-malformed.jsonl") && err.contains("not the file the checkpoint"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
