//! Asynchronous and incremental checkpoints on a real process, killed (SIGKILL) exactly
//! inside the phases they add, with the test hook of `streamlab_checkpoint::test_hook`
//! (`STREAMLAB_TEST_CHECKPOINT_PAUSE`): the writer pauses at a chosen point of every
//! write and leaves a marker file, and the test kills the run once the marker is there.
//!
//! - `before-rename` on the second checkpoint of a run (an increment): the stream has run
//!   on past it, the increment is fsynced under its temporary name but not durable, its
//!   epoch's rows are prepared but not committed: a restart resumes from the checkpoint
//!   before it.
//! - `after-rename` on the second checkpoint of the restarted run (an increment again):
//!   durable, its epoch not yet committed: a restart resumes from it and commits its
//!   prepared rows.
//!
//! The final output must be the uninterrupted run's: nothing lost, nothing twice, nothing
//! wrong.

use crate::recovery::{generate, run_args, sorted_lines, streamlab, w1_update, workdir};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn the_record_engine_killed_inside_async_and_incremental_writes_loses_and_repeats_nothing() {
    killed_inside_writes("record", &["--workers", "2"]);
}

#[test]
fn the_micro_batch_engine_killed_inside_async_and_incremental_writes_loses_and_repeats_nothing() {
    killed_inside_writes("microbatch", &["--max-records-per-batch", "1000"]);
}

#[test]
fn the_baseline_killed_inside_async_and_incremental_writes_loses_and_repeats_nothing() {
    killed_inside_writes("baseline", &[]);
}

/// Markers the hook left in `ck`, as checkpoint ids.
fn markers(ck: &Path) -> Vec<u64> {
    let Ok(entries) = std::fs::read_dir(ck) else {
        return Vec::new();
    };
    let mut ids: Vec<u64> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_string_lossy()
                .strip_prefix(".test-paused-")?
                .parse()
                .ok()
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Runs `args` with the hook pausing at `point`, waits for the pause of the run's second
/// checkpoint, SIGKILLs the run there; returns that checkpoint's id.
fn kill_at_second_pause(args: &[String], ck: &Path, point: &str) -> u64 {
    for id in markers(ck) {
        std::fs::remove_file(ck.join(format!(".test-paused-{id}"))).unwrap();
    }
    let mut child = streamlab()
        .args(args)
        .env("STREAMLAB_TEST_CHECKPOINT_PAUSE", format!("{point}:4000"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let id = loop {
        if let Some(&id) = markers(ck).get(1) {
            break id;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before its second checkpoint"
        );
        assert!(started.elapsed() < Duration::from_secs(120), "no pause");
        std::thread::sleep(Duration::from_millis(2));
    };
    child.kill().unwrap(); // SIGKILL, inside the pause
    child.wait().unwrap();
    id
}

fn killed_inside_writes(engine: &str, extra: &[&str]) {
    let dir = workdir(&format!("async-{engine}"));
    let events = generate(&dir, 200_000);
    let query = w1_update(&dir);
    let clean = dir.join("clean.jsonl");
    let out = streamlab()
        .args(["run", "--engine", engine, "--query"])
        .arg(&query)
        .arg("--input")
        .arg(&events)
        .arg("--output")
        .arg(&clean)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (output, ck) = (dir.join("out.jsonl"), dir.join("checkpoints"));
    let mut args = run_args(engine, &query, &events, &output, &ck, 5000);
    args.extend(["--incremental", "--full-every", "4"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let parts = dir.join("out.jsonl.parts");
    let inc = |id: u64| ck.join(format!("inc-{id:020}.bin"));

    // 1. Killed while the second checkpoint (an increment) is written, not yet durable.
    let id = kill_at_second_pause(&args, &ck, "before-rename");
    assert!(
        ck.join(format!(".inc-{id:020}.tmp")).exists(),
        "the increment was being written"
    );
    assert!(!inc(id).exists(), "killed before the increment was durable");
    assert!(
        !parts.join(format!("part-{id:020}.jsonl")).exists(),
        "its epoch must not be committed"
    );

    // 2. Restarted, killed after its second checkpoint (an increment) is durable and
    //    before the sink commits its epoch.
    let id = kill_at_second_pause(&args, &ck, "after-rename");
    assert!(inc(id).exists(), "the increment is durable");
    assert!(
        parts.join(format!("part-{id:020}.pending")).exists(),
        "its epoch is prepared, not committed"
    );

    // 3. Restarted without the hook: resumes from that increment and finishes.
    let out = streamlab().args(&args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("checkpoint {id}")),
        "resumes from {id}: {stderr}"
    );
    let (got, want) = (sorted_lines(&output), sorted_lines(&clean));
    assert_eq!(got.len(), want.len(), "rows lost or duplicated");
    assert_eq!(got, want, "rows differ");
    std::fs::remove_dir_all(&dir).unwrap();
}
