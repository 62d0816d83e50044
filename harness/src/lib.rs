//! The streamlab harness: everything around the engines.
//!
//! # Layout
//! - [`cli`]: the `streamlab` command line (run, oracle, compare, gen, demo).
//! - [`engines`]: the registry of engines selectable by name.
//! - [`oracle`]: the exact answer, the reference every engine is checked against.
//! - [`baseline`]: the single-threaded hand-written loop every throughput is compared with.
//! - [`input`]: reading and decoding JSON Lines, malformed-line reporting, `--strict`.
//! - [`file_position`]: a file input resumed at a checkpoint's line and byte offset.
//! - [`inputs`]: `--input` addresses (file, stdin, tcp://, dir://, kafka://).
//! - [`kafka`]: Kafka source, sink and producer (end markers close partitions).
//! - [`live`]: live inputs decoded as they arrive: socket, directory (and Kafka).
//! - [`sink`]: JSON Lines output.
//! - [`replay`]: the open-loop replay driver, rates and rate profiles.
//! - [`metrics`]: latency per output row (hdrhistogram), CPU and memory.
//! - [`produce`]: `streamlab produce`: a workload or file into a Kafka topic at a rate.
//! - [`progress`]: the progress bar of long runs (terminals only).
//! - [`recovery`]: `experiment recovery`, SIGKILL and restart from checkpoints.
//! - [`bench`]: measured runs in child processes, the sustainable-throughput search.
//! - [`suite`]: `streamlab bench`: repetitions, interleaving, table, results folder.
//! - [`experiments`]: `streamlab experiment NAME`: the teaching experiments.
//! - [`ysb`], [`nexmark`]: `experiment ysb` and `experiment nexmark`, the two published
//!   benchmarks; [`window_latency`]: YSB's window-end-to-result latency.
//! - [`results`]: results folders (README, config, machine, raw CSV, summary, histograms).
//! - [`runner`]: running one engine over decoded input (shared by CLI, demo and tests).
//! - [`accuracy`]: comparing final answers (exact / missing / extra / wrong, relative error).
//! - [`gen`]: the deterministic workload generator.
//! - [`golden`]: the golden-case runner used by `tests/golden.rs`.
//! - [`demo`]: the main job, every engine side by side.

pub mod accuracy;
pub mod baseline;
pub mod bench;
pub mod cli;
pub mod demo;
pub mod engines;
pub mod experiments;
pub mod file_position;
pub mod gen;
pub mod golden;
pub mod input;
pub mod inputs;
pub mod kafka;
pub mod kafka_position;
pub mod live;
pub mod metrics;
pub mod nexmark;
pub mod oracle;
pub mod produce;
pub mod progress;
pub mod recovery;
pub mod replay;
pub mod results;
pub mod runner;
pub mod sink;
pub mod suite;
pub mod tables;
pub mod window_latency;
pub mod ysb;
