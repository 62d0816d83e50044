//! What the engine-against-oracle suites share: the query they vary, random streams with
//! controlled disorder, and final answers reduced to comparable rows.
#![allow(dead_code)] // each suite uses its own subset

use proptest::prelude::*;
use streamlab_core::engine::RunOptions;
use streamlab_core::row::final_rows;
use streamlab_core::value::{AggValue, FieldValue};
use streamlab_core::{OutputMode, Plan, ResultRow, Window};
use streamlab_engines::EngineKind;

/// Tumbling, sliding and session windows (query file syntax).
pub const WINDOWS: [&str; 3] = [
    "kind = \"tumbling\"\nsize = 10",
    "kind = \"sliding\"\nsize = 20\nslide = 5",
    "kind = \"session\"\ngap = 7",
];

/// The three output modes.
pub const MODES: [&str; 3] = ["append", "update", "complete"];

/// count, sum and max of `v` per `key` over `window`, in `mode`, with watermark `delay`.
pub fn plan(window: &str, mode: &str, delay: i64) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = {delay}\n[window]\n{window}\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"s\"\n[[aggregate]]\nfn = \"max\"\nfield = \"v\"\nas = \"hi\"\n"
    ))
    .unwrap()
}

/// One event: key index, event time, value.
pub type Item = (u8, i64, i64);

/// Events in arrival order: nominal times rising by 0..4 ms (so repeated times are
/// common), each moved back by up to `disorder` ms; `keys` keys; times may be negative.
pub fn stream(n: usize, disorder: i64, keys: u8) -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec((0..keys, 0..=disorder, -50i64..50, 0..4i64), 1..n).prop_map(|raw| {
        let mut t = -200i64;
        raw.into_iter()
            .map(|(key, back, v, step)| {
                t += step;
                (key, t - back, v)
            })
            .collect()
    })
}

/// The events as JSON Lines (`ts`, `key` = "k<index>", `v`).
pub fn text(items: &[Item]) -> String {
    items
        .iter()
        .map(|(k, t, v)| format!("{{\"ts\":{t},\"key\":\"k{k}\",\"v\":{v}}}\n"))
        .collect()
}

/// A row reduced to what the answer is: window, key, values.
pub type Answer = Vec<(Window, Vec<FieldValue>, Vec<AggValue>)>;

/// The final answer of an output, as comparable rows.
pub fn answer(rows: &[ResultRow], mode: OutputMode) -> Answer {
    final_rows(rows, mode)
        .into_iter()
        .map(|r| (r.window, r.group, r.values))
        .collect()
}

/// Starts the run, waits until it has written `checkpoints` more checkpoints, then a few
/// more milliseconds (so the kill lands between or during checkpoint writes), and sends
/// SIGKILL. True when the kill landed before the run finished.
pub fn run_and_kill(
    args: &[String],
    ck: &std::path::Path,
    checkpoints: u64,
    extra: std::time::Duration,
) -> bool {
    let before = streamlab_checkpoint::newest_id(ck);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let target = before.map_or(checkpoints - 1, |b| b + checkpoints);
    while streamlab_checkpoint::newest_id(ck).is_none_or(|n| n < target) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    std::thread::sleep(extra);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    !finished
}

/// Every engine configuration of the join suites: the per-record engines at several
/// watermark intervals and worker counts, the micro-batch engine at several batch sizes.
pub fn configurations() -> Vec<(EngineKind, RunOptions)> {
    let record = |interval, workers| RunOptions {
        watermark_interval: Some(interval),
        workers: Some(workers),
        ..Default::default()
    };
    let batch = |size, workers| RunOptions {
        max_records_per_batch: Some(size),
        workers: Some(workers),
        ..Default::default()
    };
    vec![
        (EngineKind::Baseline, RunOptions::default()),
        (EngineKind::Record, record(1, 1)),
        (EngineKind::Record, record(7, 2)),
        (EngineKind::Record, record(1024, 2)),
        (EngineKind::Microbatch, batch(1, 1)),
        (EngineKind::Microbatch, batch(9, 2)),
        (EngineKind::Microbatch, batch(10_000, 1)),
    ]
}
