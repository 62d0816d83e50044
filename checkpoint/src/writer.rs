//! Taking checkpoints: the engine hands over a captured snapshot, the writer encodes it
//! (whole, or as the change since the previous one) and writes it durably, on the
//! engine's thread (`sync`) or on a background thread (`async`, Flink's asynchronous
//! snapshots: the stream stops only for the capture).
//!
//! The engine keeps its side of the two-phase commit: it prepares the epoch's rows
//! before handing the snapshot over and commits them only when the writer reports the
//! checkpoint durable ([`Done`]); a kill before that restarts from the previous durable
//! checkpoint, and the sink drops the prepared rows. At most one write is in flight: a
//! snapshot handed over while the previous one is still being written waits for it (the
//! stream stalls, back-pressure; [`Writer::waited`] says how long), as Flink's default of
//! one concurrent checkpoint does.
//!
//! Incremental (`full_every = Some(K)`): after a full checkpoint, the next K are
//! increments (the [`Incremental::delta`] from the previous snapshot, which the writer
//! keeps), then a full one again, after which the older increments are removed. The first
//! checkpoint of a run is always full.

use crate::delta::Incremental;
use crate::{CheckpointError, CheckpointStore};
use serde::Serialize;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Where checkpoints are encoded and written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WriteMode {
    /// On a background thread, one at a time.
    #[default]
    Async,
    /// On the engine's thread: the stream stops for the whole write.
    Sync,
}

impl std::str::FromStr for WriteMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "async" => Ok(WriteMode::Async),
            "sync" => Ok(WriteMode::Sync),
            _ => Err(format!("`{s}`: expected `async` or `sync`")),
        }
    }
}

/// How a run's checkpoints are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriterOptions {
    /// Sync or async.
    pub mode: WriteMode,
    /// `Some(K)`: incremental, a full checkpoint after every K increments; `None`: every
    /// checkpoint is full.
    pub full_every: Option<u32>,
}

/// A checkpoint made durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Done {
    /// Its id (the engine's epoch or batch).
    pub id: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Encoding, diffing and writing it, fsyncs included.
    pub duration: Duration,
    /// An increment (else a full checkpoint).
    pub increment: bool,
}

/// One snapshot to write.
struct Job<T> {
    id: u64,
    position: Option<String>,
    state: T,
}

/// Writes full checkpoints and increments, keeping what the next delta is taken from.
struct Chainer<T> {
    store: CheckpointStore,
    full_every: Option<u32>,
    /// The snapshot of the last checkpoint (incremental only).
    prev: Option<T>,
    /// The last checkpoint's id and its chain's full checkpoint.
    last: Option<(u64, u64)>,
    /// Increments since the last full checkpoint.
    since_full: u32,
}

impl<T: Incremental + Serialize> Chainer<T> {
    fn write(&mut self, job: Job<T>) -> Result<Done, CheckpointError> {
        let started = Instant::now();
        let position = job.position.as_deref();
        let chain = match (&self.prev, self.last, self.full_every) {
            (Some(prev), Some(last), Some(k)) if self.since_full < k => Some((prev, last)),
            _ => None,
        };
        let increment = chain.is_some();
        let (bytes, base) = match chain {
            Some((prev, (parent, base))) => {
                let delta = T::delta(prev, &job.state);
                let payload = bincode::serialize(&delta).map_err(|e| CheckpointError::Corrupt {
                    path: self.store.increment_path(job.id),
                    reason: format!("cannot encode the engine's changes: {e}"),
                })?;
                let w = self
                    .store
                    .write_increment(job.id, parent, base, position, &payload)?;
                self.since_full += 1;
                (w.bytes, base)
            }
            None => {
                if self.last.is_none() {
                    // Increments left by a run that fell back to an earlier checkpoint
                    // name ids this run writes anew.
                    self.store.remove_increments_from(job.id)?;
                }
                let w = self.store.write_state(job.id, position, &job.state)?;
                self.since_full = 0;
                (w.bytes, job.id)
            }
        };
        self.last = Some((job.id, base));
        if self.full_every.is_some() {
            self.prev = Some(job.state);
        }
        Ok(Done {
            id: job.id,
            bytes,
            duration: started.elapsed(),
            increment,
        })
    }
}

/// A run's checkpoint writer.
pub struct Writer<T> {
    /// Sync: the chainer, run on the caller's thread.
    inline: Option<Chainer<T>>,
    /// Async: the background thread's job queue (one job at a time) and its answers.
    jobs: Option<mpsc::Sender<Job<T>>>,
    results: Option<mpsc::Receiver<Result<Done, CheckpointError>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    in_flight: bool,
    /// Time the stream waited for the previous write before handing a snapshot over.
    pub waited: Duration,
    /// Snapshots that had to wait.
    pub stalls: u64,
}

impl<T: Incremental + Serialize + Send + 'static> Writer<T> {
    /// A writer into `store`.
    pub fn new(store: CheckpointStore, options: WriterOptions) -> Writer<T> {
        let chainer = Chainer {
            store,
            full_every: options.full_every,
            prev: None,
            last: None,
            since_full: 0,
        };
        let mut w = Writer {
            inline: None,
            jobs: None,
            results: None,
            thread: None,
            in_flight: false,
            waited: Duration::ZERO,
            stalls: 0,
        };
        match options.mode {
            WriteMode::Sync => w.inline = Some(chainer),
            WriteMode::Async => {
                let (job_tx, job_rx) = mpsc::channel::<Job<T>>();
                let (done_tx, done_rx) = mpsc::channel();
                let mut chainer = chainer;
                let thread = std::thread::Builder::new()
                    .name("checkpoint-writer".into())
                    .spawn(move || {
                        for job in job_rx {
                            if done_tx.send(chainer.write(job)).is_err() {
                                return;
                            }
                        }
                    })
                    .expect("spawning the checkpoint writer thread");
                w.jobs = Some(job_tx);
                w.results = Some(done_rx);
                w.thread = Some(thread);
            }
        }
        w
    }

    /// Hands over the snapshot of checkpoint `id`; returns the checkpoints made durable
    /// meanwhile (sync: this one; async: the previous one, if this had to wait for it).
    pub fn submit(
        &mut self,
        id: u64,
        position: Option<String>,
        state: T,
    ) -> Result<Vec<Done>, CheckpointError> {
        let job = Job {
            id,
            position,
            state,
        };
        if let Some(chainer) = self.inline.as_mut() {
            return chainer.write(job).map(|d| vec![d]);
        }
        let mut done = Vec::new();
        if self.in_flight {
            let started = Instant::now();
            done.extend(self.wait()?);
            self.waited += started.elapsed();
            self.stalls += 1;
        }
        let sent = self.jobs.as_ref().map(|j| j.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(writer_gone());
        }
        self.in_flight = true;
        Ok(done)
    }

    /// The checkpoints made durable since the last call, without waiting.
    pub fn poll(&mut self) -> Result<Vec<Done>, CheckpointError> {
        if !self.in_flight {
            return Ok(Vec::new());
        }
        let Some(results) = &self.results else {
            return Ok(Vec::new());
        };
        match results.try_recv() {
            Ok(r) => {
                self.in_flight = false;
                r.map(|d| vec![d])
            }
            Err(mpsc::TryRecvError::Empty) => Ok(Vec::new()),
            Err(mpsc::TryRecvError::Disconnected) => Err(writer_gone()),
        }
    }

    /// Waits for the write in flight, if any: the checkpoint it made durable.
    pub fn wait(&mut self) -> Result<Vec<Done>, CheckpointError> {
        if !self.in_flight {
            return Ok(Vec::new());
        }
        let r = self.results.as_ref().map(|r| r.recv());
        self.in_flight = false;
        match r {
            Some(Ok(r)) => r.map(|d| vec![d]),
            _ => Err(writer_gone()),
        }
    }
}

impl<T> Drop for Writer<T> {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn writer_gone() -> CheckpointError {
    CheckpointError::Corrupt {
        path: std::path::PathBuf::from("<checkpoint writer>"),
        reason: "the background checkpoint writer stopped".into(),
    }
}
