//! The engine registry: every engine the CLI and the test suites can pick by name.
//! Adding an engine is adding a variant here; the golden and oracle suites then run it.

use streamlab_core::Engine;

/// Engines selectable with `--engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// The exact answer over the whole input at once (the reference).
    Oracle,
    /// A single-threaded hand-written loop (the COST baseline; per-record watermark).
    Baseline,
    /// The micro-batch engine (the Spark Structured Streaming model).
    Microbatch,
    /// The per-record dataflow engine on timely (the Flink model).
    Record,
}

impl EngineKind {
    /// A fresh engine of this kind.
    pub fn build(self) -> Box<dyn Engine> {
        match self {
            EngineKind::Oracle => Box::new(streamlab_reference::Oracle),
            EngineKind::Baseline => Box::new(streamlab_reference::Baseline),
            EngineKind::Microbatch => Box::new(microbatch_engine::MicrobatchEngine::default()),
            EngineKind::Record => Box::new(record_engine::RecordEngine),
        }
    }

    /// Every registered engine, reference first.
    pub fn all() -> Vec<EngineKind> {
        <EngineKind as clap::ValueEnum>::value_variants().to_vec()
    }

    /// The registry name, as typed on the command line.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}
