//! Checkpoints: consistent snapshots of a running dataflow, Flink's way, without stopping
//! the stream.
//!
//! Epochs are the barriers. The source starts a new epoch every `--checkpoint-every`
//! events or `--checkpoint-interval` (between two chunks) and notes where the input
//! resumes after it ([`SourcePart`]). Every window operator, at the moment it knows that
//! all records of epochs `<= k` have reached it (the same test as complete-mode tables:
//! a record of a later epoch arrived over the one FIFO source, or the frontier passed
//! `k`), sends its state and the rows it produced since boundary `k - 1`
//! ([`WorkerPart`]) to process 0. There the [`Coordinator`] waits for every worker's part
//! and the source's, then runs the two-phase commit with the transactional sink: emit the
//! epoch's rows, prepare them, write the checkpoint (atomic, checksummed: the
//! `streamlab-checkpoint` store), commit them.
//!
//! With checkpoints on, rows therefore leave the engine when their epoch is committed,
//! not when they are computed: exactly-once output costs up to one checkpoint interval of
//! latency, as a Flink job with a transactional sink has.
//!
//! A restarted run loads the newest good checkpoint, tells the sink to keep what that
//! epoch committed and discard the rest, gives every worker the keys it owns (so another
//! worker count works too), and skips input before the checkpoint's offset.

use crate::operators::watermark::ClockState;
use crate::state::WindowSnapshot;
use std::collections::BTreeMap;
use streamlab_checkpoint::{Done, Incremental, Writer};
use streamlab_core::engine::{CheckpointOptions, EngineError, RunSummary, Sink};
use streamlab_core::{OutRow, Plan};

/// Events between checkpoints when neither `--checkpoint-every` nor
/// `--checkpoint-interval` is given.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100_000;

/// The source's share of checkpoint `epoch`: where the input resumes and its clock.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourcePart {
    /// Events with a smaller `seq` are in the checkpoint's state.
    pub next_seq: u64,
    /// The source's own position at `next_seq` (file or Kafka offsets), when it has one;
    /// stored beside the state (the harness reads it before the run).
    #[serde(skip)]
    pub position: Option<streamlab_core::engine::SourcePosition>,
    /// The watermark generator and epoch counter, to go on with the same stamps.
    pub clock: ClockState,
    /// Valid events read so far.
    pub events_in: u64,
    /// Events filtered out so far.
    pub filtered: u64,
}

/// One worker's share of checkpoint `epoch`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerPart {
    /// The epoch boundary.
    pub epoch: u64,
    /// Sending worker.
    pub worker: u64,
    /// Rows produced since the previous boundary.
    pub rows: Vec<OutRow>,
    /// The worker's state at the boundary.
    pub state: WindowSnapshot,
    /// The input has ended: this is the worker's last part.
    pub last: bool,
}

/// What a checkpoint file holds.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Payload {
    /// The query (a checkpoint of another query is refused).
    pub query: String,
    /// The epoch boundary.
    pub epoch: u64,
    /// The run had ended: its output is complete.
    pub done: bool,
    /// The source's share.
    pub source: SourcePart,
    /// Every worker's state, by worker index.
    pub workers: Vec<WindowSnapshot>,
}

/// What changed between two checkpoints of a run (an incremental checkpoint's payload).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PayloadDelta {
    epoch: u64,
    done: bool,
    source: SourcePart,
    workers: Vec<<WindowSnapshot as Incremental>::Delta>,
}

impl Incremental for Payload {
    type Delta = PayloadDelta;

    fn delta(prev: &Self, cur: &Self) -> PayloadDelta {
        let empty = WindowSnapshot::default();
        PayloadDelta {
            epoch: cur.epoch,
            done: cur.done,
            source: cur.source.clone(),
            workers: cur
                .workers
                .iter()
                .enumerate()
                .map(|(i, w)| WindowSnapshot::delta(prev.workers.get(i).unwrap_or(&empty), w))
                .collect(),
        }
    }

    fn apply(&mut self, d: PayloadDelta) {
        self.epoch = d.epoch;
        self.done = d.done;
        self.source = d.source;
        self.workers
            .resize_with(d.workers.len(), WindowSnapshot::default);
        for (w, delta) in self.workers.iter_mut().zip(d.workers) {
            w.apply(delta);
        }
    }
}

/// A checkpoint a run resumes from.
pub struct Restored {
    /// Its epoch.
    pub epoch: u64,
    /// Whether that run had finished.
    pub done: bool,
    /// The source's share.
    pub source: SourcePart,
    /// Every worker's state, by worker index; each taken by the worker of that index
    /// when the run has as many workers (see [`Restored::take`]), else read by all.
    pub workers: Vec<std::sync::RwLock<Option<WindowSnapshot>>>,
}

impl Restored {
    /// Worker `me`'s own snapshot, moved out, when the run has as many workers as the
    /// one that wrote it: worker `me` then owns exactly the keys worker `me` had, and
    /// takes its state over without copying a row. `None`: the worker count changed, and
    /// every worker picks its keys from all snapshots ([`Restored::with_all`]).
    pub fn take(&self, me: usize, peers: usize) -> Option<WindowSnapshot> {
        if self.workers.len() != peers {
            return None;
        }
        self.workers[me]
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// Calls `f` with every snapshot, read in place (a run on another number of workers,
    /// where none is taken: every worker reads them all at once, none copies them).
    pub fn with_all<R>(&self, f: impl FnOnce(&[&WindowSnapshot]) -> R) -> R {
        let guards: Vec<_> = self
            .workers
            .iter()
            .map(|w| w.read().unwrap_or_else(|e| e.into_inner()))
            .collect();
        let all: Vec<&WindowSnapshot> = guards.iter().filter_map(|g| g.as_ref()).collect();
        f(&all)
    }
}

#[derive(Default)]
struct Pending {
    source: Option<SourcePart>,
    workers: BTreeMap<u64, WorkerPart>,
}

/// Collects the parts of each epoch and writes complete checkpoints, in epoch order.
pub struct Coordinator {
    writer: Writer<Payload>,
    dir: std::path::PathBuf,
    query: String,
    peers: usize,
    pending: BTreeMap<u64, Pending>,
    /// Checkpoints written by this run.
    pub written: u64,
    /// Their total size on disk.
    pub bytes: u64,
    /// The longest write (encode, fsync, rename).
    pub slowest_ms: f64,
    /// Increments among the checkpoints written.
    pub increments: u64,
}

impl Coordinator {
    /// Opens the store of `options` for a run of `plan` on `peers` workers; returns the
    /// checkpoint to resume from, if the directory has one.
    pub fn open(
        options: &CheckpointOptions,
        plan: &Plan,
        peers: usize,
    ) -> Result<(Coordinator, Option<Restored>), EngineError> {
        let query = plan.to_toml();
        let (store, latest) =
            streamlab_checkpoint::open_run(options, "record", &query, |p: &Payload| &p.query)?;
        let restored = latest.map(|(mut p, position): (Payload, _)| {
            p.source.position = position;
            Restored {
                epoch: p.epoch,
                done: p.done,
                source: p.source,
                workers: p
                    .workers
                    .into_iter()
                    .map(|w| std::sync::RwLock::new(Some(w)))
                    .collect(),
            }
        });
        let coordinator = Coordinator {
            dir: store.dir().to_owned(),
            writer: Writer::new(store, streamlab_checkpoint::writer_options(options)),
            query,
            peers,
            pending: BTreeMap::new(),
            written: 0,
            bytes: 0,
            slowest_ms: 0.0,
            increments: 0,
        };
        Ok((coordinator, restored))
    }

    /// The source's share of `epoch`.
    pub fn source_part(
        &mut self,
        epoch: u64,
        part: SourcePart,
        sink: &mut dyn Sink,
    ) -> Result<u64, EngineError> {
        self.pending.entry(epoch).or_default().source = Some(part);
        self.write_ready(sink)
    }

    /// Commits the epochs whose checkpoints the background writer has made durable
    /// since the last call.
    pub fn poll(&mut self, sink: &mut dyn Sink) -> Result<(), EngineError> {
        let done = self.writer.poll()?;
        self.commit(done, sink)
    }

    /// At the end of the run: waits for the checkpoint being written and commits its epoch.
    pub fn finish(&mut self, sink: &mut dyn Sink) -> Result<(), EngineError> {
        let done = self.writer.wait()?;
        self.commit(done, sink)
    }

    /// Phase 2 of the two-phase commit, for checkpoints now durable.
    fn commit(&mut self, done: Vec<Done>, sink: &mut dyn Sink) -> Result<(), EngineError> {
        for d in done {
            sink.commit(d.id)?;
            self.written += 1;
            self.increments += u64::from(d.increment);
            self.bytes += d.bytes;
            self.slowest_ms = self.slowest_ms.max(d.duration.as_secs_f64() * 1e3);
        }
        Ok(())
    }

    /// A worker's share; returns the rows handed to the sink.
    pub fn worker_part(
        &mut self,
        part: WorkerPart,
        sink: &mut dyn Sink,
    ) -> Result<u64, EngineError> {
        let pending = self.pending.entry(part.epoch).or_default();
        pending.workers.insert(part.worker, part);
        self.write_ready(sink)
    }

    /// Writes every complete epoch at the front: rows, prepare, hand the snapshot to the
    /// writer; an epoch is committed once its checkpoint is durable.
    fn write_ready(&mut self, sink: &mut dyn Sink) -> Result<u64, EngineError> {
        let mut rows_out = 0;
        while let Some(entry) = self.pending.first_entry() {
            if entry.get().workers.len() < self.peers || entry.get().source.is_none() {
                break;
            }
            let (epoch, pending) = entry.remove_entry();
            let done = pending.workers.values().all(|w| w.last);
            let source = pending.source.expect("checked above");
            let mut workers = Vec::with_capacity(self.peers);
            for (_, part) in pending.workers {
                rows_out += part.rows.len() as u64;
                sink.emit(&part.rows)?;
                workers.push(part.state);
            }
            sink.prepare(epoch)?;
            let payload = Payload {
                query: self.query.clone(),
                epoch,
                done,
                source,
                workers,
            };
            let position = payload
                .source
                .position
                .as_ref()
                .map(|p| p.as_str().to_owned());
            let done = self.writer.submit(epoch, position, payload)?;
            self.commit(done, sink)?;
        }
        self.poll(sink)?;
        Ok(rows_out)
    }

    /// Notes for the run summary.
    pub fn describe(&self, summary: &mut RunSummary) {
        summary.notes.push(format!(
            "{} checkpoints written to {} ({} of them increments; {} bytes in all, slowest write {:.1} ms; the stream waited {:.1} ms for a previous write {} times)",
            self.written,
            self.dir.display(),
            self.increments,
            self.bytes,
            self.slowest_ms,
            self.writer.waited.as_secs_f64() * 1e3,
            self.writer.stalls
        ));
    }
}
