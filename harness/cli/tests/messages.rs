#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The binary on hostile input (issue 20): answers that must not wrap, and messages that
//! must name the problem (a closed stdout, mostly malformed input, odd numbers).

use std::path::PathBuf;
use std::process::{Command, Output};

const STREAMLAB: &str = env!("CARGO_BIN_EXE_streamlab");

/// Every engine `streamlab run` has.
const ENGINES: [&str; 4] = ["oracle", "baseline", "record", "microbatch"];

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamlab-msg-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn streamlab(args: &[&str]) -> Output {
    Command::new(STREAMLAB).args(args).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const SUM_QUERY: &str = "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"append\"\n\
[watermark]\ndelay = 0\n[window]\nkind = \"tumbling\"\nsize = 10\n\
[[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n";

#[test]
fn an_integer_sum_beyond_64_bits_is_null_on_every_engine() {
    let dir = scratch("sum");
    let (query, input) = (dir.join("q.toml"), dir.join("in.jsonl"));
    std::fs::write(&query, SUM_QUERY).unwrap();
    std::fs::write(
        &input,
        "{\"ts\":1,\"key\":\"k\",\"value\":9223372036854775807}\n\
         {\"ts\":2,\"key\":\"k\",\"value\":1}\n",
    )
    .unwrap();
    for engine in ENGINES {
        let out = streamlab(&[
            "run",
            "--engine",
            engine,
            "--query",
            query.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            "-",
        ]);
        assert!(out.status.success(), "{engine}: {}", stderr(&out));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "{\"window_start\":0,\"window_end\":10,\"key\":\"k\",\"total\":null}\n",
            "{engine}"
        );
    }
}

/// `SUM_QUERY`'s input of `n` events, one a window: as many output rows.
fn many_windows(dir: &std::path::Path, n: usize) -> (PathBuf, PathBuf) {
    let (query, input) = (dir.join("q.toml"), dir.join("in.jsonl"));
    std::fs::write(&query, SUM_QUERY).unwrap();
    let mut text = String::with_capacity(n * 48);
    for i in 0..n {
        text.push_str(&format!(
            "{{\"ts\":{},\"key\":\"k{}\",\"value\":1}}\n",
            i * 10,
            i % 7
        ));
    }
    std::fs::write(&input, text).unwrap();
    (query, input)
}

#[test]
fn a_closed_stdout_ends_the_run_quietly_with_status_0_on_every_engine() {
    use std::io::BufRead;
    let dir = scratch("pipe");
    // Far more output than a pipe and the output's buffer hold.
    let (query, input) = many_windows(&dir, 20_000);
    for engine in ENGINES {
        let mut child = Command::new(STREAMLAB)
            .args(["run", "--engine", engine, "--query"])
            .arg(&query)
            .arg("--input")
            .arg(&input)
            .args(["--output", "-"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: read one row, then go away.
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.starts_with("{\"window_start\":0"),
            "{engine}: {first}"
        );
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{engine}: still running 120 s after its stdout closed");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(status.success(), "{engine}: {status}: {err}");
        assert!(
            !err.contains("Broken pipe") && !err.contains("error"),
            "{engine}: {err}"
        );
    }
}

#[test]
fn mostly_malformed_input_is_warned_about_and_exits_0_unless_strict() {
    let dir = scratch("typo");
    let (query, input) = (dir.join("q.toml"), dir.join("in.jsonl"));
    // A typo in the query: no line has `valeu`.
    std::fs::write(&query, SUM_QUERY.replace("\"value\"", "\"valeu\"")).unwrap();
    std::fs::write(
        &input,
        "{\"ts\":1,\"key\":\"k\",\"value\":1}\n{\"ts\":2,\"key\":\"k\",\"value\":2}\n\
         {\"ts\":9223372036854775808,\"key\":\"k\",\"valeu\":2}\n",
    )
    .unwrap();
    let args = |strict: bool| {
        let mut a = vec![
            "run",
            "--engine",
            "record",
            "--query",
            query.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            "-",
        ];
        if strict {
            a.push("--strict");
        }
        a
    };
    let out = streamlab(&args(false));
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!(
            "streamlab: warning: {}: 3 of 3 lines were malformed and skipped; most common: \
             missing field `valeu` (2 lines). Does the query name the input's fields?",
            input.display()
        )),
        "{err}"
    );
    // A time past i64 is named as such.
    assert!(
        err.contains(
            ":3: skipped malformed line: field `ts` must be an integer (ms), found an integer \
             out of range of a 64-bit integer"
        ),
        "{err}"
    );
    let out = streamlab(&args(true));
    assert!(!out.status.success(), "{}", stderr(&out));
}

#[test]
fn resuming_a_finished_run_says_the_input_was_read_not_an_offset() {
    let dir = scratch("resume");
    let (query, input) = many_windows(&dir, 50);
    for engine in ["baseline", "record", "microbatch"] {
        let checkpoints = dir.join(format!("chk-{engine}"));
        let output = dir.join(format!("out-{engine}.jsonl"));
        let run = || {
            streamlab(&[
                "run",
                "--engine",
                engine,
                "--query",
                query.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
                "--output",
                output.to_str().unwrap(),
                "--checkpoint",
                checkpoints.to_str().unwrap(),
            ])
        };
        let first = run();
        assert!(first.status.success(), "{engine}: {}", stderr(&first));
        let again = run();
        let err = stderr(&again);
        assert!(again.status.success(), "{engine}: {err}");
        // The micro-batch engine says "the run had finished" in a message of its own.
        let said = match engine {
            "microbatch" => ": the run had finished",
            _ => "(the input was already read to its end)",
        };
        assert!(err.contains(said), "{engine}: {err}");
        assert!(!err.contains(&u64::MAX.to_string()), "{engine}: {err}");
        // Every note names its engine.
        assert!(!err.contains("streamlab :"), "{engine}: {err}");
    }
}

#[test]
fn every_line_names_its_engine_even_on_another_engines_checkpoint() {
    let dir = scratch("names");
    let (query, input) = many_windows(&dir, 50);
    let checkpoints = dir.join("chk");
    let run = |engine: &str| {
        streamlab(&[
            "run",
            "--engine",
            engine,
            "--query",
            query.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            dir.join("out.jsonl").to_str().unwrap(),
            "--checkpoint",
            checkpoints.to_str().unwrap(),
        ])
    };
    let first = run("baseline");
    assert!(first.status.success(), "{}", stderr(&first));
    // The baseline's checkpoints given to the micro-batch engine (whose state they would
    // have decoded as garbage) are refused, naming the engine they belong to; no line
    // says `streamlab : ` without the engine's name.
    let other = run("microbatch");
    let err = stderr(&other);
    assert_eq!(other.status.code(), Some(2), "{err}");
    assert!(
        err.contains("holds checkpoints of engine `baseline`") && err.contains("not `microbatch`"),
        "{err}"
    );
    assert!(!err.contains("streamlab :"), "{err}");
    // Its own engine resumes them.
    let again = run("baseline");
    assert!(again.status.success(), "{}", stderr(&again));
}
