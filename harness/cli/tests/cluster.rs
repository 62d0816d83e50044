#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Both timely engines across processes: two `streamlab run` processes joined in a timely
//! cluster (localhost, a host file with free ports) give the same rows as one process;
//! the micro-batch engine's give the oracle's answer where the micro-batch rule drops
//! nothing, and the same late drops as one process where it does.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STREAMLAB: &str = env!("CARGO_BIN_EXE_streamlab");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn streamlab(args: &[&str]) -> Command {
    let mut c = Command::new(STREAMLAB);
    c.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

/// Waits for `child`, killing it (and failing) after `limit`: a cluster that cannot form
/// must not hang the suite. Returns whether it succeeded, and its stderr.
fn finish(mut child: Child, limit: Duration, what: &str) -> (bool, String) {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            return (
                status.success(),
                String::from_utf8_lossy(&out.stderr).to_string(),
            );
        }
        if started.elapsed() > limit {
            child.kill().ok();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// [`finish`], and it must succeed.
fn wait(child: Child, limit: Duration, what: &str) -> String {
    let (ok, stderr) = finish(child, limit, what);
    assert!(ok, "{what} failed: {stderr}");
    stderr
}

/// `streamlab gen --workload clicks ARGS --output input`.
fn gen_clicks(input: &Path, args: &[&str]) {
    let mut all = vec!["gen", "--workload", "clicks"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", input.to_str().unwrap()]);
    wait(
        streamlab(&all).spawn().unwrap(),
        Duration::from_secs(60),
        "gen",
    );
}

/// The record engine in one process, the reference a cluster's rows are compared with.
fn one_process(query: &Path, input: &Path, out: &Path, what: &str) {
    one_process_of("record", &[], query, input, out, what);
}

/// `engine` in one process with `args`.
fn one_process_of(engine: &str, args: &[&str], query: &Path, input: &Path, out: &Path, what: &str) {
    let mut all = vec![
        "run",
        "--engine",
        engine,
        "--query",
        query.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    wait(
        streamlab(&all).spawn().unwrap(),
        Duration::from_secs(60),
        what,
    );
}

fn rows(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

#[test]
fn two_processes_answer_as_one() {
    let dir = std::env::temp_dir().join(format!("streamlab-cluster-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("clicks.jsonl");
    let query = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    let (input_s, query_s) = (input.to_str().unwrap(), query.to_str().unwrap());
    gen_clicks(
        &input,
        &[
            "--events",
            "60000",
            "--seed",
            "5",
            "--disorder",
            "0.05",
            "--max-delay",
            "3s",
            "--late",
            "0.002",
            "--late-by",
            "60s",
        ],
    );

    let one = dir.join("one.jsonl");
    one_process(&query, &input, &one, "single process");

    let hosts = dir.join("hosts");
    let port0 = free_port();
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{port0}\n127.0.0.1:{}\n", free_port()),
    )
    .unwrap();
    let out = dir.join("cluster.jsonl");
    let process = |i: &str| {
        streamlab(&[
            "run",
            "--engine",
            "record",
            "--workers",
            "2",
            "--processes",
            "2",
            "--process",
            i,
            "--hostfile",
            hosts.to_str().unwrap(),
            "--query",
            query_s,
            "--input",
            input_s,
            "--output",
            out.to_str().unwrap(),
            "--summary",
            dir.join(format!("summary{i}.json")).to_str().unwrap(),
        ])
        .env("STREAMLAB_CLUSTER_SECRET", "class of 2026")
        .spawn()
        .unwrap()
    };
    // Before process 1 starts, process 0 is probed (connect and close) and sent timely's
    // own 8-byte handshake by a stranger: both are refused, and the cluster still forms.
    let p0 = process("0");
    let started = Instant::now();
    let mut probe = loop {
        match std::net::TcpStream::connect(("127.0.0.1", port0)) {
            Ok(s) => break s,
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                panic!("process 0 never listened on {port0}: {e}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    drop(probe);
    probe = std::net::TcpStream::connect(("127.0.0.1", port0)).unwrap();
    std::io::Write::write_all(&mut probe, &1u64.to_be_bytes()).unwrap();
    let mut refused = Vec::new();
    let _ = std::io::Read::read_to_end(&mut probe, &mut refused);
    assert_eq!(
        refused.get(24),
        Some(&0),
        "the stranger was not refused: {refused:?}"
    );
    let p1 = process("1");
    wait(p1, Duration::from_secs(90), "process 1");
    let stderr0 = wait(p0, Duration::from_secs(90), "process 0");
    assert_eq!(
        stderr0.matches("refused a connection").count(),
        2,
        "{stderr0}"
    );

    let cluster_rows = rows(&out);
    assert!(!cluster_rows.is_empty());
    assert_eq!(
        cluster_rows,
        rows(&one),
        "2 processes x 2 workers differ from 1 process"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary0.json")).unwrap()).unwrap();
    assert_eq!(summary["events_in"], 60000);
    assert_eq!(summary["workers"], 4);
    assert!(summary["late_dropped"].as_u64().unwrap() > 0);
    std::fs::remove_dir_all(&dir).ok();
}

/// A host file with two free localhost ports, written into `dir`.
fn two_hosts(dir: &Path, name: &str) -> std::path::PathBuf {
    let hosts = dir.join(name);
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    hosts
}

/// The micro-batch engine over `input` into `out` with `args`, as two processes of
/// `workers` workers each; process 0's summary.
fn microbatch_cluster(
    dir: &Path,
    query: &Path,
    input: &Path,
    out: &Path,
    workers: usize,
    args: &[&str],
) -> serde_json::Value {
    let hosts = two_hosts(dir, &format!("hosts-{workers}"));
    let summary = dir.join("summary-mb.json");
    let workers = workers.to_string();
    let process = |i: &str| {
        let mut all = vec![
            "run",
            "--engine",
            "microbatch",
            "--workers",
            &workers,
            "--processes",
            "2",
            "--process",
            i,
            "--hostfile",
            hosts.to_str().unwrap(),
            "--query",
            query.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
        ];
        if i == "1" {
            // Process 1 writes no output; its summary is not the one read below.
            all.truncate(all.len() - 2);
        }
        all.extend_from_slice(args);
        streamlab(&all).spawn().unwrap()
    };
    let (p1, p0) = (process("1"), process("0"));
    wait(p1, Duration::from_secs(90), "micro-batch process 1");
    wait(p0, Duration::from_secs(90), "micro-batch process 0");
    serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap()
}

/// `streamlab oracle` over `input` into `out`.
fn oracle(query: &Path, input: &Path, out: &Path) {
    let mut run = streamlab(&[
        "oracle",
        "--query",
        query.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    wait(run.spawn().unwrap(), Duration::from_secs(60), "oracle");
}

/// `streamlab compare`: whether `actual` is identical to `expected`, and the report.
fn compare(query: &Path, actual: &Path, expected: &Path) -> (bool, String) {
    let out = Command::new(STREAMLAB)
        .args([
            "compare",
            "--query",
            query.to_str().unwrap(),
            actual.to_str().unwrap(),
            expected.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout).to_string();
    (
        out.status.success() && report.contains("verdict: identical"),
        report,
    )
}

/// W1 with disorder (up to 3 s, within the query's 5 s delay) and events 60 s late, in
/// batches of 4 000 events (15 batches: the watermark moves between epochs and windows
/// close mid-run), on 2 processes of 1 and of 2 workers, append (W1) and update mode:
/// `streamlab compare` finds the oracle's answer; the late events are dropped exactly as
/// one process of as many partitions drops them (the micro-batch rule's drops: semantics.md),
/// and with the whole input in one batch, where nothing can be late, the answer is the
/// oracle's again.
#[test]
fn two_microbatch_processes_give_the_oracles_answer() {
    let dir = std::env::temp_dir().join(format!("streamlab-mb-cluster-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let disorder = dir.join("disorder.jsonl");
    let common = [
        "--events",
        "60000",
        "--disorder",
        "0.05",
        "--max-delay",
        "3s",
    ];
    gen_clicks(&disorder, &[&common[..], &["--seed", "5"]].concat());
    let late = dir.join("late.jsonl");
    gen_clicks(
        &late,
        &[
            &common[..],
            &["--seed", "6", "--late", "0.002", "--late-by", "60s"],
        ]
        .concat(),
    );
    let batches = ["--max-records-per-batch", "4000"];
    for query in ["w1.toml", "w1_update.toml"] {
        let query = queries.join(query);
        let expected = dir.join("oracle.jsonl");
        oracle(&query, &disorder, &expected);
        for workers in [1, 2] {
            let what = format!("{} on 2 processes x {workers}", query.display());
            let out = dir.join("cluster.jsonl");
            let summary = microbatch_cluster(&dir, &query, &disorder, &out, workers, &batches);
            assert_eq!(summary["events_in"], 60000, "{what}");
            assert_eq!(summary["workers"], 2 * workers, "{what}");
            let (identical, report) = compare(&query, &out, &expected);
            assert!(identical, "{what} is not the oracle's answer:\n{report}");
        }
    }

    // Late events: dropped as one process drops them, batch for batch.
    let query = queries.join("w1.toml");
    for workers in [1, 2] {
        let out = dir.join("cluster-late.jsonl");
        let summary = microbatch_cluster(&dir, &query, &late, &out, workers, &batches);
        let one = dir.join("one-late.jsonl");
        let partitions = (2 * workers).to_string();
        let one_summary = dir.join("one-summary.json");
        let mut args = vec![
            "run",
            "--engine",
            "microbatch",
            "--workers",
            &partitions,
            "--query",
            query.to_str().unwrap(),
            "--input",
            late.to_str().unwrap(),
            "--output",
            one.to_str().unwrap(),
            "--summary",
            one_summary.to_str().unwrap(),
        ];
        args.extend_from_slice(&batches);
        wait(
            streamlab(&args).spawn().unwrap(),
            Duration::from_secs(60),
            "one process",
        );
        let one_summary: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&one_summary).unwrap()).unwrap();
        assert!(summary["late_dropped"].as_u64().unwrap() > 0);
        assert_eq!(summary["late_dropped"], one_summary["late_dropped"]);
        assert_eq!(summary["rows_out"], one_summary["rows_out"]);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            std::fs::read_to_string(&one).unwrap(),
            "2 processes x {workers} workers differ from 1 process of {partitions} workers, row for row"
        );
    }
    let expected = dir.join("oracle-late.jsonl");
    oracle(&query, &late, &expected);
    let out = dir.join("cluster-once.jsonl");
    microbatch_cluster(&dir, &query, &late, &out, 2, &["--trigger", "once"]);
    let (identical, report) = compare(&query, &out, &expected);
    assert!(identical, "one batch is not the oracle's answer:\n{report}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Queries without windows on 2 processes of 2 workers, in batches of 3 000 events: a
/// projection (NEXMark Q1: events spread over the partitions by arrival `seq`) and a
/// regular join of the query's named inputs (Q3: by the join key) give the oracle's rows.
#[test]
fn two_microbatch_processes_answer_nexmark_projections_and_joins() {
    let dir = std::env::temp_dir().join(format!("streamlab-mb-nexmark-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("nexmark.jsonl");
    let mut gen = streamlab(&[
        "gen",
        "--workload",
        "nexmark",
        "--events",
        "50000",
        "--output",
        input.to_str().unwrap(),
    ]);
    wait(gen.spawn().unwrap(), Duration::from_secs(60), "gen");
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    for (query, named_inputs) in [
        ("nexmark_q1_currency.toml", false),
        ("nexmark_q3_local_item_suggestion.toml", true),
    ] {
        let query = queries.join(query);
        let out = dir.join("cluster.jsonl");
        let expected = dir.join("oracle.jsonl");
        if named_inputs {
            // The query names its inputs: no --input.
            let hosts = two_hosts(&dir, "hosts-join");
            let process = |i: &str, output: &[&str]| {
                let mut all = vec![
                    "run",
                    "--engine",
                    "microbatch",
                    "--workers",
                    "2",
                    "--processes",
                    "2",
                    "--process",
                    i,
                    "--hostfile",
                    hosts.to_str().unwrap(),
                    "--max-records-per-batch",
                    "3000",
                    "--query",
                    query.to_str().unwrap(),
                ];
                all.extend_from_slice(output);
                streamlab(&all).spawn().unwrap()
            };
            let (p1, p0) = (
                process("1", &[]),
                process("0", &["--output", out.to_str().unwrap()]),
            );
            wait(p1, Duration::from_secs(90), "process 1");
            wait(p0, Duration::from_secs(90), "process 0");
            let mut run = streamlab(&[
                "oracle",
                "--query",
                query.to_str().unwrap(),
                "--output",
                expected.to_str().unwrap(),
            ]);
            wait(run.spawn().unwrap(), Duration::from_secs(60), "oracle");
        } else {
            microbatch_cluster(
                &dir,
                &query,
                &input,
                &out,
                2,
                &["--max-records-per-batch", "3000"],
            );
            oracle(&query, &input, &expected);
        }
        assert!(!rows(&expected).is_empty(), "{}", query.display());
        let (identical, report) = compare(&query, &out, &expected);
        assert!(
            identical,
            "{} on 2 processes x 2 workers is not the oracle's answer:\n{report}",
            query.display()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_peer_is_an_error_not_a_hang() {
    let dir = std::env::temp_dir().join(format!("streamlab-lonely-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("one.jsonl");
    std::fs::write(&input, "{\"ts\":1,\"key\":\"a\",\"value\":1}\n").unwrap();
    let hosts = dir.join("hosts");
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
    )
    .unwrap();
    let query = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1.toml");
    for engine in ["record", "microbatch"] {
        let child = streamlab(&[
            "run",
            "--engine",
            engine,
            "--processes",
            "2",
            "--process",
            "0",
            "--hostfile",
            hosts.to_str().unwrap(),
            "--query",
            query.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--output",
            dir.join("out.jsonl").to_str().unwrap(),
        ])
        .env("STREAMLAB_CLUSTER_TIMEOUT", "2")
        .spawn()
        .unwrap();
        let (ok, stderr) = finish(child, Duration::from_secs(30), "a lonely process 0");
        assert!(!ok, "{engine}");
        assert!(
            stderr.contains("did not form within 2 s"),
            "{engine}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// Checkpoints in a timely cluster: both processes of a 2-process run share the
/// checkpoint directory (process 0 writes, every process restores its workers' share),
/// are killed with SIGKILL together twice mid-run and restarted; the output equals a
/// clean single-process run's, nothing lost, nothing twice.
#[test]
fn a_killed_cluster_resumes_from_its_checkpoints() {
    killed_cluster_resumes("record", &[]);
}

/// The same for the micro-batch engine (process 0's driver writes every checkpoint, with
/// every partition's state store; a restart hands each partition its keys), in batches
/// of 5 000 events, one checkpoint every 4 batches.
#[test]
fn a_killed_microbatch_cluster_resumes_from_its_checkpoints() {
    killed_cluster_resumes("microbatch", &["--max-records-per-batch", "5000"]);
}

fn killed_cluster_resumes(engine: &str, args: &[&str]) {
    let dir = std::env::temp_dir().join(format!(
        "streamlab-cluster-ck-{engine}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let input = dir.join("clicks.jsonl");
    let query = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries/w1_update.toml");
    let (input_s, query_s) = (input.to_str().unwrap(), query.to_str().unwrap());
    gen_clicks(
        &input,
        &[
            "--events",
            "400000",
            "--seed",
            "8",
            "--disorder",
            "0.05",
            "--max-delay",
            "3s",
        ],
    );
    let clean = dir.join("clean.jsonl");
    one_process_of(engine, args, &query, &input, &clean, "clean run");

    let (out, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
    let start = |attempt: usize| {
        // Fresh ports per attempt: a killed process's may still be held.
        let hosts = dir.join(format!("hosts{attempt}"));
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
        )
        .unwrap();
        let process = |i: &str| {
            let mut all = vec![
                "run",
                "--engine",
                engine,
                "--processes",
                "2",
                "--process",
                i,
                "--hostfile",
                hosts.to_str().unwrap(),
                "--query",
                query_s,
                "--input",
                input_s,
                "--output",
                out.to_str().unwrap(),
                "--checkpoint",
                ck.to_str().unwrap(),
                "--checkpoint-every",
                "20000",
            ];
            all.extend_from_slice(args);
            streamlab(&all).spawn().unwrap()
        };
        (process("1"), process("0"))
    };
    let mut landed = 0;
    for attempt in 0..2 {
        let before = streamlab_checkpoint::newest_id(&ck);
        let (mut p1, mut p0) = start(attempt);
        let target = before.map_or(1, |b| b + 2);
        let deadline = Instant::now() + Duration::from_secs(60);
        while streamlab_checkpoint::newest_id(&ck).is_none_or(|n| n < target)
            && p0.try_wait().unwrap().is_none()
        {
            assert!(Instant::now() < deadline, "no checkpoint within 60 s");
            std::thread::sleep(Duration::from_micros(300));
        }
        landed += usize::from(p0.try_wait().unwrap().is_none());
        let _ = p0.kill(); // SIGKILL
        let _ = p1.kill();
        let _ = (p0.wait(), p1.wait());
    }
    assert!(landed > 0, "every attempt finished before its kill");
    let (p1, p0) = start(9);
    let stderr = wait(p0, Duration::from_secs(90), "process 0 after the kills");
    wait(p1, Duration::from_secs(90), "process 1 after the kills");
    assert!(stderr.contains("resumed from checkpoint"), "{stderr}");
    assert_eq!(
        rows(&out),
        rows(&clean),
        "{engine}: after {landed} kills the cluster's output differs"
    );
    std::fs::remove_dir_all(&dir).ok();
}
