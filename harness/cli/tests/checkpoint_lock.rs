//! Two runs on one checkpoint directory: the second fails at once naming the directory
//! and the first run's pid (the first holds an OS lock on the directory for its life);
//! the lock goes with the process, so after a SIGKILL a restart takes it again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn w1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml")
}

/// A checkpointed run reading stdin (kept open, so the run lives until it is closed),
/// once it holds the lock of `ck`.
fn holder(ck: &Path, out: &Path) -> Child {
    let mut child = streamlab()
        .args([
            "run",
            "--engine",
            "baseline",
            "--input",
            "-",
            "--checkpoint-every",
            "1",
        ])
        .arg("--query")
        .arg(w1())
        .arg("--output")
        .arg(out)
        .arg("--checkpoint")
        .arg(ck)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run starts");
    let line = r#"{"ts":1000,"key":"k","value":1,"kind":"view","user":"u"}"#;
    let stdin = child.stdin.as_mut().expect("piped");
    writeln!(stdin, "{line}").expect("a line written");
    let lock = ck.join("run-0.lock");
    let pid = child.id().to_string();
    let started = Instant::now();
    while std::fs::read_to_string(&lock)
        .ok()
        .as_deref()
        .map(str::trim)
        != Some(&pid)
    {
        assert!(started.elapsed() < Duration::from_secs(30), "no lock taken");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn second_run(ck: &Path, input: &Path, out: &Path) -> std::process::Output {
    streamlab()
        .args(["run", "--engine", "baseline", "--query"])
        .arg(w1())
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--checkpoint")
        .arg(ck)
        .output()
        .expect("second run")
}

#[test]
fn a_second_run_on_a_checkpoint_directory_in_use_fails_naming_the_first() {
    let dir = std::env::temp_dir().join(format!("streamlab-cklock-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("work directory");
    let ck = dir.join("ck");
    let input = dir.join("events.jsonl");
    std::fs::write(
        &input,
        "{\"ts\":5,\"key\":\"a\",\"value\":2,\"kind\":\"view\",\"user\":\"u\"}\n",
    )
    .expect("input");

    let mut first = holder(&ck, &dir.join("a.jsonl"));
    let started = Instant::now();
    let out = second_run(&ck, &input, &dir.join("b.jsonl"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "not at once: {err}"
    );
    assert!(err.contains(ck.to_str().expect("utf-8")), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("in use by another streamlab run"), "{err}");
    drop(first.stdin.take()); // end of input: the first run finishes
    assert!(first.wait().expect("first run").success());

    // Killed with SIGKILL, the holder leaves no lock behind: the next run takes it.
    let mut killed = holder(&ck, &dir.join("a.jsonl"));
    killed.kill().expect("SIGKILL");
    killed.wait().expect("reaped");
    let mut again = holder(&ck, &dir.join("a.jsonl"));
    drop(again.stdin.take());
    assert!(again.wait().expect("the restart").success());
    std::fs::remove_dir_all(&dir).expect("cleaned up");
}
