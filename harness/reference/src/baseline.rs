//! The baseline (`--engine baseline`): a single-threaded, hand-written loop over hash maps
//! answering the same plan, run by the same driver as the engines. It is the third row of
//! every throughput table (McSherry et al.'s COST: what does one thread do?).
//!
//! It follows the per-record rule of semantics.md exactly (the watermark moves after every
//! record), so on any input it gives the answer the record engine gives with
//! `--watermark-interval 1` on one worker. Complete mode emits the table once, at the end.
//!
//! With `--checkpoint DIR` it is also the reference implementation of the checkpoint
//! protocol the engines follow: every N events (a record boundary is a consistent cut in
//! one thread) it hands the epoch's rows to the sink, prepares them, writes its state and
//! the next input offset as checkpoint `epoch`, then commits the rows. A restarted run
//! restores the newest good checkpoint, tells the sink to recover to its epoch, and skips
//! the events before its offset: the output after any number of crashes is one clean run.

mod projection;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use streamlab_checkpoint::delta::{
    apply_fixed, apply_pairs, fixed_delta, pairs_delta, FixedDelta, Incremental, MapDelta,
};
use streamlab_checkpoint::Writer;
use streamlab_core::engine::{
    processing_time_ms, Engine, EngineError, Job, Poll, RunSummary, Sink, Source, SourcePosition,
};
use streamlab_core::model::window::is_closed;
use streamlab_core::query::TimeDomain;
use streamlab_core::semantics::watermark::{Watermark, MAX_WATERMARK};
use streamlab_core::semantics::window_state::{
    ClosedSessions, FixedSnapshot, FixedWindows, SessionSet,
};
use streamlab_core::{Accs, Event, KeyId, OutRow, OutputMode, Plan, Window, WindowSpec};

/// The single-threaded hand-written loop.
#[derive(Clone, Copy, Debug, Default)]
pub struct Baseline;

/// Checkpoints every this many events when no interval is given.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 100_000;

/// The state a checkpoint holds: everything `Loop` needs to go on, and where the input
/// resumes.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    /// The query it was taken for (a checkpoint of another query is refused).
    query: String,
    epoch: u64,
    /// Events with a smaller seq are in the state.
    next_seq: u64,
    /// The source's own position at `next_seq` (file or Kafka offsets), when it has one;
    /// stored beside the state (the harness reads it before the run).
    #[serde(skip)]
    position: Option<SourcePosition>,
    /// The run had finished: output complete.
    done: bool,
    watermark: Watermark,
    #[serde(deserialize_with = "streamlab_checkpoint::sized::vec_of_rows")]
    fixed: FixedSnapshot<Accs>,
    sessions: Vec<(KeyId, SessionSet<Accs>)>,
    /// The earliest open session's end: kept for the checkpoint format; a restore
    /// rebuilds the index of session ends from `sessions`.
    next_session_end: i64,
    emit: u64,
    summary: RunSummary,
}

/// What changed between two checkpoints (an incremental checkpoint's payload).
#[derive(Serialize, Deserialize)]
struct SnapshotDelta {
    epoch: u64,
    next_seq: u64,
    done: bool,
    watermark: Watermark,
    fixed: FixedDelta<KeyId, Accs>,
    sessions: MapDelta<KeyId, SessionSet<Accs>>,
    next_session_end: i64,
    emit: u64,
    summary: RunSummary,
}

impl Incremental for Snapshot {
    type Delta = SnapshotDelta;

    fn delta(prev: &Self, cur: &Self) -> SnapshotDelta {
        SnapshotDelta {
            epoch: cur.epoch,
            next_seq: cur.next_seq,
            done: cur.done,
            watermark: cur.watermark.clone(),
            fixed: fixed_delta(&prev.fixed, &cur.fixed),
            sessions: pairs_delta(&prev.sessions, &cur.sessions),
            next_session_end: cur.next_session_end,
            emit: cur.emit,
            summary: cur.summary.clone(),
        }
    }

    fn apply(&mut self, d: SnapshotDelta) {
        self.epoch = d.epoch;
        self.next_seq = d.next_seq;
        self.done = d.done;
        self.watermark = d.watermark;
        apply_fixed(&mut self.fixed, d.fixed);
        apply_pairs(&mut self.sessions, d.sessions);
        self.next_session_end = d.next_session_end;
        self.emit = d.emit;
        self.summary = d.summary;
    }
}

/// The loop's state: the watermark, core's window state, the rows not yet handed to the
/// sink. What the baseline decides is only when: every record moves the watermark, and
/// windows close right after the record that moved it past their end.
struct Loop<'p> {
    plan: &'p Plan,
    watermark: Watermark,
    fixed: FixedWindows<Accs>,
    sessions: FxHashMap<KeyId, SessionSet<Accs>>,
    /// Every open session's end, with its key (earliest first), so that closing visits
    /// the keys whose sessions end, not every key. Entries go stale when a session grows
    /// or merges (its new end is pushed too); a stale one costs one look at its key.
    session_ends: BinaryHeap<Reverse<(i64, KeyId)>>,
    rows: Vec<OutRow>,
    emit: u64,
    summary: RunSummary,
}

impl Loop<'_> {
    fn keeps_everything(&self) -> bool {
        self.plan.mode == OutputMode::Complete
    }

    /// The watermark an assignment is judged against (complete mode drops nothing).
    fn lateness_bound(&self) -> i64 {
        if self.keeps_everything() {
            i64::MIN
        } else {
            self.watermark.current()
        }
    }

    fn on_event(&mut self, e: &Event) {
        let plan = self.plan;
        if !plan.filters.iter().all(|p| p.holds(e.fields[p.slot])) {
            self.summary.filtered += 1;
            return;
        }
        let bound = self.lateness_bound();
        let update = plan.mode == OutputMode::Update;
        let mut late = false;
        match plan.window {
            WindowSpec::Session { gap } => {
                let set = self.sessions.entry(e.key).or_default();
                if set.is_late(e.time, gap, bound, ClosedSessions::of(plan.mode)) {
                    late = true;
                } else {
                    let r = set.insert(e.time, gap, Accs::of(&plan.accumulators, e), |a, b| {
                        a.merge(b)
                    });
                    self.session_ends.push(Reverse((r.window.end, e.key)));
                    if update {
                        let accs = set.get_mut(r.window).expect("just inserted");
                        push_update(plan, &mut self.rows, &mut self.emit, r.window, e, accs);
                    }
                }
            }
            spec => {
                let (rows, emit) = (&mut self.rows, &mut self.emit);
                let new = || Accs::new(&plan.accumulators);
                late = self.fixed.fold(spec, e.time, e.key, bound, new, |w, accs| {
                    accs.update(&plan.accumulators, e);
                    if update {
                        push_update(plan, rows, emit, w, e, accs);
                    }
                });
            }
        }
        self.summary.late_dropped += u64::from(late);
        self.watermark.observe(e.part, e.time);
        if self.watermark.advance().is_some() && !self.keeps_everything() {
            self.close();
        }
    }

    /// Emits (append) and evicts every window the watermark has passed.
    fn close(&mut self) {
        let w = self.watermark.current();
        let append = self.plan.mode == OutputMode::Append;
        if append {
            let (plan, rows) = (self.plan, &mut self.rows);
            self.fixed.close(w, |window, key, accs| {
                rows.extend(final_row(plan, window, key, accs))
            });
        } else {
            self.fixed.evict(w);
        }
        let mut closed = Vec::new();
        while let Some(&Reverse((end, key))) = self.session_ends.peek() {
            if !is_closed(end, w) {
                break;
            }
            self.session_ends.pop();
            if let Some(set) = self.sessions.get_mut(&key) {
                let rule = ClosedSessions::of(self.plan.mode);
                set.close(w, rule, |window, accs| closed.push((window, key, accs)));
                // Update mode's sets remember where closed sessions ended and stay.
                if set.is_forgettable() {
                    self.sessions.remove(&key);
                }
            }
        }
        if append {
            closed.sort_unstable_by_key(|(window, key, _)| (*window, *key));
            for (window, key, accs) in closed {
                self.rows.extend(final_row(self.plan, window, key, &accs));
            }
        }
    }

    /// End of input: complete mode emits its one table; the others close everything.
    fn finish(&mut self, last_seq: Option<u64>) {
        self.watermark.finish();
        if !self.keeps_everything() {
            self.close();
            return;
        }
        let mut table: Vec<(Window, KeyId, Accs)> = Vec::new();
        // The table leaves the state: the input has ended.
        for open in self.fixed.drain_closed(MAX_WATERMARK) {
            table.extend(open.rows.into_iter().map(|(k, a)| (open.window, k, a)));
        }
        for (key, set) in self.sessions.drain() {
            table.extend(set.sessions().iter().map(|(w, a)| (*w, key, a.clone())));
        }
        table.sort_unstable_by_key(|(w, k, _)| (*w, *k));
        let emit = Some(self.emit);
        for (window, key, accs) in table {
            if let Some(row) = final_row(self.plan, window, key, &accs) {
                self.rows.push(OutRow {
                    emit,
                    trigger: last_seq,
                    ..row
                });
            }
        }
        self.emit += 1;
    }
}

/// Update mode: the row `e` changed, if the (window, key) has one (core's row rule),
/// numbered as the next emission.
fn push_update(
    plan: &Plan,
    rows: &mut Vec<OutRow>,
    emit: &mut u64,
    window: Window,
    e: &Event,
    accs: &Accs,
) {
    let Some(values) = plan.row_rule.values(accs) else {
        return;
    };
    rows.push(OutRow {
        window,
        key: e.key,
        values,
        emit: Some(*emit),
        trigger: Some(e.seq),
    });
    *emit += 1;
}

/// A row with no emit number yet, if the (window, key) has one (core's row rule).
fn final_row(plan: &Plan, window: Window, key: KeyId, accs: &Accs) -> Option<OutRow> {
    Some(OutRow {
        window,
        key,
        values: plan.row_rule.values(accs)?,
        emit: None,
        trigger: None,
    })
}

impl Loop<'_> {
    fn snapshot(
        &self,
        epoch: u64,
        next_seq: u64,
        position: Option<SourcePosition>,
        done: bool,
    ) -> Snapshot {
        Snapshot {
            query: self.plan.to_toml(),
            epoch,
            next_seq,
            position,
            done,
            watermark: self.watermark.clone(),
            fixed: self.fixed.snapshot(),
            sessions: self.sessions.iter().map(|(k, s)| (*k, s.clone())).collect(),
            next_session_end: self
                .session_ends
                .peek()
                .map_or(i64::MAX, |Reverse((end, _))| *end),
            emit: self.emit,
            summary: self.summary.clone(),
        }
    }

    fn restore(&mut self, s: Snapshot) {
        self.watermark = s.watermark;
        self.fixed = FixedWindows::new();
        self.fixed.adopt(s.fixed);
        self.sessions = s.sessions.into_iter().collect();
        // The index is rebuilt from the sessions (the checkpoint keeps only its minimum).
        self.session_ends = self
            .sessions
            .iter()
            .flat_map(|(key, set)| set.sessions().iter().map(|(w, _)| Reverse((w.end, *key))))
            .collect();
        self.emit = s.emit;
        // The counts carry on; the name is this engine's, never the checkpoint's (see
        // the micro-batch driver's restore).
        let engine = std::mem::take(&mut self.summary.engine);
        self.summary = RunSummary {
            engine,
            ..s.summary
        };
    }
}

/// Checkpointing state of a run.
struct Checkpointer {
    writer: Writer<Snapshot>,
    dir: std::path::PathBuf,
    every_events: Option<u64>,
    interval: Option<std::time::Duration>,
    epoch: u64,
    since_events: u64,
    since: std::time::Instant,
    written: u64,
    /// Increments among the checkpoints made durable, and their bytes.
    increments: u64,
    bytes: u64,
}

impl Checkpointer {
    fn due(&self) -> bool {
        self.every_events.is_some_and(|n| self.since_events >= n)
            || self.interval.is_some_and(|d| self.since.elapsed() >= d)
    }

    /// Commits the epochs whose checkpoints have become durable.
    fn poll(&mut self, sink: &mut Box<dyn Sink>) -> Result<(), EngineError> {
        let done = self.writer.poll()?;
        self.commit(done, sink)
    }

    /// Phase 2 for checkpoints now durable.
    fn commit(
        &mut self,
        done: Vec<streamlab_checkpoint::Done>,
        sink: &mut Box<dyn Sink>,
    ) -> Result<(), EngineError> {
        for d in done {
            sink.commit(d.id)?;
            self.increments += u64::from(d.increment);
            self.bytes += d.bytes;
        }
        Ok(())
    }

    /// The summary's line about them.
    fn describe(&self) -> String {
        format!(
            "{} checkpoints written to {} ({} of them increments; {} bytes in all; the stream waited {:.1} ms for a previous write {} times)",
            self.written,
            self.dir.display(),
            self.increments,
            self.bytes,
            self.writer.waited.as_secs_f64() * 1e3,
            self.writer.stalls
        )
    }

    /// Waits for the checkpoint being written and commits its epoch (the run ends).
    fn settle(&mut self, sink: &mut Box<dyn Sink>) -> Result<(), EngineError> {
        let done = self.writer.wait()?;
        self.commit(done, sink)
    }

    /// Emits pending rows, prepares them, hands the checkpoint to the writer; the rows
    /// are committed once it is durable.
    fn take(
        &mut self,
        lp: &mut Loop<'_>,
        sink: &mut Box<dyn Sink>,
        source: &dyn Source,
        next_seq: u64,
        done: bool,
        last_seq: Option<u64>,
    ) -> Result<(), EngineError> {
        // A finished run's checkpoint also says where its input ended, so a restart
        // need not read the input again only to learn that nothing is left.
        let position = if done {
            source.position(last_seq.map_or(0, |s| s + 1))
        } else {
            source.position(next_seq)
        };
        lp.summary.rows_out += lp.rows.len() as u64;
        sink.emit(&lp.rows)?;
        lp.rows.clear();
        sink.prepare(self.epoch)?;
        let snapshot = lp.snapshot(self.epoch, next_seq, position, done);
        let position = snapshot.position.as_ref().map(|p| p.as_str().to_owned());
        let done = self.writer.submit(self.epoch, position, snapshot)?;
        self.commit(done, sink)?;
        self.epoch += 1;
        self.since_events = 0;
        self.since = std::time::Instant::now();
        self.written += 1;
        Ok(())
    }
}

impl Engine for Baseline {
    fn name(&self) -> &'static str {
        "baseline"
    }

    fn supported_flags(&self) -> &'static [streamlab_core::engine::RunFlag] {
        &[streamlab_core::engine::RunFlag::Checkpoint]
    }

    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        let Job {
            plan,
            options,
            mut source,
            mut sink,
            ..
        } = job;
        if let Some(p) = &plan.projection {
            return projection::run(plan, p, source, sink);
        }
        let started = std::time::Instant::now();
        let mut lp = Loop {
            plan,
            watermark: Watermark::for_plan(plan, source.partitions()),
            fixed: FixedWindows::new(),
            sessions: FxHashMap::default(),
            session_ends: BinaryHeap::new(),
            rows: Vec::new(),
            emit: 0,
            summary: RunSummary {
                engine: self.name().into(),
                workers: 1,
                ..Default::default()
            },
        };
        let processing = plan.time == TimeDomain::Processing;
        let mut loaded = None;
        let mut ck = match &options.checkpoint {
            None => None,
            Some(c) => {
                if !sink.transactional() {
                    return Err(EngineError::Internal(
                        "--checkpoint needs a transactional sink (an output file)".into(),
                    ));
                }
                let query = plan.to_toml();
                let (store, latest) =
                    streamlab_checkpoint::open_run(c, "baseline", &query, |s: &Snapshot| &s.query)?;
                loaded = latest;
                Some(Checkpointer {
                    dir: store.dir().to_owned(),
                    writer: Writer::new(store, streamlab_checkpoint::writer_options(c)),
                    every_events: c
                        .every_events
                        .or(c.interval.is_none().then_some(DEFAULT_CHECKPOINT_EVERY)),
                    interval: c
                        .interval
                        .map(|d| std::time::Duration::from_millis(d.ms() as u64)),
                    epoch: 0,
                    since_events: 0,
                    since: std::time::Instant::now(),
                    written: 0,
                    increments: 0,
                    bytes: 0,
                })
            }
        };
        let mut resume_seq = 0u64;
        if let Some(c) = ck.as_mut() {
            match loaded {
                None => sink.recover(None)?,
                Some((mut snap, position)) => {
                    snap.position = position;
                    sink.recover(Some(snap.epoch))?;
                    c.epoch = snap.epoch + 1;
                    resume_seq = snap.next_seq;
                    let done = snap.done;
                    if let Some(position) = snap.position.as_ref().filter(|_| !done) {
                        source.seek(position, resume_seq)?;
                    }
                    lp.restore(snap);
                    let note = format!(
                        "resumed from checkpoint {} ({}) in {:.0} ms",
                        c.epoch - 1,
                        streamlab_core::engine::resume_point(resume_seq),
                        started.elapsed().as_secs_f64() * 1e3
                    );
                    eprintln!("streamlab baseline: {note}");
                    lp.summary.notes.push(note);
                    if done {
                        sink.finish()?;
                        return Ok(lp.summary.clone().timed(started.elapsed()));
                    }
                }
            }
        }
        let mut buf: Vec<Event> = Vec::with_capacity(4096);
        let mut last_seq = None;
        loop {
            buf.clear();
            let status = source.poll(&mut buf, 4096)?;
            for e in buf.iter_mut() {
                if e.seq < resume_seq {
                    continue; // already in the restored state
                }
                if processing {
                    e.time = processing_time_ms();
                }
                lp.on_event(e);
                lp.summary.events_in += 1;
                last_seq = Some(e.seq);
                if lp.rows.len() >= 4096 {
                    lp.summary.rows_out += lp.rows.len() as u64;
                    sink.emit(&lp.rows)?;
                    lp.rows.clear();
                }
                if let Some(c) = ck.as_mut() {
                    c.since_events += 1;
                    if c.due() {
                        c.take(&mut lp, &mut sink, source.as_ref(), e.seq + 1, false, None)?;
                    }
                }
            }
            if !lp.rows.is_empty() {
                lp.summary.rows_out += lp.rows.len() as u64;
                sink.emit(&lp.rows)?;
                lp.rows.clear();
            }
            if let Some(c) = ck.as_mut() {
                c.poll(&mut sink)?;
            }
            if status == Poll::End {
                break;
            }
            if status == Poll::Stopped {
                return stop(lp, ck, sink, source.as_ref(), last_seq, resume_seq, started);
            }
        }
        lp.finish(last_seq);
        match ck.as_mut() {
            Some(c) => {
                c.take(
                    &mut lp,
                    &mut sink,
                    source.as_ref(),
                    u64::MAX,
                    true,
                    last_seq,
                )?;
                c.settle(&mut sink)?;
                lp.summary.notes.push(c.describe());
            }
            None => {
                lp.summary.rows_out += lp.rows.len() as u64;
                sink.emit(&lp.rows)?;
            }
        }
        sink.finish()?;
        lp.summary.emissions = lp.emit;
        Ok(lp.summary.timed(started.elapsed()))
    }
}

/// The run was stopped before its input ended: the rows already final are out; open
/// windows stay open (complete mode, without a checkpoint, emits its table of what it
/// has). With checkpoints a last one is taken to resume from, not marked finished.
fn stop(
    mut lp: Loop<'_>,
    mut ck: Option<Checkpointer>,
    mut sink: Box<dyn Sink>,
    source: &dyn Source,
    last_seq: Option<u64>,
    resume_seq: u64,
    started: std::time::Instant,
) -> Result<RunSummary, EngineError> {
    match ck.as_mut() {
        Some(c) => {
            let next_seq = last_seq.map_or(resume_seq, |s| s + 1);
            c.take(&mut lp, &mut sink, source, next_seq, false, last_seq)?;
            c.settle(&mut sink)?;
            lp.summary.notes.push(format!(
                "{}; the last, at input offset {next_seq}, is the one to resume from",
                c.describe()
            ));
        }
        None => {
            if lp.keeps_everything() {
                lp.finish(last_seq);
            }
            lp.summary.rows_out += lp.rows.len() as u64;
            sink.emit(&lp.rows)?;
        }
    }
    sink.finish()?;
    lp.summary.emissions = lp.emit;
    Ok(lp.summary.timed(started.elapsed()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;
    use crate::Oracle;
    use streamlab_core::engine::{CollectSink, RunOptions, VecSource};

    /// 20 000 keys, each with a few sessions far apart, closed one by one as the
    /// watermark passes them (the index of session ends visits only the keys that close):
    /// the rows are the oracle's, in append and update mode.
    #[test]
    fn sessions_of_many_keys_close_as_the_oracle_says() {
        let keys = 20_000u32;
        let events: Vec<Event> = (0..60_000u64)
            .map(|i| Event {
                seq: i,
                // 5 ms apart, up to 400 ms out of order (within the 1 s delay).
                time: i as i64 * 5 + ((i * 7_919) % 80) as i64 * 5,
                key: (i * 104_729 % keys as u64) as KeyId,
                part: 0,
                fields: Default::default(),
            })
            .collect();
        for mode in ["append", "update"] {
            let plan = Plan::from_toml(&format!(
                "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
                 [watermark]\ndelay = \"1s\"\n[window]\nkind = \"session\"\ngap = \"1s\"\n\
                 [[aggregate]]\nfn = \"count\"\nas = \"n\"\n"
            ))
            .unwrap();
            let sink = CollectSink::default();
            let summary = Baseline
                .run(
                    &plan,
                    &RunOptions::default(),
                    Box::new(VecSource::new(events.clone())),
                    Box::new(sink.clone()),
                )
                .unwrap();
            assert_eq!(summary.late_dropped, 0);
            // The final answer: the last row of each (window, key).
            let mut last = std::collections::BTreeMap::new();
            for r in sink.rows() {
                last.insert((r.window, r.key), r.values);
            }
            let (exact, _) = Oracle::answer(&plan, &events).unwrap();
            let exact: std::collections::BTreeMap<_, _> = exact
                .into_iter()
                .map(|r| ((r.window, r.key), r.values))
                .collect();
            assert!(exact.len() > 20_000, "{mode}: {} sessions", exact.len());
            assert_eq!(last, exact, "{mode}");
        }
    }
}
