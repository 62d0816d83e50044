//! Stopping a run on SIGINT or SIGTERM (Ctrl-C, `kill`, a container's stop) without
//! throwing away what it has done. On the first signal the run's source answers
//! [`Poll::Stopped`]: the engine ends without closing its open windows (the rows out are
//! the final ones), takes a last checkpoint when it checkpoints (Flink's
//! stop-with-savepoint), and the run writes its summary, says on stderr that it was
//! stopped and exits with 128 + the signal's number (130, 143), as a shell reports a
//! job a signal ended. A second signal exits at once, with the same status.
//!
//! A checkpointed run's output file is not written at a stop: its committed parts stay in
//! `OUT.parts` and the checkpoint is the one to resume from, so a shorter output never
//! looks like a finished one.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use streamlab_core::engine::{EngineError, Poll, Source, SourcePosition};
use streamlab_core::model::event::Part;
use streamlab_core::{Event, OutRow, Sink};

/// The signals that stop a run.
const SIGNALS: [(i32, &str); 2] = [
    (signal_hook::consts::SIGINT, "SIGINT"),
    (signal_hook::consts::SIGTERM, "SIGTERM"),
];

/// Whether a stop was asked for, and by which signal. Clones share the request.
#[derive(Clone, Debug, Default)]
pub struct StopRequest {
    asked: Arc<AtomicBool>,
    signal: Arc<AtomicUsize>,
}

impl StopRequest {
    /// A request the process's SIGINT and SIGTERM make: the first sets it, a second
    /// (either) exits the process at once with 128 + its number.
    pub fn on_signals() -> std::io::Result<StopRequest> {
        let request = StopRequest::default();
        for (signal, _) in SIGNALS {
            // In this order: the exit checks the request before the first signal sets it.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                exit_status(signal),
                Arc::clone(&request.asked),
            )?;
            signal_hook::flag::register_usize(
                signal,
                Arc::clone(&request.signal),
                signal as usize,
            )?;
            signal_hook::flag::register(signal, Arc::clone(&request.asked))?;
        }
        Ok(request)
    }

    /// Asks for a stop as `signal` would (tests).
    pub fn ask(&self, signal: i32) {
        self.signal.store(signal as usize, Ordering::SeqCst);
        self.asked.store(true, Ordering::SeqCst);
    }

    /// The signal that asked for the stop, if one did.
    pub fn signal(&self) -> Option<i32> {
        self.asked
            .load(Ordering::SeqCst)
            .then(|| self.signal.load(Ordering::SeqCst) as i32)
    }
}

/// How a run was stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The signal's number.
    pub signal: i32,
    /// The run checkpoints: its last checkpoint is the one to resume from.
    pub checkpointed: bool,
}

/// The status a run stopped by `signal` exits with: 128 + its number, as shells report
/// a job a signal ended (130 for SIGINT, 143 for SIGTERM).
pub fn exit_status(signal: i32) -> i32 {
    128 + signal
}

/// The signal's name (`SIGINT`), as the summary and the message say it.
pub fn signal_name(signal: i32) -> String {
    SIGNALS
        .iter()
        .find(|(s, _)| *s == signal)
        .map_or_else(|| format!("signal {signal}"), |(_, n)| (*n).to_owned())
}

/// A run's source that answers [`Poll::Stopped`] once a stop is asked for, and from then
/// on. `delivered` tells the run whether its engine was stopped (a stop asked for after
/// the input ended does not stop a run that has finished reading).
pub struct StoppableSource {
    inner: Box<dyn Source>,
    request: StopRequest,
    delivered: Arc<AtomicBool>,
}

impl StoppableSource {
    /// `inner`, stopped by `request`.
    pub fn new(inner: Box<dyn Source>, request: StopRequest) -> StoppableSource {
        StoppableSource {
            inner,
            request,
            delivered: Arc::default(),
        }
    }

    /// Set once the engine has been told [`Poll::Stopped`].
    pub fn delivered(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.delivered)
    }
}

impl Source for StoppableSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        if self.delivered.load(Ordering::SeqCst) || self.request.signal().is_some() {
            self.delivered.store(true, Ordering::SeqCst);
            return Ok(Poll::Stopped);
        }
        self.inner.poll(buf, max)
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

/// A run's sink that, once its engine was stopped, does not let a transactional sink
/// write its final output: the committed parts and the last checkpoint wait for the run
/// to be resumed. A plain sink is finished (flushed) as at the end of input.
pub struct StoppableSink {
    inner: Box<dyn Sink>,
    stopped: Arc<AtomicBool>,
}

impl StoppableSink {
    /// `inner`; `stopped`: [`StoppableSource::delivered`] of the run's source.
    pub fn new(inner: Box<dyn Sink>, stopped: Arc<AtomicBool>) -> StoppableSink {
        StoppableSink { inner, stopped }
    }
}

impl Sink for StoppableSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.inner.emit(rows)
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        if self.stopped.load(Ordering::SeqCst) && self.inner.transactional() {
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_core::engine::VecSource;

    fn event(seq: u64) -> Event {
        Event {
            seq,
            time: seq as i64,
            key: 0,
            part: 0,
            fields: Default::default(),
        }
    }

    #[test]
    fn a_stop_request_stops_the_source_for_good_and_says_which_signal() {
        let request = StopRequest::default();
        let mut source = StoppableSource::new(
            Box::new(VecSource::new((0..10).map(event).collect())),
            request.clone(),
        );
        let delivered = source.delivered();
        let mut buf = Vec::new();
        assert_eq!(source.poll(&mut buf, 4).unwrap(), Poll::Ready);
        assert_eq!(buf.len(), 4);
        assert!(!delivered.load(Ordering::SeqCst));
        assert_eq!(request.signal(), None);
        request.ask(signal_hook::consts::SIGTERM);
        assert_eq!(source.poll(&mut buf, 4).unwrap(), Poll::Stopped);
        assert_eq!(source.poll(&mut buf, 4).unwrap(), Poll::Stopped);
        assert_eq!(buf.len(), 4, "nothing more is read after the stop");
        assert!(delivered.load(Ordering::SeqCst));
        let signal = request.signal().unwrap();
        assert_eq!(signal_name(signal), "SIGTERM");
        assert_eq!(exit_status(signal), 143);
        assert_eq!(exit_status(signal_hook::consts::SIGINT), 130);
    }
}
