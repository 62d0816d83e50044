//! A measured run in a child process of this binary, so that CPU and peak memory belong to
//! one engine: its spec (passed as JSON), the child's side (`streamlab bench-run`) and the
//! parent's.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use streamlab_core::engine::RunOptions;
use streamlab_core::Plan;
use streamlab_engines::{EngineConfigs, EngineKind};
use streamlab_io::decode::decode_generated;
use streamlab_io::pipeline::source::StreamSource;
use streamlab_io::pipeline::{DecodeOptions, LineStream};
use streamlab_io::sink::JsonLinesSink;
use streamlab_measure::measured::{measure, RunMetrics};
use streamlab_measure::metrics::{self, Usage};
use streamlab_measure::replay::{Profile, Rate};
use streamlab_workloads::gen::{
    generate, generate_csv, generate_to_vec, with_generated_table, GenConfig,
};

/// The name of the hand-written W1 loop in `bench` (not a registered engine: it answers
/// W1's shape only; see `streamlab_reference::HandW1`).
pub const HAND: &str = "hand";

/// Everything one measured run needs; passed to the child process as JSON.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunSpec {
    /// Engine name (registry).
    pub engine: String,
    /// The query, as TOML text.
    pub query: String,
    /// The generated input.
    pub gen: GenConfig,
    /// Events per second, or None for closed loop (max throughput).
    pub rate: Option<f64>,
    /// Rate profile (`constant`, `step:…`, `burst:…`).
    pub profile: String,
    /// Fraction of events treated as warm-up.
    pub warmup: f64,
    /// The path from the input to the engine.
    #[serde(default)]
    pub path: InputPath,
    /// The engine flags given (each to an engine that takes it).
    #[serde(flatten)]
    pub flags: EngineFlags,
}

/// The path a measured run's input takes to the engine.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum InputPath {
    /// Engine only: the input generated and decoded in memory first, then replayed
    /// (closed loop or at a rate); what the engine itself costs.
    #[default]
    Decoded,
    /// End to end: the input generated into a file first, then the whole of
    /// `streamlab run` timed: reading, decoding (the pipeline, while the engine runs), the
    /// engine and the JSON Lines sink (formatting every row, writing none). Closed loop.
    File,
    /// End to end as [`InputPath::File`], from the same events written as CSV with a
    /// header (`streamlab gen --format csv`), read as CSV: the files Spark's and Flink's
    /// CSV sources read.
    Csv,
}

impl std::fmt::Display for InputPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InputPath::Decoded => "decoded",
            InputPath::File => "file",
            InputPath::Csv => "csv",
        })
    }
}

/// The engine flags a measured run passes on; `None`: the engine's default. A suite gives
/// every engine the flags it takes ([`EngineFlags::taken_by`]).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct EngineFlags {
    /// `--workers`, when given.
    pub workers: Option<usize>,
    /// `--max-records-per-batch`, when given.
    pub max_records_per_batch: Option<usize>,
    /// `--trigger`, when given.
    pub trigger: Option<String>,
    /// `--watermark-interval`, when given.
    pub watermark_interval: Option<u64>,
}

impl EngineFlags {
    /// The run options these flags make (the ones every engine can mean).
    pub fn options(&self) -> RunOptions {
        RunOptions {
            workers: self.workers,
            ..Default::default()
        }
    }

    /// The engines' own knobs these flags set.
    pub fn configs(&self) -> Result<EngineConfigs> {
        let mut configs = EngineConfigs::default();
        configs.microbatch.max_records_per_batch = self.max_records_per_batch;
        configs.microbatch.trigger = self
            .trigger
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        configs.record.watermark_interval = self.watermark_interval;
        Ok(configs)
    }

    /// The flags engine `kind` takes; the others left out.
    pub fn taken_by(&self, kind: EngineKind) -> EngineFlags {
        let takes = |flag: &str| kind.takes(flag);
        EngineFlags {
            workers: self.workers.filter(|_| takes("--workers")),
            max_records_per_batch: self
                .max_records_per_batch
                .filter(|_| takes("--max-records-per-batch")),
            trigger: self.trigger.clone().filter(|_| takes("--trigger")),
            watermark_interval: self
                .watermark_interval
                .filter(|_| takes("--watermark-interval")),
        }
    }
}

impl RunSpec {
    fn kind(&self) -> Result<EngineKind> {
        <EngineKind as clap::ValueEnum>::from_str(&self.engine, false)
            .map_err(|_| anyhow::anyhow!("unknown engine `{}`", self.engine))
    }
}

/// Runs one measured run in this process (the child side, `streamlab bench-run`):
/// generate and decode the input first (not measured), then [`measure`].
pub fn run_one(spec: &RunSpec) -> Result<RunMetrics> {
    let plan = with_generated_table(Plan::from_toml(&spec.query)?, &spec.gen)?;
    let options = spec.flags.options();
    let engine: Box<dyn streamlab_core::Engine> = if spec.engine == HAND {
        Box::new(streamlab_reference::HandW1)
    } else {
        spec.kind()?.configured(&spec.flags.configs()?)
    };
    if matches!(spec.path, InputPath::File | InputPath::Csv) {
        return run_from_file(spec, engine.as_ref(), &plan, &options);
    }
    let (bytes, _) = generate_to_vec(&spec.gen)?;
    let input = decode_generated(bytes.as_slice(), &plan, false, &mut std::io::sink())?;
    drop(bytes);
    let profile: Profile = spec.profile.parse().map_err(anyhow::Error::msg)?;
    let rate = spec.rate.map(Rate::PerSecond).unwrap_or(Rate::Max);
    let mut m = measure(
        engine.as_ref(),
        &plan,
        &options,
        input.events,
        rate,
        &profile,
        spec.warmup,
        None,
    )?;
    m.engine = spec.engine.clone();
    Ok(m)
}

/// The [`InputPath::File`] and [`InputPath::Csv`] runs: the input generated into a file
/// (not timed), then read, decoded, run and written as `streamlab run` does, all of it
/// timed.
fn run_from_file(
    spec: &RunSpec,
    engine: &dyn streamlab_core::Engine,
    plan: &Plan,
    options: &RunOptions,
) -> Result<RunMetrics> {
    use std::io::Write;
    if !plan.inputs.is_empty() {
        bail!("the end-to-end path reads one file; a query with [[input]]s is measured on the decoded path only");
    }
    let csv = spec.path == InputPath::Csv;
    let path = std::env::temp_dir().join(format!(
        "streamlab-e2e-{}.{}",
        std::process::id(),
        if csv { "csv" } else { "jsonl" }
    ));
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?,
    );
    let mut csv_plan = plan.clone();
    if csv {
        // As `streamlab run` reads a `.csv` input: its columns from the header line.
        generate_csv(&spec.gen, &mut file)?;
        csv_plan.query.format = Some(streamlab_core::query::InputFormat::Csv);
    } else {
        generate(&spec.gen, &mut file)?;
    }
    let plan = &csv_plan;
    file.flush()?;
    drop(file);
    let result = (|| {
        metrics::reset_peak_rss();
        let before = Usage::now();
        let started = std::time::Instant::now();
        let file = std::fs::File::open(&path)?;
        let name = path.display().to_string();
        let stream = LineStream::start(
            Box::new(file),
            &name,
            plan,
            DecodeOptions::default(),
            None,
            false,
        )?;
        let source = StreamSource::new(stream, Box::new(std::io::sink()), false, None, false);
        let sink = JsonLinesSink::new(plan, source.keys(), Box::new(std::io::sink()), "<bench>");
        let summary = engine.run(plan, options, Box::new(source), Box::new(sink))?;
        let elapsed = started.elapsed().as_secs_f64();
        let usage = Usage::now().since(before);
        Ok::<_, anyhow::Error>(RunMetrics {
            engine: spec.engine.clone(),
            events: summary.events_in,
            throughput_eps: summary.events_in as f64 / elapsed,
            elapsed_s: elapsed,
            cpu_s: usage.cpu_s,
            cores_used: usage.cpu_s / elapsed,
            events_per_core_s: summary.events_in as f64 / usage.cpu_s.max(1e-9),
            peak_rss_bytes: metrics::peak_rss_since_reset().unwrap_or(usage.peak_rss_bytes),
            rows_out: summary.rows_out,
            late_dropped: summary.late_dropped,
            ..Default::default()
        })
    })();
    let _ = std::fs::remove_file(&path);
    result
}

/// Runs one spec in a child process of this binary and reads its metrics.
pub fn run_in_child(spec: &RunSpec) -> Result<RunMetrics> {
    let exe = std::env::current_exe().context("locating the streamlab binary")?;
    let dir = std::env::temp_dir().join(format!("streamlab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let spec_path = dir.join("spec.json");
    let out_path = dir.join("metrics.json");
    std::fs::write(&spec_path, serde_json::to_vec(spec)?)?;
    let _ = std::fs::remove_file(&out_path);
    let status = std::process::Command::new(exe)
        .arg("bench-run")
        .arg("--spec")
        .arg(&spec_path)
        .arg("--out")
        .arg(&out_path)
        .status()
        .context("starting a bench child process")?;
    if !status.success() {
        bail!("the {} run failed ({status})", spec.engine);
    }
    let text = std::fs::read_to_string(&out_path).context("reading the child's metrics")?;
    Ok(serde_json::from_str(&text)?)
}

/// A measured run of `query` (TOML text) over `gen` with the engine's default options.
pub fn query_spec(kind: EngineKind, query: &str, gen: &GenConfig, rate: Option<f64>) -> RunSpec {
    RunSpec {
        engine: kind.name(),
        query: query.to_owned(),
        gen: gen.clone(),
        rate,
        profile: "constant".into(),
        warmup: 0.1,
        path: InputPath::Decoded,
        flags: EngineFlags::default(),
    }
}
