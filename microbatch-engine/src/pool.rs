//! The worker pool: `--workers` partitions on scoped threads, one batch at a time.
//!
//! The driver thread runs partition 0 itself and `n - 1` helper threads run the others,
//! so `--workers 2` keeps exactly two cores busy. Every partition reads the whole batch
//! (shared through an [`Arc`], never copied) and takes the events whose key hashes to it,
//! so state is hash-partitioned with no lock and no shuffle. The driver waits for every
//! partition before it emits: a batch runs as a whole.

use crate::exec::{BatchParams, PartOutput, Partition};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::{Scope, ScopedJoinHandle};
use streamlab_core::engine::EngineError;
use streamlab_core::{Event, Plan};

type Job = (BatchParams, Arc<Vec<Event>>);

/// Partitions on threads; dropping the pool stops the helpers.
pub struct WorkerPool<'scope, 'p> {
    local: Partition<'p>,
    jobs: Vec<mpsc::Sender<Job>>,
    results: mpsc::Receiver<(usize, Result<PartOutput, String>)>,
    outputs: Vec<Option<PartOutput>>,
    _helpers: Vec<ScopedJoinHandle<'scope, ()>>,
}

impl<'scope, 'p> WorkerPool<'scope, 'p> {
    /// Starts `n` partitions (`n - 1` helper threads) for `plan` inside `scope`.
    pub fn start<'env>(
        scope: &'scope Scope<'scope, 'env>,
        plan: &'p Plan,
        n: usize,
    ) -> Result<Self, EngineError>
    where
        'p: 'scope,
    {
        let n = n.max(1);
        let (result_tx, results) = mpsc::channel();
        let mut jobs = Vec::with_capacity(n - 1);
        let mut helpers = Vec::with_capacity(n - 1);
        for me in 1..n {
            let (tx, rx) = mpsc::channel::<Job>();
            let result_tx = result_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("microbatch-{me}"))
                .spawn_scoped(scope, move || {
                    let mut part = Partition::new(plan, me, n);
                    while let Ok((params, events)) = rx.recv() {
                        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            part.run(&params, &events)
                        }));
                        // Hand the batch back before reporting, so the driver can reuse it.
                        drop(events);
                        let failed = out.is_err();
                        let out = out.map_err(|p| panic_message(p.as_ref()));
                        if result_tx.send((me, out)).is_err() || failed {
                            break;
                        }
                    }
                })
                .map_err(|e| EngineError::Internal(format!("cannot start a worker: {e}")))?;
            jobs.push(tx);
            helpers.push(handle);
        }
        Ok(WorkerPool {
            local: Partition::new(plan, 0, n),
            jobs,
            results,
            outputs: (0..n).map(|_| None).collect(),
            _helpers: helpers,
        })
    }

    /// Number of partitions.
    pub fn workers(&self) -> usize {
        self.jobs.len() + 1
    }

    /// Runs one batch on every partition; returns each partition's output (in partition
    /// order) and the event buffer, for reuse.
    pub fn run_batch(
        &mut self,
        params: BatchParams,
        events: Vec<Event>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError> {
        let events = Arc::new(events);
        for tx in &self.jobs {
            tx.send((params, Arc::clone(&events)))
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
        }
        self.outputs[0] = Some(self.local.run(&params, &events));
        for _ in &self.jobs {
            let (me, out) = self
                .results
                .recv()
                .map_err(|_| EngineError::Internal("a worker thread stopped".into()))?;
            let out = out.map_err(|why| {
                EngineError::Internal(format!("worker {me} failed in batch {}: {why}", params.id))
            })?;
            self.outputs[me] = Some(out);
        }
        let outputs = self.outputs.iter_mut().filter_map(Option::take).collect();
        // Every helper dropped its handle before reporting.
        let events = Arc::try_unwrap(events).unwrap_or_default();
        Ok((outputs, events))
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".into())
}
