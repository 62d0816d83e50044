//! `streamlab experiment NAME`: the teaching experiments, each writing a results folder
//! that a notebook under `notebooks/` plots. `--quick` shrinks every experiment to run in
//! well under a minute (CI runs them all so notebooks never rot).
//!
//! | name | question |
//! | --- | --- |
//! | `latency-throughput` | latency percentiles against input rate, per engine and the baseline |
//! | `trigger-sweep` | micro-batch trigger interval against latency and throughput |
//! | `watermark-accuracy` | watermark delay × disorder against late drops, accuracy and latency |
//! | `output-modes` | rows emitted and latency per output mode and engine |
//! | `time-domains` | processing-time vs event-time windows under disorder, against the exact answer |
//! | `scaling` | 1 and 2 workers: throughput and events per core-second |
//! | `kafka-logs` | web logs produced to Kafka at a fixed rate, errors per service per 10 s window, end-to-end latency through the broker |
//! | `recovery` | SIGKILL at random points, restart from checkpoints: rows lost / duplicated / wrong, time to first new output, checkpoint cost ([`crate::recovery`]) |
//! | `ysb` | the Yahoo Streaming Benchmark: closed-loop throughput and window-end-to-result latency, checked against the oracle ([`crate::ysb`]) |
//! | `nexmark` | the NEXMark queries the query model expresses: closed-loop throughput beside nexmark-flink's published table, checked against the oracle ([`crate::nexmark`]) |

use crate::accuracy::compare;
use crate::bench::{measure, run_in_child, sustained, RunMetrics, RunSpec, Spread};
use crate::engines::EngineKind;
use crate::gen::{generate_to_vec, GenConfig, Workload};
use crate::input::decode_all;
use crate::oracle::Oracle;
use crate::replay::{Profile, Rate};
use crate::results::{write_folder, RawCsv};
use crate::runner::to_result_rows;
use crate::suite::record_metrics as record;
use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use streamlab_core::engine::{CollectSink, RunFlag, RunOptions};
use streamlab_core::Plan;

/// The experiments, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// Latency percentiles against input rate.
    LatencyThroughput,
    /// Micro-batch trigger interval against latency and throughput.
    TriggerSweep,
    /// Watermark delay × disorder against late drops, accuracy and latency.
    WatermarkAccuracy,
    /// Rows emitted and latency per output mode.
    OutputModes,
    /// Processing-time against event-time windows under disorder.
    TimeDomains,
    /// 1 and 2 workers.
    Scaling,
    /// Web logs through a Kafka broker, aggregated by every engine (end-to-end latency).
    KafkaLogs,
    /// Processes killed and restarted from their checkpoints.
    Recovery,
    /// The Yahoo Streaming Benchmark: throughput and window-end-to-result latency.
    Ysb,
    /// NEXMark queries: throughput beside the published nexmark-flink figures.
    Nexmark,
}

impl Experiment {
    /// The kebab-case name (folder suffix, notebook name).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// Settings common to all experiments.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentConfig {
    /// Which experiment.
    pub experiment: Experiment,
    /// Small and fast (CI).
    pub quick: bool,
    /// Input seed.
    pub seed: u64,
    /// Repetitions per point.
    pub reps: usize,
    /// The exact command line.
    pub command: String,
    /// `recovery` only: engines to kill (default: every one that checkpoints).
    pub engines: Vec<EngineKind>,
    /// `recovery` only: kills per engine.
    pub kills: Option<usize>,
    /// `recovery` only: events in the stream.
    pub events: Option<u64>,
    /// `recovery` only: distinct keys.
    pub keys: Option<u64>,
    /// `recovery` only: events between checkpoints.
    pub checkpoint_every: Option<u64>,
}

/// Engines measured (every registered engine but the oracle, baseline last).
pub(crate) fn engines() -> Vec<EngineKind> {
    let mut v: Vec<EngineKind> = EngineKind::all()
        .into_iter()
        .filter(|k| *k != EngineKind::Oracle && *k != EngineKind::Baseline)
        .collect();
    v.push(EngineKind::Baseline);
    v
}

fn takes(kind: EngineKind, flag: RunFlag) -> bool {
    kind.build().supported_flags().contains(&flag)
}

fn w1_gen(events: u64, seed: u64) -> GenConfig {
    GenConfig {
        rate: 100_000.0,
        disorder: 0.05,
        max_delay_ms: 3_000,
        ..GenConfig::new(Workload::Clicks, events, seed)
    }
}

fn spec(kind: EngineKind, gen: &GenConfig, rate: Option<f64>) -> RunSpec {
    query_spec(kind, crate::demo::W1_QUERY, gen, rate)
}

/// A measured run of `query` (TOML text) over `gen` with the engine's default options.
pub(crate) fn query_spec(
    kind: EngineKind,
    query: &str,
    gen: &GenConfig,
    rate: Option<f64>,
) -> RunSpec {
    RunSpec {
        engine: kind.name(),
        query: query.to_owned(),
        gen: gen.clone(),
        rate,
        profile: "constant".into(),
        warmup: 0.1,
        workers: None,
        max_records_per_batch: None,
        trigger: None,
        watermark_interval: None,
    }
}

/// Runs one experiment into `out`; returns the summary written.
pub fn run_experiment(cfg: &ExperimentConfig, out: &Path) -> Result<serde_json::Value> {
    let mut raw = RawCsv::new();
    let mut files = Vec::new();
    let recovery_only = !cfg.engines.is_empty()
        || cfg.kills.is_some()
        || cfg.events.is_some()
        || cfg.keys.is_some()
        || cfg.checkpoint_every.is_some();
    if recovery_only && cfg.experiment != Experiment::Recovery {
        bail!("--engine, --kills, --events, --keys and --checkpoint-every are options of `experiment recovery` only");
    }
    let measured = match cfg.experiment {
        Experiment::Recovery => crate::recovery::checkpointing(&cfg.engines)?,
        _ => engines(),
    };
    let (summary, what) = match cfg.experiment {
        Experiment::LatencyThroughput => latency_throughput(cfg, &mut raw, &mut files)?,
        Experiment::TriggerSweep => trigger_sweep(cfg, &mut raw)?,
        Experiment::WatermarkAccuracy => watermark_accuracy(cfg, &mut raw)?,
        Experiment::OutputModes => output_modes(cfg, &mut raw)?,
        Experiment::TimeDomains => time_domains(cfg, &mut raw)?,
        Experiment::Scaling => scaling(cfg, &mut raw)?,
        Experiment::KafkaLogs => kafka_logs(cfg, &mut raw)?,
        Experiment::Ysb => crate::ysb::run(cfg, &mut raw, &mut files)?,
        Experiment::Nexmark => crate::nexmark::run(cfg, &mut raw, &mut files)?,
        Experiment::Recovery => crate::recovery::run(
            &crate::recovery::RecoveryConfig {
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
    eprintln!("streamlab experiment: results in {}", out.display());
    Ok(summary)
}

/// What an experiment returns: its summary and the paragraph of its README.
pub(crate) type Outcome = (serde_json::Value, String);

/// Closed-loop max throughput of every engine in `engines` over `gen`: `reps` runs each,
/// every run in its own process, engines interleaved (A B C A B C); each run is recorded
/// in `raw` under `setting`.
pub(crate) fn closed_loop(
    label: &str,
    query: &str,
    gen: &GenConfig,
    engines: &[EngineKind],
    reps: usize,
    setting: &str,
    raw: &mut RawCsv,
) -> Result<std::collections::BTreeMap<String, Vec<RunMetrics>>> {
    let mut runs: std::collections::BTreeMap<String, Vec<RunMetrics>> = Default::default();
    for rep in 0..reps {
        for &kind in engines {
            eprintln!("{label}: {} closed loop, rep {}", kind.name(), rep + 1);
            let m = run_in_child(&query_spec(kind, query, gen, None))?;
            record(raw, &m, setting, rep);
            runs.entry(kind.name()).or_default().push(m);
        }
    }
    Ok(runs)
}

/// Per engine: throughput median/min/max, median events per core-second and the ratio of
/// the median to the baseline's median (when the baseline ran).
pub(crate) fn throughput_table(
    runs: &std::collections::BTreeMap<String, Vec<RunMetrics>>,
) -> serde_json::Value {
    let spread = |rs: &[RunMetrics], f: fn(&RunMetrics) -> f64| {
        Spread::of(&rs.iter().map(f).collect::<Vec<_>>())
    };
    let baseline = runs
        .get(&EngineKind::Baseline.name())
        .map(|rs| spread(rs, |r| r.throughput_eps).median);
    let mut table = serde_json::Map::new();
    for (engine, rs) in runs {
        let throughput = spread(rs, |r| r.throughput_eps);
        table.insert(
            engine.clone(),
            json!({
                "throughput_eps": throughput,
                "events_per_core_s": spread(rs, |r| r.events_per_core_s).median,
                "cores_used": spread(rs, |r| r.cores_used).median,
                "ratio_to_baseline": baseline.filter(|b| *b > 0.0).map(|b| throughput.median / b),
                "reps": rs.len(),
            }),
        );
    }
    serde_json::Value::Object(table)
}

fn latency_throughput(
    cfg: &ExperimentConfig,
    raw: &mut RawCsv,
    files: &mut Vec<(String, String)>,
) -> Result<Outcome> {
    let (events, rates): (u64, Vec<f64>) = if cfg.quick {
        (300_000, vec![250_000.0, 1_000_000.0, 4_000_000.0])
    } else {
        (
            10_000_000,
            vec![250e3, 500e3, 1e6, 2e6, 4e6, 8e6, 16e6, 32e6],
        )
    };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    for &rate in &rates {
        for rep in 0..cfg.reps {
            for kind in engines() {
                eprintln!(
                    "latency-throughput: {} at {rate:.0}/s, rep {}",
                    kind.name(),
                    rep + 1
                );
                let m = run_in_child(&spec(kind, &gen, Some(rate)))?;
                let setting = format!("rate={rate}");
                record(raw, &m, &setting, rep);
                let (ok, why) = sustained(&m, rate, Duration::from_secs(1));
                if rep == 0 {
                    if let Some(h) = &m.hgrm {
                        files.push((format!("{}-rate{rate:.0}.hgrm", kind.name()), h.clone()));
                    }
                }
                points.push(json!({
                    "engine": kind.name(), "rate": rate, "rep": rep,
                    "throughput_eps": m.throughput_eps, "latency_us": m.latency_us,
                    "sustained": ok, "why_not": why,
                }));
            }
        }
    }
    // Closed loop: each engine's max throughput.
    let mut max = serde_json::Map::new();
    for kind in engines() {
        let runs: Vec<RunMetrics> = (0..cfg.reps)
            .map(|_| run_in_child(&spec(kind, &gen, None)))
            .collect::<Result<_>>()?;
        for (rep, m) in runs.iter().enumerate() {
            record(raw, m, "rate=max", rep);
        }
        max.insert(
            kind.name(),
            json!(Spread::of(
                &runs.iter().map(|r| r.throughput_eps).collect::<Vec<_>>()
            )),
        );
    }
    Ok((
        json!({"events": events, "rates": rates, "points": points, "max_throughput_eps": max,
               "reference": {"spark_4_3_local2": {"throughput_eps": [910000, 1000000], "batch_s": 1.0},
                              "flink_2_3_parallelism2": {"throughput_eps": [560000, 640000]}}}),
        format!(
            "W1 (10 s tumbling count+sum per key, 10k keys, watermark 5 s, 5 % disorder) over {events} \
             events, open loop at each rate, latency from scheduled arrival. A point is *sustained* \
             when p99 < 1 s and the backlog does not grow. Reference points measured on this \
             machine kind: real Spark 4.3 (local[2]) 0.91–1.00M events/s at ~1 s per batch, real \
             Flink 2.3 (parallelism 2) 0.56–0.64M events/s."
        ),
    ))
}

fn trigger_sweep(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let kind = engines()
        .into_iter()
        .find(|k| takes(*k, RunFlag::Trigger))
        .ok_or_else(|| anyhow::anyhow!("trigger-sweep needs an engine with --trigger (the micro-batch engine); none is registered"))?;
    let (events, rate, triggers): (u64, f64, Vec<&str>) = if cfg.quick {
        (200_000, 200_000.0, vec!["10ms", "100ms", "500ms"])
    } else {
        (
            5_000_000,
            500_000.0,
            vec!["10ms", "50ms", "100ms", "250ms", "500ms", "1s", "2s", "5s"],
        )
    };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    for trigger in &triggers {
        for rep in 0..cfg.reps {
            eprintln!("trigger-sweep: {trigger}, rep {}", rep + 1);
            let mut s = spec(kind, &gen, Some(rate));
            s.trigger = Some((*trigger).to_owned());
            let m = run_in_child(&s)?;
            record(raw, &m, &format!("trigger={trigger}"), rep);
            points.push(
                json!({"trigger": trigger, "rep": rep, "throughput_eps": m.throughput_eps,
                               "latency_us": m.latency_us, "cpu_s": m.cpu_s}),
            );
        }
    }
    Ok((
        json!({"engine": kind.name(), "rate": rate, "events": events, "points": points}),
        format!(
            "The micro-batch engine on W1 at {rate:.0} events/s with processing-time triggers from \
             {} to {}: a batch cannot emit before its trigger fires, so latency grows with the \
             interval while per-batch overhead shrinks.",
            triggers[0],
            triggers[triggers.len() - 1]
        ),
    ))
}

/// Decodes generated bytes for `plan` and computes the exact answer as comparable rows.
fn decode_with_exact(
    bytes: &[u8],
    plan: &Plan,
) -> Result<(crate::input::DecodedInput, Vec<streamlab_core::ResultRow>)> {
    let input = decode_all(bytes, "<generated>", plan, false, &mut std::io::sink())?;
    let (exact, _) = Oracle::answer(plan, &input.events)?;
    let exact = to_result_rows(&exact, &input.keys);
    Ok((input, exact))
}

/// Runs `kind` over `events` at `rate`, returning metrics and the comparable rows.
fn run_collect(
    kind: EngineKind,
    plan: &Plan,
    input: &crate::input::DecodedInput,
    rate: Rate,
    options: &RunOptions,
) -> Result<(RunMetrics, Vec<streamlab_core::ResultRow>)> {
    let collect = CollectSink::default();
    let engine = kind.build();
    let m = measure(
        engine.as_ref(),
        plan,
        options,
        input.events.clone(),
        rate,
        &Profile::Constant,
        0.1,
        Some(Box::new(collect.clone())),
    )?;
    Ok((m, to_result_rows(&collect.rows(), &input.keys)))
}

fn query(window: &str, mode: &str, delay_ms: i64, time: &str) -> Result<(String, Plan)> {
    let text = format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = {delay_ms}\n\
         [window]\n{window}\ntime = \"{time}\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n"
    );
    let plan = Plan::from_toml(&text)?;
    Ok((text, plan))
}

fn watermark_accuracy(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let (events, delays, disorders): (u64, Vec<i64>, Vec<f64>) = if cfg.quick {
        (100_000, vec![0, 2_000, 8_000], vec![0.05, 0.3])
    } else {
        (
            2_000_000,
            vec![0, 500, 1_000, 2_000, 4_000, 8_000, 16_000],
            vec![0.01, 0.05, 0.2, 0.5],
        )
    };
    let rate = 1_000_000.0;
    let mut points = Vec::new();
    for &disorder in &disorders {
        // Always 20 s of event time: two full 10 s windows whatever the event count.
        let gen = GenConfig {
            rate: events as f64 / 20.0,
            disorder,
            max_delay_ms: 8_000,
            keys: 1_000,
            ..GenConfig::new(Workload::Clicks, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        for &delay in &delays {
            let (_, plan) = query(
                "kind = \"tumbling\"\nsize = \"10s\"",
                "append",
                delay,
                "event",
            )?;
            let (input, exact) = decode_with_exact(&bytes, &plan)?;
            for rep in 0..cfg.reps {
                for kind in engines() {
                    eprintln!(
                        "watermark-accuracy: disorder {disorder}, delay {delay} ms, {}",
                        kind.name()
                    );
                    let (m, rows) = run_collect(
                        kind,
                        &plan,
                        &input,
                        Rate::PerSecond(rate),
                        &RunOptions::default(),
                    )?;
                    let acc = compare(&rows, &exact, &plan);
                    let setting = format!("disorder={disorder};delay_ms={delay}");
                    record(raw, &m, &setting, rep);
                    raw.row(&m.engine, &setting, rep, "rows_exact", acc.exact as f64);
                    raw.row(&m.engine, &setting, rep, "rows_missing", acc.missing as f64);
                    raw.row(&m.engine, &setting, rep, "rows_wrong", acc.wrong as f64);
                    raw.row(
                        &m.engine,
                        &setting,
                        rep,
                        "relative_error_n",
                        acc.relative_error["n"],
                    );
                    points.push(
                        json!({"engine": kind.name(), "rep": rep, "disorder": disorder, "delay_ms": delay,
                                       "late_dropped": m.late_dropped, "accuracy": acc,
                                       "latency_us": m.latency_us}),
                    );
                }
            }
        }
    }
    Ok((
        json!({"events": events, "rate": rate, "max_disorder_delay_ms": 8000, "points": points}),
        format!(
            "Clicks (20 s of event time) with a fraction of events up to 8 s out of order, 10 s \
             tumbling count+sum per key (1k keys), append mode, replayed at {rate:.0} events/s. For each watermark delay: events \
             dropped as late, final rows against the exact answer (exact / missing / wrong, relative \
             error of the count), and latency. A longer delay drops less and waits longer."
        ),
    ))
}

fn output_modes(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let events = if cfg.quick { 100_000 } else { 2_000_000 };
    let rate = if cfg.quick { 200_000.0 } else { 500_000.0 };
    let gen = GenConfig {
        rate: events as f64 / 30.0,
        disorder: 0.05,
        max_delay_ms: 3_000,
        keys: 1_000,
        ..GenConfig::new(Workload::Clicks, events, cfg.seed)
    };
    let (bytes, _) = generate_to_vec(&gen)?;
    let mut points = Vec::new();
    for mode in ["append", "update", "complete"] {
        let (_, plan) = query("kind = \"tumbling\"\nsize = \"10s\"", mode, 5_000, "event")?;
        let (input, exact) = decode_with_exact(&bytes, &plan)?;
        for rep in 0..cfg.reps {
            for kind in engines() {
                eprintln!("output-modes: {mode}, {}", kind.name());
                let (m, rows) = run_collect(
                    kind,
                    &plan,
                    &input,
                    Rate::PerSecond(rate),
                    &RunOptions::default(),
                )?;
                let acc = compare(&rows, &exact, &plan);
                record(raw, &m, &format!("mode={mode}"), rep);
                points.push(
                    json!({"engine": kind.name(), "rep": rep, "mode": mode, "rows_out": m.rows_out,
                                   "final_rows": acc.rows_actual, "exact": acc.is_exact(),
                                   "latency_us": m.latency_us, "late_dropped": m.late_dropped}),
                );
            }
        }
    }
    Ok((
        json!({"events": events, "rate": rate, "points": points}),
        format!(
            "30 s of clicks, 10 s tumbling count+sum per key (1k keys, 5 % disorder within the 5 s watermark) at \
             {rate:.0} events/s in each output mode: how many rows each engine emits for the same \
             final answer, and how soon (append waits for the watermark; update emits every change; \
             complete re-emits the whole table)."
        ),
    ))
}

fn time_domains(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    // Event times follow the replay clock (event i happens at its scheduled arrival), so a
    // processing-time window holds the events handled in it; out-of-order events are handled
    // after their event time and may land in a later processing-time window.
    let (events, rate, disorders): (u64, f64, Vec<f64>) = if cfg.quick {
        (150_000, 50_000.0, vec![0.0, 0.2])
    } else {
        (1_500_000, 100_000.0, vec![0.0, 0.05, 0.2, 0.5])
    };
    let max_delay = 800;
    let mut points = Vec::new();
    for &disorder in &disorders {
        let gen = GenConfig {
            rate,
            disorder,
            max_delay_ms: max_delay,
            keys: 100,
            ..GenConfig::new(Workload::Likes, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        for time in ["processing", "event"] {
            let text = format!(
                "event_time = \"ts\"\ngroup_by = [\"video\"]\noutput_mode = \"append\"\n[watermark]\ndelay = {max_delay}\n\
                 [window]\nkind = \"tumbling\"\nsize = \"1s\"\ntime = \"{time}\"\n[[aggregate]]\nfn = \"count\"\nas = \"likes\"\n"
            );
            let plan = Plan::from_toml(&text)?;
            for rep in 0..cfg.reps {
                for kind in engines() {
                    let mut input = decode_all(
                        bytes.as_slice(),
                        "<generated>",
                        &plan,
                        false,
                        &mut std::io::sink(),
                    )?;
                    eprintln!(
                        "time-domains: disorder {disorder}, {time} time, {}",
                        kind.name()
                    );
                    // Align event time with the replay clock just before the replay starts:
                    // event 0 happens now, event i at its scheduled arrival.
                    let shift = streamlab_core::engine::processing_time_ms() - gen.start_ms;
                    for e in &mut input.events {
                        e.time += shift;
                    }
                    let (m, rows) = run_collect(
                        kind,
                        &plan,
                        &input,
                        Rate::PerSecond(rate),
                        &RunOptions::default(),
                    )?;
                    let (exact, _) = Oracle::answer(&plan, &input.events)?;
                    let exact = to_result_rows(&exact, &input.keys);
                    let acc = compare(&rows, &exact, &plan);
                    let setting = format!("disorder={disorder};time={time}");
                    record(raw, &m, &setting, rep);
                    raw.row(
                        &m.engine,
                        &setting,
                        rep,
                        "relative_error_likes",
                        acc.relative_error["likes"],
                    );
                    raw.row(&m.engine, &setting, rep, "rows_exact", acc.exact as f64);
                    points.push(
                        json!({"engine": kind.name(), "rep": rep, "disorder": disorder, "time": time,
                                       "accuracy": acc, "late_dropped": m.late_dropped}),
                    );
                }
            }
        }
    }
    Ok((
        json!({"events": events, "rate": rate, "max_delay_ms": max_delay, "points": points}),
        format!(
            "The likes example: likes per video per 1 s window, replayed at {rate:.0} events/s with \
             event times following the replay clock; a fraction of events is handled up to \
             {max_delay} ms after it happened. Processing-time windows count each like in the window \
             it was handled in; event-time windows (watermark {max_delay} ms) in the window it \
             happened in. Both are compared with the exact event-time answer. Processing-time \
             results depend on the run by nature."
        ),
    ))
}

fn scaling(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let events = if cfg.quick { 300_000 } else { 10_000_000 };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    let mut any = false;
    for kind in engines() {
        let worker_counts: Vec<Option<usize>> = if takes(kind, RunFlag::Workers) {
            any = true;
            vec![Some(1), Some(2)]
        } else {
            vec![None]
        };
        for workers in worker_counts {
            for rep in 0..cfg.reps {
                eprintln!(
                    "scaling: {} with {:?} workers, rep {}",
                    kind.name(),
                    workers,
                    rep + 1
                );
                let mut s = spec(kind, &gen, None);
                s.workers = workers;
                let m = run_in_child(&s)?;
                record(raw, &m, &format!("workers={}", workers.unwrap_or(1)), rep);
                points.push(json!({"engine": kind.name(), "workers": workers.unwrap_or(1), "rep": rep,
                                   "throughput_eps": m.throughput_eps, "cpu_s": m.cpu_s,
                                   "events_per_core_s": m.events_per_core_s, "cores_used": m.cores_used}));
            }
        }
    }
    if !any {
        bail!("scaling needs an engine with --workers; none is registered");
    }
    Ok((
        json!({"events": events, "points": points}),
        format!(
            "W1 closed loop over {events} events with 1 and 2 workers: throughput, cores used and \
             events per core-second (the number that compares fairly across worker counts; the \
             baseline is one thread)."
        ),
    ))
}

fn kafka_logs(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    use crate::kafka::{ensure_topic, partitions, Broker, KafkaAddr, LineProducer, Start};
    use crate::metrics::{LatencyRecorder, MeasuringSink, Percentiles};
    use std::sync::{Arc, Mutex};
    use std::time::{Instant, SystemTime, UNIX_EPOCH};

    let broker = Broker::find_or_start()?;
    let (rate, secs) = if cfg.quick {
        (5_000.0, 4.0)
    } else {
        (20_000.0, 60.0)
    };
    let events = (rate * secs) as u64;
    let query = include_str!("../../queries/logs_errors.toml");
    let plan = Plan::from_toml(query)?;
    let mut points = Vec::new();
    for kind in engines() {
        let topic = format!("logs-{}-{}-{}", kind.name(), std::process::id(), cfg.seed);
        ensure_topic(&broker.addr, &topic, 3)?;
        let addr = KafkaAddr {
            brokers: broker.addr.clone(),
            topic: topic.clone(),
            group: topic.clone(),
            start: Start::Earliest,
            // The count is known: the run does not depend on the end markers arriving.
            events: Some(events),
        };
        let keys = Arc::new(streamlab_core::KeyTable::default());
        let parts = partitions(&broker.addr, &topic)?;
        let source = crate::kafka::kafka_source(&plan, keys.clone(), false, addr, parts);
        let stats = source.stats();
        // Latency runs from each line's scheduled send time (its Kafka timestamp, ms since
        // the epoch) to the emission; append rows are charged to the line that raised the
        // watermark past the window end, as the reader saw them arrive.
        let (base_instant, base_ms) = (
            Instant::now(),
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64,
        );
        let due = {
            let stats = stats.clone();
            move |seq: u64| {
                let produced = stats.produced_ms.lock().unwrap_or_else(|e| e.into_inner());
                let ms = produced.get(seq as usize).copied().unwrap_or(base_ms);
                base_instant + Duration::from_millis(ms.saturating_sub(base_ms).max(0) as u64)
            }
        };
        let append = {
            let stats = stats.clone();
            let delay = plan.delay_ms;
            move |end: i64| {
                let steps = stats.max_steps.lock().unwrap_or_else(|e| e.into_inner());
                crate::metrics::trigger_in(&steps, delay, end).or(steps.last().map(|&(_, q)| q))
            }
        };
        let recorder = Arc::new(Mutex::new(LatencyRecorder::with_lookup(
            due,
            append,
            events / 10,
        )));
        let collect = CollectSink::default();
        let sink = MeasuringSink::new(recorder.clone(), Some(Box::new(collect.clone())));
        // Producer: generated logs whose event times are their scheduled send times.
        let start_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64 + 100;
        let gen = GenConfig {
            rate,
            start_ms,
            ..GenConfig::new(Workload::Logs, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        let lines: Vec<Vec<u8>> = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let brokers = broker.addr.clone();
        let producer_topic = topic.clone();
        let produce_paced = move || -> Result<Instant> {
            let mut p = LineProducer::new(&brokers, &producer_topic, 3)?;
            let schedule = crate::replay::Schedule::new(rate, &Profile::Constant);
            let t0 = base_instant + Duration::from_millis((start_ms - base_ms).max(0) as u64);
            for (i, line) in lines.iter().enumerate() {
                let at = schedule.arrival(i as u64);
                let due = t0 + at;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                p.send_at(line, None, None, Some(start_ms + at.as_millis() as i64))?;
            }
            p.finish()?;
            Ok(Instant::now())
        };
        // A failed producer ends the run at once (the engine would wait for lines that
        // never come).
        let producer_failed = Arc::new(Mutex::new(None::<String>));
        let failed = producer_failed.clone();
        let producer = std::thread::spawn(move || -> Result<Instant> {
            let r = produce_paced();
            if let Err(e) = &r {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{e:#}"));
            }
            r
        });
        eprintln!(
            "kafka-logs: {} reading {topic} while {events} logs are produced at {rate:.0}/s",
            kind.name()
        );
        let started = Instant::now();
        // A stalled broker or consumer must end the experiment with an error, not hang
        // it: the engine runs on its own thread, waited for up to the produce time + 60 s.
        let (tx, rx) = std::sync::mpsc::channel();
        let engine_plan = plan.clone();
        std::thread::spawn(move || {
            let r = kind.build().run(
                &engine_plan,
                &RunOptions::default(),
                Box::new(source),
                Box::new(sink),
            );
            let _ = tx.send(r);
        });
        let deadline = Instant::now() + Duration::from_secs_f64(secs + 60.0);
        let summary = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => break r?,
                Err(_) if producer_failed.lock().unwrap_or_else(|e| e.into_inner()).is_some() => {
                    let why = producer_failed.lock().unwrap_or_else(|e| e.into_inner()).take();
                    anyhow::bail!(
                        "kafka-logs: producing to {topic} failed: {}",
                        why.unwrap_or_default()
                    )
                }
                Err(_) if Instant::now() > deadline => anyhow::bail!(
                    "kafka-logs: {} had read {} of {events} logs from {topic} {:.0} s after the producer \
                     started sending them (over {secs:.0} s): the broker or the consumer stalled",
                    kind.name(),
                    stats.events.load(std::sync::atomic::Ordering::Relaxed)
                        + stats.malformed.load(std::sync::atomic::Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                ),
                Err(_) => {}
            }
        };
        let done = Instant::now();
        let elapsed = (done - started).as_secs_f64();
        let produced_at = producer
            .join()
            .map_err(|_| anyhow::anyhow!("the producer thread panicked"))??;
        let drain_s = done.saturating_duration_since(produced_at).as_secs_f64();
        eprintln!(
            "kafka-logs: {} finished {drain_s:.3} s after the producer delivered its last line",
            kind.name()
        );
        let rows = to_result_rows(&collect.rows(), &keys);
        let input = decode_all(
            bytes.as_slice(),
            "<generated>",
            &plan,
            false,
            &mut std::io::sink(),
        )?;
        let (exact, _) = Oracle::answer(&plan, &input.events)?;
        let acc = compare(&rows, &to_result_rows(&exact, &input.keys), &plan);
        let lat = Percentiles::of(
            recorder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .histogram(),
        );
        let setting = format!("rate={rate}");
        let mut put = |metric: &str, v: f64| raw.row(&kind.name(), &setting, 0, metric, v);
        put("throughput_eps", summary.events_in as f64 / elapsed);
        put("latency_p50_us", lat.p50 as f64);
        put("latency_p99_us", lat.p99 as f64);
        put("latency_max_us", lat.max as f64);
        put("late_dropped", summary.late_dropped as f64);
        put("drain_s", drain_s);
        put("rows_exact", acc.exact as f64);
        put("relative_error_errors", acc.relative_error["errors"]);
        points.push(json!({"engine": kind.name(), "events_in": summary.events_in, "elapsed_s": elapsed, "drain_s": drain_s,
                           "latency_us": lat, "late_dropped": summary.late_dropped, "accuracy": acc}));
    }
    Ok((
        json!({"events": events, "rate": rate, "partitions": 3, "broker": "tansu (Kafka protocol, in memory)", "points": points}),
        format!(
            "The seed's practice: web logs produced to a 3-partition Kafka topic at {rate:.0} events/s for \
             {secs:.0} s (event time = scheduled send time), every engine reading the topic and counting \
             errors per service per 10 s window (queries/logs_errors.toml). Latency is end to end: from \
             the scheduled send of the triggering log line, through the broker, to the result row. \
             Answers are compared with the oracle over the same lines."
        ),
    ))
}
