//! What an experiment is asked to do: which one, how big, how often; the settings every
//! experiment reads and its results folder records (`config.toml`).

use serde::Serialize;
use streamlab_engines::EngineKind;

/// The experiments, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Experiment {
    /// Latency percentiles against input rate.
    LatencyThroughput,
    /// Micro-batch trigger interval against latency and throughput.
    TriggerSweep,
    /// Watermark delay × disorder against late drops, accuracy and latency.
    WatermarkAccuracy,
    /// Rows emitted and latency per output mode.
    OutputModes,
    /// Processing-time against event-time windows under disorder.
    TimeDomains,
    /// 1 and 2 workers.
    Scaling,
    /// Web logs through a Kafka broker, aggregated by every engine (end-to-end latency).
    KafkaLogs,
    /// Processes killed and restarted from their checkpoints.
    Recovery,
    /// Checkpoint interval and state size against throughput, bytes and recovery time.
    CheckpointInterval,
    /// The Yahoo Streaming Benchmark: throughput and window-end-to-result latency.
    Ysb,
    /// NEXMark queries: throughput beside the published nexmark-flink figures.
    Nexmark,
    /// W1 on real Spark and real Flink (the jobs of `peers/`) beside the lab's engines.
    Peers,
}

impl Experiment {
    /// The kebab-case name (folder suffix, notebook name).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }
}

/// Settings common to all experiments.
#[derive(Clone, Debug, Serialize)]
pub struct ExperimentConfig {
    /// Which experiment.
    pub experiment: Experiment,
    /// Small and fast (CI).
    pub quick: bool,
    /// Input seed.
    pub seed: u64,
    /// Repetitions per point.
    pub reps: usize,
    /// The exact command line.
    pub command: String,
    /// `recovery` and `checkpoint-interval` only: engines (default: every one that checkpoints).
    pub engines: Vec<EngineKind>,
    /// `recovery` only: kills per engine.
    pub kills: Option<usize>,
    /// `recovery` and `checkpoint-interval` only: events in the stream.
    pub events: Option<u64>,
    /// `recovery` and `checkpoint-interval` only: distinct keys.
    pub keys: Option<u64>,
    /// `recovery` only: events between checkpoints.
    pub checkpoint_every: Option<u64>,
    /// `checkpoint-interval` only: the intervals, ms (empty: the default).
    pub intervals_ms: Vec<u64>,
}
