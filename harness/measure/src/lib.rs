//! Measuring engines as measurement.md says: the open-loop replay, latency per output
//! row, CPU and memory, the sustainable-rate search, accuracy against the exact answer,
//! and results folders that the notebooks read.
//!
//! # Layout
//! - [`replay`]: the open-loop replay driver, rates and rate profiles.
//! - [`metrics`]: latency per output row (hdrhistogram), CPU and memory.
//! - [`window_latency`]: YSB's window-end-to-result latency.
//! - [`measured`]: one measured run of an engine over pre-loaded events.
//! - [`sustainable`]: whether a run held its rate; the sustainable-throughput search.
//! - [`spread`]: median, min and max over repetitions.
//! - [`accuracy`]: comparing final answers (exact / missing / extra / wrong, relative error).
//! - [`human`]: numbers as people read them (`247k/s`, `12.5 ms`).
//! - [`progress`]: the progress bar of long runs (terminals only).
//! - [`tap`]: live taps on a run's source and sink, read by the live view (`--serve`).
//! - [`results`]: results folders (README, config, machine, raw CSV, summary, histograms).

pub mod accuracy;
pub mod human;
pub mod measured;
pub mod metrics;
pub mod progress;
pub mod replay;
pub mod results;
pub mod spread;
pub mod sustainable;
pub mod tap;
pub mod window_latency;
