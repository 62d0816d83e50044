//! The worker pool: `--workers` partitions on scoped threads, one batch at a time.
//!
//! The batch is shared by every partition through an [`Arc`] (never copied). With one
//! partition it simply runs the batch ([`Partition::run`]). With several, every partition
//! runs it through the batch's [`Exchange`] ([`Partition::run_exchanged`]): all of them
//! map ranges of the batch (filters, owner of each event) into buckets per owner, then each
//! reduces its own buckets into its state store, which it alone holds, with no lock. The
//! driver waits for every partition before it emits: a batch runs as a whole. While the
//! partitions run, the driver may plan the next batch (see [`crate::driver`]); where
//! partition 0 runs is a [`Placement`].

use crate::exchange::Exchange;
use crate::exec::{BatchParams, PartOutput, Partition, PartitionState};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::Scope;
use std::time::{Duration, Instant};
use streamlab_core::engine::EngineError;
use streamlab_core::{Event, Plan};

/// What the driver asks a helper to do.
enum Job {
    /// Run a batch, through its exchange when there are several partitions.
    Batch(BatchParams, Arc<Vec<Event>>, Option<Arc<Exchange>>),
    /// Hand over a copy of the state store (a checkpoint, between batches).
    Snapshot,
    /// Take the keys it owns from these snapshots (a restart).
    Restore(Arc<Vec<PartitionState>>),
    /// Take over this snapshot of its own partition (a restart with as many partitions).
    Adopt(PartitionState),
}

/// What a helper answers.
enum Done {
    Batch(PartOutput),
    Snapshot(PartitionState),
    Restored,
}

impl Partition<'_> {
    fn work(&mut self, job: Job) -> Done {
        match job {
            Job::Batch(params, events, None) => Done::Batch(self.run(&params, &events)),
            Job::Batch(params, events, Some(exchange)) => {
                match self.run_exchanged(&params, &events, &exchange) {
                    Ok(out) => Done::Batch(out),
                    // The partition that failed reports why; this one only stops.
                    Err(failed) => std::panic::panic_any(failed.to_string()),
                }
            }
            Job::Snapshot => Done::Snapshot(self.snapshot()),
            Job::Restore(parts) => {
                self.restore(&parts);
                Done::Restored
            }
            Job::Adopt(part) => {
                self.adopt(part);
                Done::Restored
            }
        }
    }
}

/// Where the partitions run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// The driver thread runs partition 0 after planning the next batch, `n - 1` helper
    /// threads run the others: exactly `n` busy threads.
    DriverRunsOne,
    /// `n` helper threads run every partition while the driver plans the next batch.
    AllOnHelpers,
}

/// How the partitions share out a batch (several partitions; one runs it whole).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Split {
    /// Map, exchange, reduce ([`Exchange`]): each event is read for its owner once, by
    /// the partition that maps its range, and reduced by its owner.
    #[default]
    Exchange,
    /// Every partition scans the whole batch and keeps the events it owns: the engine's
    /// way before the exchange, kept to measure the exchange against, and as the reference
    /// the tests compare the exchange's answers with, row for row.
    ScanWholeBatch,
}

/// Partitions on threads; dropping the pool stops the helpers.
pub struct WorkerPool<'p> {
    split: Split,
    local: Option<Partition<'p>>,
    jobs: Vec<mpsc::Sender<Job>>,
    results: mpsc::Receiver<(usize, Result<Done, String>)>,
    outputs: Vec<Option<PartOutput>>,
}

impl<'p> WorkerPool<'p> {
    /// Starts `n` partitions for `plan` inside `scope`.
    pub fn start<'scope, 'env>(
        scope: &'scope Scope<'scope, 'env>,
        plan: &'p Plan,
        n: usize,
        placement: Placement,
    ) -> Result<Self, EngineError>
    where
        'p: 'scope,
    {
        let n = n.max(1);
        let first_helper = match placement {
            Placement::DriverRunsOne => 1,
            Placement::AllOnHelpers => 0,
        };
        let (result_tx, results) = mpsc::channel();
        let mut jobs = Vec::with_capacity(n);
        for me in first_helper..n {
            let (tx, rx) = mpsc::channel::<Job>();
            let result_tx = result_tx.clone();
            std::thread::Builder::new()
                .name(format!("microbatch-{me}"))
                .spawn_scoped(scope, move || {
                    let mut part = Partition::new(plan, me, n);
                    while let Ok(job) = recv_spinning(&rx) {
                        // `work` drops the batch before this reports, so the driver can
                        // reuse its buffer.
                        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            part.work(job)
                        }));
                        let failed = out.is_err();
                        let out = out.map_err(|p| panic_message(p.as_ref()));
                        if result_tx.send((me, out)).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(|e| EngineError::Internal(format!("cannot start a worker: {e}")))?;
            jobs.push(tx);
        }
        Ok(WorkerPool {
            split: Split::default(),
            local: (first_helper == 1).then(|| Partition::new(plan, 0, n)),
            jobs,
            results,
            outputs: (0..n).map(|_| None).collect(),
        })
    }

    /// The same pool, sharing out batches as `split` says.
    pub fn with_split(self, split: Split) -> Self {
        WorkerPool { split, ..self }
    }

    /// Runs one batch on every partition, calling `meanwhile` on the driver thread while
    /// the helpers work (before the driver's own partition, if it has one). Returns each
    /// partition's output (in partition order) and the event buffer, for reuse.
    pub fn run_batch(
        &mut self,
        params: BatchParams,
        events: Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError> {
        let events = Arc::new(events);
        let n = self.outputs.len();
        let exchange = (n > 1 && self.split == Split::Exchange)
            .then(|| Arc::new(Exchange::new(n, events.len())));
        for tx in &self.jobs {
            tx.send(Job::Batch(params, Arc::clone(&events), exchange.clone()))
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
        }
        let planned = meanwhile();
        let mut failed = None;
        if let Some(local) = self.local.as_mut() {
            match &exchange {
                None => self.outputs[0] = Some(local.run(&params, &events)),
                Some(exchange) => match local.run_exchanged(&params, &events, exchange) {
                    Ok(out) => self.outputs[0] = Some(out),
                    // A helper failed: its answer below says why.
                    Err(why) => failed = Some(why),
                },
            }
        }
        for (me, done) in self.collect(&format!("batch {}", params.id))? {
            if let Done::Batch(out) = done {
                self.outputs[me] = Some(out);
            }
        }
        if let Some(why) = failed {
            return Err(EngineError::Internal(format!("batch {}: {why}", params.id)));
        }
        planned?;
        let outputs = self.outputs.iter_mut().filter_map(Option::take).collect();
        drop(exchange);
        let events = Arc::try_unwrap(events).unwrap_or_default();
        Ok((outputs, events))
    }

    /// Every partition's state store, in partition order (between batches).
    pub fn snapshot(&mut self) -> Result<Vec<PartitionState>, EngineError> {
        for tx in &self.jobs {
            tx.send(Job::Snapshot)
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
        }
        let mut parts: Vec<(usize, PartitionState)> = Vec::new();
        if let Some(local) = self.local.as_ref() {
            parts.push((0, local.snapshot()));
        }
        for (me, done) in self.collect("a checkpoint")? {
            if let Done::Snapshot(state) = done {
                parts.push((me, state));
            }
        }
        parts.sort_by_key(|(me, _)| *me);
        Ok(parts.into_iter().map(|(_, s)| s).collect())
    }

    /// Every partition takes the keys it owns from `parts` (a restart).
    pub fn restore(&mut self, parts: Vec<PartitionState>) -> Result<(), EngineError> {
        if parts.len() == self.outputs.len() {
            // Same partitioning as the run that wrote them: partition `i` holds exactly
            // the keys partition `i` owns now, so each takes its snapshot over whole, without
            // copying or rehashing a row (a million-key restore waits for nothing else).
            let mut parts = parts.into_iter();
            if let Some(local) = self.local.as_mut() {
                local.adopt(parts.next().expect("one snapshot per partition"));
            }
            for (tx, part) in self.jobs.iter().zip(parts) {
                tx.send(Job::Adopt(part))
                    .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
            }
            self.collect("a restore")?;
            return Ok(());
        }
        let parts = Arc::new(parts);
        for tx in &self.jobs {
            tx.send(Job::Restore(Arc::clone(&parts)))
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
        }
        if let Some(local) = self.local.as_mut() {
            local.restore(&parts);
        }
        self.collect("a restore")?;
        Ok(())
    }

    /// One answer from every helper.
    fn collect(&mut self, what: &str) -> Result<Vec<(usize, Done)>, EngineError> {
        let mut answers = Vec::with_capacity(self.jobs.len());
        for _ in &self.jobs {
            let (me, out) = recv_spinning(&self.results)
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
            let out = out.map_err(|why| {
                EngineError::Internal(format!("worker {me} failed in {what}: {why}"))
            })?;
            answers.push((me, out));
        }
        Ok(answers)
    }
}

const SPIN: Duration = Duration::from_micros(200);

/// Receives, spinning for up to [`SPIN`] before blocking.
fn recv_spinning<T>(rx: &mpsc::Receiver<T>) -> Result<T, mpsc::RecvError> {
    let started = Instant::now();
    loop {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(mpsc::TryRecvError::Disconnected) => return Err(mpsc::RecvError),
            Err(mpsc::TryRecvError::Empty) if started.elapsed() < SPIN => std::thread::yield_now(),
            Err(mpsc::TryRecvError::Empty) => return rx.recv(),
        }
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}
