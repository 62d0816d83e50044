#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! `streamlab run`'s engine flags: each engine's own (its crate's `Config`), refused by
//! name when given to another engine; and the run options every engine can mean
//! (`--workers`, `--checkpoint`), refused by the engine's one check when it does not
//! support them. Either way nothing has been read or written yet.

use crate::fixtures::parse_run;
use std::process::Command;

/// Why `streamlab run` refuses `flags` (with a query file that is never read).
fn refusal(flags: &str) -> String {
    let args = ["--query", "q.toml"]
        .into_iter()
        .chain(flags.split_whitespace());
    match parse_run(args) {
        Ok(_) => panic!("`{flags}` was not refused"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn micro_batch_flags_are_refused_by_name() {
    assert_eq!(
        refusal("--engine record --trigger once"),
        "engine `record` does not support --trigger"
    );
    assert_eq!(
        refusal("--engine oracle --trigger once"),
        "engine `oracle` does not support --trigger"
    );
    assert_eq!(
        refusal("--engine baseline --max-records-per-batch 10"),
        "engine `baseline` does not support --max-records-per-batch"
    );
}

#[test]
fn per_record_flags_are_refused_by_name() {
    let err = refusal("--engine microbatch --watermark-interval 3");
    assert!(err.contains("--watermark-interval"), "{err}");
    assert_eq!(
        refusal("--engine microbatch --complete-interval 1s"),
        "engine `microbatch` does not support --complete-interval"
    );
    assert_eq!(
        refusal("--engine oracle --processes 2 --process 1"),
        "engine `oracle` does not support --processes/--process/--hostfile"
    );
}

#[test]
fn an_engines_own_flags_are_taken() {
    for flags in [
        "--engine microbatch --trigger once --max-records-per-batch 3",
        "--engine record --watermark-interval 4 --complete-interval 1s",
        "--engine record --processes 2 --process 1",
        "--engine baseline",
    ] {
        let args = ["--query", "q.toml"]
            .into_iter()
            .chain(flags.split_whitespace());
        parse_run(args).unwrap_or_else(|e| panic!("{flags}: {e:#}"));
    }
}

/// The binary refuses before it opens the input or the output: the message names the
/// flag, and no output file appears.
#[test]
fn the_binary_refuses_before_opening_the_input_or_the_output() {
    let dir = std::env::temp_dir().join(format!("streamlab-flags-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let query = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    let output = dir.join("out.jsonl");
    for (flags, message) in [
        (
            "--engine oracle --trigger once",
            "engine `oracle` does not support --trigger",
        ),
        (
            "--engine oracle --workers 2",
            "engine `oracle` does not support --workers",
        ),
        (
            "--engine baseline --workers 2",
            "engine `baseline` does not support --workers",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
            .arg("run")
            .args(flags.split_whitespace())
            .arg("--query")
            .arg(&query)
            .arg("--input")
            .arg(dir.join("missing.jsonl"))
            .arg("--output")
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("streamlab: error: {message}\n"),
            "{flags}"
        );
        assert!(!output.exists(), "{flags}: the output was opened");
    }
    std::fs::remove_dir_all(&dir).ok();
}
