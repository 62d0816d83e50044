//! The per-batch log: id, offset range, input rows, duration and watermarks of every batch
//! (what Spark prints as a `StreamingQueryProgress`).
//!
//! Kept in memory when the engine is built with [`crate::MicrobatchEngine::with_batch_log`],
//! printed to stderr one line per batch when the environment variable
//! `STREAMLAB_MICROBATCH_LOG` is set (the harness has no engine-specific flags), and
//! summarised in [`streamlab_core::RunSummary::notes`] after every run.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why a batch ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchKind {
    /// It had input.
    Data,
    /// No input, but the watermark moved: windows may close (Spark's no-data batch).
    NoData,
    /// End of input: the watermark is +infinity and everything closes.
    Final,
}

/// One batch, as logged.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchInfo {
    /// Batch id (from 0).
    pub id: u64,
    /// Why it ran.
    pub kind: BatchKind,
    /// Arrival `seq` of its first and last event (`None` without input).
    pub offsets: Option<(u64, u64)>,
    /// Events in the batch.
    pub input_rows: usize,
    /// Events dropped as late.
    pub late: u64,
    /// Rows emitted.
    pub output_rows: usize,
    /// W_(k-1): assignments to windows ending at or below it were late.
    pub late_bound: i64,
    /// W_k: windows ending at or below it closed.
    pub watermark: i64,
    /// Wall time from planning to the last row handed to the sink.
    pub duration: Duration,
}

fn show_w(w: i64) -> String {
    match w {
        i64::MIN => "-inf".into(),
        i64::MAX => "+inf".into(),
        w => w.to_string(),
    }
}

impl fmt::Display for BatchInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "batch {} ({:?}) offsets ", self.id, self.kind)?;
        match self.offsets {
            Some((a, b)) => write!(f, "{a}..={b}")?,
            None => write!(f, "-")?,
        }
        write!(
            f,
            " input {} late {} output {} watermark {} (late below {}) took {:.3} ms",
            self.input_rows,
            self.late,
            self.output_rows,
            show_w(self.watermark),
            show_w(self.late_bound),
            self.duration.as_secs_f64() * 1e3
        )
    }
}

/// A shared, clonable handle to a run's batch log.
#[derive(Clone, Debug, Default)]
pub struct BatchLog {
    batches: Arc<Mutex<Vec<BatchInfo>>>,
}

impl BatchLog {
    /// Every batch logged so far, in order.
    pub fn batches(&self) -> Vec<BatchInfo> {
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The batches logged after the first `from` (a reader that keeps its place, such as
    /// the live view, copies only what is new).
    pub fn since(&self, from: usize) -> Vec<BatchInfo> {
        let batches = self.batches.lock().unwrap_or_else(|e| e.into_inner());
        batches.get(from..).map(<[_]>::to_vec).unwrap_or_default()
    }

    /// Appends one batch.
    pub fn push(&self, info: BatchInfo) {
        self.batches
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(info);
    }
}
