//! `streamlab experiment peers`: W1 on real Spark Structured Streaming (PySpark 4.3) and
//! real Flink (PyFlink 2.3), the jobs of `peers/`, over the same generated stream as the
//! lab's engines, so that anyone can rerun the comparison on another machine. For each:
//! throughput (reading and parsing JSON included, as theirs is), time to the first result
//! row, and whether the final answer equals the oracle's.
//!
//! A real engine's job has a fixed cost the lab's engines do not (PyFlink starts a local
//! cluster when the query is submitted: ~20 s on a loaded 2-core machine, for 10 events).
//! Each repetition therefore first runs the job on a ten-line file (`startup_s`), and
//! `throughput_eps` is the events over the seconds the full run took beyond that;
//! `whole_job_eps`, the events over the whole run, is kept beside it. The lab's engines run end to end on the
//! same file (read, decode, engine, sink: `InputPath::File`), so the figures compare like
//! with like. Without the Python packages the experiment says `SKIPPED: …` for the peer
//! that is missing and records why; it never invents a figure.
//!
//! Spark's append mode emits a window once a later batch's watermark has passed it; it has
//! no end-of-input watermark, so the windows only the end of the input would close are
//! missing from its answer. They are counted apart (`missing_at_end`): every other row
//! must be exact.

use crate::child::{query_spec, run_in_child, InputPath};
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Outcome};
use crate::w1::w1_gen;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use streamlab_core::Plan;
use streamlab_engines::runner::{read_rows, to_result_rows};
use streamlab_io::decode::decode_all;
use streamlab_measure::accuracy::compare;
use streamlab_measure::results::RawCsv;
use streamlab_measure::spread::Spread;
use streamlab_reference::Oracle;
use streamlab_workloads::gen::{generate, GenConfig};
use streamlab_workloads::W1_QUERY;

/// The PySpark job (written next to the input, so the binary runs from anywhere).
const SPARK_W1: &str = include_str!("../../../peers/spark_w1.py");
/// The PyFlink job.
const FLINK_W1: &str = include_str!("../../../peers/flink_w1.py");

/// A real engine the experiment runs: its name, the Python module it needs, its job.
struct Peer {
    name: &'static str,
    module: &'static str,
    install: &'static str,
    script: &'static str,
}

const PEERS: [Peer; 2] = [
    Peer {
        name: "spark",
        module: "pyspark",
        install: "pip install pyspark==4.3.0",
        script: SPARK_W1,
    },
    Peer {
        name: "flink",
        module: "pyflink",
        install: "pip install apache-flink==2.3.0",
        script: FLINK_W1,
    },
];

/// The Python that runs the jobs: `STREAMLAB_PEERS_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("STREAMLAB_PEERS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Why `module` cannot be imported by `python`, or None when it can.
fn missing(python: &str, module: &str) -> Option<String> {
    match Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
    {
        Ok(out) if out.status.success() => None,
        Ok(_) => Some(format!("{python} cannot import {module}")),
        Err(e) => Some(format!("cannot start {python}: {e}")),
    }
}

/// One run of a peer: what its job reported and how its answer compares.
#[derive(Clone, Debug, Serialize)]
struct PeerRun {
    events: u64,
    run_s: f64,
    /// The same job's run over a ten-line file: its fixed cost (see the module doc).
    startup_s: f64,
    /// `run_s - startup_s`: the seconds the events cost beyond the fixed start-up (a
    /// `--quick` run may not stand above its start-up's noise; then this is near 0 or
    /// below, and `throughput_eps` means nothing).
    beyond_startup_s: f64,
    /// Events over `beyond_startup_s` (at least 1 ms).
    throughput_eps: f64,
    /// Events over `run_s`.
    whole_job_eps: f64,
    first_result_s: Option<f64>,
    rows: usize,
    rows_exact: usize,
    rows_expected: usize,
    missing: usize,
    /// Missing rows of windows only the end of the input closes (Spark's append mode).
    missing_at_end: usize,
    wrong: usize,
    extra: usize,
    equals_oracle: bool,
}

/// Runs the experiment (see the module doc).
pub fn run(
    cfg: &ExperimentConfig,
    raw: &mut RawCsv,
    files: &mut Vec<(String, String)>,
) -> Result<Outcome> {
    let (events, per_batch) = if cfg.quick {
        (20_000, 5_000)
    } else {
        (5_000_000, 500_000)
    };
    // A minute of event time whatever the size, so that the stream spans six windows and
    // Spark's answer has closed windows beside the one the end of input holds open.
    let gen = GenConfig {
        rate: events as f64 / 60.0,
        ..w1_gen(events, cfg.seed)
    };
    let plan = Plan::from_toml(W1_QUERY)?;
    let dir = std::env::temp_dir().join(format!("streamlab-peers-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = (|| {
        let input = dir.join("clicks.jsonl");
        let mut bytes = Vec::new();
        generate(&gen, &mut bytes)?;
        std::fs::write(&input, &bytes)?;
        // Spark reads a directory, one file per micro-batch (maxFilesPerTrigger = 1).
        let batches = dir.join("batches");
        split_lines(&bytes, per_batch, &batches)?;
        // The ten-line run that measures a job's fixed cost (module doc).
        let ten: Vec<u8> = bytes
            .split_inclusive(|&b| b == b'\n')
            .take(10)
            .flatten()
            .copied()
            .collect();
        let tiny = dir.join("tiny.jsonl");
        std::fs::write(&tiny, &ten)?;
        let tiny_batches = dir.join("tiny-batches");
        split_lines(&ten, per_batch, &tiny_batches)?;
        let decoded = decode_all(
            bytes.as_slice(),
            "<generated>",
            &plan,
            false,
            &mut std::io::sink(),
        )?;
        let (exact, _) = Oracle::answer(&plan, &decoded.events)?;
        let exact = to_result_rows(&exact, &decoded.keys);
        // The last watermark any batch can reach: windows ending after it close only at
        // the end of input.
        let max_time = decoded
            .events
            .iter()
            .map(|e| e.time)
            .max()
            .unwrap_or(i64::MIN);
        let final_watermark = max_time.saturating_sub(plan.delay_ms);
        drop(decoded);

        let python = python();
        let mut peers = serde_json::Map::new();
        let mut skipped = serde_json::Map::new();
        for peer in &PEERS {
            if let Some(why) = missing(&python, peer.module) {
                let note = format!(
                    "SKIPPED: {} not measured: {why} ({} in the Python that STREAMLAB_PEERS_PYTHON names; peers/README.md)",
                    peer.name, peer.install
                );
                tracing::warn!("{note}");
                skipped.insert(peer.name.into(), json!(note));
                continue;
            }
            let script = dir.join(format!("{}_w1.py", peer.name));
            std::fs::write(&script, peer.script)?;
            let mut runs = Vec::new();
            for rep in 0..cfg.reps {
                tracing::info!(
                    "peers: {} W1 over {events} events, rep {}",
                    peer.name,
                    rep + 1
                );
                let out = dir.join(format!("{}-rows-{rep}.jsonl", peer.name));
                let job_input = if peer.name == "spark" {
                    &batches
                } else {
                    &input
                };
                let tiny_input = if peer.name == "spark" {
                    &tiny_batches
                } else {
                    &tiny
                };
                let startup = run_job(
                    &python,
                    &script,
                    peer.name,
                    tiny_input,
                    &dir.join("tiny-rows.jsonl"),
                )?;
                let s = run_job(&python, &script, peer.name, job_input, &out)?;
                let rows = read_rows(&out, &plan)?;
                let acc = compare(&rows, &exact, &plan);
                let actual: std::collections::BTreeSet<_> =
                    rows.iter().map(|r| (r.window, r.group.clone())).collect();
                let missing_at_end = exact
                    .iter()
                    .filter(|r| r.window.end > final_watermark)
                    .filter(|r| !actual.contains(&(r.window, r.group.clone())))
                    .count();
                let n = s["events"].as_u64().unwrap_or(0);
                let run_s = s["run_s"].as_f64().unwrap_or(f64::NAN);
                let startup_s = startup["run_s"].as_f64().unwrap_or(f64::NAN);
                let r = PeerRun {
                    events: n,
                    run_s,
                    startup_s,
                    beyond_startup_s: run_s - startup_s,
                    throughput_eps: n as f64 / (run_s - startup_s).max(1e-3),
                    whole_job_eps: n as f64 / run_s,
                    first_result_s: s["first_result_s"].as_f64(),
                    rows: rows.len(),
                    rows_exact: acc.exact,
                    rows_expected: acc.rows_expected,
                    missing: acc.missing,
                    missing_at_end,
                    wrong: acc.wrong,
                    extra: acc.extra,
                    equals_oracle: acc.is_exact(),
                };
                let setting = "query=w1;path=file";
                raw.row(peer.name, setting, rep, "throughput_eps", r.throughput_eps);
                raw.row(peer.name, setting, rep, "whole_job_eps", r.whole_job_eps);
                raw.row(peer.name, setting, rep, "run_s", r.run_s);
                raw.row(peer.name, setting, rep, "startup_s", r.startup_s);
                if let Some(f) = r.first_result_s {
                    raw.row(peer.name, setting, rep, "first_result_s", f);
                }
                raw.row(peer.name, setting, rep, "rows_exact", r.rows_exact as f64);
                raw.row(peer.name, setting, rep, "rows_missing", r.missing as f64);
                raw.row(
                    peer.name,
                    setting,
                    rep,
                    "rows_missing_at_end",
                    missing_at_end as f64,
                );
                raw.row(peer.name, setting, rep, "rows_wrong", r.wrong as f64);
                raw.row(peer.name, setting, rep, "rows_extra", r.extra as f64);
                runs.push(r);
            }
            let spread = Spread::of(&runs.iter().map(|r| r.throughput_eps).collect::<Vec<_>>());
            let firsts: Vec<f64> = runs.iter().filter_map(|r| r.first_result_s).collect();
            let first = (!firsts.is_empty()).then(|| Spread::of(&firsts));
            peers.insert(
                peer.name.into(),
                json!({"throughput_eps": spread, "first_result_s": first, "runs": runs}),
            );
        }
        // The lab's engines, end to end over the same generated file.
        let lab = interleaved(
            &engines(),
            cfg.reps,
            "query=w1;path=file",
            raw,
            |kind, rep| {
                tracing::debug!("peers: {} end to end, rep {}", kind.name(), rep + 1);
                let mut spec = query_spec(kind, W1_QUERY, &gen, None);
                spec.path = InputPath::File;
                Ok(run_in_child(&spec)?.into())
            },
        )?;
        let lab: serde_json::Map<String, serde_json::Value> = lab
            .iter()
            .map(|(e, rs)| {
                let s = Spread::of(&rs.iter().map(|r| r.throughput_eps).collect::<Vec<_>>());
                (e.clone(), json!({"throughput_eps": s}))
            })
            .collect();
        Ok::<_, anyhow::Error>((peers, skipped, lab, exact.len(), final_watermark))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let (peers, skipped, lab, expected, final_watermark) = result?;
    let table = readme_table(&peers, &skipped, &lab);
    files.push(("table.md".into(), table.clone()));
    Ok((
        json!({
            "query": "w1", "events": events, "records_per_batch": per_batch,
            "oracle_rows": expected, "final_watermark": final_watermark,
            "peers": peers, "skipped": skipped, "lab_end_to_end": lab,
            "python": python(),
        }),
        format!(
            "W1 (10 s tumbling count + sum per key, watermark 5 s, append) over {events} generated \
             clicks spanning a minute of event time, on real Spark (PySpark 4.3, local[2], 2 shuffle partitions, one file of \
             {per_batch} lines per micro-batch, trigger availableNow) and real Flink (PyFlink 2.3, \
             Table API window TVF, parallelism 1, watermark per record: auto-watermark-interval 0, \
             bounded filesystem source), the jobs of `peers/`, beside the lab's engines end to end \
             over the same file. Throughput includes reading and parsing JSON for all of them; \
             a peer's run is timed from starting its query to its end, less the same job's run \
             over ten lines (its start-up: PyFlink starts a local cluster per job), the whole \
             job beside it. \
             Spark's append mode never emits the windows only the end of input closes \
             (`missing at end`); every other row must equal the oracle's.\n\n{table}"
        ),
    ))
}

/// Runs `peer`'s job over `input` into `out` and returns the stats it wrote.
fn run_job(
    python: &str,
    script: &Path,
    peer: &str,
    input: &Path,
    out: &Path,
) -> Result<serde_json::Value> {
    let stats = out.with_extension("stats.json");
    let status = Command::new(python)
        .arg(script)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(out)
        .arg("--stats")
        .arg(&stats)
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("starting the {peer} job"))?;
    if !status.success() {
        bail!("the {peer} job failed ({status}) over {}", input.display());
    }
    let text = std::fs::read_to_string(&stats)
        .with_context(|| format!("reading the {peer} job's stats {}", stats.display()))?;
    Ok(serde_json::from_str(&text)?)
}

/// Writes `bytes`' lines into files of `per_file` lines under `dir`, each file's
/// modification time a second after the one before: Spark's file source takes files in
/// order of modification time (at millisecond resolution), so files written within one
/// millisecond would be read in any order, a later batch first, and its watermark would
/// make the earlier batches' events late (wrong and missing rows, seen here under load).
fn split_lines(bytes: &[u8], per_file: usize, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let chunks: Vec<&[u8]> = bytes.split_inclusive(|&b| b == b'\n').collect();
    let files = chunks.len().div_ceil(per_file.max(1));
    let first = std::time::SystemTime::now() - std::time::Duration::from_secs(files as u64 + 1);
    for (i, lines) in chunks.chunks(per_file.max(1)).enumerate() {
        let path: PathBuf = dir.join(format!("part-{i:06}.jsonl"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
        for line in lines {
            f.write_all(line)?;
        }
        if lines.last().is_some_and(|l| !l.ends_with(b"\n")) {
            f.write_all(b"\n")?;
        }
        let f = f.into_inner().map_err(|e| e.into_error())?;
        f.set_modified(first + std::time::Duration::from_secs(i as u64))
            .with_context(|| format!("setting the modification time of {}", path.display()))?;
    }
    Ok(())
}

fn readme_table(
    peers: &serde_json::Map<String, serde_json::Value>,
    skipped: &serde_json::Map<String, serde_json::Value>,
    lab: &serde_json::Map<String, serde_json::Value>,
) -> String {
    let m = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN) / 1e6;
    let mut t = String::from(
        "| engine | events/s end to end, beyond start-up (median, min–max) | whole job | start-up (10 lines) | first result | final answer vs oracle |\n|---|---:|---:|---:|---:|---|\n",
    );
    for (name, p) in peers {
        let tp = &p["throughput_eps"];
        let last = p["runs"]
            .as_array()
            .and_then(|r| r.last())
            .cloned()
            .unwrap_or_default();
        let answer =
            if last["equals_oracle"].as_bool() == Some(true) {
                "equal".to_string()
            } else {
                format!(
                "{} of {} exact; missing {} ({} only the end of input closes), wrong {}, extra {}",
                last["rows_exact"], last["rows_expected"], last["missing"],
                last["missing_at_end"], last["wrong"], last["extra"]
            )
            };
        let runs = p["runs"].as_array().cloned().unwrap_or_default();
        let median_of = |key: &str| {
            let v: Vec<f64> = runs.iter().filter_map(|r| r[key].as_f64()).collect();
            (!v.is_empty()).then(|| Spread::of(&v).median)
        };
        t.push_str(&format!(
            "| real {name} | {:.3}M ({:.3}–{:.3}M) | {:.3}M | {:.1} s | {} | {answer} |\n",
            m(&tp["median"]),
            m(&tp["min"]),
            m(&tp["max"]),
            median_of("whole_job_eps").unwrap_or(f64::NAN) / 1e6,
            median_of("startup_s").unwrap_or(f64::NAN),
            p["first_result_s"]["median"]
                .as_f64()
                .map_or("none".into(), |s| format!("{s:.2} s")),
        ));
    }
    for (name, why) in skipped {
        t.push_str(&format!(
            "| real {name} | {} | | | | |\n",
            why.as_str().unwrap_or("")
        ));
    }
    for (name, e) in lab {
        let tp = &e["throughput_eps"];
        t.push_str(&format!(
            "| {name} | {:.3}M ({:.3}–{:.3}M) | | | – | checked in the tests (`harness/cli/tests`) |\n",
            m(&tp["median"]),
            m(&tp["min"]),
            m(&tp["max"]),
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spark reads the batch files in order of modification time: it must be the order
    /// of the lines, whatever the clock's resolution.
    #[test]
    fn batch_files_are_modified_in_the_order_of_their_lines() {
        let dir = std::env::temp_dir().join(format!("streamlab-split-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let bytes: Vec<u8> = (0..25)
            .flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes())
            .collect();
        split_lines(&bytes, 10, &dir).unwrap();
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
        let text: String = files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(text.as_bytes(), bytes.as_slice());
        assert_eq!(files.len(), 3);
        std::fs::remove_dir_all(&dir).ok();
    }
}
