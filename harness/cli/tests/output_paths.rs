//! `--output` naming a file the run reads or writes otherwise (the input, the query,
//! `--summary`, the checkpoint directory) is refused before anything is opened, naming
//! both options, and the file is left as it was; `-` (stdout) is exempt.

use std::path::{Path, PathBuf};
use std::process::Command;

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn setup(name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir =
        std::env::temp_dir().join(format!("streamlab-outpaths-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("work directory");
    let events = dir.join("events.jsonl");
    let gen = streamlab()
        .args([
            "gen",
            "--workload",
            "clicks",
            "--events",
            "500",
            "--seed",
            "3",
            "--output",
        ])
        .arg(&events)
        .output()
        .expect("gen runs");
    assert!(gen.status.success());
    let query = dir.join("w1.toml");
    let w1 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    std::fs::copy(w1, &query).expect("query copied");
    (dir, events, query)
}

/// Runs the baseline with `extra` arguments; asserts it was refused with every one of
/// `what` in the message.
fn refused(events: &Path, query: &Path, extra: &[&str], what: &[&str]) {
    let out = streamlab()
        .args(["run", "--engine", "baseline", "--input"])
        .arg(events)
        .arg("--query")
        .arg(query)
        .args(extra)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
    for w in what {
        assert!(err.contains(w), "`{w}` not in: {err}");
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn an_output_that_is_the_input_or_the_query_is_refused_and_they_are_kept() {
    let (dir, events, query) = setup("in");
    let (input_text, query_text) = (
        std::fs::read(&events).expect("input"),
        std::fs::read(&query).expect("query"),
    );
    // Another spelling of the same file.
    let same_input = dir.join("sub/../events.jsonl");
    refused(
        &events,
        &query,
        &["--output", s(&same_input)],
        &["--output", "--input", "same file"],
    );
    refused(
        &events,
        &query,
        &["--output", s(&query)],
        &["--output", "--query", "same file"],
    );
    assert!(
        std::fs::read(&events).expect("input") == input_text,
        "the input was changed"
    );
    assert!(
        std::fs::read(&query).expect("query") == query_text,
        "the query was changed"
    );
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}

#[test]
fn an_output_that_is_the_summary_or_the_checkpoint_directory_is_refused() {
    let (dir, events, query) = setup("sum");
    let out = dir.join("o.jsonl");
    refused(
        &events,
        &query,
        &["--output", s(&out), "--summary", s(&out)],
        &["--output", "--summary"],
    );
    assert!(!out.exists(), "{} was written", out.display());
    let ck = dir.join("ck");
    refused(
        &events,
        &query,
        &["--output", s(&ck), "--checkpoint", s(&ck)],
        &["--output", "--checkpoint"],
    );
    let parts = dir.join("o.jsonl.parts");
    refused(
        &events,
        &query,
        &["--output", s(&out), "--checkpoint", s(&parts)],
        &["--checkpoint", "parts directory"],
    );
    // A summary the run could not write at its end is refused before it starts, and the
    // output is not written.
    let nowhere = dir.join("no-such-dir").join("s.json");
    refused(
        &events,
        &query,
        &["--output", s(&out), "--summary", s(&nowhere)],
        &["--summary", "does not exist"],
    );
    assert!(!out.exists(), "{} was written", out.display());
    // An output in the directory a dir:// input reads would be read back as input.
    let watched = dir.join("sub");
    std::fs::copy(&events, watched.join("a.jsonl")).expect("a file to read");
    let run = streamlab()
        .args(["run", "--engine", "baseline", "--query"])
        .arg(&query)
        .arg("--input")
        .arg(format!("dir://{}?idle=100ms", watched.display()))
        .arg("--output")
        .arg(watched.join("o.jsonl"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("--output") && err.contains("reads"), "{err}");
    assert!(!watched.join("o.jsonl").exists());
    // `-` is stdout: no file to compare.
    let run = streamlab()
        .args(["run", "--engine", "baseline", "--output", "-", "--input"])
        .arg(&events)
        .arg("--query")
        .arg(&query)
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}
