//! Checkpoints, Spark's way: a batch is the unit of recovery.
//!
//! Between two batches every partition is idle, so the driver's state and the partitions'
//! state stores form a consistent cut without any barrier. After a batch (every
//! `--checkpoint-every` events or `--checkpoint-interval`, and after the final batch) the
//! driver runs the two-phase commit with the transactional sink: the rows of the batches
//! since the last checkpoint are prepared, the checkpoint (state stores, watermarks, next
//! batch id, the input offset after the batch) is written atomically, the rows are
//! committed. Spark keeps an offset log (the batch's range, written before it runs) and a
//! commit log (written after the sink has it); here one checkpoint file is both: a crash
//! before it is written replays from the previous one, re-planning the same batches from
//! the same offset (a replayed file or generator yields the same events, and batches of a
//! backlog are cut at the same `--max-records-per-batch` bound).

use crate::exec::PartitionState;
use crate::state_store::{Entry, KeySessions};
use std::time::{Duration, Instant};
use streamlab_checkpoint::delta::{
    apply_fixed, apply_pairs, fixed_delta, pairs_delta, FixedDelta, MapDelta,
};
use streamlab_checkpoint::{Done, Incremental, Writer};
use streamlab_core::engine::{
    CheckpointOptions, EngineError, Poll, RunSummary, Source, SourcePosition,
};
use streamlab_core::semantics::watermark::Watermark;
use streamlab_core::KeyId;
use streamlab_core::{Event, Plan};

/// Events between checkpoints when neither bound is given.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100_000;

/// What a checkpoint file holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    /// The query (a checkpoint of another query is refused).
    pub query: String,
    /// The last batch in it (the sink's epoch).
    pub batch: u64,
    /// Events with a smaller `seq` are in the state.
    pub next_seq: u64,
    /// The source's own position at `next_seq` (Kafka offsets), when it has one: the end
    /// of the last batch's offset range, as in Spark's offset log. Stored beside the
    /// state (the harness reads it before the run).
    #[serde(skip)]
    pub position: Option<SourcePosition>,
    /// The run had finished.
    pub done: bool,
    /// The watermark generator after the batch.
    pub watermark: Watermark,
    /// `W_(k-1)` of the next batch.
    pub w_prev: i64,
    /// `W_k` of the next batch.
    pub w_cur: i64,
    /// Processing time of the last batch (processing-time windows).
    pub last_ts: i64,
    /// The counts so far.
    pub summary: RunSummary,
    /// Every partition's state store, in partition order.
    pub parts: Vec<PartitionState>,
}

/// What changed between two checkpoints (an incremental checkpoint's payload): the
/// driver's small state whole, the state stores' changed rows.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct SnapshotDelta {
    batch: u64,
    next_seq: u64,
    done: bool,
    watermark: Watermark,
    w_prev: i64,
    w_cur: i64,
    last_ts: i64,
    summary: RunSummary,
    parts: Vec<PartitionDelta>,
}

/// What changed in one partition's state store.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PartitionDelta {
    fixed: FixedDelta<KeyId, Entry>,
    sessions: MapDelta<KeyId, KeySessions>,
}

impl Incremental for Snapshot {
    type Delta = SnapshotDelta;

    fn delta(prev: &Self, cur: &Self) -> SnapshotDelta {
        let empty = PartitionState::default();
        let parts = cur
            .parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let before = prev.parts.get(i).unwrap_or(&empty);
                PartitionDelta {
                    fixed: fixed_delta(&before.fixed, &p.fixed),
                    sessions: pairs_delta(&before.sessions, &p.sessions),
                }
            })
            .collect();
        SnapshotDelta {
            batch: cur.batch,
            next_seq: cur.next_seq,
            done: cur.done,
            watermark: cur.watermark.clone(),
            w_prev: cur.w_prev,
            w_cur: cur.w_cur,
            last_ts: cur.last_ts,
            summary: cur.summary.clone(),
            parts,
        }
    }

    fn apply(&mut self, d: SnapshotDelta) {
        self.batch = d.batch;
        self.next_seq = d.next_seq;
        self.done = d.done;
        self.watermark = d.watermark;
        self.w_prev = d.w_prev;
        self.w_cur = d.w_cur;
        self.last_ts = d.last_ts;
        self.summary = d.summary;
        self.parts
            .resize_with(d.parts.len(), PartitionState::default);
        for (p, delta) in self.parts.iter_mut().zip(d.parts) {
            apply_fixed(&mut p.fixed, delta.fixed);
            apply_pairs(&mut p.sessions, delta.sessions);
        }
    }
}

/// When checkpoints are due, and where they go.
pub struct Checkpointer {
    /// Boxed: the driver's `Opened` carries a checkpointer, and a writer is large.
    writer: Box<Writer<Snapshot>>,
    dir: std::path::PathBuf,
    query: String,
    every_events: Option<u64>,
    interval: Option<Duration>,
    since_events: u64,
    since: Instant,
    /// Checkpoints written.
    pub written: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Time the stream stopped for them: capturing the state, and with synchronous
    /// writes encoding and writing it too.
    pub busy: Duration,
    /// Increments among them.
    pub increments: u64,
    /// The batch of the newest checkpoint (written or restored): a stop right after it
    /// has nothing new to checkpoint.
    pub last_batch: Option<u64>,
}

impl Checkpointer {
    /// Opens the store; returns the checkpoint to resume from, if any.
    pub fn open(
        options: &CheckpointOptions,
        plan: &Plan,
    ) -> Result<(Checkpointer, Option<Snapshot>), EngineError> {
        let query = plan.to_toml();
        let (store, latest) =
            streamlab_checkpoint::open_run(options, "microbatch", &query, |s: &Snapshot| &s.query)?;
        let restored = latest.map(|(mut snapshot, position)| {
            snapshot.position = position;
            snapshot
        });
        let interval = options
            .interval
            .map(|d| Duration::from_millis(d.ms().max(1) as u64));
        let ck = Checkpointer {
            dir: store.dir().to_owned(),
            writer: Box::new(Writer::new(
                store,
                streamlab_checkpoint::writer_options(options),
            )),
            query,
            every_events: options
                .every_events
                .or(interval.is_none().then_some(DEFAULT_CHECKPOINT_EVERY)),
            interval,
            since_events: 0,
            since: Instant::now(),
            written: 0,
            bytes: 0,
            busy: Duration::ZERO,
            increments: 0,
            last_batch: restored.as_ref().map(|s| s.batch),
        };
        Ok((ck, restored))
    }

    /// Notes a batch of `events`; whether a checkpoint is due after it.
    pub fn after_batch(&mut self, events: u64) -> bool {
        self.since_events += events;
        self.every_events.is_some_and(|n| self.since_events >= n)
            || self.interval.is_some_and(|d| self.since.elapsed() >= d)
    }

    /// Hands `snapshot` over as checkpoint `snapshot.batch` (its rows prepared);
    /// `started`: when taking it began. Returns the batches whose checkpoints are now
    /// durable, for the sink to commit (sync: this one; async: an earlier one, if any).
    pub fn write(
        &mut self,
        mut snapshot: Snapshot,
        started: Instant,
    ) -> Result<Vec<u64>, EngineError> {
        snapshot.query.clone_from(&self.query);
        self.last_batch = Some(snapshot.batch);
        let position = snapshot.position.as_ref().map(|p| p.as_str().to_owned());
        let done = self.writer.submit(snapshot.batch, position, snapshot)?;
        self.busy += started.elapsed();
        self.since_events = 0;
        self.since = Instant::now();
        Ok(self.count(done))
    }

    /// The batches whose checkpoints became durable since the last call, without waiting.
    pub fn poll(&mut self) -> Result<Vec<u64>, EngineError> {
        let done = self.writer.poll()?;
        Ok(self.count(done))
    }

    /// Waits for the checkpoint being written: its batch, to commit.
    pub fn wait(&mut self) -> Result<Vec<u64>, EngineError> {
        let done = self.writer.wait()?;
        Ok(self.count(done))
    }

    fn count(&mut self, done: Vec<Done>) -> Vec<u64> {
        done.into_iter()
            .map(|d| {
                self.written += 1;
                self.increments += u64::from(d.increment);
                self.bytes += d.bytes;
                d.id
            })
            .collect()
    }

    /// A line for the run summary.
    pub fn describe(&self) -> String {
        format!(
            "{} checkpoints written to {} ({} of them increments; {} bytes in all; the stream stopped {:.1} ms for them, {:.1} ms of it waiting {} times for a previous write)",
            self.written,
            self.dir.display(),
            self.increments,
            self.bytes,
            self.busy.as_secs_f64() * 1e3,
            self.writer.waited.as_secs_f64() * 1e3,
            self.writer.stalls
        )
    }
}

/// A source that drops the events a restored checkpoint already holds.
pub struct Resumed {
    /// The source.
    pub inner: Box<dyn Source>,
    /// The first `seq` not in the checkpoint.
    pub from: u64,
}

impl Source for Resumed {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        loop {
            let status = self.inner.poll(buf, max)?;
            let from = self.from;
            let mut i = 0;
            buf.retain(|e| {
                let keep = i < before || e.seq >= from;
                i += 1;
                keep
            });
            if buf.len() > before || status != Poll::Ready {
                return Ok(status);
            }
        }
    }

    fn partitions(&self) -> streamlab_core::Part {
        self.inner.partitions()
    }

    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        self.inner.position(next_seq)
    }

    fn seek(&mut self, position: &SourcePosition, next_seq: u64) -> Result<(), EngineError> {
        self.inner.seek(position, next_seq)
    }
}
