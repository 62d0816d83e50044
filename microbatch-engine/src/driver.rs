//! The driver loop: trigger, plan, run, merge, emit, advance (Spark's
//! `MicroBatchExecution`).
//!
//! For batch k the driver holds two watermarks (semantics.md, micro-batch rule):
//! `W_(k-1)`, below which assignments are late, and `W_k`, computed at the end of batch
//! k-1 from the events of batches 0..k-1, at which windows close. Neither moves while the
//! batch runs. After the batch, `W_(k+1) = max(W_k, max event time so far - delay)`.
//!
//! Batches run only when there is something to do: a batch with input, or a no-data batch
//! when the source has nothing new but the watermark moved since the last batch closed
//! windows (Spark's no-data batches). At the end of the input a final batch with
//! W = +infinity closes every window (append and update; complete mode has already emitted
//! its whole table after the last batch with input).

use crate::batch_log::{BatchInfo, BatchKind, BatchLog};
use crate::checkpoint::{Checkpointer, Resumed, Snapshot};
use crate::exec::{BatchParams, PartOutput, PartitionState};
use crate::planner::{Availability, BatchPlanner};
use crate::pool::{Placement, Split, WorkerPool};
use crate::trigger::{Trigger, TriggerClock};
use std::time::{Duration, Instant};
use streamlab_core::engine::{
    processing_time_ms, CheckpointOptions, EngineError, RunSummary, Sink, Source,
};
use streamlab_core::query::TimeDomain;
use streamlab_core::semantics::watermark::{
    PartitionMaxima, Watermark, MAX_WATERMARK, MIN_WATERMARK,
};
use streamlab_core::{Event, OutputMode, Plan};

/// The settings of one run, after defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Partitions (worker threads, the driver's included).
    pub workers: usize,
    /// Most events per batch (not applied by `Once`).
    pub max_records_per_batch: usize,
    /// When batches fire.
    pub trigger: Trigger,
    /// Where partitions run.
    pub placement: Placement,
    /// How partitions share out a batch.
    pub split: Split,
    /// Checkpoints, if asked for.
    pub checkpoint: Option<CheckpointOptions>,
}

/// How long an `Interval(0)` trigger idles when a trigger found nothing to do, so an idle
/// live source does not spin a core (Spark idles 10 ms; we keep latency lower).
const IDLE_POLL: Duration = Duration::from_millis(1);

/// Where the partitions of a batch run, as the driver sees them: the thread pool of one
/// process ([`WorkerPool`]) or the workers of a timely cluster ([`crate::cluster`]). The
/// driver's loop (trigger, plan, watermarks, emission) is the same over both.
pub trait Partitions {
    /// Runs one batch on every partition, calling `meanwhile` on the driver's thread
    /// while they work; every partition's output in partition order, and the event
    /// buffer for reuse (as [`WorkerPool::run_batch`]).
    fn run_batch(
        &mut self,
        params: BatchParams,
        events: Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError>;

    /// Every partition's state store, in partition order (a checkpoint, between batches).
    fn snapshot(&mut self) -> Result<Vec<PartitionState>, EngineError>;

    /// Every partition takes the keys it owns from `parts` (a restart, before the first
    /// batch).
    fn restore(&mut self, parts: Vec<PartitionState>) -> Result<(), EngineError>;
}

impl Partitions for WorkerPool<'_> {
    fn run_batch(
        &mut self,
        params: BatchParams,
        events: Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError> {
        WorkerPool::run_batch(self, params, events, meanwhile)
    }

    fn snapshot(&mut self) -> Result<Vec<PartitionState>, EngineError> {
        WorkerPool::snapshot(self)
    }

    fn restore(&mut self, parts: Vec<PartitionState>) -> Result<(), EngineError> {
        WorkerPool::restore(self, parts)
    }
}

/// Counters for the run summary and its note.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    data: u64,
    no_data: u64,
    finals: u64,
    longest: Duration,
    busy: Duration,
}

/// When [`Driver::checkpoint_after`] a batch writes a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Checkpoint {
    /// When one is due.
    IfDue,
    /// Always: the run was stopped, this is the one to resume from.
    Stop,
    /// Always: the input has ended, the run is done.
    End,
}

struct Driver<'a, 'p, P> {
    plan: &'p Plan,
    pool: P,
    sink: &'a mut dyn Sink,
    log: Option<&'a BatchLog>,
    verbose: bool,
    watermark: Watermark,
    /// W_(k-1) for the next batch k.
    w_prev: i64,
    /// W_k for the next batch k.
    w_cur: i64,
    next_id: u64,
    last_seq: Option<u64>,
    last_ts: i64,
    summary: RunSummary,
    tally: Tally,
    checkpoints: Option<Checkpointer>,
    /// A multi-stage query's later stages' state stores.
    stages: Option<crate::stages::StageStores>,
}

impl<P: Partitions> Driver<'_, '_, P> {
    /// After a batch: a checkpoint when one is due, and always after the final batch
    /// (`End`: the run is then done) or at a stop (`Stop`: one to resume from).
    /// Two-phase commit: prepare the rows, write, commit.
    fn checkpoint_after(
        &mut self,
        source: &dyn Source,
        events: u64,
        at: Checkpoint,
    ) -> Result<(), EngineError> {
        let Some(c) = self.checkpoints.as_mut() else {
            return Ok(());
        };
        // Batches whose checkpoints the background writer has made durable meanwhile.
        for b in c.poll()? {
            self.sink.commit(b)?;
        }
        let last = at == Checkpoint::End;
        if !c.after_batch(events) && at == Checkpoint::IfDue {
            return Ok(());
        }
        let batch = self.next_id - 1;
        if at == Checkpoint::Stop && c.last_batch == Some(batch) {
            // The newest checkpoint is already where the run stopped: it only has to be
            // durable, and its batch committed.
            for b in c.wait()? {
                self.sink.commit(b)?;
            }
            return Ok(());
        }
        let started = Instant::now();
        self.sink.prepare(batch)?;
        let snapshot = Snapshot {
            query: String::new(),
            batch,
            next_seq: if last {
                u64::MAX
            } else {
                self.last_seq.map_or(0, |s| s + 1)
            },
            // The batch's offset range ends at next_seq (read-ahead of the next batch
            // does not move it: positions are asked for by seq). A finished run's says
            // where the input ended, so a restart need not read it again.
            position: self.last_seq.and_then(|s| source.position(s + 1)),
            done: last,
            watermark: self.watermark.clone(),
            w_prev: self.w_prev,
            w_cur: self.w_cur,
            last_ts: self.last_ts,
            summary: self.summary.clone(),
            parts: self.pool.snapshot()?,
        };
        let c = self.checkpoints.as_mut().expect("checked above");
        let mut durable = c.write(snapshot, started)?;
        if at != Checkpoint::IfDue {
            // The run ends here: the last checkpoint must be durable and its rows visible.
            durable.extend(c.wait()?);
        }
        for b in durable {
            self.sink.commit(b)?;
        }
        Ok(())
    }

    fn complete(&self) -> bool {
        self.plan.mode == OutputMode::Complete
    }

    /// Runs batch `next_id` over `events` and advances the watermarks; `meanwhile` runs
    /// on the driver thread while the partitions work (planning the next batch).
    fn run_batch(
        &mut self,
        kind: BatchKind,
        mut events: Vec<Event>,
        started: Instant,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<Vec<Event>, EngineError> {
        if self.plan.time == TimeDomain::Processing && !events.is_empty() {
            // Spark's current_timestamp: one processing time for the whole batch.
            self.last_ts = self.last_ts.max(processing_time_ms());
            for e in events.iter_mut() {
                e.time = self.last_ts;
            }
        }
        let offsets = events
            .first()
            .zip(events.last())
            .map(|(a, b)| (a.seq, b.seq));
        if let Some((_, last)) = offsets {
            self.last_seq = Some(last);
        }
        let params = BatchParams {
            id: self.next_id,
            late_bound: self.w_prev,
            close_at: if kind == BatchKind::Final {
                MAX_WATERMARK
            } else {
                self.w_cur
            },
            last_seq: self.last_seq,
        };
        let input_rows = events.len();
        let (outputs, events) = self.pool.run_batch(params, events, meanwhile)?;
        let mut maxima = PartitionMaxima::default();
        let (mut late, mut output_rows) = (0u64, 0usize);
        if let (Some(stores), Some(stages)) = (self.stages.as_mut(), &self.plan.stages) {
            let first: Vec<_> = outputs
                .iter()
                .flat_map(|o| o.rows.iter().cloned())
                .collect();
            let rows = stores.apply(stages, first);
            if !rows.is_empty() {
                self.sink.emit(&rows)?;
            }
            output_rows += rows.len();
        }
        for out in &outputs {
            if self.stages.is_none() {
                if !out.rows.is_empty() {
                    self.sink.emit(&out.rows)?;
                }
                output_rows += out.rows.len();
            }
            late += out.late;
            self.summary.filtered += out.filtered;
            maxima.merge(&out.maxima);
        }
        self.summary.events_in += input_rows as u64;
        self.summary.late_dropped += late;
        self.summary.rows_out += output_rows as u64;
        self.summary.emissions += 1;

        // W_(k+1), from the events of batches 0..k.
        maxima.observe_into(&mut self.watermark);
        self.watermark.advance();
        self.w_prev = params.close_at;
        self.w_cur = self.watermark.current().max(self.w_prev);
        self.next_id += 1;

        let duration = started.elapsed();
        match kind {
            BatchKind::Data => self.tally.data += 1,
            BatchKind::NoData => self.tally.no_data += 1,
            BatchKind::Final => self.tally.finals += 1,
        }
        self.tally.longest = self.tally.longest.max(duration);
        self.tally.busy += duration;
        if self.verbose || self.log.is_some() {
            let info = BatchInfo {
                id: params.id,
                kind,
                offsets,
                input_rows,
                late,
                output_rows,
                late_bound: params.late_bound,
                watermark: params.close_at,
                duration,
            };
            if self.verbose {
                eprintln!("streamlab microbatch: {info}");
            }
            if let Some(log) = self.log {
                log.push(info);
            }
        }
        Ok(events)
    }

    fn run(
        &mut self,
        source: &mut dyn Source,
        clock: &mut TriggerClock,
        max_records: usize,
    ) -> Result<(), EngineError> {
        let bound = clock.batch_bound(max_records);
        let mut planner = BatchPlanner::default();
        let capacity = bound.min(1 << 20);
        // `next` is being planned while the batch in flight runs; `spare` is the buffer
        // of the batch before, cleared for reuse.
        let mut next: Vec<Event> = Vec::with_capacity(capacity);
        let mut spare: Vec<Event> = Vec::with_capacity(capacity);
        let mut nothing = || Ok(());
        while clock.wait() {
            let started = Instant::now();
            // Top up what was planned while the previous batch ran: the batch is what the
            // source has at trigger time, up to the bound.
            let available = planner.plan(source, &mut next, bound)?;
            if available == Availability::Stopped {
                // Stopped: the batch being planned is not run. Its events come after the
                // last batch's offsets, where a checkpoint resumes, so a resumed run cuts
                // the batches an uninterrupted one would have.
                next.clear();
                break;
            }
            let batch = std::mem::replace(&mut next, std::mem::take(&mut spare));
            let rows = batch.len() as u64;
            let mut ran = true;
            if !batch.is_empty() {
                // Only a full batch leaves data behind: read it while this batch runs (it
                // is available now, so it belongs to the next batch anyway; the top-up
                // above adds what arrives before the next trigger).
                let mut plan_next = || planner.plan(source, &mut next, bound).map(drop);
                let meanwhile: &mut dyn FnMut() -> Result<(), EngineError> =
                    if available == Availability::Full {
                        &mut plan_next
                    } else {
                        &mut nothing
                    };
                spare = self.run_batch(BatchKind::Data, batch, started, meanwhile)?;
                self.checkpoint_after(source, rows, Checkpoint::IfDue)?;
            } else if !self.complete()
                && self.w_cur > self.w_prev
                && available != Availability::Ended
            {
                // At the end of input the final batch closes everything anyway.
                spare = self.run_batch(BatchKind::NoData, batch, started, &mut nothing)?;
                self.checkpoint_after(source, 0, Checkpoint::IfDue)?;
            } else {
                spare = batch;
                ran = false;
            }
            spare.clear();
            match available {
                Availability::Ended | Availability::Stopped => break,
                Availability::Drained if clock.stops_when_drained() => break,
                Availability::Drained
                    if !ran && clock.trigger() == Trigger::Interval(Default::default()) =>
                {
                    std::thread::sleep(IDLE_POLL)
                }
                _ => {}
            }
        }
        debug_assert!(next.is_empty(), "only a full batch plans ahead");
        if planner.stopped() {
            // Stopped, not ended: no final batch (the open windows stay open); the rows
            // out are the final ones, and a last checkpoint is the one to resume from.
            if self.next_id > 0 {
                self.checkpoint_after(source, 0, Checkpoint::Stop)?;
            }
        } else if !self.complete() && self.next_id > 0 {
            self.run_batch(BatchKind::Final, spare, Instant::now(), &mut nothing)?;
            self.checkpoint_after(source, 0, Checkpoint::End)?;
        } else if self.next_id > 0 {
            // Complete mode has no final batch: the last one with input ends the run.
            self.checkpoint_after(source, 0, Checkpoint::End)?;
        }
        Ok(())
    }
}

/// Runs `plan` over `source` into `sink` with `settings`.
pub fn run(
    settings: Settings,
    plan: &Plan,
    source: Box<dyn Source>,
    mut sink: Box<dyn Sink>,
    log: Option<&BatchLog>,
) -> Result<RunSummary, EngineError> {
    let started = Instant::now();
    let (mut source, checkpoints, restored) =
        match open_checkpoints(&settings, plan, source, sink.as_mut(), started)? {
            Opened::Finished(summary) => return Ok(summary),
            Opened::Run {
                source,
                checkpoints,
                restored,
            } => (source, checkpoints, restored),
        };
    let (summary, tally) = std::thread::scope(|scope| -> Result<_, EngineError> {
        let pool = WorkerPool::start(scope, plan, settings.workers, settings.placement)?
            .with_split(settings.split);
        let resume = Resume {
            checkpoints,
            restored,
            started,
        };
        drive(
            &settings,
            plan,
            pool,
            source.as_mut(),
            sink.as_mut(),
            log,
            resume,
        )
    })?;
    sink.finish()?;
    Ok(summarize(summary, &tally, &settings, plan).timed(started.elapsed()))
}

/// A run's checkpoints, opened before its partitions start.
pub(crate) enum Opened {
    /// The checkpoint says the run had finished: its summary (the sink is finished).
    Finished(RunSummary),
    /// The run goes on: its source (positioned after the checkpoint), its checkpointer
    /// and the snapshot to resume from.
    Run {
        source: Box<dyn Source>,
        checkpoints: Option<Checkpointer>,
        restored: Option<Box<Snapshot>>,
    },
}

/// With `--checkpoint`: opens the checkpoints, tells the sink which batch was committed
/// last and moves the source past it; without, the run as given.
pub(crate) fn open_checkpoints(
    settings: &Settings,
    plan: &Plan,
    mut source: Box<dyn Source>,
    sink: &mut dyn Sink,
    started: Instant,
) -> Result<Opened, EngineError> {
    let (checkpoints, restored) = match &settings.checkpoint {
        None => (None, None),
        Some(options) => {
            if !sink.transactional() {
                return Err(EngineError::Internal(
                    "--checkpoint needs a transactional sink (an output file)".into(),
                ));
            }
            let (c, restored) = Checkpointer::open(options, plan)?;
            sink.recover(restored.as_ref().map(|s| s.batch))?;
            (Some(c), restored)
        }
    };
    if let Some(snap) = &restored {
        if snap.done {
            sink.finish()?;
            let mut summary = snap.summary.clone();
            // This engine's name, not the checkpoint's (see the restore in `drive`).
            summary.engine = "microbatch".into();
            summary.notes = vec![format!(
                "resumed from checkpoint {}: the run had finished",
                snap.batch
            )];
            return Ok(Opened::Finished(summary.timed(started.elapsed())));
        }
        if let Some(position) = &snap.position {
            source.seek(position, snap.next_seq)?;
        }
        source = Box::new(Resumed {
            inner: source,
            from: snap.next_seq,
        });
    }
    Ok(Opened::Run {
        source,
        checkpoints,
        restored: restored.map(Box::new),
    })
}

/// Where a run starts: its checkpointer, the snapshot it resumes from, and when it
/// started (for the note on how long the restart took).
pub(crate) struct Resume {
    pub(crate) checkpoints: Option<Checkpointer>,
    pub(crate) restored: Option<Box<Snapshot>>,
    pub(crate) started: Instant,
}

/// Runs every batch of `source` on `pool`, resumed as `resume` says: the driver of one
/// process ([`run`], over the thread pool) and of a timely cluster ([`crate::cluster`]).
pub(crate) fn drive<P: Partitions>(
    settings: &Settings,
    plan: &Plan,
    mut pool: P,
    source: &mut dyn Source,
    sink: &mut dyn Sink,
    log: Option<&BatchLog>,
    resume: Resume,
) -> Result<(RunSummary, Tally), EngineError> {
    let verbose = std::env::var_os("STREAMLAB_MICROBATCH_LOG").is_some();
    let mut clock = TriggerClock::new(settings.trigger);
    let Resume {
        checkpoints,
        restored,
        started,
    } = resume;
    let mut resumed_note = None;
    let (mut watermark, mut w_prev, mut w_cur, mut next_id, mut last_ts) = (
        Watermark::for_plan(plan, source.partitions()),
        MIN_WATERMARK,
        MIN_WATERMARK,
        0,
        i64::MIN,
    );
    let mut summary = RunSummary {
        engine: "microbatch".into(),
        workers: settings.workers,
        ..Default::default()
    };
    let mut last_seq = None;
    if let Some(snap) = restored.map(|s| *s) {
        pool.restore(snap.parts)?;
        (watermark, w_prev, w_cur, next_id, last_ts) = (
            snap.watermark,
            snap.w_prev,
            snap.w_cur,
            snap.batch + 1,
            snap.last_ts,
        );
        last_seq = snap.next_seq.checked_sub(1);
        summary = RunSummary {
            // This engine's name, never the checkpoint's: another engine's checkpoint
            // misread as this one's decodes to any string (it printed `streamlab : note`).
            engine: summary.engine,
            workers: settings.workers,
            notes: Vec::new(),
            ..snap.summary
        };
        let note = format!(
            "resumed from checkpoint {} ({}) in {:.0} ms",
            snap.batch,
            streamlab_core::engine::resume_point(snap.next_seq),
            started.elapsed().as_secs_f64() * 1e3
        );
        // Now, not with the summary: how long a restart takes to be back at work.
        eprintln!("streamlab microbatch: {note}");
        resumed_note = Some(note);
    }
    summary.notes.extend(resumed_note);
    let mut driver = Driver {
        plan,
        pool,
        sink,
        log,
        verbose,
        watermark,
        w_prev,
        w_cur,
        next_id,
        last_seq,
        last_ts,
        summary,
        tally: Tally::default(),
        checkpoints,
        stages: plan
            .stages
            .as_ref()
            .map(|s| crate::stages::StageStores::new(s, settings.workers)),
    };
    driver.run(source, &mut clock, settings.max_records_per_batch)?;
    if let Some(c) = &driver.checkpoints {
        let line = c.describe();
        driver.summary.notes.push(line);
    }
    Ok((driver.summary, driver.tally))
}

/// The run's summary with the driver's note on its batches (and on the end of input).
pub(crate) fn summarize(
    summary: RunSummary,
    tally: &Tally,
    settings: &Settings,
    plan: &Plan,
) -> RunSummary {
    let mut summary = summary;
    let batches = tally.data + tally.no_data + tally.finals;
    summary.notes.push(format!(
        "{batches} batches ({} with input, {} no-data, {} final at end of input), \
         trigger {}, at most {} events per batch, {} workers; batches busy {:.3} ms, longest {:.3} ms",
        tally.data,
        tally.no_data,
        tally.finals,
        match settings.trigger {
            Trigger::Interval(d) if d.ms() == 0 => "as soon as the previous batch ends".into(),
            Trigger::Interval(d) => format!("every {} ms", d.ms()),
            Trigger::Once => "once".into(),
            Trigger::AvailableNow => "available-now".into(),
        },
        if settings.trigger == Trigger::Once || settings.max_records_per_batch == usize::MAX {
            "unbounded".to_string()
        } else {
            settings.max_records_per_batch.to_string()
        },
        settings.workers,
        tally.busy.as_secs_f64() * 1e3,
        tally.longest.as_secs_f64() * 1e3,
    ));
    if plan.projection.is_none() && plan.mode != OutputMode::Complete && tally.finals > 0 {
        summary.notes.push(
            "end of input closed every window with watermark +inf \
             (Spark itself never closes the last windows)"
                .into(),
        );
    }
    summary
}
