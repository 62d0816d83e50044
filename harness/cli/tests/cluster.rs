#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The record engine across processes: two `streamlab run` processes joined in a timely
//! cluster (localhost, a host file with free ports) give the same rows as one process.

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
    let mut run = streamlab(&[
        "run",
        "--engine",
        "record",
        "--query",
        query.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
    ]);
    wait(run.spawn().unwrap(), Duration::from_secs(60), what);
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
    std::fs::write(
        &hosts,
        format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
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
        .spawn()
        .unwrap()
    };
    let (p1, p0) = (process("1"), process("0"));
    wait(p1, Duration::from_secs(90), "process 1");
    wait(p0, Duration::from_secs(90), "process 0");

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
    let child = streamlab(&[
        "run",
        "--engine",
        "record",
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
    assert!(!ok);
    assert!(stderr.contains("did not form within 2 s"), "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Checkpoints in a timely cluster: both processes of a 2-process run share the
/// checkpoint directory (process 0 writes, every process restores its workers' share),
/// are killed with SIGKILL together twice mid-run and restarted; the output equals a
/// clean single-process run's, nothing lost, nothing twice.
#[test]
fn a_killed_cluster_resumes_from_its_checkpoints() {
    let dir = std::env::temp_dir().join(format!("streamlab-cluster-ck-{}", std::process::id()));
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
    one_process(&query, &input, &clean, "clean run");

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
            streamlab(&[
                "run",
                "--engine",
                "record",
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
            ])
            .spawn()
            .unwrap()
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
        "after {landed} kills the cluster's output differs"
    );
    std::fs::remove_dir_all(&dir).ok();
}
