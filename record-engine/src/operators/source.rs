//! The source: worker 0 pulls events from the harness's [`Source`], applies the query's
//! filters, and feeds the dataflow, stamping every record with the watermark it generated
//! from the records before it (Flink's `BoundedOutOfOrdernessWatermarks`, at a
//! `--watermark-interval` of N records: the clock is [`super::watermark`]).
//!
//! One source instance reads the one input, as a Flink job with a non-parallel source (a
//! file, a socket) does; the window operators downstream run on every worker. A record's
//! lateness is judged against its stamp, the watermark that preceded it in its source's
//! stream, so the answer does not depend on the number of workers or processes, and with
//! `--watermark-interval 1` it is Flink's per-record answer, record for record.
//!
//! Filters run before the watermark generator ([`super::watermark`]), so filtered-out
//! events do not move the watermark (as in the baseline and the micro-batch engine).
//!
//! Besides the events, the source drives a small control stream (broadcast to every worker)
//! that carries what cannot be said with timestamps: the number of the final complete-mode
//! table.

use super::watermark::SourceClock;
use crate::checkpoint::SourcePart;
use crate::stamp::{stamp, Stamp};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use streamlab_core::engine::{processing_time_ms, EngineError, Poll, Source};
use streamlab_core::query::TimeDomain;
use streamlab_core::semantics::watermark::Watermark;
use streamlab_core::Part;
use streamlab_core::{Event, Plan};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::{InputHandle, ProbeHandle};

/// Events read from the source per poll.
pub const CHUNK: usize = 1024;

/// At most this many records are in the dataflow and not yet through the window operators:
/// the source stops reading until they drain, so a slow engine builds its backlog in the
/// source's queue (where the replay driver's latency accounting sees it), not in memory.
pub const MAX_IN_FLIGHT: u64 = 1 << 18;

/// A message of the control stream, addressed to one worker.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Control {
    /// Worker index it is for.
    pub to: u64,
    /// What it says.
    pub what: ControlKind,
}

/// What a [`Control`] message says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ControlKind {
    /// The input has ended; the final complete-mode table is emission `emit`.
    End {
        /// The final table's emission number (larger than every earlier table's).
        emit: u64,
    },
}

/// The event and control inputs, advanced together so the window operator's two input
/// frontiers never hold each other back.
pub struct Inputs {
    /// Filtered events.
    pub events: InputHandle<Stamp, CapacityContainerBuilder<Vec<Event>>>,
    /// Control messages.
    pub control: InputHandle<Stamp, CapacityContainerBuilder<Vec<Control>>>,
}

impl Inputs {
    fn advance_to(&mut self, s: Stamp) {
        self.events.advance_to(s);
        self.control.advance_to(s);
    }
}

/// Which stamps the window operators have finished, to bound the records in flight.
struct FlowControl {
    /// `(stamp, records sent before it)`, oldest first.
    marks: VecDeque<(Stamp, u64)>,
}

impl FlowControl {
    /// Records are only marked this far apart (a mark per record would cost more than it
    /// saves at a watermark interval of 1).
    const MARK_EVERY: u64 = 4096;

    fn note(&mut self, s: Stamp, sent: u64) {
        if self
            .marks
            .back()
            .is_none_or(|&(_, n)| sent >= n + Self::MARK_EVERY)
        {
            self.marks.push_back((s, sent));
        }
    }

    /// Records sent before the oldest stamp the probe has not passed.
    fn done(&mut self, probe: &ProbeHandle<Stamp>) -> u64 {
        while self.marks.len() >= 2 && !probe.less_than(&self.marks[1].0) {
            self.marks.pop_front();
        }
        self.marks.front().map_or(0, |&(_, n)| n)
    }
}

/// What the source counted.
#[derive(Clone, Copy, Debug, Default)]
pub struct SourceStats {
    /// Valid events read (filtered ones included).
    pub events_in: u64,
    /// Events removed by the filters.
    pub filtered: u64,
    /// Last arrival `seq` read.
    pub last_seq: Option<u64>,
}

/// When checkpoints are due (`--checkpoint-every`, `--checkpoint-interval`).
pub struct CheckpointSchedule {
    /// Every this many events read.
    pub every_events: Option<u64>,
    /// Every this much processing time.
    pub interval: Option<Duration>,
    since_events: u64,
    last: Instant,
}

impl CheckpointSchedule {
    /// A schedule; with neither bound given, every
    /// [`crate::checkpoint::DEFAULT_CHECKPOINT_EVERY`] events.
    pub fn new(every_events: Option<u64>, interval: Option<Duration>) -> Self {
        CheckpointSchedule {
            every_events: every_events.or(interval
                .is_none()
                .then_some(crate::checkpoint::DEFAULT_CHECKPOINT_EVERY)),
            interval,
            since_events: 0,
            last: Instant::now(),
        }
    }

    fn due(&self) -> bool {
        self.every_events.is_some_and(|n| self.since_events >= n)
            || self.interval.is_some_and(|d| self.last.elapsed() >= d)
    }
}

/// What one [`SourceDriver::pump`] did.
pub struct Pumped {
    /// The source has more.
    pub more: bool,
    /// A checkpoint boundary was passed: the source's share of it, by epoch.
    pub checkpoint: Option<(u64, SourcePart)>,
}

/// Drives the inputs from the source until it ends (worker 0 only).
pub struct SourceDriver<'p> {
    plan: &'p Plan,
    clock: SourceClock,
    flow: FlowControl,
    sent: u64,
    complete_every: Option<Duration>,
    next_tick: Instant,
    checkpoints: Option<CheckpointSchedule>,
    /// Events before this `seq` are in the restored state.
    resume: u64,
    /// What the source counted.
    pub stats: SourceStats,
}

impl<'p> SourceDriver<'p> {
    /// A driver for `plan` over a source of `partitions` partitions, advancing the
    /// watermark every `interval` records and, in complete mode, starting a new emission
    /// epoch every `complete_every`.
    pub fn new(
        plan: &'p Plan,
        partitions: Part,
        interval: u64,
        complete_every: Option<Duration>,
    ) -> Self {
        SourceDriver {
            plan,
            clock: SourceClock::new(Watermark::for_plan(plan, partitions), interval),
            flow: FlowControl {
                marks: VecDeque::from([(stamp(i64::MIN, 0, 0), 0)]),
            },
            sent: 0,
            complete_every,
            next_tick: Instant::now() + complete_every.unwrap_or_default(),
            checkpoints: None,
            resume: 0,
            stats: SourceStats::default(),
        }
    }

    /// Starts an epoch (a checkpoint boundary) on `schedule`.
    pub fn with_checkpoints(mut self, schedule: CheckpointSchedule) -> Self {
        self.checkpoints = Some(schedule);
        self
    }

    /// Goes on from a checkpoint's share of the source: its clock, its counts, and the
    /// input after its offset.
    pub fn resume(&mut self, part: &SourcePart) {
        self.clock.resume(&part.clock);
        self.resume = part.next_seq;
        self.stats.events_in = part.events_in;
        self.stats.filtered = part.filtered;
        self.stats.last_seq = part.next_seq.checked_sub(1);
    }

    /// The source's share of the boundary just passed.
    fn part(&self, source: Option<&dyn Source>) -> SourcePart {
        let next_seq = self.stats.last_seq.map_or(self.resume, |s| s + 1);
        SourcePart {
            next_seq,
            position: source.and_then(|s| s.position(next_seq)),
            clock: self.clock.state(),
            events_in: self.stats.events_in,
            filtered: self.stats.filtered,
        }
    }

    /// Ends the current epoch; with checkpoints on, returns the source's share of it.
    fn tick(&mut self, source: &dyn Source, inputs: &mut Inputs) -> Option<(u64, SourcePart)> {
        let boundary = u64::from(self.clock.epoch);
        self.clock.tick();
        self.advance(inputs);
        let c = self.checkpoints.as_mut()?;
        c.since_events = 0;
        c.last = Instant::now();
        Some((boundary, self.part(Some(source))))
    }

    fn advance(&mut self, inputs: &mut Inputs) {
        let s = self.clock.now();
        inputs.advance_to(s);
        self.flow.note(s, self.sent);
    }

    /// Reads one chunk and sends it.
    pub fn pump(
        &mut self,
        source: &mut dyn Source,
        buf: &mut Vec<Event>,
        inputs: &mut Inputs,
    ) -> Result<Pumped, EngineError> {
        buf.clear();
        let status = source.poll(buf, CHUNK)?;
        let processing = self.plan.time == TimeDomain::Processing;
        let filters = &self.plan.filters;
        let polled = buf.len();
        if self.resume > 0 {
            let resume = self.resume;
            buf.retain(|e| e.seq >= resume);
        }
        let read = buf.len();
        self.stats.events_in += read as u64;
        self.stats.last_seq = buf.last().map(|e| e.seq).or(self.stats.last_seq);
        if processing {
            for e in buf.iter_mut() {
                e.time = processing_time_ms();
            }
        }
        if let Some(p) = &self.plan.projection {
            // A projection's `where` is a filter too, applied where the filters are.
            buf.retain(|e| p.keeps(filters, e));
            self.stats.filtered += (read - buf.len()) as u64;
        } else if !filters.is_empty() {
            buf.retain(|e| filters.iter().all(|p| p.holds(e.fields[p.slot])));
            self.stats.filtered += (read - buf.len()) as u64;
        }
        let n = buf.len() as u64;
        if self.clock.since + n <= self.clock.interval {
            // No watermark step inside the chunk (at most one after its last record):
            // send it whole, without copying record by record.
            for e in buf.iter() {
                self.clock.watermark.observe(e.part, e.time);
            }
            self.clock.since += n;
            inputs.events.send_batch(buf);
            buf.clear();
            self.sent += n;
            if self.clock.since == self.clock.interval {
                self.clock.since = 0;
                if self.clock.catch_up() {
                    self.advance(inputs);
                }
            }
        } else {
            for e in buf.drain(..) {
                let (part, time) = (e.part, e.time);
                inputs.events.send(e);
                self.sent += 1;
                if self.clock.on_record(part, time) {
                    self.advance(inputs);
                }
            }
        }
        let mut checkpoint = None;
        if let Some(every) = self.complete_every {
            let now = Instant::now();
            if now >= self.next_tick {
                checkpoint = self.tick(&*source, inputs);
                while self.next_tick <= now {
                    self.next_tick += every;
                }
            }
        }
        if let Some(c) = self.checkpoints.as_mut() {
            c.since_events += read as u64;
            if c.due() && checkpoint.is_none() {
                checkpoint = self.tick(&*source, inputs);
            }
        }
        // Caught up with the input: let the watermark reach the records sent, and close the
        // stamp so partly filled exchange buffers go out now rather than with the next chunk.
        if polled < CHUNK && (self.clock.catch_up() || self.clock.step()) {
            self.advance(inputs);
        }
        Ok(Pumped {
            more: status != Poll::End,
            checkpoint,
        })
    }

    /// Whether too many records are still on their way through the window operators.
    pub fn must_wait(&mut self, probe: &ProbeHandle<Stamp>, inputs: &mut Inputs) -> bool {
        let done = self.flow.done(probe);
        if self.sent - done <= MAX_IN_FLIGHT {
            return false;
        }
        // Make the records at the current stamp observable: without a newer stamp the probe
        // could not tell that they are through.
        let newest = self.flow.marks.back().map_or(0, |&(_, n)| n);
        if newest < self.sent && self.clock.step() {
            self.flow.marks.push_back((self.clock.now(), self.sent));
            inputs.advance_to(self.clock.now());
        }
        true
    }

    /// End of input: tells every worker the number of the final complete-mode table (the
    /// final epoch is boundary `emit - 1`); with checkpoints on, returns the source's share
    /// of that last boundary (nothing left to read).
    /// `source`: for the position where the input ended (a restart of a finished run
    /// then need not read the input again).
    pub fn finish(
        &mut self,
        inputs: &mut Inputs,
        peers: usize,
        source: Option<&dyn Source>,
    ) -> Option<(u64, SourcePart)> {
        let emit = u64::from(self.clock.epoch) + 1;
        for to in 0..peers as u64 {
            inputs.control.send(Control {
                to,
                what: ControlKind::End { emit },
            });
        }
        self.checkpoints.as_ref()?;
        let mut part = self.part(source);
        part.next_seq = u64::MAX;
        Some((emit - 1, part))
    }
}
