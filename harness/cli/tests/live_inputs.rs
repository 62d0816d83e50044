#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Live inputs through the real `streamlab` binary: a socket server, a directory that
//! receives a file while the run goes on, and an address nobody listens on.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn golden(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(case)
}

fn streamlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .output()
        .unwrap()
}

/// Final rows of a run's stdout, as sorted lines.
fn sorted_lines(bytes: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn expected(case: &str) -> Vec<String> {
    sorted_lines(&std::fs::read(golden(case).join("expected.jsonl")).unwrap())
}

#[test]
fn a_socket_server_feeds_a_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let events = std::fs::read(golden("tumbling_append").join("events.jsonl")).unwrap();
    let server = std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        // Send in two parts with a pause, as a classroom `nc` session would.
        let half = events.len() / 2;
        conn.write_all(&events[..half]).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        conn.write_all(&events[half..]).unwrap();
    });
    let query = golden("tumbling_append").join("query.toml");
    let out = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        query.to_str().unwrap(),
        "--input",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    server.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sorted_lines(&out.stdout), expected("tumbling_append"));
}

#[test]
fn a_directory_input_picks_up_files_in_name_order_and_new_ones() {
    let dir = std::env::temp_dir().join(format!("streamlab-dir-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let text = std::fs::read_to_string(golden("session_append").join("events.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(dir.join("part-000.jsonl"), lines[..3].join("\n") + "\n").unwrap();
    std::fs::write(dir.join(".hidden"), "not read\n").unwrap();
    let late_dir = dir.clone();
    let rest = lines[3..].join("\n") + "\n";
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        // Written under a skipped name, then renamed: a reader never sees half a file.
        std::fs::write(late_dir.join("_part-001.tmp"), &rest).unwrap();
        std::fs::rename(
            late_dir.join("_part-001.tmp"),
            late_dir.join("part-001.jsonl"),
        )
        .unwrap();
    });
    let query = golden("session_append").join("query.toml");
    let out = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        query.to_str().unwrap(),
        "--input",
        &format!("dir://{}?idle=1s", dir.display()),
    ]);
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sorted_lines(&out.stdout), expected("session_append"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_unreachable_socket_is_a_clear_error_not_a_hang() {
    // Bind then drop a listener: nothing listens on that port now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let query = golden("tumbling_append").join("query.toml");
    let started = Instant::now();
    let out = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        query.to_str().unwrap(),
        "--input",
        &format!("tcp://127.0.0.1:{port}"),
    ]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot connect to tcp://127.0.0.1:{port}")),
        "{err}"
    );
}
