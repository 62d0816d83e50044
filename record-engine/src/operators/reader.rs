//! A source reader: one per worker of process 0 (worker 0 alone for a query without
//! windows), each taking its turn at the one [`SharedSource`] and sending what it took.
//!
//! A turn gives the reader the next chunk of the input, already stamped; the reader moves
//! its inputs to the chunk's stamps and sends the records (exchanged by key, or whole when
//! the chunk travels at one stamp), then moves its inputs to the stamp after the chunk.
//! While another reader holds the source it steps its dataflow (its window operator works
//! on the records others sent), and while too many records are in flight it waits with
//! its inputs at the source's current stamp, so the frontier (the minimum over the
//! readers' inputs) can pass what is done. The reader that ends the input (its end, an
//! error, a failed sink) tells every worker the final complete-mode table's number.
//!
//! The inputs of one reader only move forward: the chunks it takes come later in the input
//! than the ones it took before, so their stamps are larger.

use super::source::{Chunk, Control, ControlKind, SharedSource, SourceStats, Turn};
use crate::operators::sink::SharedSink;
use crate::stamp::Stamp;
use std::time::Duration;
use streamlab_core::engine::EngineError;
use streamlab_core::Event;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::{InputHandle, ProbeHandle};
use timely::worker::Worker;

/// The event and control inputs of one worker, advanced together so the window operator's
/// two input frontiers never hold each other back.
pub struct Inputs {
    /// Filtered events.
    pub events: InputHandle<Stamp, CapacityContainerBuilder<Vec<Event>>>,
    /// Control messages.
    pub control: InputHandle<Stamp, CapacityContainerBuilder<Vec<Control>>>,
}

impl Inputs {
    /// Inputs at the smallest stamp.
    pub fn new() -> Self {
        Inputs {
            events: InputHandle::new(),
            control: InputHandle::new(),
        }
    }

    /// Moves both inputs to `s`, if that is later.
    fn advance_to(&mut self, s: Stamp) {
        if s > *self.events.time() {
            self.events.advance_to(s);
            self.control.advance_to(s);
        }
    }

    /// Sends `chunk`'s events at their stamps and moves on to the stamp after it.
    fn send(&mut self, chunk: &mut Chunk) {
        match chunk.stamps[..] {
            [(_, s)] => {
                // One stamp: the chunk goes into the dataflow as one container.
                self.advance_to(s);
                self.events.send_batch(&mut chunk.events);
                chunk.events.clear();
            }
            _ => {
                let mut next = 0;
                for (i, e) in chunk.events.drain(..).enumerate() {
                    while chunk.stamps.get(next).is_some_and(|&(from, _)| from <= i) {
                        self.advance_to(chunk.stamps[next].1);
                        next += 1;
                    }
                    self.events.send(e);
                }
            }
        }
        self.advance_to(chunk.after);
    }
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs::new()
    }
}

/// What a reader reports when reading is over.
#[derive(Default)]
pub struct ReaderReport {
    /// The source's counts (from the reader that ended the input).
    pub source: Option<SourceStats>,
    /// Why reading failed, if it did here.
    pub error: Option<EngineError>,
}

/// Reads `source` in turns with the other readers until the input ends, feeding `inputs`
/// on `worker`; `probe` sees the window operators' progress (flow control), `sink` takes
/// the source's share of each checkpoint. Returns with the inputs still open.
pub fn read(
    worker: &mut Worker,
    source: &SharedSource,
    inputs: &mut Inputs,
    probe: &ProbeHandle<Stamp>,
    sink: &SharedSink,
) -> ReaderReport {
    let deposit = |part: Option<(u64, crate::checkpoint::SourcePart)>| {
        if let Some((epoch, part)) = part {
            sink.lock()
                .unwrap_or_else(|e| e.into_inner())
                .source_part(epoch, part);
        }
    };
    let mut report = ReaderReport::default();
    let mut chunk = Chunk {
        events: Vec::with_capacity(super::source::CHUNK),
        ..Default::default()
    };
    // Whether this reader ended the input, and whether it read it to its end: only then is
    // the last epoch a checkpoint of a finished run (a failed run must resume, not look done).
    let mut ended = None;
    let mut wait_for_lock = false;
    while ended.is_none() {
        if sink
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .error
            .is_some()
        {
            if source.stop() {
                ended = Some(false);
            }
            break;
        }
        match source.take(&mut chunk, probe, wait_for_lock) {
            Ok(Turn::Read { more }) => {
                wait_for_lock = false;
                inputs.send(&mut chunk);
                deposit(chunk.checkpoint.take());
                worker.step();
                if !more {
                    ended = Some(true);
                }
            }
            Ok(Turn::Busy) => {
                // Work on what the other readers sent, then wait for the source.
                worker.step();
                wait_for_lock = true;
            }
            Ok(Turn::Wait(now)) => {
                wait_for_lock = false;
                inputs.advance_to(now);
                worker.step_or_park(Some(Duration::from_millis(1)));
            }
            Ok(Turn::Stopped) => break,
            Err(e) => {
                report.error = Some(e);
                ended = Some(false);
            }
        }
    }
    if let Some(complete) = ended {
        let finish = source.finish();
        for to in 0..worker.peers() as u64 {
            inputs.control.send(Control {
                to,
                what: ControlKind::End {
                    emit: finish.emit,
                    stopped: finish.stopped,
                },
            });
        }
        // A stopped run's last epoch is not a finished run's: its boundary before (taken
        // at the stop) is the checkpoint to resume from.
        if complete && !finish.stopped {
            deposit(finish.last);
        }
        report.source = Some(finish.stats);
    }
    report
}
