//! Command-line interface (`streamlab`). Each subcommand parses its arguments here and
//! calls into the library; nothing here decides how an engine computes.

use crate::accuracy::compare;
use crate::engines::EngineKind;
use crate::gen::{generate, write_campaigns, GenConfig, NexmarkKind, Workload};
use crate::input::decode_all;
use crate::runner::read_rows;
use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use serde::Serialize;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use streamlab_core::duration::DurationMs;
use streamlab_core::engine::{Cluster, RunOptions, RunSummary, Trigger};
use streamlab_core::Plan;

/// streamlab: replay one event stream through interchangeable stream-processing engines
/// and compare what each execution model costs and buys.
#[derive(Debug, Parser)]
#[command(name = "streamlab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a query with one engine over a JSON Lines input.
    Run(RunArgs),
    /// Compute the exact answer (same as `run --engine oracle`).
    Oracle(OracleArgs),
    /// Compare a result file with a reference (exit code 1 when they differ).
    Compare(CompareArgs),
    /// Generate a deterministic workload as JSON Lines.
    Gen(GenArgs),
    /// The main job: every engine side by side on a generated stream, checked against
    /// the oracle.
    Demo(DemoArgs),
    /// Measure engines side by side (throughput, latency, CPU, memory) into a results folder.
    Bench(BenchArgs),
    /// Send a generated workload or a file to a Kafka topic at a controlled rate.
    Produce(ProduceArgs),
    /// Run a teaching experiment into a results folder (see `notebooks/` for its plots).
    Experiment(ExperimentArgs),
    /// One measured run (used by `bench`, which runs each measurement in a child process).
    #[command(hide = true)]
    BenchRun(BenchRunArgs),
}

/// `streamlab bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Engines to compare, comma separated (default: every engine but the oracle).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub engines: Vec<EngineKind>,
    /// Query file (default: W1, queries/w1.toml).
    #[arg(long, short)]
    pub query: Option<PathBuf>,
    /// Workload generated as input.
    #[arg(long, short, value_enum, default_value = "clicks")]
    pub workload: Workload,
    /// NEXMark only: generate just the person, auction or bid lines, or several kinds
    /// comma separated (the lines of the other kinds lack a query's fields).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kind: Vec<NexmarkKind>,
    /// Events per run.
    #[arg(long, short = 'n', default_value_t = 10_000_000)]
    pub events: u64,
    /// Random seed of the input.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Events per second of event time in the generated input.
    #[arg(long, default_value_t = 100_000.0)]
    pub event_rate: f64,
    /// Distinct keys (default depends on the workload).
    #[arg(long)]
    pub keys: Option<u64>,
    /// Fraction of events out of order.
    #[arg(long, default_value_t = 0.05)]
    pub disorder: f64,
    /// Largest out-of-order delay.
    #[arg(long, default_value = "3s")]
    pub max_delay: DurationMs,
    /// Input rate: events per second (`500k`, `2M`) or `max` (closed loop, throughput only).
    #[arg(long, default_value = "max")]
    pub rate: crate::replay::Rate,
    /// Rate profile: `constant`, `step:2x@10s`, `burst:5x@10s/2s`.
    #[arg(long, default_value = "constant")]
    pub profile: String,
    /// Search the highest sustainable rate (double, then bisect to 5 %).
    #[arg(long)]
    pub find_sustainable: bool,
    /// The search's first rate.
    #[arg(long, default_value = "100k")]
    pub start_rate: crate::replay::Rate,
    /// p99 latency bound of a sustained rate.
    #[arg(long, default_value = "1s")]
    pub p99_bound: DurationMs,
    /// Repetitions per engine.
    #[arg(long, default_value_t = 3)]
    pub reps: usize,
    /// Fraction of events run as warm-up and not counted.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// Workers (engines that take `--workers`).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Micro-batch bound (engines that take it).
    #[arg(long)]
    pub max_records_per_batch: Option<usize>,
    /// Micro-batch trigger (engines that take it).
    #[arg(long)]
    pub trigger: Option<String>,
    /// Watermark interval (engines that take it).
    #[arg(long)]
    pub watermark_interval: Option<u64>,
    /// Results folder (default: results/<date>-<host>-bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `streamlab produce`.
#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    /// Topic: `kafka://HOST:PORT/TOPIC` (created when missing).
    #[arg(long)]
    pub to: String,
    /// Workload to generate (event times follow the send clock).
    #[arg(long, short, value_enum, conflicts_with = "input")]
    pub workload: Option<Workload>,
    /// Or: send the lines of this file, in order.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Events to generate.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    pub events: u64,
    /// Random seed.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Send rate: events per second (`50k`) or `max`.
    #[arg(long, default_value = "max")]
    pub rate: crate::replay::Rate,
    /// Partitions of the topic (when it is created).
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
}

/// `streamlab experiment`.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// Which experiment.
    #[arg(value_enum)]
    pub name: crate::experiments::Experiment,
    /// Small inputs, well under a minute (for CI; not for conclusions).
    #[arg(long)]
    pub quick: bool,
    /// Input seed.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Repetitions per point (default 3, or 1 with --quick).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Results folder (default: results/<date>-<host>-<name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `recovery`: engines to kill (default: every one that checkpoints).
    #[arg(long, value_delimiter = ',', value_enum)]
    pub engine: Vec<EngineKind>,
    /// `recovery`: SIGKILLs per engine (default 100, or 5 with --quick).
    #[arg(long)]
    pub kills: Option<usize>,
    /// `recovery`: events in the stream (default 1M, or 100k with --quick).
    #[arg(long)]
    pub events: Option<u64>,
    /// `recovery`: distinct keys, all open at once (default 1000; 1000000 shows a
    /// restart with a million keys of state).
    #[arg(long)]
    pub keys: Option<u64>,
    /// `recovery`: events between checkpoints (default 2000).
    #[arg(long)]
    pub checkpoint_every: Option<u64>,
}

/// `streamlab bench-run`.
#[derive(Debug, Clone, Args)]
pub struct BenchRunArgs {
    /// The run, as JSON.
    #[arg(long)]
    pub spec: PathBuf,
    /// Where to write the metrics (JSON).
    #[arg(long)]
    pub out: PathBuf,
}

/// Input, query and output of a run.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {
    /// Query file (TOML).
    #[arg(long, short)]
    pub query: PathBuf,
    /// Input events, JSON Lines: a file, `-` for stdin, `tcp://HOST:PORT` (read from a
    /// server, e.g. `nc -lk`), `dir://PATH[?idle=5s]` (files in name order, new ones as they
    /// appear), `kafka://HOST:PORT/TOPIC[?group=G&start=earliest|latest|committed]`.
    /// Left out when the query names its inputs (`[[input]]`).
    #[arg(long, short, default_value = "")]
    pub input: String,
    /// Output rows: JSON Lines to a file or `-` (stdout), or `kafka://HOST:PORT/TOPIC`.
    #[arg(long, short, default_value = "-")]
    pub output: String,
    /// Write the run summary (JSON) here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Stop at the first malformed line instead of skipping it.
    #[arg(long)]
    pub strict: bool,
}

/// `streamlab run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Engine.
    #[arg(long, short, value_enum)]
    pub engine: EngineKind,
    /// Input, query, output.
    #[command(flatten)]
    pub io: IoArgs,
    /// Parallel workers.
    #[arg(long, short)]
    pub workers: Option<usize>,
    /// Upper bound on events per micro-batch.
    #[arg(long)]
    pub max_records_per_batch: Option<usize>,
    /// Micro-batch trigger: an interval (`100ms`), `once` or `available-now`.
    #[arg(long)]
    pub trigger: Option<Trigger>,
    /// Records between watermark advances (per-record engine).
    #[arg(long)]
    pub watermark_interval: Option<u64>,
    /// Processing-time interval between complete-mode emissions (per-record engine).
    #[arg(long)]
    pub complete_interval: Option<DurationMs>,
    /// Checkpoint directory: a second run with the same directory resumes where the first
    /// stopped (the output must then be a file, written exactly once).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Checkpoint every this many input events.
    #[arg(long, requires = "checkpoint")]
    pub checkpoint_every: Option<u64>,
    /// Checkpoint every this much processing time (`1s`).
    #[arg(long, requires = "checkpoint")]
    pub checkpoint_interval: Option<DurationMs>,
    /// Checkpoints to keep.
    #[arg(long, default_value_t = 3, requires = "checkpoint")]
    pub retain: usize,
    /// A corrupt newest checkpoint: `previous` (warn, use the one before) or `fail`.
    #[arg(long, default_value = "previous", requires = "checkpoint")]
    pub on_corrupt: streamlab_checkpoint::OnCorrupt,
    /// Processes in a timely cluster.
    #[arg(long, requires = "process")]
    pub processes: Option<usize>,
    /// This process's index in the cluster.
    #[arg(long, requires = "processes")]
    pub process: Option<usize>,
    /// Cluster host file: one `host:port` per process.
    #[arg(long, requires = "processes")]
    pub hostfile: Option<PathBuf>,
}

impl RunArgs {
    /// The engine options the user gave.
    pub fn options(&self) -> Result<RunOptions> {
        let cluster = match (self.processes, self.process) {
            (Some(processes), Some(process)) => {
                if processes == 0 || process >= processes {
                    bail!("--process must be in 0..{processes} (got {process})");
                }
                Some(Cluster {
                    processes,
                    process,
                    hostfile: self.hostfile.clone(),
                })
            }
            _ => None,
        };
        if self.workers == Some(0) {
            bail!("--workers must be at least 1");
        }
        if self.max_records_per_batch == Some(0) {
            bail!("--max-records-per-batch must be at least 1");
        }
        if self.watermark_interval == Some(0) {
            bail!("--watermark-interval must be at least 1");
        }
        Ok(RunOptions {
            workers: self.workers,
            max_records_per_batch: self.max_records_per_batch,
            trigger: self.trigger,
            watermark_interval: self.watermark_interval,
            complete_interval: self.complete_interval,
            checkpoint: self.checkpoint.clone().map(|dir| {
                streamlab_core::engine::CheckpointOptions {
                    dir,
                    every_events: self.checkpoint_every,
                    interval: self.checkpoint_interval,
                    retain: self.retain,
                    fall_back_on_corrupt: self.on_corrupt
                        == streamlab_checkpoint::OnCorrupt::Previous,
                }
            }),
            cluster,
        })
    }
}

/// `streamlab oracle`.
#[derive(Debug, Clone, Args)]
pub struct OracleArgs {
    /// Input, query, output.
    #[command(flatten)]
    pub io: IoArgs,
}

/// `streamlab compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Result file to check.
    pub actual: PathBuf,
    /// Reference result file (usually the oracle's).
    pub expected: PathBuf,
    /// The query both answer.
    #[arg(long, short)]
    pub query: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `streamlab gen`.
#[derive(Debug, Clone, Args)]
pub struct GenArgs {
    /// Workload.
    #[arg(long, short, value_enum)]
    pub workload: Workload,
    /// Number of lines.
    #[arg(long, short = 'n')]
    pub events: u64,
    /// Random seed.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Events per second of event time.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Distinct keys (default depends on the workload). nexmark: auctions in flight a
    /// non-hot bid picks among (100); ysb: ads, 10 per campaign (1000).
    #[arg(long)]
    pub keys: Option<u64>,
    /// Zipf exponent of key popularity (0: uniform).
    #[arg(long, default_value_t = 0.0)]
    pub zipf: f64,
    /// Fraction of events out of order (moved back by up to --max-delay).
    #[arg(long, default_value_t = 0.0)]
    pub disorder: f64,
    /// Largest out-of-order delay.
    #[arg(long, default_value = "0")]
    pub max_delay: DurationMs,
    /// Fraction of events moved back by --late-by (late for a shorter watermark delay).
    #[arg(long, default_value_t = 0.0)]
    pub late: f64,
    /// How far late events are moved back.
    #[arg(long, default_value = "0")]
    pub late_by: DurationMs,
    /// Fraction of lines replaced by malformed ones.
    #[arg(long, default_value_t = 0.0)]
    pub malformed: f64,
    /// NEXMark only: write just the person, auction or bid lines of the --events-line
    /// stream, or several kinds comma separated (`person,auction` for Q3 and Q8).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kind: Vec<NexmarkKind>,
    /// YSB only: also write the campaign table, `ad_id,campaign_id` CSV, to this file.
    #[arg(long)]
    pub campaigns: Option<PathBuf>,
    /// Output file (`-` for stdout).
    #[arg(long, short, default_value = "-")]
    pub output: String,
}

impl GenArgs {
    /// The generator settings.
    pub fn config(&self) -> GenConfig {
        GenConfig {
            rate: self.rate,
            keys: self.keys.unwrap_or(self.workload.default_keys()),
            zipf: self.zipf,
            disorder: self.disorder,
            max_delay_ms: self.max_delay.ms(),
            late: self.late,
            late_by_ms: self.late_by.ms(),
            malformed: self.malformed,
            kinds: self.kind.clone(),
            ..GenConfig::new(self.workload, self.events, self.seed)
        }
    }
}

/// `streamlab demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Events to generate.
    #[arg(long, short = 'n', default_value_t = 1_000_000)]
    pub events: u64,
    /// Random seed.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Print the table as JSON too (to this file).
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => {
            let options = args.options()?;
            run_command(args.engine, &args.io, &options)?;
            Ok(0)
        }
        Command::Oracle(args) => {
            run_command(EngineKind::Oracle, &args.io, &RunOptions::default())?;
            Ok(0)
        }
        Command::Compare(args) => compare_command(&args),
        Command::Gen(args) => {
            let cfg = args.config();
            cfg.validate().map_err(anyhow::Error::msg)?;
            if args.campaigns.is_some() {
                cfg.validate_campaigns().map_err(anyhow::Error::msg)?;
            }
            let mut out = open_output(&args.output)?;
            let started = std::time::Instant::now();
            let stats =
                generate(&cfg, &mut out).with_context(|| format!("writing {}", args.output))?;
            let secs = started.elapsed().as_secs_f64();
            if let Some(path) = &args.campaigns {
                let mut file = std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("creating {}", path.display()))?,
                );
                let ads = write_campaigns(&cfg, &mut file)
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!(
                    "streamlab gen: campaign table of {ads} ads in {}",
                    path.display()
                );
            }
            eprintln!(
                "streamlab gen: {} {}{} lines ({} disordered, {} late, {} malformed) in {:.2} s ({:.2}M lines/s)",
                stats.lines,
                cfg.workload.name(),
                cfg.kinds
                    .iter()
                    .map(|k| format!(" {}", k.name()))
                    .collect::<String>(),
                stats.disordered,
                stats.late,
                stats.malformed,
                secs,
                stats.lines as f64 / secs.max(1e-9) / 1e6
            );
            Ok(0)
        }
        Command::Demo(args) => {
            crate::demo::run_demo(&args, &mut std::io::stdout())?;
            Ok(0)
        }
        Command::Bench(args) => {
            let cfg = bench_config(&args)?;
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| crate::results::default_dir("bench"));
            crate::suite::run_suite(&cfg, &out)?;
            Ok(0)
        }
        Command::Produce(args) => {
            crate::produce::produce(&args)?;
            Ok(0)
        }
        Command::Experiment(args) => {
            let cfg = crate::experiments::ExperimentConfig {
                experiment: args.name,
                quick: args.quick,
                seed: args.seed,
                reps: args.reps.unwrap_or(if args.quick { 1 } else { 3 }).max(1),
                command: std::env::args().collect::<Vec<_>>().join(" "),
                engines: args.engine.clone(),
                kills: args.kills,
                events: args.events,
                keys: args.keys,
                checkpoint_every: args.checkpoint_every,
            };
            let out = args
                .out
                .clone()
                .unwrap_or_else(|| crate::results::default_dir(&args.name.name()));
            crate::experiments::run_experiment(&cfg, &out)?;
            Ok(0)
        }
        Command::BenchRun(args) => {
            let spec: crate::bench::RunSpec = serde_json::from_str(
                &std::fs::read_to_string(&args.spec)
                    .with_context(|| format!("reading {}", args.spec.display()))?,
            )?;
            let metrics = crate::bench::run_one(&spec)?;
            write_json(&args.out, &metrics)?;
            Ok(0)
        }
    }
}

/// Turns `bench` arguments into a suite configuration, checking them.
pub fn bench_config(args: &BenchArgs) -> Result<crate::suite::SuiteConfig> {
    use crate::replay::Rate;
    let query = match &args.query {
        Some(path) => {
            // A query with [[input]]s reads the generated stream as every input's file
            // (each input keeps its own lines, by its [[input.filter]]s).
            let plan = Plan::from_file(path)?;
            if plan.static_join().is_some() && args.workload != Workload::Ysb {
                bail!(
                    "{}: bench generates its input, and only --workload ysb generates a join table (its campaigns)",
                    path.display()
                );
            }
            std::fs::read_to_string(path)?
        }
        None => crate::demo::W1_QUERY.to_owned(),
    };
    let gen = GenConfig {
        rate: args.event_rate,
        keys: args.keys.unwrap_or(args.workload.default_keys()),
        disorder: args.disorder,
        max_delay_ms: args.max_delay.ms(),
        kinds: args.kind.clone(),
        ..GenConfig::new(args.workload, args.events, args.seed)
    };
    gen.validate().map_err(anyhow::Error::msg)?;
    args.profile
        .parse::<crate::replay::Profile>()
        .map_err(anyhow::Error::msg)?;
    if !(0.0..1.0).contains(&args.warmup) {
        bail!("--warmup must be a fraction in [0, 1)");
    }
    if args.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let engines: Vec<String> = if args.engines.is_empty() {
        EngineKind::all()
            .into_iter()
            .filter(|k| *k != EngineKind::Oracle)
            .map(EngineKind::name)
            .collect()
    } else {
        args.engines.iter().map(|k| k.name()).collect()
    };
    let rate = match args.rate {
        Rate::Max => None,
        Rate::PerSecond(r) => Some(r),
    };
    let start_rate = match args.start_rate {
        Rate::Max => bail!("--start-rate must be a number of events per second"),
        Rate::PerSecond(r) => r,
    };
    Ok(crate::suite::SuiteConfig {
        engines,
        query,
        gen,
        rate,
        profile: args.profile.clone(),
        reps: args.reps,
        warmup: args.warmup,
        workers: args.workers,
        max_records_per_batch: args.max_records_per_batch,
        trigger: args.trigger.clone(),
        watermark_interval: args.watermark_interval,
        find_sustainable: args.find_sustainable,
        start_rate,
        p99_bound_ms: args.p99_bound.ms() as u64,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    })
}

/// Everything a run reports: the engine's summary plus where the numbers came from.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The engine's summary.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Reading and decoding time, excluded from `elapsed_ms`.
    pub decode_ms: f64,
    /// Input file.
    pub input: String,
    /// Query file.
    pub query: String,
}

fn open_output(path: &str) -> Result<Box<dyn Write + Send>> {
    Ok(if path == "-" {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    } else {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create output file {path}"))?;
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file))
    })
}

fn run_command(kind: EngineKind, io: &IoArgs, options: &RunOptions) -> Result<RunReport> {
    let plan = crate::tables::load_plan(&io.query)?;
    kind.build().check_options(options)?;
    if let Some(cluster) = options.cluster.as_ref().filter(|c| c.process != 0) {
        // In a timely cluster process 0 reads the input and writes the output; the others
        // only run workers. They must not touch the output (it may be the same file).
        eprintln!(
            "streamlab {}: process {} of {}: input and output are process 0's",
            kind.name(),
            cluster.process,
            cluster.processes
        );
        let input = crate::input::DecodedInput {
            events: Vec::new(),
            malformed: 0,
            keys: Default::default(),
            decode_time: Default::default(),
            partitions: 1,
            unmatched: 0,
            restore_time: Default::default(),
        };
        let summary =
            crate::runner::run_with_sink(kind, &plan, options, input, Box::new(DiscardSink))?;
        return finish_run(summary, 0.0, io);
    }
    match (plan.inputs.is_empty(), io.input.is_empty()) {
        (false, false) => bail!(
            "{} names its inputs ([[input]]): leave out --input",
            io.query.display()
        ),
        (true, true) => {
            bail!("--input is required (or name the inputs in the query file with [[input]])")
        }
        _ => {}
    }
    if let Some(live) = crate::inputs::LiveInput::parse(&io.input)? {
        return run_live(kind, io, options, &plan, live);
    }
    let input = if !plan.inputs.is_empty() {
        crate::input::decode_inputs(
            &plan,
            io.query.parent().unwrap_or(std::path::Path::new(".")),
            io.strict,
            &mut std::io::stderr(),
        )?
    } else if io.input == "-" {
        decode_all(
            std::io::stdin().lock(),
            "<stdin>",
            &plan,
            io.strict,
            &mut std::io::stderr(),
        )?
    } else {
        return run_file(kind, io, options, &plan);
    };
    let decode_ms = input.decode_time.as_secs_f64() * 1e3;
    let sink = checkpointed_sink(&plan, input.keys.clone(), io, options)?;
    let summary = crate::runner::run_with_sink(kind, &plan, options, input, sink)?;
    finish_run(summary, decode_ms, io)
}

/// Runs over an input file. With `--checkpoint` the source records its line and byte
/// offset in every checkpoint, and a restart decodes only from the checkpoint's line on.
fn run_file(kind: EngineKind, io: &IoArgs, options: &RunOptions, plan: &Plan) -> Result<RunReport> {
    let mut file = std::fs::File::open(&io.input)
        .with_context(|| format!("cannot open input file {}", io.input))?;
    let reading = std::time::Instant::now();
    let resume = match &options.checkpoint {
        Some(c) => crate::file_position::resume_at(
            &c.dir,
            streamlab_checkpoint::OnCorrupt::previous_if(c.fall_back_on_corrupt),
            &io.input,
        )?,
        None => None,
    };
    if let Some(at) = &resume {
        use std::io::{Seek, SeekFrom};
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if at.byte > len {
            bail!(
                "{}: the checkpoint resumes at byte {} of line {}, but the file has only {len} bytes: it is not the file the checkpoint was taken over",
                io.input,
                at.byte,
                at.line + 1
            );
        }
        // The byte before a line start is a newline: a cheap check that the file is
        // still the one the checkpoint was taken over.
        let mut before = [b'\n'];
        if at.byte > 0 {
            use std::io::Read;
            file.seek(SeekFrom::Start(at.byte - 1))
                .and_then(|_| file.read_exact(&mut before))
                .with_context(|| format!("cannot seek in input file {}", io.input))?;
        }
        if before[0] != b'\n' {
            bail!(
                "{}: byte {} is not the start of a line: it is not the file the checkpoint (line {}) was taken over",
                io.input,
                at.byte,
                at.line + 1
            );
        }
        file.seek(SeekFrom::Start(at.byte))
            .with_context(|| format!("cannot seek in input file {}", io.input))?;
    }
    let position_read = reading.elapsed();
    let resumed_at = resume.as_ref().map(|at| (at.line, at.byte));
    let (input, lines) = crate::input::decode_from(
        BufReader::with_capacity(1 << 20, file),
        &io.input,
        plan,
        io.strict,
        &mut std::io::stderr(),
        resume,
        options.checkpoint.is_some(),
    )?;
    let decode_ms = input.decode_time.as_secs_f64() * 1e3;
    if let Some((line, byte)) = resumed_at {
        // The harness decodes a file before the engine runs (decoding is never part of
        // a measurement); a restart shows what of its time was the checkpoint's and what
        // was decoding the rest of the input. `experiment recovery` reads this line.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "streamlab {}: resuming {} at line {} (byte {byte}): position read in {:.0} ms, dictionary restored in {:.0} ms, the remaining {} lines decoded in {:.0} ms",
            kind.name(),
            io.input,
            line + 1,
            ms(position_read),
            ms(input.restore_time),
            input.events.len(),
            ms(input.decode_time - input.restore_time)
        );
    }
    let sink = checkpointed_sink(plan, input.keys.clone(), io, options)?;
    let summary = crate::runner::run_indexed(kind, plan, options, input, lines, sink)?;
    finish_run(summary, decode_ms, io)
}

/// The output: with `--checkpoint` a transactional file (rows appear once, in committed
/// parts), else whatever `--output` names.
fn checkpointed_sink(
    plan: &Plan,
    keys: std::sync::Arc<streamlab_core::KeyTable>,
    io: &IoArgs,
    options: &RunOptions,
) -> Result<Box<dyn streamlab_core::Sink>> {
    if options.checkpoint.is_none() {
        return open_sink(plan, keys, &io.output);
    }
    if io.output == "-" || io.output.contains("://") {
        bail!("--checkpoint needs --output to be a file: it is written exactly once, in committed parts");
    }
    Ok(Box::new(crate::sink::TransactionalFileSink::new(
        plan,
        keys,
        std::path::Path::new(&io.output),
    )?))
}

/// Rows of a process that has no output (a timely cluster's processes other than 0).
struct DiscardSink;

impl streamlab_core::Sink for DiscardSink {
    fn emit(&mut self, _: &[streamlab_core::OutRow]) -> Result<(), streamlab_core::EngineError> {
        Ok(())
    }
}

/// The sink of `--output`: JSON Lines to a file or stdout, or rows to a Kafka topic.
fn open_sink(
    plan: &Plan,
    keys: std::sync::Arc<streamlab_core::KeyTable>,
    output: &str,
) -> Result<Box<dyn streamlab_core::Sink>> {
    if output.starts_with("kafka://") {
        let addr = crate::kafka::KafkaAddr::parse(output)?;
        return Ok(Box::new(crate::kafka::KafkaSink::new(plan, keys, &addr)?));
    }
    let out = open_output(output)?;
    Ok(Box::new(crate::sink::JsonLinesSink::new(
        plan, keys, out, output,
    )))
}

/// Runs over a live input: lines are decoded as they arrive, while the engine runs.
fn run_live(
    kind: EngineKind,
    io: &IoArgs,
    options: &RunOptions,
    plan: &Plan,
    live: crate::inputs::LiveInput,
) -> Result<RunReport> {
    if options.checkpoint.is_some() && matches!(live, crate::inputs::LiveInput::Tcp { .. }) {
        bail!("--checkpoint cannot resume a tcp:// input (a socket cannot be read again): use a file, dir:// or kafka:// input");
    }
    let keys = std::sync::Arc::new(streamlab_core::KeyTable::default());
    let source = live.start(plan, keys.clone(), io.strict)?;
    let stats = source.stats();
    let sink = checkpointed_sink(plan, keys, io, options)?;
    let mut summary = kind
        .build()
        .run(plan, options, Box::new(source), sink)
        .with_context(|| format!("engine `{}` failed on {}", kind.name(), io.input))?;
    summary.malformed = stats.malformed.load(std::sync::atomic::Ordering::Relaxed);
    summary.filtered += stats.unmatched.load(std::sync::atomic::Ordering::Relaxed);
    finish_run(summary, 0.0, io)
}

fn finish_run(summary: RunSummary, decode_ms: f64, io: &IoArgs) -> Result<RunReport> {
    eprintln!(
        "streamlab {}: {} events in, {} malformed, {} filtered, {} late dropped, {} rows out, {:.1} ms ({:.2}M events/s; decoding {:.1} ms not included)",
        summary.engine,
        summary.events_in,
        summary.malformed,
        summary.filtered,
        summary.late_dropped,
        summary.rows_out,
        summary.elapsed_ms,
        summary.throughput_eps / 1e6,
        decode_ms
    );
    for note in &summary.notes {
        eprintln!("streamlab {}: note: {note}", summary.engine);
    }
    let report = RunReport {
        summary,
        decode_ms,
        input: io.input.clone(),
        query: io.query.display().to_string(),
    };
    if let Some(path) = &io.summary {
        write_json(path, &report)?;
    }
    Ok(report)
}

/// Writes pretty JSON to a file, naming it in errors.
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

fn compare_command(args: &CompareArgs) -> Result<i32> {
    let plan = Plan::from_file(&args.query)?;
    let actual = read_rows(&args.actual, &plan)?;
    let expected = read_rows(&args.expected, &plan)?;
    let report = compare(&actual, &expected, &plan);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} against {}:\n{report}",
            args.actual.display(),
            args.expected.display()
        );
    }
    Ok(if report.is_exact() { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gen(args: &[&str]) -> Result<i32> {
        let argv = ["streamlab", "gen"].iter().chain(args);
        run(Cli::try_parse_from(argv)?)
    }

    #[test]
    fn gen_writes_the_campaign_table_and_refuses_options_of_other_workloads() {
        let dir = std::env::temp_dir().join(format!("streamlab-gen-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (events, table) = (dir.join("ysb.jsonl"), dir.join("campaigns.csv"));
        let path = |p: &Path| p.to_str().unwrap().to_owned();
        let ysb = [
            "--workload",
            "ysb",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        assert_eq!(
            gen(&[&ysb[..], &["--campaigns", &path(&table)]].concat()).unwrap(),
            0
        );
        let csv = std::fs::read_to_string(&table).unwrap();
        assert_eq!(csv.lines().count(), 1 + 1_000);
        let stream = std::fs::read_to_string(&events).unwrap();
        assert_eq!(stream.lines().count(), 100);
        let first: serde_json::Value =
            serde_json::from_str(stream.lines().next().unwrap()).unwrap();
        assert!(csv.contains(first["ad_id"].as_str().unwrap()));

        std::fs::remove_file(&events).unwrap();
        let nexmark = [
            "--workload",
            "nexmark",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        let err = gen(&[&nexmark[..], &["--campaigns", &path(&table)]].concat()).unwrap_err();
        assert!(err.to_string().contains("--campaigns"), "{err}");
        assert!(!events.exists(), "refused before writing the stream");
        let clicks = [
            "--workload",
            "clicks",
            "--events",
            "100",
            "--output",
            &path(&events),
        ];
        let err = gen(&[&clicks[..], &["--kind", "bid"]].concat()).unwrap_err();
        assert!(err.to_string().contains("--kind"), "{err}");
        assert_eq!(
            gen(&[&nexmark[..], &["--kind", "auction"]].concat()).unwrap(),
            0
        );
        assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 6);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
