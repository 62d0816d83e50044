//! The exactly-once file sink checks its committed parts against the checkpoint: a rerun
//! of a finished checkpointed run whose `OUT.parts` lost a part, or all of them, or whose
//! part was truncated or changed, fails naming the part (exit 2), and leaves the output of
//! the first run as it was, never a shorter or corrupt one. On every engine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-parts-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("work directory");
    d
}

/// A finished checkpointed run of W1 (update mode: rows in every epoch) by `engine` in
/// `dir`; returns the run's arguments (to run it again) and its output.
fn finished_run(dir: &Path, engine: &str) -> (Vec<String>, String) {
    let events = dir.join("events.jsonl");
    let gen = streamlab()
        .args([
            "gen",
            "--workload",
            "clicks",
            "--events",
            "6000",
            "--seed",
            "5",
        ])
        .args(["--keys", "200", "--rate", "2000", "--output"])
        .arg(&events)
        .output()
        .expect("gen runs");
    assert!(gen.status.success());
    let w1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    let query = dir.join("w1-update.toml");
    let text = std::fs::read_to_string(w1)
        .expect("w1.toml")
        .replace("output_mode = \"append\"", "output_mode = \"update\"");
    std::fs::write(&query, text).expect("query written");
    let p = |p: PathBuf| p.to_str().expect("utf-8 path").to_owned();
    let args: Vec<String> = [
        "run",
        "--engine",
        engine,
        "--query",
        &p(query),
        "--input",
        &p(events),
        "--output",
        &p(dir.join("o.jsonl")),
        "--checkpoint",
        &p(dir.join("ck")),
        "--checkpoint-every",
        "500",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut args = args;
    if engine == "microbatch" {
        // Batches of 500: a checkpoint, and a part, every batch.
        args.extend(["--max-records-per-batch".to_owned(), "500".to_owned()]);
    }
    let out = streamlab().args(&args).output().expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output = std::fs::read_to_string(dir.join("o.jsonl")).expect("output");
    assert!(output.lines().count() > 100, "{output}");
    (args, output)
}

/// The committed parts, in epoch order.
fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("o.jsonl.parts"))
        .expect("parts directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    v.sort();
    v
}

/// The rerun failed, saying `what`, and left the first run's output alone.
fn refused(dir: &Path, out: &Output, what: &[&str], output: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for w in what {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
    let now = std::fs::read_to_string(dir.join("o.jsonl")).expect("output");
    assert!(now == output, "the output was rewritten: {err}");
}

const ENGINES: [&str; 3] = ["baseline", "record", "microbatch"];

#[test]
fn a_removed_parts_directory_is_refused_not_rewritten_empty() {
    for engine in ENGINES {
        let dir = workdir(&format!("removed-{engine}"));
        let (args, output) = finished_run(&dir, engine);
        std::fs::remove_dir_all(dir.join("o.jsonl.parts")).expect("parts removed");
        let out = streamlab().args(&args).output().expect("rerun");
        refused(&dir, &out, &["o.jsonl.parts/MANIFEST is missing"], &output);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}

#[test]
fn a_missing_part_is_named_not_skipped() {
    for engine in ENGINES {
        let dir = workdir(&format!("missing-{engine}"));
        let (args, output) = finished_run(&dir, engine);
        let all = parts(&dir);
        assert!(all.len() > 3, "{all:?}");
        let gone = &all[all.len() / 2];
        let len = std::fs::metadata(gone).expect("part").len();
        assert!(len > 0, "{}: an empty part", gone.display());
        std::fs::remove_file(gone).expect("part removed");
        let out = streamlab().args(&args).output().expect("rerun");
        let name = gone.to_str().expect("utf-8 path");
        refused(&dir, &out, &[name, "is missing"], &output);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}

#[test]
fn a_truncated_or_changed_part_is_named_not_joined() {
    for engine in ENGINES {
        let dir = workdir(&format!("damaged-{engine}"));
        let (args, output) = finished_run(&dir, engine);
        let all = parts(&dir);
        let part = &all[all.len() / 2];
        let bytes = std::fs::read(part).expect("part");
        let name = part.to_str().expect("utf-8 path");

        // Cut mid-line: joined, it would be a corrupt JSON line in the output.
        std::fs::write(part, &bytes[..bytes.len() - 7]).expect("part truncated");
        let out = streamlab().args(&args).output().expect("rerun");
        refused(&dir, &out, &[name, "the manifest records"], &output);

        // The same length, one digit changed: a wrong row.
        let mut changed = bytes.clone();
        let at = changed
            .iter()
            .position(|b| b.is_ascii_digit())
            .expect("a digit");
        changed[at] = if changed[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(part, &changed).expect("part changed");
        let out = streamlab().args(&args).output().expect("rerun");
        refused(&dir, &out, &[name, "fails its checksum"], &output);

        // Put back, the rerun goes through and gives the same output.
        std::fs::write(part, &bytes).expect("part restored");
        let out = streamlab().args(&args).output().expect("rerun");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let now = std::fs::read_to_string(dir.join("o.jsonl")).expect("output");
        assert!(now == output);
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
