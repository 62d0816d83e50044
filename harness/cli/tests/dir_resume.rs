//! `dir://` inputs resumed per file (issue 20, item 5; the repro: a resume by line count
//! over the files in name order skipped or double-counted rows once a processed file was
//! archived or one that sorts earlier was added, exit 0). A run is stopped (SIGTERM)
//! after reading two files; then the first is archived and a file that sorts before both
//! is added: the resumed run counts every event of the three files once. A processed file
//! changed in place is refused by name. Malformed lines are named by file and line.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn streamlab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
}

fn workdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("streamlab-dir-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("in")).unwrap();
    d
}

/// Counts per key over one window that no watermark closes before the input ends.
const QUERY: &str = "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"append\"\n[watermark]\ndelay = \"1h\"\n[window]\nkind = \"tumbling\"\nsize = \"24h\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n";

/// `n` events (keys `k0`..`k6`), the key of each added to `counts`; line `bad` (1-based)
/// is malformed instead.
fn write_events(
    path: &Path,
    n: u64,
    salt: u64,
    bad: Option<u64>,
    counts: &mut BTreeMap<String, u64>,
) {
    let mut text = String::new();
    for i in 0..n {
        if bad == Some(i + 1) {
            text.push_str("{\"ts\": oops}\n");
            continue;
        }
        let key = format!("k{}", (i * 7 + salt) % 7);
        text.push_str(&format!("{{\"ts\":{},\"key\":\"{key}\"}}\n", 1000 + i));
        *counts.entry(key).or_default() += 1;
    }
    std::fs::write(path, text).unwrap();
}

fn counts_of(out: &Path) -> BTreeMap<String, u64> {
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                row["key"].as_str().unwrap().to_owned(),
                row["n"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Runs over `dir/in` with a checkpoint until both files are read, then stops it.
fn read_two_files_and_stop(engine: &str, dir: &Path) -> (Vec<String>, BTreeMap<String, u64>) {
    let mut counts = BTreeMap::new();
    write_events(&dir.join("in/a.jsonl"), 1000, 0, None, &mut counts);
    write_events(&dir.join("in/b.jsonl"), 1000, 3, Some(3), &mut counts);
    std::fs::write(dir.join("q.toml"), QUERY).unwrap();
    let ck = dir.join("ck");
    let args = |idle: &str| -> Vec<String> {
        [
            "run",
            "--engine",
            engine,
            "--query",
            dir.join("q.toml").to_str().unwrap(),
            "--input",
            &format!("dir://{}?idle={idle}", dir.join("in").display()),
            "--output",
            dir.join("out.jsonl").to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
            "--checkpoint-every",
            "333",
        ]
        .map(String::from)
        .to_vec()
    };
    let mut child = streamlab()
        .args(args("60s"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Two checkpoints: the run is reading; the 2000 lines are read well within the half
    // second after, and the run then idles, waiting for files. The stop's checkpoint
    // has them all.
    let deadline = Instant::now() + Duration::from_secs(120);
    while streamlab_checkpoint::newest_id(&ck).is_none_or(|id| id < 1) {
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        assert!(
            Instant::now() < deadline,
            "no second checkpoint in two minutes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(500));
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    let b = dir.join("in/b.jsonl");
    assert!(
        stderr.contains(&format!("{}:3: skipped malformed line", b.display())),
        "a malformed line is named by its file and line: {stderr}"
    );
    (args("300ms"), counts)
}

fn archive_and_add_an_earlier_file(engine: &str) {
    let dir = workdir(&format!("archive-{engine}"));
    let (args, mut counts) = read_two_files_and_stop(engine, &dir);
    // a.jsonl is processed: archive it. 0.jsonl sorts before both and is new.
    std::fs::rename(dir.join("in/a.jsonl"), dir.join("a.jsonl.done")).unwrap();
    write_events(&dir.join("in/0.jsonl"), 500, 5, None, &mut counts);
    let out = streamlab().args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        counts_of(&dir.join("out.jsonl")),
        counts,
        "every event of a.jsonl, b.jsonl and 0.jsonl once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_directory_counts_every_file_once_when_one_is_archived_and_an_earlier_one_added_baseline(
) {
    archive_and_add_an_earlier_file("baseline");
}

#[test]
fn a_resumed_directory_counts_every_file_once_when_one_is_archived_and_an_earlier_one_added_record()
{
    archive_and_add_an_earlier_file("record");
}

#[test]
fn a_processed_file_changed_in_place_is_refused_by_name() {
    let dir = workdir("changed");
    let (args, _) = read_two_files_and_stop("baseline", &dir);
    let a = dir.join("in/a.jsonl");
    let text = std::fs::read_to_string(&a)
        .unwrap()
        .replacen("\"k0\"", "\"k9\"", 1);
    std::fs::write(&a, text).unwrap();
    let out = streamlab().args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{}: its first", a.display()))
            && stderr.contains("the file was changed"),
        "{stderr}"
    );
    assert!(!dir.join("out.jsonl").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
