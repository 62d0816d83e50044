//! Batch planning: the driver fixes a batch's offset range before running it.
//!
//! When a trigger fires, the planner pulls what the source has available now, up to the
//! batch bound, and that is the batch: events arriving while it runs wait for the next
//! one (Spark's "latest offsets" at trigger time, capped by `maxOffsetsPerTrigger`).
//! A poll that returns fewer events than asked for has returned everything available
//! (the [`Source`] contract), so planning stops there: polling on would let a live source
//! stretch the batch with events that arrive after the trigger.

use streamlab_core::engine::{EngineError, Poll, Source};
use streamlab_core::Event;

/// What the source had when a batch was planned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    /// The batch reached its bound; more may be available.
    Full,
    /// The source had nothing more right now.
    Drained,
    /// The source has ended: nothing more will come.
    Ended,
    /// The run was stopped (a signal) before the input ended: nothing more will come,
    /// and the windows still open stay open.
    Stopped,
}

/// Pulls batches from a source.
#[derive(Debug, Default)]
pub struct BatchPlanner {
    ended: bool,
    stopped: bool,
}

impl BatchPlanner {
    /// Whether the source has ended.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Whether the source was stopped before its input ended.
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// Appends to `batch` the events available now, at most `bound` in all.
    pub fn plan(
        &mut self,
        source: &mut dyn Source,
        batch: &mut Vec<Event>,
        bound: usize,
    ) -> Result<Availability, EngineError> {
        if self.ended {
            return Ok(Availability::Ended);
        }
        if self.stopped {
            return Ok(Availability::Stopped);
        }
        while batch.len() < bound {
            // Ask for at most a chunk at a time, so `Once` (no bound) does not make the
            // source reserve an unbounded buffer.
            let want = (bound - batch.len()).min(1 << 20);
            let before = batch.len();
            match source.poll(batch, want)? {
                Poll::Ready if batch.len() - before < want => return Ok(Availability::Drained),
                Poll::Ready => {}
                Poll::Pending => return Ok(Availability::Drained),
                Poll::End => {
                    self.ended = true;
                    return Ok(Availability::Ended);
                }
                Poll::Stopped => {
                    self.stopped = true;
                    return Ok(Availability::Stopped);
                }
            }
        }
        Ok(Availability::Full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_core::engine::VecSource;

    fn events(n: u64) -> Vec<Event> {
        (0..n)
            .map(|seq| Event {
                seq,
                time: seq as i64,
                key: 0,
                part: 0,
                fields: Default::default(),
            })
            .collect()
    }

    #[test]
    fn batches_are_cut_at_the_bound_and_the_end_is_noticed() {
        let mut source = VecSource::new(events(5));
        let mut planner = BatchPlanner::default();
        let mut batch = Vec::new();
        assert_eq!(
            planner.plan(&mut source, &mut batch, 3).unwrap(),
            Availability::Full
        );
        assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2]);
        batch.clear();
        assert_eq!(
            planner.plan(&mut source, &mut batch, 3).unwrap(),
            Availability::Drained,
            "two of three: all there is now"
        );
        assert_eq!(batch.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
        assert!(!planner.ended());
        batch.clear();
        assert_eq!(
            planner.plan(&mut source, &mut batch, 3).unwrap(),
            Availability::Ended
        );
        assert!(planner.ended());
        batch.clear();
        assert_eq!(
            planner.plan(&mut source, &mut batch, 3).unwrap(),
            Availability::Ended
        );
        assert!(batch.is_empty());
    }
}
