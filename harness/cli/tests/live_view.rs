//! The live view (`--serve`, issue 22) through the binary: a real headless browser reads
//! throughput and latency that move while a paced run is in progress and, at the end,
//! the numbers of the run's summary.json; every engine side by side in `demo`; and without
//! a browser, the URL on stderr, a run that exits by itself without `--serve-linger`, and
//! bad or busy addresses refused by name.

use crate::live_browser::{number, same_float, Browser};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn w1() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml")
}

/// W1's clicks, with disorder and late events.
fn generate(dir: &Path, events: u64) -> PathBuf {
    let path = dir.join("clicks.jsonl");
    let status = streamlab()
        .args([
            "gen",
            "--workload",
            "clicks",
            "--seed",
            "7",
            "--disorder",
            "0.05",
        ])
        .args(["--max-delay", "3s", "--late", "0.001", "--late-by", "60s"])
        .args(["--events", &events.to_string(), "--output"])
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// The lines of the child's stderr as they come, and the live view's URL from them.
fn stderr_lines(child: &mut Child) -> Receiver<String> {
    let (tx, rx) = channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn url(lines: &Receiver<String>) -> String {
    let line = lines.recv_timeout(Duration::from_secs(60)).unwrap();
    let url = line
        .strip_prefix("streamlab: live view at ")
        .unwrap_or_else(|| panic!("the first line is the live view's URL: {line}"));
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    url.to_owned()
}

/// Waits for a file the command writes when it is done (up to two minutes).
fn wait_for_file(path: &Path) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if let Ok(v) = serde_json::from_str(&text) {
                return v;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A lingering command, killed if the test fails before it ends it: a failed test must
/// not leave a server behind holding the test's stdout open.
struct Lingering(Child);

impl Drop for Lingering {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Ends a lingering command with Ctrl-C; it exits 0.
fn interrupt(child: &mut Child) {
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("--serve-linger did not end on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_browser_sees_a_paced_run_move_and_end_on_its_summary() {
    let Some(browser) = Browser::start("live_run") else {
        return;
    };
    let dir = workdir("run");
    let input = std::fs::read(generate(&dir, 60_000)).unwrap();
    let summary = dir.join("summary.json");
    let mut child = streamlab()
        .args(["run", "--engine", "record", "--query"])
        .arg(w1())
        // Small chunks: the pipeline hands the engine each slice as it arrives, not in
        // lumps of a MiB.
        .args(["--input", "-", "--chunk-bytes", "16KiB", "--output"])
        .arg(dir.join("out.jsonl"))
        .arg("--summary")
        .arg(&summary)
        .args(["--serve", "127.0.0.1:0", "--serve-linger"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(Lingering)
        .unwrap();
    let lines = stderr_lines(&mut child.0);
    let url = url(&lines);
    // The page is open before the first line is written: on a loaded machine the browser
    // may take longer to start than the run lasts.
    browser.open(&url);
    // The input arrives over about six seconds, in 40 slices of whole lines.
    let mut stdin = child.0.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let cuts: Vec<usize> = (0..input.len()).filter(|i| input[*i] == b'\n').collect();
        let mut from = 0;
        for k in 1..=40 {
            let to = cuts[cuts.len() * k / 40 - 1] + 1;
            stdin.write_all(&input[from..to]).unwrap();
            stdin.flush().unwrap();
            from = to;
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let running = |s: &serde_json::Value| s["runs"]["record"]["state"] == "running";
    let first = browser.wait_for(30, "the record engine running with latencies", |s| {
        running(s)
            && number(s, "record", "events_in") > 0.0
            && number(s, "record", "latency_count") > 0.0
    });
    std::thread::sleep(Duration::from_millis(1_500));
    let second = browser.shown();
    assert!(running(&second), "still running 1.5 s later: {second}");
    for (field, what) in [
        ("events_in", "events in"),
        ("latency_count", "latency samples"),
        ("rows_out", "rows out"),
    ] {
        assert!(
            number(&second, "record", field) > number(&first, "record", field),
            "{what} did not move: {first} then {second}"
        );
    }
    for shown in [&first, &second] {
        assert!(number(shown, "record", "throughput_eps") > 0.0, "{shown}");
        assert!(number(shown, "record", "p50") > 0.0, "{shown}");
    }
    writer.join().unwrap();

    let summary = wait_for_file(&summary);
    let last = browser.wait_for(30, "the finished run", |s| s["status"] == "finished");
    assert_eq!(last["runs"]["record"]["state"], "finished");
    for field in ["events_in", "rows_out", "late_dropped", "throughput_eps"] {
        let (shown, said) = (
            number(&last, "record", field),
            summary[field].as_f64().unwrap(),
        );
        assert!(
            if field == "throughput_eps" {
                same_float(shown, said)
            } else {
                shown == said
            },
            "{field}: the page shows {last}, the summary says {summary}"
        );
    }
    let elapsed_s = summary["elapsed_ms"].as_f64().unwrap() / 1e3;
    assert!(
        same_float(number(&last, "record", "elapsed_s"), elapsed_s),
        "elapsed: the page shows {last}, the summary says {summary}"
    );
    assert_eq!(summary["events_in"], 60_000);
    interrupt(&mut child.0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// With `STREAMLAB_LIVE_SCREENSHOT=PATH` (and `STREAMLAB_LIVE_DEMO_EVENTS`, default 100k) it
/// also writes a PNG of the page while an engine runs beside those done: `results/live-view.png`.
#[test]
fn a_browser_sees_every_engine_of_the_demo_side_by_side() {
    let Some(browser) = Browser::start("live_demo") else {
        return;
    };
    let dir = workdir("demo");
    let table = dir.join("demo.json");
    let events: u64 =
        std::env::var("STREAMLAB_LIVE_DEMO_EVENTS").map_or(100_000, |e| e.parse().unwrap());
    let mut child = streamlab()
        .args(["demo", "--events", &events.to_string(), "--json"])
        .arg(&table)
        .args(["--serve", "127.0.0.1:0", "--serve-linger"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map(Lingering)
        .unwrap();
    let lines = stderr_lines(&mut child.0);
    browser.open(&url(&lines));
    if let Some(png) = std::env::var_os("STREAMLAB_LIVE_SCREENSHOT") {
        // results/live-view.png: the page while an engine runs beside those done.
        browser.wait_for(120, "an engine running beside a finished one", |s| {
            let runs = s["runs"].as_object().unwrap();
            runs.len() >= 2 && runs.values().any(|r| r["state"] == "running")
        });
        browser.screenshot(Path::new(&png));
    }
    let table = wait_for_file(&table);
    let shown = browser.wait_for(30, "the finished demo", |s| s["status"] == "finished");
    let rows = table.as_array().unwrap();
    let runs = shown["runs"].as_object().unwrap();
    assert_eq!(runs.len(), rows.len(), "a panel per engine: {shown}");
    for row in rows {
        let engine = row["engine"].as_str().unwrap();
        assert_eq!(shown["runs"][engine]["state"], "finished", "{shown}");
        for field in ["rows_out", "late_dropped", "throughput_eps"] {
            assert!(
                same_float(number(&shown, engine, field), row[field].as_f64().unwrap()),
                "{engine} {field}: the page shows {shown}, the demo printed {row}"
            );
        }
        assert_eq!(number(&shown, engine, "events_in"), events as f64);
    }
    // Side by side: the first two panels share their top edge.
    let tops: Vec<f64> = runs.values().map(|r| r["top"].as_f64().unwrap()).collect();
    assert!(
        tops.iter().filter(|t| **t == tops[0]).count() >= 2,
        "{tops:?}"
    );
    // The micro-batch engine's batches are shown.
    assert!(number(&shown, "microbatch", "batch_count") > 0.0, "{shown}");
    assert!(
        shown["runs"]["microbatch"]["last_batch"].is_string(),
        "{shown}"
    );
    interrupt(&mut child.0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_linger_a_served_run_prints_its_url_and_exits_when_done() {
    let dir = workdir("exit");
    let input = generate(&dir, 2_000);
    let out = streamlab()
        .args(["run", "--engine", "baseline", "--query"])
        .arg(w1())
        .arg("--input")
        .arg(&input)
        .args(["--output", "-", "--serve"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("streamlab: live view at http://127.0.0.1:"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_or_busy_serve_address_is_refused_by_name() {
    let dir = workdir("addr");
    let input = generate(&dir, 100);
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = busy.local_addr().unwrap().to_string();
    for (addr, says) in [
        ("somewhere:80", "--serve \"somewhere:80\" is not an address"),
        (busy.as_str(), "address is in use"),
    ] {
        let out = streamlab()
            .args(["run", "--engine", "baseline", "--query"])
            .arg(w1())
            .arg("--input")
            .arg(&input)
            .args(["--output", "-", "--serve", addr])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(says) && stderr.contains(addr), "{stderr}");
        assert!(out.stdout.is_empty(), "nothing ran: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
