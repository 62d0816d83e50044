//! The sink side of a tap: counts rows and samples their latency.

use super::EngineTap;
use crate::metrics::latency_histogram;
use hdrhistogram::Histogram;
use std::sync::Arc;
use streamlab_core::semantics::row::OutRow;
use streamlab_core::{EngineError, Sink};

/// How often the sink hands its sampled latencies to the tap.
const HAND_OVER_NS: u64 = 100_000_000;
/// At most one latency sample pass per this many ns (all rows of that emission).
const SAMPLE_EVERY_NS: u64 = 1_000_000;

/// A sink that counts the engine's rows in its [`EngineTap`] and samples their latency.
pub struct TappedSink {
    inner: Box<dyn Sink>,
    tap: Arc<EngineTap>,
    sampled: Histogram<u64>,
    last_sample_ns: u64,
    last_hand_over_ns: u64,
}

impl TappedSink {
    /// Taps `inner` into `tap`.
    pub fn new(inner: Box<dyn Sink>, tap: Arc<EngineTap>) -> TappedSink {
        TappedSink {
            inner,
            tap,
            sampled: latency_histogram(),
            last_sample_ns: 0,
            last_hand_over_ns: 0,
        }
    }
}

impl Sink for TappedSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.inner.emit(rows)?;
        self.tap.emitted(rows.len() as u64);
        let now = self.tap.now_ns();
        if now.saturating_sub(self.last_sample_ns) >= SAMPLE_EVERY_NS || self.last_sample_ns == 0 {
            self.last_sample_ns = now;
            self.tap.sample_latencies(rows, now, &mut self.sampled);
        }
        if now.saturating_sub(self.last_hand_over_ns) >= HAND_OVER_NS {
            self.last_hand_over_ns = now;
            self.tap.hand_over(&mut self.sampled);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        self.tap.hand_over(&mut self.sampled);
        self.inner.finish()
    }

    fn transactional(&self) -> bool {
        self.inner.transactional()
    }

    fn prepare(&mut self, epoch: u64) -> Result<(), EngineError> {
        self.inner.prepare(epoch)
    }

    fn commit(&mut self, epoch: u64) -> Result<(), EngineError> {
        self.inner.commit(epoch)
    }

    fn recover(&mut self, epoch: Option<u64>) -> Result<(), EngineError> {
        self.inner.recover(epoch)
    }
}

impl Drop for TappedSink {
    /// An engine that never calls `finish` still hands over its last samples.
    fn drop(&mut self) {
        self.tap.hand_over(&mut self.sampled);
    }
}
