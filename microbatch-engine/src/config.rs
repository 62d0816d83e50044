//! The micro-batch engine's own knobs, as `streamlab run` takes them (`--trigger`,
//! `--max-records-per-batch`), with their defaults: [`Config`], which the engine is built
//! from, and [`Config::settings`], which resolves it with a run's generic options into the
//! [`Settings`] the driver runs with.

use crate::driver::Settings;
use crate::pool::Placement;
use crate::trigger::Trigger;
use streamlab_core::engine::RunOptions;

/// Events per batch when `--max-records-per-batch` is not given and batches run back to
/// back (`Interval(0)`, `AvailableNow`); with a processing-time interval the default is
/// no bound.
pub const DEFAULT_MAX_RECORDS_PER_BATCH: usize = 100_000;

/// The micro-batch engine's knobs (`None`: the default); a `clap::Args` that `streamlab run`
/// flattens into its own flags.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[group(id = "microbatch-engine", multiple = true)]
pub struct Config {
    /// Upper bound on events per micro-batch.
    #[arg(long)]
    pub max_records_per_batch: Option<usize>,
    /// Micro-batch trigger: an interval (`100ms`), `once` or `available-now`.
    #[arg(long)]
    pub trigger: Option<Trigger>,
}

impl Config {
    /// Refuses a value no run can use, naming its flag.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_records_per_batch == Some(0) {
            return Err("--max-records-per-batch must be at least 1".into());
        }
        Ok(())
    }

    /// The settings of a run with `options`, its partitions placed as `placement` says,
    /// after defaults: trigger `Interval(0)` (Spark's default: the next batch as soon as
    /// the previous one ends), and the batch bound [`DEFAULT_MAX_RECORDS_PER_BATCH`] when
    /// batches run back to back, none with a processing-time interval.
    pub fn settings(&self, options: &RunOptions, placement: Placement) -> Settings {
        let trigger = self
            .trigger
            .unwrap_or(Trigger::Interval(Default::default()));
        let default_bound = match trigger {
            Trigger::Interval(d) if d.ms() > 0 => usize::MAX,
            _ => DEFAULT_MAX_RECORDS_PER_BATCH,
        };
        Settings {
            placement,
            split: Default::default(),
            workers: options.workers_or_default(),
            max_records_per_batch: self.max_records_per_batch.unwrap_or(default_bound).max(1),
            trigger,
            checkpoint: options.checkpoint.clone(),
        }
    }
}
