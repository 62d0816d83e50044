//! `streamlab experiment checkpoint-interval`: the trade-off a Flink or Spark user tunes.
//! A checkpoint costs throughput while the job runs, and a longer interval leaves more
//! input to replay after a failure. For each engine that checkpoints, each state size
//! (keys) and each interval, W1 in update mode runs as a child `streamlab run` without
//! checkpoints and with them in three ways, interleaved in one repetition so the machine's
//! load is shared alike: `sync-full` (the stream stops for the whole write), `async-full`
//! (it stops only to capture the state) and `async-incremental` (only what changed since
//! the previous checkpoint is written, a full one after every `--full-every` 10).
//!
//! Per run: throughput (the engine's summary), checkpoints written, their bytes and how
//! many were increments (the summary's checkpoint note). Per engine, state size and
//! interval, one kill of an `async-incremental` run: SIGKILL once two checkpoints are
//! durable plus a pseudo-random share of the interval; `lost_work_ms` is the time from the
//! last durable checkpoint to the kill (the work the restart must replay, which on input
//! read as fast as the engine goes takes about as long again), `restore_ms` the restart's
//! spawn to its `resumed from checkpoint` line, and `recovery_ms` their sum.

use crate::recovery::{kill_point, run_to_end, streamlab, watch_resumed, Lcg};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use streamlab_engines::EngineKind;
use streamlab_measure::results::RawCsv;
use streamlab_workloads::gen::{generate, GenConfig, Workload};
use streamlab_workloads::W1_QUERY;

/// What one checkpoint-interval run is asked to do.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IntervalConfig {
    /// Engines (those that take `--checkpoint`).
    pub engines: Vec<EngineKind>,
    /// Events per run.
    pub events: u64,
    /// State sizes: distinct keys, every one in every window.
    pub keys: Vec<u64>,
    /// Checkpoint intervals, ms.
    pub intervals_ms: Vec<u64>,
    /// Repetitions.
    pub reps: usize,
    /// Input seed (and of the kill points).
    pub seed: u64,
}

/// The ways of checkpointing compared, with their flags.
const MODES: [(&str, &[&str]); 3] = [
    ("sync-full", &["--checkpoint-write", "sync"]),
    ("async-full", &["--checkpoint-write", "async"]),
    (
        "async-incremental",
        &["--checkpoint-write", "async", "--incremental"],
    ),
];

/// The checkpoint note of a run's summary: (checkpoints, increments, bytes).
fn checkpoint_note(summary: &serde_json::Value) -> (u64, u64, u64) {
    let number_before = |text: &str, marker: &str| -> Option<u64> {
        let head = text.split(marker).next()?;
        head.rsplit(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    summary["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .find(|n| n.contains(" checkpoints written"))
        .map(|n| {
            (
                number_before(n, " checkpoints written").unwrap_or(0),
                number_before(n, " of them increments").unwrap_or(0),
                number_before(n, " bytes in all").unwrap_or(0),
            )
        })
        .unwrap_or((0, 0, 0))
}

/// Runs the experiment; rows go to `raw`.
pub fn run(cfg: &IntervalConfig, raw: &mut RawCsv) -> Result<(serde_json::Value, String)> {
    let dir = std::env::temp_dir().join(format!("streamlab-ck-interval-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let query_text = W1_QUERY.replace("output_mode = \"append\"", "output_mode = \"update\"");
    let query = dir.join("w1_update.toml");
    std::fs::write(&query, &query_text)?;
    let mut rng = Lcg(cfg.seed ^ 0x5bd1_e995);
    let mut points = Vec::new();
    for &keys in &cfg.keys {
        let input = dir.join(format!("events-{keys}.jsonl"));
        let mut gen = GenConfig::new(Workload::Clicks, cfg.events, cfg.seed);
        gen.keys = keys;
        gen.rate = (keys as f64).max(5_000.0);
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input)?);
        generate(&gen, &mut file)?;
        drop(file);
        for kind in &cfg.engines {
            let engine = kind.name();
            let args = |out: &Path| -> Vec<String> {
                let mut a: Vec<String> = ["run", "--engine", &engine, "--query"]
                    .map(String::from)
                    .to_vec();
                a.extend([query.display().to_string(), "--input".into()]);
                a.extend([input.display().to_string(), "--output".into()]);
                a.push(out.display().to_string());
                a
            };
            for &interval in &cfg.intervals_ms {
                let setting =
                    |mode: &str| format!("keys={keys};interval_ms={interval};mode={mode}");
                for rep in 0..cfg.reps {
                    eprintln!(
                        "checkpoint-interval: {engine}, {keys} keys, {interval} ms, rep {rep}"
                    );
                    let out = dir.join("out.jsonl");
                    let (plain, _) = run_to_end(&args(&out), &dir.join("plain.json"))?;
                    let plain_eps = plain["throughput_eps"].as_f64().unwrap_or(0.0);
                    raw.row(&engine, &setting("none"), rep, "throughput_eps", plain_eps);
                    let mut modes = serde_json::Map::new();
                    for (mode, flags) in MODES {
                        let ck = dir.join(format!("ck-{mode}"));
                        let _ = std::fs::remove_dir_all(&ck);
                        let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
                        let mut a = args(&out);
                        a.extend(["--checkpoint".into(), ck.display().to_string()]);
                        a.extend(["--checkpoint-interval".into(), format!("{interval}ms")]);
                        a.extend(flags.iter().map(|s| s.to_string()));
                        let (s, _) = run_to_end(&a, &dir.join("ck.json"))?;
                        let eps = s["throughput_eps"].as_f64().unwrap_or(0.0);
                        let (count, increments, bytes) = checkpoint_note(&s);
                        let ratio = if plain_eps > 0.0 {
                            eps / plain_eps
                        } else {
                            0.0
                        };
                        let set = setting(mode);
                        raw.row(&engine, &set, rep, "throughput_eps", eps);
                        raw.row(&engine, &set, rep, "throughput_ratio", ratio);
                        raw.row(&engine, &set, rep, "checkpoints", count as f64);
                        raw.row(&engine, &set, rep, "increments", increments as f64);
                        raw.row(&engine, &set, rep, "checkpoint_bytes", bytes as f64);
                        let per = if count > 0 {
                            bytes as f64 / count as f64
                        } else {
                            0.0
                        };
                        raw.row(&engine, &set, rep, "bytes_per_checkpoint", per);
                        modes.insert(
                            mode.into(),
                            json!({"throughput_eps": eps, "ratio_to_none": ratio,
                                   "checkpoints": count, "increments": increments,
                                   "bytes": bytes, "bytes_per_checkpoint": per}),
                        );
                        let _ = std::fs::remove_dir_all(&ck);
                    }
                    let kill = if rep == 0 {
                        let ck = dir.join("ck-kill");
                        let _ = std::fs::remove_dir_all(&ck);
                        let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
                        let mut a = args(&out);
                        a.extend(["--checkpoint".into(), ck.display().to_string()]);
                        a.extend(["--checkpoint-interval".into(), format!("{interval}ms")]);
                        a.push("--incremental".into());
                        let k = kill_once(&a, &ck, interval, &mut rng)?;
                        for (metric, v) in [
                            ("lost_work_ms", k.lost_work_ms),
                            ("restore_ms", k.restore_ms),
                            ("recovery_ms", k.recovery_ms()),
                        ] {
                            if let Some(v) = v {
                                raw.row(&engine, &setting("async-incremental"), rep, metric, v);
                            }
                        }
                        let _ = std::fs::remove_dir_all(&ck);
                        Some(k)
                    } else {
                        None
                    };
                    let _ = std::fs::remove_dir_all(dir.join("out.jsonl.parts"));
                    points.push(json!({
                        "engine": engine, "keys": keys, "interval_ms": interval, "rep": rep,
                        "none": {"throughput_eps": plain_eps}, "modes": modes,
                        "kill": kill.map(|k| json!({"landed": k.landed, "lost_work_ms": k.lost_work_ms,
                            "restore_ms": k.restore_ms, "recovery_ms": k.recovery_ms()})),
                    }));
                }
            }
        }
        let _ = std::fs::remove_file(&input);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let summary = json!({
        "events": cfg.events, "keys": cfg.keys, "intervals_ms": cfg.intervals_ms,
        "reps": cfg.reps, "points": points,
    });
    let what = format!(
        "W1 in update mode (a row per event) over {} generated clicks per run, for state sizes of {:?} keys \
         (every key in every 10 s window) and checkpoint intervals of {:?} ms, on each engine that checkpoints. \
         In one repetition the runs without checkpoints (`none`) and with them (`sync-full`: the stream stops for the \
         whole write, as before issue 23; `async-full`: it stops only to capture the state, the write on a background \
         thread; `async-incremental`: only what changed since the previous checkpoint, a full one after every 10) run \
         one after the other, so they share the machine's load: `throughput_ratio` is a run's throughput over the \
         `none` run's of the same repetition. `checkpoint_bytes` and `bytes_per_checkpoint` are what the run wrote \
         (the runs are short: an interval longer than the run gives only the final checkpoint). Recovery: one \
         `async-incremental` run per point is killed (SIGKILL) once two checkpoints are durable, a pseudo-random \
         share of the interval later; `lost_work_ms` is the time from the last durable checkpoint to the kill \
         (the input the restart replays, about as long again on a file read as fast as the engine goes), \
         `restore_ms` the restart's spawn to its `resumed from checkpoint` line, `recovery_ms` their sum. \
         The machine may be loaded: compare ratios within a repetition, not absolute speeds.",
        cfg.events, cfg.keys, cfg.intervals_ms
    );
    Ok((summary, what))
}

/// One kill of a checkpointed run, and its restart.
#[derive(Debug, Clone, Copy)]
struct KillOutcome {
    landed: bool,
    lost_work_ms: Option<f64>,
    restore_ms: Option<f64>,
}

impl KillOutcome {
    fn recovery_ms(&self) -> Option<f64> {
        Some(self.lost_work_ms? + self.restore_ms?)
    }
}

/// Starts `args`, kills it once two checkpoints are durable plus part of `interval_ms`,
/// restarts it and runs it to the end.
fn kill_once(args: &[String], ck: &Path, interval_ms: u64, rng: &mut Lcg) -> Result<KillOutcome> {
    let mut child = streamlab()
        .args(args)
        .spawn()
        .context("starting streamlab run")?;
    let wait = Duration::from_millis(rng.next() % interval_ms.max(1));
    let (landed, lost) = kill_point(&mut child, ck, 2, wait)?;
    let started = Instant::now();
    let mut restart = streamlab()
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .context("restarting streamlab run")?;
    let resumed = restart.stderr.take().map(|e| watch_resumed(e, started));
    let status = restart.wait()?;
    anyhow::ensure!(status.success(), "the restarted run failed ({status})");
    let restore_ms = resumed.and_then(|t| t.join().ok()).flatten();
    Ok(KillOutcome {
        landed,
        lost_work_ms: landed.then_some(lost).flatten(),
        restore_ms,
    })
}
