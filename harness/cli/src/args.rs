//! The `streamlab` command line: every subcommand's arguments (clap derive), and the engine
//! and options a run's flags make. Nothing here runs anything.

use anyhow::{bail, Result};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;
use std::path::PathBuf;
use streamlab_core::engine::RunOptions;
use streamlab_core::model::duration::DurationMs;
use streamlab_core::Engine;
use streamlab_engines::{EngineConfigs, EngineKind};
use streamlab_experiments::Experiment;
use streamlab_measure::replay::Rate;
use streamlab_workloads::gen::{GenConfig, NexmarkKind, Workload};
use streamlab_workloads::produce::ProduceArgs;

/// streamlab: replay one event stream through interchangeable stream-processing engines
/// and compare what each execution model costs and buys.
#[derive(Debug, Parser)]
#[command(name = "streamlab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// Only warnings and errors on stderr (no progress); `RUST_LOG` overrides.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// More on stderr: `-v` debug, `-vv` trace; `RUST_LOG` overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

impl Cli {
    /// Parses `argv` as the `streamlab` binary does, and keeps clap's matches beside the
    /// result: they say which flags the user gave (`streamlab run` refuses another
    /// engine's, [`RunArgs::options`]).
    pub fn try_parse_with_matches<I, T>(argv: I) -> Result<(Cli, ArgMatches), clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(argv)?;
        let cli = Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))?;
        Ok((cli, matches))
    }
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
    /// Print the plan a query runs as (inputs, keys, window, watermark, output mode, columns).
    Explain(ExplainArgs),
    /// Run a teaching experiment into a results folder (see `notebooks/` for its plots).
    Experiment(ExperimentArgs),
    /// Write the HTML report of results folders (DIR/index.html), or of every folder
    /// under a directory of them and its index (results/index.html).
    Report(ReportArgs),
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
    /// Query file, TOML or `.sql` (default: W1, queries/w1.toml).
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
    pub rate: Rate,
    /// Rate profile: `constant`, `step:2x@10s`, `burst:5x@10s/2s`.
    #[arg(long, default_value = "constant")]
    pub profile: String,
    /// Search the highest sustainable rate (double, then bisect to 5 %).
    #[arg(long)]
    pub find_sustainable: bool,
    /// The search's first rate.
    #[arg(long, default_value = "100k")]
    pub start_rate: Rate,
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
    /// The input paths to measure: `decoded` (engine only, the input decoded beforehand),
    /// `file` (end to end from JSON Lines: read, decode, engine, sink) and `csv` (the same
    /// from the same events as CSV). Closed loop measures `decoded,file` by default; a run
    /// at a rate measures `decoded` only.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub path: Vec<streamlab_experiments::child::InputPath>,
    /// Results folder (default: results/<date>-<host>-bench).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `streamlab experiment`.
#[derive(Debug, Clone, Args)]
pub struct ExperimentArgs {
    /// Which experiment.
    #[arg(value_enum)]
    pub name: Experiment,
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
    /// The live view (`--serve`): the runs measured in this process.
    #[command(flatten)]
    pub live: streamlab_live::LiveArgs,
    /// `checkpoint-interval`: the intervals, ms (default 100,1000,10000; 100,1000 with
    /// --quick).
    #[arg(long, value_delimiter = ',')]
    pub intervals_ms: Vec<u64>,
}

/// `streamlab report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Results folders, or directories of them (`results/`).
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
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

/// The query: a file (TOML, or SQL when its name ends in `.sql`) or SQL text, and what
/// the command line adds to SQL (the output mode, a watermark).
#[derive(Debug, Clone, Default, Args)]
pub struct QueryArgs {
    /// Query file: TOML, or SQL when its name ends in `.sql` (CREATE TABLE statements and
    /// one SELECT).
    #[arg(
        long = "query",
        short = 'q',
        required_unless_present = "sql",
        conflicts_with = "sql"
    )]
    pub file: Option<PathBuf>,
    /// The query as SQL text, in place of --query (it may start with a `--` comment).
    #[arg(long, allow_hyphen_values = true)]
    pub sql: Option<String>,
    /// SQL only: append, update or complete (default append; a TOML query says it in its
    /// file). A mode the query cannot have is refused with Spark's reason.
    #[arg(long, value_parser = parse_output_mode)]
    pub output_mode: Option<streamlab_core::OutputMode>,
    /// SQL only: the watermark delay (`5s`) of a table that declares none (Spark's SQL
    /// has no clause for it).
    #[arg(long)]
    pub watermark: Option<DurationMs>,
}

/// `append`, `update` or `complete`.
fn parse_output_mode(text: &str) -> Result<streamlab_core::OutputMode, String> {
    match text {
        "append" => Ok(streamlab_core::OutputMode::Append),
        "update" => Ok(streamlab_core::OutputMode::Update),
        "complete" => Ok(streamlab_core::OutputMode::Complete),
        other => Err(format!(
            "`{other}` is not an output mode: append, update or complete"
        )),
    }
}

/// Input, query and output of a run.
#[derive(Debug, Clone, Args)]
pub struct IoArgs {
    /// The query.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Input events, JSON Lines: a file, `-` for stdin, `tcp://HOST:PORT` (read from a
    /// server, e.g. `nc -lk`), `dir://PATH[?idle=5s]` (files in name order, new ones as they
    /// appear), `kafka://HOST:PORT/TOPIC[?group=G&start=earliest|latest|committed]`.
    /// Left out when the query names its inputs (`[[input]]`) or its SQL table has a
    /// `'path'`.
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
    /// Threads decoding a file or stdin while the engine runs (default: one a core). The
    /// answer is the same for any number.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub decode_threads: Option<u16>,
    /// Bytes of input a decoding thread takes at a time (whole lines; e.g. `1MiB`,
    /// `64KiB`, `1` for one line a chunk). The answer is the same for any size.
    #[arg(long, value_parser = parse_bytes)]
    pub chunk_bytes: Option<usize>,
}

impl IoArgs {
    /// The decoding pipeline's options these arguments ask for.
    pub fn decode_options(&self) -> streamlab_io::pipeline::DecodeOptions {
        let mut options = match self.decode_threads {
            Some(n) => streamlab_io::pipeline::DecodeOptions::with_threads(n.into()),
            None => Default::default(),
        };
        if let Some(bytes) = self.chunk_bytes {
            options.chunk_bytes = bytes;
        }
        options
    }
}

/// A size in bytes: a number with an optional `KiB`, `MiB` or `GiB` (or `K`, `M`, `G`).
fn parse_bytes(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(digits);
    let n: usize = n
        .parse()
        .map_err(|_| format!("`{text}` is not a size in bytes (e.g. 1MiB, 65536)"))?;
    let scale: usize = match unit.trim() {
        "" | "B" => 1,
        "K" | "KiB" | "k" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` (use KiB, MiB or GiB)")),
    };
    match n.checked_mul(scale) {
        Some(0) => Err("the chunk size must be at least 1 byte".into()),
        Some(bytes) if bytes <= 1 << 30 => Ok(bytes),
        _ => Err(format!("`{text}`: a chunk is at most 1GiB")),
    }
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
    /// Every engine's own flags; only `--engine`'s may be given.
    #[command(flatten)]
    pub engines: EngineConfigs,
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
    /// The live view (`--serve`).
    #[command(flatten)]
    pub live: streamlab_live::LiveArgs,
    /// Where checkpoints are written: `async` (a background thread; the stream stops only
    /// to capture the state, as Flink's asynchronous snapshots) or `sync` (the stream
    /// stops for the whole write).
    #[arg(long, default_value = "async", requires = "checkpoint")]
    pub checkpoint_write: streamlab_checkpoint::WriteMode,
    /// Incremental checkpoints: write only what changed since the previous checkpoint
    /// (Flink's `state.backend.incremental`, Spark's changelog checkpointing), with a full
    /// one every `--full-every` checkpoints.
    #[arg(long, requires = "checkpoint")]
    pub incremental: bool,
    /// With `--incremental`: a full checkpoint after this many increments (default 10, as
    /// Spark's `minDeltasForSnapshot`).
    #[arg(long, requires = "incremental")]
    pub full_every: Option<u32>,
}

/// Increments between full checkpoints when `--full-every` is not given.
pub const DEFAULT_FULL_EVERY: u32 = 10;

impl RunArgs {
    /// The run options the user gave, once every value is checked and a flag of an engine
    /// other than `--engine`'s is refused by name; `matches` are the `run` subcommand's
    /// (they say which flags were given).
    pub fn options(&self, matches: &ArgMatches) -> Result<RunOptions> {
        if self.workers == Some(0) {
            bail!("--workers must be at least 1");
        }
        if self.full_every == Some(0) {
            bail!(
                "--full-every must be at least 1 (without --incremental every checkpoint is full)"
            );
        }
        self.engines.validate().map_err(anyhow::Error::msg)?;
        self.engine.refuse_foreign_flags(matches)?;
        Ok(RunOptions {
            workers: self.workers,
            checkpoint: self.checkpoint.clone().map(|dir| {
                streamlab_core::engine::CheckpointOptions {
                    dir,
                    every_events: self.checkpoint_every,
                    interval: self.checkpoint_interval,
                    retain: self.retain,
                    fall_back_on_corrupt: self.on_corrupt
                        == streamlab_checkpoint::OnCorrupt::Previous,
                    sync_writes: self.checkpoint_write == streamlab_checkpoint::WriteMode::Sync,
                    full_every: self
                        .incremental
                        .then(|| self.full_every.unwrap_or(DEFAULT_FULL_EVERY)),
                }
            }),
        })
    }

    /// The engine `--engine` names, built from its own flags.
    pub fn engine(&self) -> Box<dyn Engine> {
        self.engine.configured(&self.engines)
    }
}

/// `streamlab oracle`.
#[derive(Debug, Clone, Args)]
pub struct OracleArgs {
    /// Input, query, output.
    #[command(flatten)]
    pub io: IoArgs,
}

/// `streamlab explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The query.
    #[command(flatten)]
    pub query: QueryArgs,
}

/// `streamlab compare`.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// Result file to check.
    pub actual: PathBuf,
    /// Reference result file (usually the oracle's).
    pub expected: PathBuf,
    /// The query both answer.
    #[command(flatten)]
    pub query: QueryArgs,
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
    /// Write JSON Lines (`json`) or the same events as CSV with a header line (`csv`; one
    /// record shape: NEXMark needs one --kind).
    #[arg(long, value_enum, default_value = "json")]
    pub format: GenFormat,
}

/// `streamlab gen --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GenFormat {
    /// JSON Lines.
    Json,
    /// CSV, a header line first.
    Csv,
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
    /// The live view (`--serve`).
    #[command(flatten)]
    pub live: streamlab_live::LiveArgs,
}
