//! The engines streamlab can run, by name, and running one over decoded input: the glue
//! the CLI, the demo, the experiments and the test suites share, so that every path
//! through streamlab runs engines the same way. It sits below the experiments and the
//! CLI, which both pick engines from it.
//!
//! # Layout
//! - [`registry`]: [`EngineKind`], every engine selectable with `--engine` (the oracle, the
//!   baseline, the micro-batch and the per-record engines), and [`EngineConfigs`], every
//!   engine's own flags, which the CLI flattens and refuses for the other engines.
//! - [`runner`]: running one engine over decoded input into a sink, and reading result
//!   rows back.
//! - [`live`]: the micro-batch engine's batch log, fed to the live view (`--serve`).

pub mod live;
pub mod registry;
pub mod runner;

pub use registry::{EngineConfigs, EngineKind};
