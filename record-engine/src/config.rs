//! The record engine's own knobs, as `streamlab run` takes them (`--watermark-interval`,
//! `--complete-interval`, timely's cluster `--processes/--process/--hostfile`), with their
//! defaults: [`Config`], which the engine is built from, and [`Config::settings`], which
//! resolves it with a run's generic options into the [`Settings`] the dataflow runs with.

use crate::dataflow::Settings;
use std::path::PathBuf;
use std::time::Duration;
use streamlab_core::engine::RunOptions;
use streamlab_core::model::duration::DurationMs;

/// Records between watermark advances when `--watermark-interval` is not given: one step
/// per source chunk ([`crate::operators::source::CHUNK`]) while the source is saturated;
/// when it is not, the watermark also steps at the end of every poll that drains it, so
/// the lag stays in the microseconds at any rate.
///
/// Every watermark step is a new timely timestamp, and every timestamp costs a flush of
/// the exchange to every worker plus progress traffic: measured with `streamlab run` on W1
/// at intervals 64, 1024 and 4096, 1024 keeps most of the throughput of 4096 while the
/// watermark trails the newest record by at most one chunk. (`cargo bench -p
/// streamlab-experiments --bench record_engine`, group `record_watermark_interval`,
/// measures the sweep on a stream where every record moves the watermark.)
pub const DEFAULT_WATERMARK_INTERVAL: u64 = 1024;

/// Complete-mode emission interval when `--complete-interval` is not given.
pub const DEFAULT_COMPLETE_INTERVAL: Duration = Duration::from_secs(1);

/// The record engine's knobs (`None`: the default); a `clap::Args` that `streamlab run`
/// flattens into its own flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[group(id = "record-engine", multiple = true)]
pub struct Config {
    /// Records between watermark advances (per-record engine).
    #[arg(long)]
    pub watermark_interval: Option<u64>,
    /// Processing-time interval between complete-mode emissions (per-record engine).
    #[arg(long)]
    pub complete_interval: Option<DurationMs>,
    /// Run as one process of a timely cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// Timely's cluster mode as `streamlab run` takes it: every process is started with the
/// same `--processes` and host file and its own `--process`.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[group(id = "cluster", multiple = true)]
pub struct ClusterArgs {
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

/// One process's place in a multi-process run (timely's own cluster configuration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    /// Number of processes.
    pub processes: usize,
    /// This process's index, `0..processes`.
    pub process: usize,
    /// File with one `host:port` per line, one per process (None: localhost ports 2101..).
    pub hostfile: Option<PathBuf>,
}

impl ClusterArgs {
    /// The cluster this process is part of; `None` without `--processes` and `--process`.
    pub fn cluster(&self) -> Option<Cluster> {
        match (self.processes, self.process) {
            (Some(processes), Some(process)) => Some(Cluster {
                processes,
                process,
                hostfile: self.hostfile.clone(),
            }),
            _ => None,
        }
    }
}

impl Config {
    /// Refuses a value no run can use, naming its flag.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(c) = self.cluster.cluster() {
            if c.processes == 0 || c.process >= c.processes {
                return Err(format!(
                    "--process must be in 0..{} (got {})",
                    c.processes, c.process
                ));
            }
        }
        if self.watermark_interval == Some(0) {
            return Err("--watermark-interval must be at least 1".into());
        }
        Ok(())
    }

    /// The settings of a run with `options`, after defaults.
    pub fn settings(&self, options: &RunOptions) -> Settings {
        Settings {
            workers: options.workers_or_default(),
            watermark_interval: self
                .watermark_interval
                .unwrap_or(DEFAULT_WATERMARK_INTERVAL)
                .max(1),
            complete_interval: self
                .complete_interval
                .map(|d| Duration::from_millis(d.ms().max(1) as u64))
                .unwrap_or(DEFAULT_COMPLETE_INTERVAL),
            cluster: self.cluster.cluster(),
            checkpoint: options.checkpoint.clone(),
        }
    }
}
