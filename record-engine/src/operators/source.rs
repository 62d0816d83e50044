//! The source: one logical source, the harness's [`Source`], read by the workers of
//! process 0 in turn. A reader ([`super::reader`]) takes the next chunk under the source's
//! lock, stamped exactly as one reader of the whole input would have stamped it: every
//! record carries the watermark generated from the records before it (Flink's
//! `BoundedOutOfOrdernessWatermarks`, at a `--watermark-interval` of N records: the clock
//! is [`super::watermark`]), and then sends it, outside the lock, exchanged by key to the
//! window operators on every worker.
//!
//! **What stays sequential.** The lock is held for what only an order can decide: the
//! poll itself, the filters (the watermark interval counts the records that pass them),
//! the clock over the chunk (its maximum event time per partition and the watermark
//! steps inside it, which need only the maximum of the chunks before it), the counts,
//! and the epoch boundaries (complete-mode ticks, checkpoints with the source's position
//! at that point). A chunk leaves the lock as a [`Chunk`]: its events and the stamps they
//! travel at. Exchanging the records, the bulk of the source's cost, runs on every reader
//! at once.
//!
//! **Why the answer does not depend on the readers.** The stamps are the single reader's,
//! so a record's lateness is judged against the same watermark on any number of workers
//! (and with `--watermark-interval 1` it is Flink's per-record answer, record for
//! record). With several readers each chunk also starts a stamp of its own (a sub-step),
//! so every stamp holds the records of one chunk, sent by one reader; the window
//! operators put the chunks back in stamp order at their frontier
//! ([`super::arrival_order`]) and apply the records exactly as they would have in one
//! reader's order. (After 2^32 chunks in a row without the watermark or the epoch moving,
//! the sub-step saturates and later chunks would share a stamp; no input of the lab comes
//! near.) Each reader's input only moves forward: the chunks it takes come later in the
//! input, so their stamps are larger.
//!
//! Filters run before the watermark generator, so filtered-out events do not move the
//! watermark (as in the baseline and the micro-batch engine).
//!
//! Besides the events, the reader that ends the input drives a small control stream
//! (broadcast to every worker) that carries what cannot be said with timestamps: the
//! number of the final complete-mode table.

use super::watermark::SourceClock;
use crate::checkpoint::SourcePart;
use crate::stamp::{stamp, Stamp};
use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};
use streamlab_core::engine::{processing_time_ms, EngineError, Poll, Source, SourcePosition};
use streamlab_core::query::TimeDomain;
use streamlab_core::semantics::watermark::Watermark;
use streamlab_core::{Event, Plan};
use timely::dataflow::ProbeHandle;

/// Events read from the source per turn.
pub const CHUNK: usize = 1024;

/// At most this many records are in the dataflow and not yet through the window operators:
/// the readers stop reading until they drain, so a slow engine builds its backlog in the
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
        /// The run was stopped (a signal) before the input ended: windows still open
        /// stay open (only the rows already final leave).
        stopped: bool,
    },
}

/// Which stamps the window operators have finished, to bound the records in flight.
struct FlowControl {
    /// `(stamp, records stamped before it)`, oldest first.
    marks: VecDeque<(Stamp, u64)>,
}

impl FlowControl {
    /// Records are only marked this far apart (a mark per record would cost more than it
    /// saves at a watermark interval of 1).
    const MARK_EVERY: u64 = 4096;

    fn note(&mut self, s: Stamp, stamped: u64) {
        if self
            .marks
            .back()
            .is_none_or(|&(_, n)| stamped >= n + Self::MARK_EVERY)
        {
            self.marks.push_back((s, stamped));
        }
    }

    /// Records stamped before the oldest stamp the probe has not passed.
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

/// A chunk of the input as one reader takes it: the filtered events and the stamps they
/// travel at, which are the ones a single reader of the whole input would have given them.
#[derive(Default)]
pub struct Chunk {
    /// Filtered events, in arrival order.
    pub events: Vec<Event>,
    /// `(from, stamp)`, in increasing order: the events from index `from` on (up to the
    /// next entry's) travel at `stamp`. The first entry is `from` 0.
    pub stamps: Vec<(usize, Stamp)>,
    /// The stamp after the chunk (at least the last entry of `stamps`): the reader's input
    /// moves there once the events are sent.
    pub after: Stamp,
    /// A checkpoint boundary passed after the chunk: the source's share of it, by epoch.
    pub checkpoint: Option<(u64, SourcePart)>,
}

/// What a reader's turn at the source gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The chunk is filled; `more`: the input goes on. Without more, this reader ended
    /// the input and must [`SharedSource::finish`] it.
    Read {
        /// The source has more.
        more: bool,
    },
    /// Too many records in flight: move the input to this stamp, step the dataflow, ask
    /// again.
    Wait(Stamp),
    /// Another reader has the source: step the dataflow, then ask again.
    Busy,
    /// Reading is over (another reader ended the input, or it failed).
    Stopped,
}

/// What a restarted run does on its first turn: go on from the checkpoint's position.
pub struct Restart {
    /// The checkpoint's epoch.
    pub epoch: u64,
    /// The first `seq` not in the checkpoint's state.
    pub next_seq: u64,
    /// The source's own position there, when it has one.
    pub position: Option<SourcePosition>,
    /// When the run started (the note says how long it took to be back at work).
    pub started: Instant,
}

/// The end of the input, as the reader that ended it reports it.
pub struct Finish {
    /// The final complete-mode table's number (the final epoch is boundary `emit - 1`).
    pub emit: u64,
    /// With checkpoints on: the source's share of that last boundary (nothing left to
    /// read), for a run that read its input to the end.
    pub last: Option<(u64, SourcePart)>,
    /// What the source counted.
    pub stats: SourceStats,
    /// The source was stopped before the input ended.
    pub stopped: bool,
}

/// The one logical source the readers share: the harness's [`Source`] and the single
/// reader's clock, behind one lock.
pub struct SharedSource {
    reading: Mutex<Reading>,
}

/// Everything a turn at the source changes, in the order of the input.
struct Reading {
    source: Box<dyn Source>,
    plan: Plan,
    clock: SourceClock,
    flow: FlowControl,
    /// Records stamped (sent, or being sent by a reader).
    stamped: u64,
    /// Several readers: every chunk's records travel at stamps of their own.
    stamp_per_chunk: bool,
    /// The stamp the last record read travels at.
    last_sent_at: Option<Stamp>,
    complete_every: Option<Duration>,
    next_tick: Instant,
    checkpoints: Option<CheckpointSchedule>,
    /// Events before this `seq` are in the restored state.
    resume: u64,
    /// A restart's seek, done on the first turn.
    restart: Option<Restart>,
    stopped: bool,
    /// The harness's source said [`Poll::Stopped`]: the run stops, it has not ended.
    signalled: bool,
    stats: SourceStats,
}

impl SharedSource {
    /// The source for `plan` read by `readers` workers, advancing the watermark every
    /// `interval` records and, in complete mode, starting a new emission epoch every
    /// `complete_every`.
    pub fn new(
        plan: &Plan,
        source: Box<dyn Source>,
        readers: usize,
        interval: u64,
        complete_every: Option<Duration>,
    ) -> Self {
        let partitions = source.partitions();
        SharedSource {
            reading: Mutex::new(Reading {
                source,
                plan: plan.clone(),
                clock: SourceClock::new(Watermark::for_plan(plan, partitions), interval),
                flow: FlowControl {
                    marks: VecDeque::from([(stamp(i64::MIN, 0, 0), 0)]),
                },
                stamped: 0,
                stamp_per_chunk: readers > 1,
                last_sent_at: None,
                complete_every,
                next_tick: Instant::now() + complete_every.unwrap_or_default(),
                checkpoints: None,
                resume: 0,
                restart: None,
                stopped: false,
                signalled: false,
                stats: SourceStats::default(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Reading> {
        self.reading.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts an epoch (a checkpoint boundary) on `schedule`.
    pub fn with_checkpoints(self, schedule: CheckpointSchedule) -> Self {
        self.lock().checkpoints = Some(schedule);
        self
    }

    /// Goes on from a checkpoint's share of the source: its clock, its counts, and the
    /// input after its offset (the source seeks there on the first turn).
    pub fn resume(self, part: &SourcePart, restart: Restart) -> Self {
        {
            let mut r = self.lock();
            r.clock.resume(&part.clock);
            r.resume = part.next_seq;
            r.stats.events_in = part.events_in;
            r.stats.filtered = part.filtered;
            r.stats.last_seq = part.next_seq.checked_sub(1);
            r.restart = Some(restart);
        }
        self
    }

    /// A turn at the source: reads the next chunk into `chunk` unless too many records
    /// are in flight (judged by `probe`) or reading is over. `wait_for_lock`: block while
    /// another reader has the source (else answer [`Turn::Busy`]). An error ends the
    /// reading, and this reader must [`finish`](Self::finish) it.
    pub fn take(
        &self,
        chunk: &mut Chunk,
        probe: &ProbeHandle<Stamp>,
        wait_for_lock: bool,
    ) -> Result<Turn, EngineError> {
        let mut reading = if wait_for_lock {
            self.lock()
        } else {
            match self.reading.try_lock() {
                Ok(r) => r,
                Err(TryLockError::WouldBlock) => return Ok(Turn::Busy),
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            }
        };
        let r = &mut *reading;
        if r.stopped {
            return Ok(Turn::Stopped);
        }
        let turn = r.restart().and_then(|()| {
            if let Some(now) = r.must_wait(probe) {
                return Ok(Turn::Wait(now));
            }
            r.pump(chunk).map(|more| Turn::Read { more })
        });
        r.stopped = matches!(turn, Err(_) | Ok(Turn::Read { more: false }));
        turn
    }

    /// Stops reading (the sink failed). True for the one reader that stopped it, which
    /// must [`finish`](Self::finish).
    pub fn stop(&self) -> bool {
        !std::mem::replace(&mut self.lock().stopped, true)
    }

    /// End of input: the number of the final complete-mode table, the counts, and with
    /// checkpoints on the source's share of that last boundary (with the position where
    /// the input ended, so a restart of a finished run need not read it again).
    pub fn finish(&self) -> Finish {
        let r = self.lock();
        let emit = u64::from(r.clock.epoch) + 1;
        let last = r.checkpoints.as_ref().map(|_| {
            let mut part = r.part();
            part.next_seq = u64::MAX;
            (emit - 1, part)
        });
        Finish {
            emit,
            last,
            stats: r.stats,
            stopped: r.signalled,
        }
    }
}

impl Reading {
    /// On the first turn of a restarted run: seek to the checkpoint's position.
    fn restart(&mut self) -> Result<(), EngineError> {
        let Some(restart) = self.restart.take() else {
            return Ok(());
        };
        if let Some(position) = &restart.position {
            self.source.seek(position, restart.next_seq)?;
        }
        // The state is loaded and the workers' shares rebuilt: reading resumes now.
        eprintln!(
            "streamlab record: resumed from checkpoint {} ({}) in {:.0} ms",
            restart.epoch,
            streamlab_core::engine::resume_point(restart.next_seq),
            restart.started.elapsed().as_secs_f64() * 1e3
        );
        Ok(())
    }

    /// The source's share of the boundary just passed.
    fn part(&self) -> SourcePart {
        let next_seq = self.stats.last_seq.map_or(self.resume, |s| s + 1);
        SourcePart {
            next_seq,
            position: self.source.position(next_seq),
            clock: self.clock.state(),
            events_in: self.stats.events_in,
            filtered: self.stats.filtered,
        }
    }

    /// The clock moved: a flow-control mark at the new stamp.
    fn mark(&mut self) {
        self.flow.note(self.clock.now(), self.stamped);
    }

    /// Ends the current epoch; with checkpoints on, returns the source's share of it.
    fn tick(&mut self) -> Option<(u64, SourcePart)> {
        let boundary = u64::from(self.clock.epoch);
        self.clock.tick();
        self.mark();
        let c = self.checkpoints.as_mut()?;
        c.since_events = 0;
        c.last = Instant::now();
        Some((boundary, self.part()))
    }

    /// Reads one chunk and stamps it; returns whether the source has more.
    fn pump(&mut self, chunk: &mut Chunk) -> Result<bool, EngineError> {
        chunk.events.clear();
        chunk.stamps.clear();
        chunk.checkpoint = None;
        let buf = &mut chunk.events;
        let status = self.source.poll(buf, CHUNK)?;
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
        if self.stamp_per_chunk && n > 0 && self.last_sent_at == Some(self.clock.now()) {
            // Several readers: this chunk's records travel at stamps no other chunk's use.
            if self.clock.step() {
                self.mark();
            }
        }
        chunk.stamps.push((0, self.clock.now()));
        if self.clock.since + n <= self.clock.interval {
            // No watermark step inside the chunk (at most one after its last record): it
            // travels whole at one stamp.
            for e in buf.iter() {
                self.clock.watermark.observe(e.part, e.time);
            }
            self.clock.since += n;
            self.stamped += n;
            if self.clock.since == self.clock.interval {
                self.clock.since = 0;
                if self.clock.catch_up() {
                    self.mark();
                }
            }
        } else {
            for (i, e) in buf.iter().enumerate() {
                self.stamped += 1;
                if self.clock.on_record(e.part, e.time) {
                    self.mark();
                    chunk.stamps.push((i + 1, self.clock.now()));
                }
            }
        }
        if n > 0 {
            // The stamp of the last record: the entry its index falls in.
            let last = chunk
                .stamps
                .iter()
                .rev()
                .find(|&&(from, _)| from < buf.len());
            self.last_sent_at = last.map(|&(_, s)| s);
        }
        let mut checkpoint = None;
        if let Some(every) = self.complete_every {
            let now = Instant::now();
            if now >= self.next_tick {
                checkpoint = self.tick();
                while self.next_tick <= now {
                    self.next_tick += every;
                }
            }
        }
        self.signalled = status == Poll::Stopped;
        if let Some(c) = self.checkpoints.as_mut() {
            c.since_events += read as u64;
            // Stopped: a last boundary, the checkpoint to resume from.
            if (c.due() || self.signalled) && checkpoint.is_none() {
                checkpoint = self.tick();
            }
        }
        // Caught up with the input: let the watermark reach the records read, and close the
        // stamp so partly filled exchange buffers go out now rather than with the next chunk.
        if polled < CHUNK && (self.clock.catch_up() || self.clock.step()) {
            self.mark();
        }
        chunk.after = self.clock.now();
        chunk.checkpoint = checkpoint;
        Ok(matches!(status, Poll::Ready | Poll::Pending))
    }

    /// With too many records still on their way through the window operators, the stamp
    /// the waiting readers' inputs move to.
    fn must_wait(&mut self, probe: &ProbeHandle<Stamp>) -> Option<Stamp> {
        let done = self.flow.done(probe);
        if self.stamped - done <= MAX_IN_FLIGHT {
            return None;
        }
        // Make the records at the current stamp observable: without a newer stamp the probe
        // could not tell that they are through.
        let newest = self.flow.marks.back().map_or(0, |&(_, n)| n);
        if newest < self.stamped && self.clock.step() {
            self.flow.marks.push_back((self.clock.now(), self.stamped));
        }
        Some(self.clock.now())
    }
}
