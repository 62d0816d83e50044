//! `streamlab experiment NAME`: the teaching experiments, each writing a results folder
//! that a notebook under `notebooks/` plots. `--quick` shrinks every experiment to run in
//! well under a minute (CI runs them all so notebooks never rot).
//!
//! | name | question |
//! | --- | --- |
//! | `latency-throughput` | latency percentiles against input rate, per engine and the baseline | ([`crate::latency_throughput`])
//! | `trigger-sweep` | micro-batch trigger interval against latency and throughput | ([`crate::trigger_sweep`])
//! | `watermark-accuracy` | watermark delay × disorder against late drops, accuracy and latency | ([`crate::watermark_accuracy`])
//! | `output-modes` | rows emitted and latency per output mode and engine | ([`crate::output_modes`])
//! | `time-domains` | processing-time vs event-time windows under disorder, against the exact answer | ([`crate::time_domains`])
//! | `scaling` | 1 and 2 workers: throughput and events per core-second | ([`crate::scaling`])
//! | `kafka-logs` | web logs produced to Kafka at a fixed rate, errors per service per 10 s window, end-to-end latency through the broker | (`kafka_logs`, cargo feature `kafka`)
//! | `recovery` | SIGKILL at random points, restart from checkpoints: rows lost / duplicated / wrong, time to first new output, checkpoint cost ([`crate::recovery`]) |
//! | `checkpoint-interval` | checkpoint interval and state size against throughput (sync, async, incremental), checkpoint bytes and recovery time after a kill ([`crate::checkpoint_interval`]) |
//! | `ysb` | the Yahoo Streaming Benchmark: closed-loop throughput and window-end-to-result latency, checked against the oracle ([`crate::ysb`]) |
//! | `nexmark` | the NEXMark queries the query model expresses: closed-loop throughput beside nexmark-flink's published table, checked against the oracle ([`crate::nexmark`]) |
//! | `peers` | W1 on real Spark (PySpark 4.3) and real Flink (PyFlink 2.3), the jobs of `peers/`, beside the lab's engines end to end: throughput, first result, answer against the oracle ([`crate::peers`]) |

use crate::config::{Experiment, ExperimentConfig};
use crate::sweep::{engines, Outcome};
use crate::{
    checkpoint_interval, latency_throughput, nexmark, output_modes, peers, recovery, scaling,
    time_domains, trigger_sweep, watermark_accuracy, ysb,
};
use anyhow::{bail, Result};
use std::path::Path;
use streamlab_measure::results::{write_folder, RawCsv};

/// Runs one experiment into `out`; returns the summary written.
pub fn run_experiment(cfg: &ExperimentConfig, out: &Path) -> Result<serde_json::Value> {
    let mut raw = RawCsv::new();
    let mut files = Vec::new();
    let recovery_only = !cfg.engines.is_empty()
        || cfg.kills.is_some()
        || cfg.events.is_some()
        || cfg.keys.is_some()
        || cfg.checkpoint_every.is_some();
    if !cfg.intervals_ms.is_empty() && cfg.experiment != Experiment::CheckpointInterval {
        bail!("--intervals-ms is an option of `experiment checkpoint-interval` only");
    }
    if cfg.intervals_ms.contains(&0) {
        bail!("--intervals-ms: an interval must be at least 1 ms");
    }
    let interval_options = cfg.kills.is_none() && cfg.checkpoint_every.is_none();
    if recovery_only
        && cfg.experiment != Experiment::Recovery
        && !(cfg.experiment == Experiment::CheckpointInterval && interval_options)
    {
        bail!("--engine, --kills, --events, --keys and --checkpoint-every are options of `experiment recovery` only (`checkpoint-interval` takes --engine, --events and --keys)");
    }
    let measured = match cfg.experiment {
        Experiment::Recovery | Experiment::CheckpointInterval => {
            recovery::checkpointing(&cfg.engines)?
        }
        _ => engines(),
    };
    let (summary, what) = match cfg.experiment {
        Experiment::LatencyThroughput => latency_throughput::run(cfg, &mut raw, &mut files)?,
        Experiment::TriggerSweep => trigger_sweep::run(cfg, &mut raw)?,
        Experiment::WatermarkAccuracy => watermark_accuracy::run(cfg, &mut raw)?,
        Experiment::OutputModes => output_modes::run(cfg, &mut raw)?,
        Experiment::TimeDomains => time_domains::run(cfg, &mut raw)?,
        Experiment::Scaling => scaling::run(cfg, &mut raw)?,
        Experiment::KafkaLogs => kafka_logs(cfg, &mut raw)?,
        Experiment::Ysb => ysb::run(cfg, &mut raw, &mut files)?,
        Experiment::Nexmark => nexmark::run(cfg, &mut raw, &mut files)?,
        Experiment::Peers => peers::run(cfg, &mut raw, &mut files)?,
        Experiment::Recovery => recovery::run(
            &recovery::RecoveryConfig {
                engines: measured.clone(),
                kills: cfg.kills.unwrap_or(if cfg.quick { 5 } else { 100 }),
                events: cfg
                    .events
                    .unwrap_or(if cfg.quick { 100_000 } else { 1_000_000 }),
                seed: cfg.seed,
                keys: cfg.keys.unwrap_or(1_000),
                checkpoint_every: cfg.checkpoint_every.unwrap_or(2_000),
            },
            &mut raw,
        )?,
        Experiment::CheckpointInterval => checkpoint_interval::run(
            &checkpoint_interval::IntervalConfig {
                engines: measured.clone(),
                events: cfg
                    .events
                    .unwrap_or(if cfg.quick { 150_000 } else { 2_000_000 }),
                keys: match cfg.keys {
                    Some(k) => vec![k],
                    None if cfg.quick => vec![1_000, 50_000],
                    None => vec![1_000, 100_000, 1_000_000],
                },
                intervals_ms: if !cfg.intervals_ms.is_empty() {
                    cfg.intervals_ms.clone()
                } else if cfg.quick {
                    vec![100, 1_000]
                } else {
                    vec![100, 1_000, 10_000]
                },
                reps: cfg.reps,
                seed: cfg.seed,
            },
            &mut raw,
        )?,
    };
    let readme = format!(
        "# streamlab experiment {}\n\nCommand:\n\n    {}\n\n{what}\n\nEngines: {}.{}\n\n\
         Files: `raw.csv` (one row per engine, setting, repetition, metric), `summary.json`,\n\
         `config.toml`, `machine.json`{}. Plotted by `notebooks/{}.ipynb`.\n",
        cfg.experiment.name(),
        cfg.command,
        measured
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", "),
        if cfg.quick {
            "\n\n**Quick run** (`--quick`): small inputs, for CI; not for conclusions."
        } else {
            ""
        },
        if files.iter().any(|(name, _)| name.ends_with(".hgrm")) {
            ", `*.hgrm` latency histograms"
        } else {
            ""
        },
        cfg.experiment.name()
    );
    // The recovery experiment runs each engine once (its kills are the repetitions).
    let written = ExperimentConfig {
        reps: if cfg.experiment == Experiment::Recovery {
            1
        } else {
            cfg.reps
        },
        ..cfg.clone()
    };
    write_folder(out, &readme, &written, &raw, &summary, &files)?;
    let (runs, took) = crate::runs::end();
    tracing::info!(
        "streamlab experiment: {runs} runs in {}, results in {}",
        crate::runs::duration(took),
        out.display()
    );
    Ok(summary)
}

/// `experiment kafka-logs` (cargo feature `kafka`).
#[cfg(feature = "kafka")]
fn kafka_logs(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    crate::kafka_logs::run(cfg, raw)
}

/// `experiment kafka-logs` in a build without Kafka: an error saying so.
#[cfg(not(feature = "kafka"))]
fn kafka_logs(_: &ExperimentConfig, _: &mut RawCsv) -> Result<Outcome> {
    Err(streamlab_io::address::without_kafka(
        "experiment kafka-logs",
    ))
}
