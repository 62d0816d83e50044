#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Hostile input against the real `streamlab` binary (issue 20, items 1-3): an event at the
//! edge of 64-bit time, parameters that would explode resources and expressions deep
//! enough to overflow the stack. Each ends as a counted malformed line or a refusal that
//! names the key or flag and the limit; the binary runs under a time and memory guard, as
//! these inputs used to hang, exhaust memory or abort.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory of this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamlab-limits-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn query(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../queries")
        .join(name)
}

/// What a guarded run gave: exit code (None: killed by a signal), stdout, stderr.
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Resident size of a running process, from /proc (0 where there is none).
fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        })
        .unwrap_or(0)
}

/// Runs `streamlab args` and kills it if it runs longer than 60 s or grows beyond 1 GiB
/// resident (the failure this guards against); panics then, naming which.
fn guarded(dir: &Path, args: &[&str]) -> Ran {
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let rss = rss_bytes(child.id());
        let late = started.elapsed() > Duration::from_secs(60);
        if late || rss > 1 << 30 {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "streamlab {}: {} (killed)",
                args.join(" "),
                if late {
                    "still running after 60 s".to_string()
                } else {
                    format!("{} MiB resident", rss >> 20)
                }
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ran {
        code: status.code(),
        stdout: std::fs::read_to_string(out).unwrap(),
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}

/// Item 1: the repro (ts = i64::MAX under a 1 minute window sliding every 10 s) made the
/// oracle and the record engine allocate until killed and the baseline and the
/// micro-batch engine spin. Every engine now skips the line as malformed, says why, and
/// answers the other lines alike.
#[test]
fn an_event_whose_windows_leave_64_bit_time_is_malformed_on_every_engine() {
    let dir = scratch("edge");
    let input = dir.join("x.jsonl");
    std::fs::write(
        &input,
        "{\"ts\":9223372036854775807,\"key\":\"k\",\"value\":1,\"kind\":\"view\",\"user\":\"u\"}\n\
         {\"ts\":1000,\"key\":\"k\",\"value\":1,\"kind\":\"view\",\"user\":\"u\"}\n",
    )
    .unwrap();
    let q = query("clicks_views_sliding.toml");
    let (q, input) = (q.to_str().unwrap(), input.to_str().unwrap());
    let why = format!(
        "{input}:1: skipped malformed line: field `ts`: time 9223372036854775807 is too close \
         to the edge of 64-bit time: its windows span [9223372036854720000, \
         9223372036854830000), which ends after 9223372036854775807"
    );
    let mut answers = Vec::new();
    for engine in [
        vec!["oracle"],
        vec!["run", "--engine", "baseline"],
        vec!["run", "--engine", "record"],
        vec!["run", "--engine", "microbatch"],
    ] {
        let mut args = engine.clone();
        args.extend(["--query", q, "--input", input]);
        let ran = guarded(&dir, &args);
        assert_eq!(ran.code, Some(0), "{engine:?}: {}", ran.stderr);
        assert!(ran.stderr.contains(&why), "{engine:?}: {}", ran.stderr);
        // The windows of ts = 1000: [-50000, 10000) .. [0, 60000), one view each.
        let mut rows: Vec<String> = ran
            .stdout
            .lines()
            .map(|l| l.split(",\"emit\"").next().unwrap_or(l).to_string())
            .collect();
        rows.sort();
        rows.dedup();
        assert_eq!(rows.len(), 6, "{engine:?}: {}", ran.stdout);
        answers.push(rows);
    }
    assert!(answers.windows(2).all(|p| p[0] == p[1]), "{answers:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Item 2: `size = "1h"`, `slide = "1ms"` put every event in 3.6 million windows (10 GB in
/// 20 s on 3 events): refused before reading, naming the key and the limit.
#[test]
fn a_sliding_window_of_too_many_windows_per_event_is_refused() {
    let dir = scratch("windows");
    let text = std::fs::read_to_string(query("clicks_views_sliding.toml"))
        .unwrap()
        .replace("size = \"1m\"", "size = \"1h\"")
        .replace("slide = \"10s\"", "slide = \"1ms\"");
    let q = dir.join("q.toml");
    std::fs::write(&q, text).unwrap();
    let input = dir.join("x.jsonl");
    std::fs::write(
        &input,
        "{\"ts\":1,\"key\":\"k\",\"value\":1,\"kind\":\"view\",\"user\":\"u\"}\n".repeat(3),
    )
    .unwrap();
    let ran = guarded(
        &dir,
        &[
            "oracle",
            "--query",
            q.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ],
    );
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "bad query file {}: `window.slide`: puts every event in 3600000 windows \
             (window.size 1h / window.slide 1ms), more than the limit of 10000 windows per \
             event: use a larger slide",
            q.display()
        )),
        "{}",
        ran.stderr
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Item 2: `--workers 18446744073709551615` panicked (capacity overflow) and far more
/// workers than cores exhausted memory: refused before anything runs, naming the flag
/// and the limit.
#[test]
fn workers_beyond_the_limit_are_refused_naming_the_limit() {
    let dir = scratch("workers");
    let input = dir.join("x.jsonl");
    std::fs::write(&input, "{\"ts\":1,\"key\":\"k\",\"value\":1}\n").unwrap();
    let q = query("w1.toml");
    for (engine, workers) in [
        ("record", "18446744073709551615"),
        ("microbatch", "18446744073709551615"),
        ("record", "1000000"),
    ] {
        let ran = guarded(
            &dir,
            &[
                "run",
                "--engine",
                engine,
                "--workers",
                workers,
                "--query",
                q.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
            ],
        );
        assert_eq!(ran.code, Some(2), "{engine}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains(&format!("--workers {workers} is more than the limit of "))
                && ran.stderr.contains(" per core on this machine's "),
            "{engine}: {}",
            ran.stderr
        );
        assert!(!ran.stderr.contains("panicked"), "{}", ran.stderr);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Item 2: a `tcp://` peer that sends a line without a newline grew it without bound (a
/// 400 MB line took 940 MB). The line is skipped as malformed once past the input's
/// limit, the lines after it are read, and the process stays small while 256 MiB pass.
#[test]
fn a_socket_line_beyond_its_limit_is_skipped_without_holding_it() {
    let dir = scratch("line");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let block = vec![b'x'; 1 << 20];
        for _ in 0..256 {
            if conn.write_all(&block).is_err() {
                return;
            }
        }
        let _ = conn.write_all(b"\n{\"ts\":1,\"key\":\"k\",\"value\":1}\n");
    });
    let summary = dir.join("summary.json");
    let ran = guarded(
        &dir,
        &[
            "run",
            "--engine",
            "baseline",
            "--query",
            query("w1.toml").to_str().unwrap(),
            "--input",
            &format!("tcp://127.0.0.1:{port}"),
            "--summary",
            summary.to_str().unwrap(),
        ],
    );
    server.join().unwrap();
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(
        ran.stderr.contains(&format!(
            "tcp://127.0.0.1:{port}:1: skipped malformed line: line longer than the limit of \
             1048576 bytes (raise it with `max_line=BYTES` in the input's address)"
        )),
        "{}",
        ran.stderr
    );
    assert_eq!(ran.stdout.lines().count(), 1, "{}", ran.stdout);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let peak = summary["peak_rss_bytes"].as_u64().expect("peak_rss_bytes");
    assert!(peak < 128 << 20, "peak resident {} MiB", peak >> 20);
    std::fs::remove_dir_all(dir).unwrap();
}

/// Item 3: `-(` x 10 000 in an `expr`, a 100 000-term sum and unary minus x 20 000 (in a
/// `where`) aborted the process (stack overflow, exit 134): a query error naming the file
/// and the key, exit 2.
#[test]
fn deep_expressions_are_query_errors_not_aborts() {
    let dir = scratch("expr");
    let input = dir.join("x.jsonl");
    std::fs::write(&input, "{\"price\":1}\n").unwrap();
    let q = dir.join("q.toml");
    for (key, text, why) in [
        (
            "select[0].expr",
            format!("{}price{}", "-(".repeat(10_000), ")".repeat(10_000)),
            "more than 512 parentheses and minus signs open at once",
        ),
        (
            "select[0].expr",
            vec!["price"; 100_000].join(" + "),
            "more than 256 operators deep",
        ),
        (
            "where",
            format!("{}price = 1", "-".repeat(20_000)),
            "more than 512 parentheses and minus signs open at once",
        ),
    ] {
        let toml = if key == "where" {
            format!("where = \"{text}\"\n[[select]]\nfield = \"price\"\n")
        } else {
            format!("[[select]]\nas = \"p\"\nexpr = \"{text}\"\n")
        };
        std::fs::write(&q, toml).unwrap();
        for engine in [vec!["oracle"], vec!["run", "--engine", "record"]] {
            let mut args = engine.clone();
            args.extend([
                "--query",
                q.to_str().unwrap(),
                "--input",
                input.to_str().unwrap(),
            ]);
            let ran = guarded(&dir, &args);
            assert_eq!(ran.code, Some(2), "{key} {engine:?}: {}", ran.stderr);
            let head = format!("bad query file {}: `{key}`: at column ", q.display());
            assert!(
                ran.stderr.contains(&head) && ran.stderr.contains(why),
                "{key} {engine:?}: {}",
                &ran.stderr[..ran.stderr.len().min(400)]
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}
