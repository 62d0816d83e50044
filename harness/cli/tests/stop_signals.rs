//! SIGINT and SIGTERM on a real process (issue 20, item 8): a run stopped before its
//! input ended writes the rows already final (not the windows still open), its summary
//! saying it was stopped, says so on stderr and exits 128 + the signal (130, 143); a
//! checkpointed file run leaves no output file that looks complete, and resuming it from
//! its last checkpoint gives the uninterrupted run's exact answer. A second signal exits
//! at once.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-stop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
}

/// Waits for the child to exit; a run that does not stop within a minute fails the test
/// (a stop must not hang), and is killed.
fn wait(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop within a minute of the signal");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One event per second of event time, key `k`: window `[i s, i+1 s)` holds event `i`.
const QUERY: &str = "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"append\"\n[watermark]\ndelay = 0\n[window]\nkind = \"tumbling\"\nsize = \"1s\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n";

/// Serves `lines` on a socket of its own and keeps the connection open (a live source
/// that never ends) until the returned sender is dropped.
fn serve(lines: String) -> (u16, std::sync::mpsc::Sender<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (hold, held) = std::sync::mpsc::channel::<()>();
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let _ = conn.write_all(lines.as_bytes());
        // Open until the test is done with the run.
        let _ = held.recv();
    });
    (port, hold)
}

/// Starts `streamlab run --engine ENGINE` on a socket that sent `events` events and
/// stays open, with stdout read into a buffer; returns once the run has written rows.
/// `keep_reading`: read stdout to its end (else stop after the first rows, so that the
/// run blocks on a full pipe).
fn started_on_socket(
    engine: &str,
    dir: &Path,
    events: usize,
    keep_reading: bool,
) -> (Child, Arc<Mutex<Vec<u8>>>, std::sync::mpsc::Sender<()>) {
    let query = dir.join("q.toml");
    std::fs::write(&query, QUERY).unwrap();
    let lines: String = (0..events)
        .map(|i| format!("{{\"ts\":{},\"key\":\"k\"}}\n", i * 1000))
        .collect();
    let (port, hold) = serve(lines);
    let mut child = streamlab()
        .args(["run", "--engine", engine, "--query"])
        .arg(&query)
        .args([
            "--input",
            &format!("tcp://127.0.0.1:{port}"),
            "--output",
            "-",
        ])
        .arg("--summary")
        .arg(dir.join("summary.json"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let buffer = Arc::clone(&out);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n @ 1..) = stdout.read(&mut chunk) {
            buffer.lock().unwrap().extend_from_slice(&chunk[..n]);
            if !keep_reading {
                // Held open, unread, until the run has exited.
                std::thread::park_timeout(Duration::from_secs(120));
                return;
            }
        }
    });
    // Stdout is buffered: rows show once the engine has read and closed enough windows.
    let deadline = Instant::now() + Duration::from_secs(120);
    while out.lock().unwrap().is_empty() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended on an open socket"
        );
        assert!(Instant::now() < deadline, "no row within two minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    (child, out, hold)
}

/// The windows of the rows in `out`, by start (ms), checking each row's count.
fn windows_of(out: &[u8]) -> Vec<i64> {
    let text = String::from_utf8(out.to_vec()).unwrap();
    let mut starts: Vec<i64> = text
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            assert_eq!(row["n"], 1, "{l}: every window holds one event");
            assert_eq!(row["key"], "k", "{l}");
            row["window_start"].as_i64().unwrap()
        })
        .collect();
    starts.sort_unstable();
    starts
}

fn stop_on_a_socket(engine: &str) {
    let dir = workdir(&format!("socket-{engine}"));
    let events = 5000;
    let (mut child, out, hold) = started_on_socket(engine, &dir, events, true);
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, Signal::SIGINT);
    let status = wait(&mut child);
    drop(hold);
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "streamlab {engine}: stopped by SIGINT before the input ended"
        )),
        "{stderr}"
    );
    // The stdout reader sees the end of the pipe once the process has exited.
    std::thread::sleep(Duration::from_millis(100));
    let starts = windows_of(&out.lock().unwrap());
    // The rows out are final ones, from the first window on, none missing, none twice;
    // the last window (the watermark never passed its end) was not closed by the stop.
    assert!(!starts.is_empty());
    let expected: Vec<i64> = (0..starts.len() as i64).map(|i| i * 1000).collect();
    assert_eq!(
        starts, expected,
        "rows are a prefix of the windows, in full"
    );
    assert!(
        starts.len() < events,
        "the open window {} was emitted as if the input had ended",
        (events - 1) * 1000
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stopped"], "SIGINT", "{summary}");
    assert_eq!(summary["rows_out"], starts.len() as u64, "{summary}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigint_on_a_socket_run_of_the_baseline_writes_its_final_rows_and_summary() {
    stop_on_a_socket("baseline");
}

#[test]
fn sigint_on_a_socket_run_of_the_record_engine_writes_its_final_rows_and_summary() {
    stop_on_a_socket("record");
}

#[test]
fn sigint_on_a_socket_run_of_the_micro_batch_engine_writes_its_final_rows_and_summary() {
    stop_on_a_socket("microbatch");
}

#[test]
fn a_second_signal_exits_at_once_without_a_summary() {
    let dir = workdir("second");
    // Stdout is read no further: the run blocks writing rows to the full pipe, and a
    // graceful stop, which flushes them, cannot end.
    let (mut child, _, hold) = started_on_socket("baseline", &dir, 20_000, false);
    signal(&child, Signal::SIGINT);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the stop ended though its output could not be flushed"
    );
    signal(&child, Signal::SIGTERM);
    let status = wait(&mut child);
    drop(hold);
    assert_eq!(status.code(), Some(143));
    assert!(!dir.join("summary.json").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn sorted_lines(path: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// W1 (append; out-of-order and late events) on a file, stopped with SIGTERM after its
/// first checkpoint, then run again: the same rows as a run never stopped.
fn sigterm_then_resume(engine: &str, extra: &[&str]) {
    let dir = workdir(&format!("resume-{engine}-{}", extra.join("")));
    let events = dir.join("events.jsonl");
    let gen = streamlab()
        .args([
            "gen",
            "--workload",
            "clicks",
            "--events",
            "300000",
            "--seed",
            "5",
        ])
        .args(["--keys", "1000", "--rate", "5000", "--disorder", "0.1"])
        .args(["--max-delay", "3s", "--late", "0.01", "--late-by", "20s"])
        .arg("--output")
        .arg(&events)
        .output()
        .unwrap();
    assert!(gen.status.success());
    let query = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    let clean = dir.join("clean.jsonl");
    let run = |out: &Path, more: &[&str]| {
        let mut c = streamlab();
        c.args(["run", "--engine", engine, "--query"])
            .arg(&query)
            .arg("--input")
            .arg(&events)
            .arg("--output")
            .arg(out)
            .args(extra)
            .args(more);
        c
    };
    let done = run(&clean, &[]).output().unwrap();
    assert!(done.status.success());
    let (out, ck, summary) = (
        dir.join("out.jsonl"),
        dir.join("ck"),
        dir.join("summary.json"),
    );
    let checkpointed = [
        "--checkpoint",
        ck.to_str().unwrap(),
        "--checkpoint-every",
        "2000",
    ];
    let mut landed = false;
    for _ in 0..5 {
        let _ = std::fs::remove_dir_all(&ck);
        let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
        let _ = std::fs::remove_file(&out);
        let mut child = run(&out, &checkpointed)
            .arg("--summary")
            .arg(&summary)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        while streamlab_checkpoint::newest_id(&ck).is_none() && child.try_wait().unwrap().is_none()
        {
            std::thread::sleep(Duration::from_micros(200));
        }
        signal(&child, Signal::SIGTERM);
        let status = wait(&mut child);
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        if status.code() == Some(0) {
            continue; // the run had read its input before the signal: try again
        }
        assert_eq!(status.code(), Some(143), "{stderr}");
        assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
        assert!(
            !out.exists(),
            "a stopped checkpointed run wrote its output file as if its input had ended"
        );
        let s: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        assert_eq!(s["stopped"], "SIGTERM", "{s}");
        landed = true;
        break;
    }
    assert!(landed, "no stop landed before the input ended");
    let resumed = run(&out, &checkpointed).output().unwrap();
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let (got, want) = (sorted_lines(&out), sorted_lines(&clean));
    let missing: Vec<&String> = want.iter().filter(|l| !got.contains(l)).take(3).collect();
    let extra: Vec<&String> = got.iter().filter(|l| !want.contains(l)).take(3).collect();
    assert!(
        got == want,
        "{} rows resumed, {} uninterrupted; missing {missing:?}, not expected {extra:?}",
        got.len(),
        want.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigterm_then_resume_gives_the_uninterrupted_answer_on_the_baseline() {
    sigterm_then_resume("baseline", &[]);
}

#[test]
fn sigterm_then_resume_gives_the_uninterrupted_answer_on_the_record_engine() {
    sigterm_then_resume("record", &["--workers", "2"]);
}

#[test]
fn sigterm_then_resume_gives_the_uninterrupted_answer_on_the_micro_batch_engine() {
    sigterm_then_resume("microbatch", &[]);
}
