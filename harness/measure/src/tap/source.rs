//! The source side of a tap: counts what the engine takes and when.

use super::EngineTap;
use std::sync::Arc;
use streamlab_core::engine::{Poll, Source, SourcePosition};
use streamlab_core::model::event::{Event, Part};
use streamlab_core::EngineError;

/// A source that notes every chunk it hands to the engine in its [`EngineTap`].
pub struct TappedSource {
    inner: Box<dyn Source>,
    tap: Arc<EngineTap>,
}

impl TappedSource {
    /// Taps `inner` into `tap`.
    pub fn new(inner: Box<dyn Source>, tap: Arc<EngineTap>) -> TappedSource {
        TappedSource { inner, tap }
    }
}

impl Source for TappedSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        let poll = self.inner.poll(buf, max)?;
        if let Some(new) = buf.get(before..).filter(|new| !new.is_empty()) {
            let (last_seq, max_time) = new
                .iter()
                .fold((0, i64::MIN), |(s, t), e| (s.max(e.seq), t.max(e.time)));
            self.tap.delivered(new.len() as u64, last_seq, max_time);
        }
        Ok(poll)
    }

    fn partitions(&self) -> Part {
        self.inner.partitions()
    }

    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        self.inner.position(next_seq)
    }

    fn seek(&mut self, position: &SourcePosition, next_seq: u64) -> Result<(), EngineError> {
        self.inner.seek(position, next_seq)
    }
}
