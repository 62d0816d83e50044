//! streamlab's measured comparisons: `streamlab bench` and the teaching experiments, each
//! writing a results folder (`results/<date>-<host>-<name>/`) that a notebook plots.
//!
//! # Layout
//! - [`config`]: the experiments by name and the settings they share.
//! - [`registry`]: `streamlab experiment NAME`: running one into its results folder.
//! - [`sweep`]: the loop they share: repetitions of every engine, interleaved, each run
//!   recorded in `raw.csv`; the engines measured; the throughput table.
//! - [`runs`]: the runs on the terminal (run k of N, ETA, a line per finished run).
//! - [`child`]: a measured run in a child process (`streamlab bench-run`).
//! - [`checked`]: in-process runs whose rows are compared with the exact answer.
//! - [`w1`]: W1's generated clicks and the W1-shaped queries the experiments vary.
//! - One file per experiment: [`latency_throughput`], [`trigger_sweep`],
//!   [`watermark_accuracy`], [`output_modes`], [`time_domains`], [`scaling`], `kafka_logs`
//!   (cargo feature `kafka`, default on), [`recovery`], [`ysb`], [`nexmark`], [`peers`]
//!   (real Spark and Flink, the jobs of `peers/`).
//! - [`suite`]: `streamlab bench`: repetitions, the sustainable-rate search, the table,
//!   the results folder; [`cost`]: COST, the workers an engine needs to match the
//!   hand-written W1 loop.

pub mod checked;
pub mod checkpoint_interval;
pub mod child;
pub mod config;
pub mod cost;
#[cfg(feature = "kafka")]
pub mod kafka_logs;
pub mod latency_throughput;
pub mod nexmark;
pub mod output_modes;
pub mod peers;
pub mod recovery;
pub mod registry;
pub mod runs;
pub mod scaling;
pub mod suite;
pub mod sweep;
pub mod time_domains;
pub mod trigger_sweep;
pub mod w1;
pub mod watermark_accuracy;
pub mod ysb;

pub use config::{Experiment, ExperimentConfig};
pub use registry::run_experiment;
