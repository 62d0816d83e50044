//! `streamlab experiment recovery`: failure recovery measured on real processes
//! (measurement.md, "Failure recovery"). For each engine that checkpoints, a generated
//! stream is run by `streamlab run --checkpoint` as a child process, which is killed with
//! SIGKILL at pseudo-random points (1-5 checkpoint ids after each start, plus 0-3 ms, so
//! kills land between and during checkpoint writes) and restarted from its checkpoint
//! directory until it finishes. The output is then checked row by row against a clean run
//! (lost, duplicated, wrong) and its final answer against the oracle.
//!
//! Per kill it records the time from the restart to the first newly committed epoch (the
//! first new output: the exactly-once sink publishes rows per checkpoint) and the
//! checkpoint it resumed from; per engine the checkpoint count and size, and the
//! throughput with and without checkpoints. The input is a file, read as fast as the
//! engine goes, so "catching up with the input rate" is the time to finish instead.

use anyhow::{bail, Context, Result};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use streamlab_core::Plan;
use streamlab_engines::runner::read_rows;
use streamlab_engines::EngineKind;
use streamlab_measure::accuracy::compare;
use streamlab_measure::results::RawCsv;
use streamlab_workloads::gen::{generate, GenConfig, Workload};
use streamlab_workloads::W1_QUERY;

/// What one recovery run is asked to do.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RecoveryConfig {
    /// Engines to kill (those that take `--checkpoint`).
    pub engines: Vec<EngineKind>,
    /// SIGKILLs per engine.
    pub kills: usize,
    /// Events in the stream.
    pub events: u64,
    /// Input seed (and of the kill points).
    pub seed: u64,
    /// Distinct keys (event time runs at `keys` events per second or faster, so every
    /// key is in every 10 s window: the state holds them all).
    pub keys: u64,
    /// Events between checkpoints.
    pub checkpoint_every: u64,
}

/// The engines of `requested` (all registered when empty) that checkpoint.
pub fn checkpointing(requested: &[EngineKind]) -> Result<Vec<EngineKind>> {
    let all = if requested.is_empty() {
        EngineKind::all()
    } else {
        requested.to_vec()
    };
    let (ok, not): (Vec<EngineKind>, Vec<EngineKind>) = all
        .into_iter()
        .filter(|k| *k != EngineKind::Oracle)
        .partition(|k| k.takes("--checkpoint"));
    if !requested.is_empty() {
        if let Some(k) = not.first() {
            bail!("engine `{}` does not take --checkpoint yet", k.name());
        }
    }
    if ok.is_empty() {
        bail!("no registered engine takes --checkpoint");
    }
    Ok(ok)
}

pub(crate) fn streamlab() -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("streamlab"));
    let mut c = Command::new(exe);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Sizes of the checkpoint files in `dir`.
fn checkpoint_sizes(dir: &Path) -> Vec<u64> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
                .filter_map(|e| e.metadata().ok().map(|m| m.len()))
                .collect()
        })
        .unwrap_or_default()
}

/// Checkpoints a run wrote, from its summary's note "N checkpoints written to ...".
fn checkpoints_written(summary: &serde_json::Value) -> u64 {
    summary["notes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| {
            n.as_str()?
                .split(" checkpoints written")
                .next()?
                .parse()
                .ok()
        })
        .next()
        .unwrap_or(0)
}

/// A small deterministic generator for the kill points.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

/// Runs a command to completion; its summary JSON.
pub(crate) fn run_to_end(args: &[String], summary: &Path) -> Result<(serde_json::Value, Duration)> {
    let started = Instant::now();
    let status = streamlab()
        .args(args)
        .args(["--summary".to_string(), summary.display().to_string()])
        .stderr(Stdio::inherit())
        .status()
        .context("starting streamlab run")?;
    if !status.success() {
        bail!("`streamlab {}` failed ({status})", args.join(" "));
    }
    let text = std::fs::read_to_string(summary)
        .with_context(|| format!("reading {}", summary.display()))?;
    Ok((serde_json::from_str(&text)?, started.elapsed()))
}

/// Waits until `child` has made `n` more checkpoints durable in `ck`, then `wait` more,
/// and SIGKILLs it; returns whether it was still running, and the time from its last
/// durable checkpoint to the kill, ms (the work a restart replays).
pub(crate) fn kill_point(
    child: &mut std::process::Child,
    ck: &Path,
    n: usize,
    wait: Duration,
) -> Result<(bool, Option<f64>)> {
    let mut seen = Vec::new();
    let mut last_change = None;
    let mut until = None;
    loop {
        let newest = streamlab_checkpoint::newest_id(ck);
        if newest.is_some() && seen.last() != Some(&newest) {
            seen.push(newest);
            last_change = Some(Instant::now());
        }
        if until.is_none() && seen.len() >= n {
            until = Some(Instant::now() + wait);
        }
        if until.is_some_and(|u| Instant::now() >= u) {
            break;
        }
        if child.try_wait()?.is_some() {
            return Ok((false, None));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    let landed = child.try_wait()?.is_none();
    let lost = last_change.map(|t| t.elapsed().as_secs_f64() * 1e3);
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    Ok((landed, lost))
}

/// The time from `started` to a child's `resumed from checkpoint` line on `stderr`, ms.
pub(crate) fn watch_resumed(
    stderr: std::process::ChildStderr,
    started: Instant,
) -> std::thread::JoinHandle<Option<f64>> {
    let watcher = watch_stderr(stderr, started);
    std::thread::spawn(move || watcher.join().ok().and_then(|r| r.resumed_ms))
}

/// What a restarted child said on stderr about its restart, and when.
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
struct Restart {
    /// Spawn to the engine's "resumed from checkpoint" line, ms: state loaded and the
    /// input reopened at the checkpoint's line (the rest of the file is decoded while the
    /// engine runs, so nothing of it is in here).
    resumed_ms: Option<f64>,
}

impl Restart {
    /// Back at work: spawn to resumed.
    fn restore_ms(&self) -> Option<f64> {
        self.resumed_ms
    }
}

/// Reads a child's stderr, noting when the restart lines arrive.
fn watch_stderr(
    stderr: std::process::ChildStderr,
    started: Instant,
) -> std::thread::JoinHandle<Restart> {
    use std::io::BufRead;
    std::thread::spawn(move || {
        let mut r = Restart::default();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if r.resumed_ms.is_none() && line.contains(": resumed from checkpoint") {
                r.resumed_ms = Some(started.elapsed().as_secs_f64() * 1e3);
            }
        }
        r
    })
}

/// One kill: what the restart that preceded it did.
#[derive(Debug, serde::Serialize)]
struct Kill {
    /// The checkpoint the attempt resumed from (None: started from scratch).
    resumed_from: Option<u64>,
    /// Restart to the first newly committed epoch, ms (None: killed before one).
    first_output_ms: Option<f64>,
    /// Restart to the engine at work again (state and input position restored), ms,
    /// without the harness's decoding of the rest of the input (see [`Restart`]).
    restore_ms: Option<f64>,
    /// What that was made of.
    restart: Restart,
    /// The newest checkpoint when the kill landed.
    checkpoint_at_kill: Option<u64>,
    /// Whether the process was still running when killed.
    landed: bool,
}

/// Measures recovery of every engine in `cfg`; rows go to `raw`.
pub fn run(cfg: &RecoveryConfig, raw: &mut RawCsv) -> Result<(serde_json::Value, String)> {
    let dir = std::env::temp_dir().join(format!("streamlab-recovery-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let input = dir.join("events.jsonl");
    let mut gen = GenConfig::new(Workload::Clicks, cfg.events, cfg.seed);
    gen.keys = cfg.keys;
    gen.rate = (cfg.keys as f64).max(5_000.0);
    gen.disorder = 0.1;
    gen.max_delay_ms = 3_000;
    gen.late = 0.01;
    gen.late_by_ms = 20_000;
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input)?);
    generate(&gen, &mut file)?;
    drop(file);
    // Update mode: a row for every event, so every epoch has rows to lose or duplicate.
    let query_text = W1_QUERY.replace("output_mode = \"append\"", "output_mode = \"update\"");
    let query = dir.join("w1_update.toml");
    std::fs::write(&query, &query_text)?;
    let plan = Plan::from_toml(&query_text)?;
    let exact_path = dir.join("exact.jsonl");
    run_to_end(
        &[
            "oracle".into(),
            "--query".into(),
            query.display().to_string(),
            "--input".into(),
            input.display().to_string(),
            "--output".into(),
            exact_path.display().to_string(),
        ],
        &dir.join("exact.summary.json"),
    )?;
    let exact = read_rows(&exact_path, &plan)?;

    let mut points = Vec::new();
    let mut rng = Lcg(cfg.seed ^ 0x9e37_79b9);
    for kind in &cfg.engines {
        let engine = kind.name();
        tracing::info!(
            "recovery: {engine}: a clean run, then one with checkpoints, then {} kills",
            cfg.kills
        );
        // Micro-batches small enough that checkpoints (one after a batch at the most)
        // come as often as the other engines' (the default batch holds 100 000 events).
        let batches: Vec<String> = if kind.takes("--max-records-per-batch") {
            vec![
                "--max-records-per-batch".into(),
                (cfg.checkpoint_every / 2).max(1).to_string(),
            ]
        } else {
            Vec::new()
        };
        let base = |out: &Path| -> Vec<String> {
            let mut a: Vec<String> = [
                "run",
                "--engine",
                &engine,
                "--query",
                &query.display().to_string(),
                "--input",
                &input.display().to_string(),
                "--output",
                &out.display().to_string(),
            ]
            .iter()
            .map(|s| s.to_string())
            .collect();
            a.extend(batches.iter().cloned());
            a
        };
        let with_checkpoints = |out: &Path, ck: &Path| -> Vec<String> {
            let mut a = base(out);
            a.extend([
                "--checkpoint".to_string(),
                ck.display().to_string(),
                "--checkpoint-every".to_string(),
                cfg.checkpoint_every.to_string(),
            ]);
            a
        };
        let clean_out = dir.join(format!("{engine}-clean.jsonl"));
        let (plain, _) = run_to_end(
            &base(&clean_out),
            &dir.join(format!("{engine}-clean.summary.json")),
        )?;
        let ck_once = dir.join(format!("{engine}-ck-once"));
        let (checkpointed, _) = run_to_end(
            &with_checkpoints(&dir.join(format!("{engine}-once.jsonl")), &ck_once),
            &dir.join(format!("{engine}-once.summary.json")),
        )?;
        let sizes = checkpoint_sizes(&ck_once);
        let plain_eps = plain["throughput_eps"].as_f64().unwrap_or(0.0);
        let ck_eps = checkpointed["throughput_eps"].as_f64().unwrap_or(0.0);
        let written = checkpoints_written(&checkpointed);
        // What one checkpoint costs the run (the extra time over the run without, spread
        // over the checkpoints written), and so the share of throughput a checkpoint every
        // second would cost: the target is an interval of 1 s, which these short
        // runs never reach.
        let each_ms = (plain_eps > 0.0 && ck_eps > 0.0 && written > 0).then(|| {
            (cfg.events as f64 / ck_eps - cfg.events as f64 / plain_eps) * 1e3 / written as f64
        });

        // The kills.
        let (out, ck) = (
            dir.join(format!("{engine}-killed.jsonl")),
            dir.join(format!("{engine}-ck")),
        );
        let args = with_checkpoints(&out, &ck);
        let mut kills = Vec::new();
        for _ in 0..cfg.kills {
            let before = streamlab_checkpoint::newest_id(&ck);
            let started = Instant::now();
            let mut child = streamlab()
                .args(&args)
                .stderr(Stdio::piped())
                .spawn()
                .context("starting streamlab run")?;
            let said = child.stderr.take().map(|e| watch_stderr(e, started));
            let wait_for = 1 + rng.next() % 5;
            let target = before.map_or(wait_for - 1, |b| b + wait_for);
            let mut first_output = None;
            let mut finished = false;
            loop {
                let newest = streamlab_checkpoint::newest_id(&ck);
                if first_output.is_none() && newest.is_some() && newest != before {
                    first_output = Some(started.elapsed().as_secs_f64() * 1e3);
                }
                if newest.is_some_and(|n| n >= target) {
                    break;
                }
                if child.try_wait()?.is_some() {
                    finished = true;
                    break;
                }
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_micros(rng.next() % 3_000));
            let landed = !finished && child.try_wait()?.is_none();
            let _ = child.kill(); // SIGKILL
            let _ = child.wait();
            let restart = said.and_then(|t| t.join().ok()).unwrap_or_default();
            kills.push(Kill {
                resumed_from: before,
                first_output_ms: first_output,
                restore_ms: before.and(restart.restore_ms()),
                restart,
                checkpoint_at_kill: streamlab_checkpoint::newest_id(&ck),
                landed,
            });
            if !landed {
                break;
            }
        }
        let last_before = streamlab_checkpoint::newest_id(&ck);
        let restart = Instant::now();
        let (final_summary, _) =
            run_to_end(&args, &dir.join(format!("{engine}-killed.summary.json")))?;
        let final_restart_ms = restart.elapsed().as_secs_f64() * 1e3;

        // Row by row against the clean run, and the final answer against the oracle.
        let lines = |p: &Path| -> Result<BTreeMap<String, i64>> {
            let mut m = BTreeMap::new();
            for l in std::fs::read_to_string(p)?.lines() {
                *m.entry(l.to_string()).or_insert(0) += 1;
            }
            Ok(m)
        };
        let (got, want) = (lines(&out)?, lines(&clean_out)?);
        let mut lost = 0i64;
        let mut duplicated = 0i64;
        for (l, n) in &want {
            lost += (n - got.get(l).copied().unwrap_or(0)).max(0);
        }
        for (l, n) in &got {
            duplicated += (n - want.get(l).copied().unwrap_or(0)).max(0);
        }
        let clean_acc = compare(
            &read_rows(&out, &plan)?,
            &read_rows(&clean_out, &plan)?,
            &plan,
        );
        let oracle_acc = compare(&read_rows(&out, &plan)?, &exact, &plan);
        let landed = kills.iter().filter(|k| k.landed).count();
        let mut recovery: Vec<f64> = kills
            .iter()
            .skip(1)
            .filter_map(|k| k.first_output_ms)
            .collect();
        recovery.sort_by(f64::total_cmp);
        let p50 = recovery.get(recovery.len() / 2).copied();
        let max = recovery.last().copied();
        let mut restore: Vec<f64> = kills.iter().filter_map(|k| k.restore_ms).collect();
        restore.sort_by(f64::total_cmp);
        raw.row(&engine, "plain", 0, "throughput_eps", plain_eps);
        raw.row(&engine, "checkpoints", 0, "throughput_eps", ck_eps);
        raw.row(&engine, "kills", 0, "kills_landed", landed as f64);
        raw.row(&engine, "kills", 0, "rows_lost", lost as f64);
        raw.row(&engine, "kills", 0, "rows_duplicated", duplicated as f64);
        raw.row(&engine, "kills", 0, "rows_wrong", clean_acc.wrong as f64);
        for (i, k) in kills.iter().enumerate() {
            if let Some(ms) = k.first_output_ms {
                raw.row(&engine, &format!("kill={i}"), 0, "first_output_ms", ms);
            }
            if let Some(ms) = k.restore_ms {
                raw.row(&engine, &format!("kill={i}"), 0, "restore_ms", ms);
            }
        }
        tracing::info!(
            "recovery: {engine}: {landed} kills landed, {lost} rows lost, {duplicated} duplicated, {} wrong",
            clean_acc.wrong
        );
        points.push(json!({
            "engine": engine,
            "kills": landed,
            "rows_lost": lost,
            "rows_duplicated": duplicated,
            "rows_wrong": clean_acc.wrong,
            "recovery_ms": {"p50": p50, "max": max},
            "restore_ms": {"p50": restore.get(restore.len() / 2), "max": restore.last()},
            "final_restart": {"resumed_from": last_before, "ms": final_restart_ms},
            "per_kill": kills,
            "checkpoints": {
                "every_events": cfg.checkpoint_every,
                "count_one_run": written,
                "ms_each": each_ms,
                "cost_at_1s_interval": each_ms.map(|ms| ms / 1e3),
                "bytes_mean": if sizes.is_empty() { 0.0 } else { sizes.iter().sum::<u64>() as f64 / sizes.len() as f64 },
                "notes": checkpointed["notes"],
            },
            "throughput_eps": {"without_checkpoints": plain_eps, "with_checkpoints": ck_eps,
                               "cost": if plain_eps > 0.0 { 1.0 - ck_eps / plain_eps } else { 0.0 }},
            "against_oracle": oracle_acc,
            "late_dropped": final_summary["late_dropped"],
        }));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let summary = json!({
        "events": cfg.events, "keys": cfg.keys, "kills_asked": cfg.kills, "engines": points,
    });
    let what = format!(
        "W1 in update mode (a row per event) over {} generated clicks ({} keys, every one in every window; 10 % disordered \
         by up to 3 s, 1 % late by 20 s), checkpoints every {} events, run by `streamlab run \
         --checkpoint` in a child process and killed with SIGKILL {} times at pseudo-random \
         points (1-5 checkpoint ids after each start, plus 0-3 ms: the micro-batch engine numbers checkpoints by batch, so there that is 1-3 checkpoints), restarted each time. \
         The micro-batch engine runs batches of half that many events (it checkpoints after a \
         batch). `rows_lost`, `rows_duplicated` and `rows_wrong` compare the final output line by line \
         and row by row with a clean run (exactly-once: all 0). `recovery_ms` is the time from a \
         restart to its first newly committed epoch (the exactly-once sink publishes rows per \
         checkpoint). `restore_ms` is the time from a restart to the engine's line `resumed from \
         checkpoint` (state loaded, input reopened at the checkpoint's line and byte offset after \
         checksumming the file before it, the key dictionary restored; the rest of the file is decoded while the engine runs): \
         the time to be back at work. Throughput with and without checkpoints comes from the engine's own \
         summary (the file decoded while the engine runs, as in `streamlab run`); the checkpointed run also pays the transactional file \
         sink (a second copy of the output and an fsync per epoch). `checkpoints.ms_each` spreads \
         the extra time of the checkpointed run over its checkpoints, and \
         `cost_at_1s_interval` is that time as a share of one second: what checkpointing every \
         second would cost (these runs checkpoint far more often than that).",
        cfg.events, cfg.keys, cfg.checkpoint_every, cfg.kills
    );
    Ok((summary, what))
}
