//! Keyed window state of one worker: the rows of the windows still open for the keys this
//! worker owns, updated one record at a time, closed and evicted as the watermark passes.
//!
//! Fixed windows (tumbling, sliding) are kept in core's [`FixedWindows`] (sorted by end,
//! closed as a prefix), sessions per key in core's [`SessionSet`] (which merges them and,
//! in update mode, remembers where closed sessions ended); a min-heap of session ends says which keys can
//! have a session to close, so a watermark step costs only the sessions it closes (the
//! micro-batch engine, closing once per batch, scans its keys instead). Lateness, closing
//! and window assignment are core's, and so is which (window, key)s make a row (the plan's
//! `RowRule`: a window join's only where every input has an event). What this module
//! decides is the per-record model: every record is applied as it arrives, update rows
//! leave with the record that changed them, and windows close at every watermark step.

use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use streamlab_checkpoint::delta::{
    apply_fixed, apply_pairs, fixed_delta, pairs_delta, FixedDelta, Incremental, MapDelta,
};
use streamlab_core::model::window::is_closed;
use streamlab_core::ops::joins::window::RowRule;
use streamlab_core::semantics::watermark::MIN_WATERMARK;
use streamlab_core::semantics::window_state::{
    ClosedSessions, FixedSnapshot, FixedWindows, SessionSet,
};
use streamlab_core::{Accs, Event, KeyId, OutRow, OutputMode, Plan, Window, WindowSpec};

/// What one worker counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerStats {
    /// Events with at least one assignment dropped as late.
    pub late_dropped: u64,
    /// Emission points that produced rows here: records that changed a row (update),
    /// watermark steps that closed windows (append), tables (complete).
    pub emissions: u64,
}

/// One worker's state at an epoch boundary, as a checkpoint holds it.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowSnapshot {
    #[serde(deserialize_with = "streamlab_checkpoint::sized::vec_of_rows")]
    fixed: FixedSnapshot<Accs>,
    sessions: Vec<(KeyId, SessionSet<Accs>)>,
    closed: i64,
    last_seq: Option<u64>,
    stats: WorkerStats,
}

/// What changed in one worker's state between two checkpoints (an incremental one).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WindowDelta {
    fixed: FixedDelta<KeyId, Accs>,
    sessions: MapDelta<KeyId, SessionSet<Accs>>,
    closed: i64,
    last_seq: Option<u64>,
    stats: WorkerStats,
}

impl Incremental for WindowSnapshot {
    type Delta = WindowDelta;

    fn delta(prev: &Self, cur: &Self) -> WindowDelta {
        WindowDelta {
            fixed: fixed_delta(&prev.fixed, &cur.fixed),
            sessions: pairs_delta(&prev.sessions, &cur.sessions),
            closed: cur.closed,
            last_seq: cur.last_seq,
            stats: cur.stats,
        }
    }

    fn apply(&mut self, d: WindowDelta) {
        apply_fixed(&mut self.fixed, d.fixed);
        apply_pairs(&mut self.sessions, d.sessions);
        self.closed = d.closed;
        self.last_seq = d.last_seq;
        self.stats = d.stats;
    }
}

/// The window state of the keys one worker owns.
pub struct WindowState {
    window: WindowSpec,
    mode: OutputMode,
    /// The accumulators of every (window, key) (the plan's `accumulators`).
    aggregates: Vec<streamlab_core::semantics::aggregate::AggSpec>,
    /// Which (window, key)s make a row, with which values (core's rule).
    rule: RowRule,
    /// Open fixed windows with their rows.
    fixed: FixedWindows<Accs>,
    sessions: FxHashMap<KeyId, SessionSet<Accs>>,
    /// Ends of sessions, with their keys, soonest first; entries go stale when a session
    /// grows (they are skipped when popped).
    session_ends: BinaryHeap<Reverse<(i64, KeyId)>>,
    /// Everything with `end <= closed` has been emitted and evicted.
    closed: i64,
    /// Arrival `seq` of the last record applied (complete mode's trigger).
    last_seq: Option<u64>,
    stats: WorkerStats,
}

impl WindowState {
    /// Empty state for `plan`.
    pub fn new(plan: &Plan) -> WindowState {
        WindowState {
            window: plan.window,
            mode: plan.mode,
            aggregates: plan.accumulators.clone(),
            rule: plan.row_rule.clone(),
            fixed: FixedWindows::new(),
            sessions: FxHashMap::default(),
            session_ends: BinaryHeap::new(),
            closed: MIN_WATERMARK,
            last_seq: None,
            stats: WorkerStats::default(),
        }
    }

    /// What this worker counted so far.
    pub fn stats(&self) -> WorkerStats {
        self.stats
    }

    /// The state as it is now, for a checkpoint.
    pub fn snapshot(&self) -> WindowSnapshot {
        WindowSnapshot {
            fixed: self.fixed.snapshot(),
            sessions: self.sessions.iter().map(|(k, s)| (*k, s.clone())).collect(),
            closed: self.closed,
            last_seq: self.last_seq,
            stats: self.stats,
        }
    }

    /// Restores worker `me` of `peers` from a checkpoint: its own snapshot whole when the
    /// worker count is the same, else the keys `owns` accepts from every snapshot.
    pub fn restore_from(
        &mut self,
        restored: &crate::checkpoint::Restored,
        me: usize,
        peers: usize,
        owns: impl Fn(KeyId) -> bool,
    ) {
        match restored.take(me, peers) {
            Some(own) => self.adopt(own),
            None => restored.with_all(|all| self.restore(all.iter().copied(), owns, me == 0)),
        }
    }

    /// Takes over `part`, this worker's own snapshot (same index, same worker count), with
    /// its counts (the run's are the sum over workers, as they were).
    fn adopt(&mut self, part: WindowSnapshot) {
        self.fixed.adopt(part.fixed);
        for (key, set) in part.sessions {
            for (w, _) in set.sessions() {
                self.session_ends.push(Reverse((w.end, key)));
            }
            self.sessions.insert(key, set);
        }
        self.closed = self.closed.max(part.closed);
        self.last_seq = self.last_seq.max(part.last_seq);
        self.stats.late_dropped += part.stats.late_dropped;
        self.stats.emissions += part.stats.emissions;
    }

    /// Restores the keys `owns` accepts from the snapshots of every worker of the run that
    /// wrote them (so a run may resume on another number of workers). Counts go to the
    /// worker with `counts` set (one per run), so their sum is restored once.
    pub fn restore<'a>(
        &mut self,
        parts: impl IntoIterator<Item = &'a WindowSnapshot>,
        owns: impl Fn(KeyId) -> bool,
        counts: bool,
    ) {
        for part in parts {
            self.fixed.restore(&part.fixed, &owns);
            for (key, set) in part.sessions.iter().filter(|(k, _)| owns(*k)) {
                for (w, _) in set.sessions() {
                    self.session_ends.push(Reverse((w.end, *key)));
                }
                self.sessions.insert(*key, set.clone());
            }
            self.closed = self.closed.max(part.closed);
            self.last_seq = self.last_seq.max(part.last_seq);
            if counts {
                self.stats.late_dropped += part.stats.late_dropped;
                self.stats.emissions += part.stats.emissions;
            }
        }
    }

    /// Rows held: (window, key) pairs of open fixed windows plus open sessions. Flat on a
    /// long run in append and update mode, where closed windows are evicted.
    pub fn open_rows(&self) -> usize {
        self.fixed.rows() + self.sessions.values().map(SessionSet::len).sum::<usize>()
    }

    /// Whether state is kept forever and nothing is late (complete mode, as Spark does).
    fn keeps_everything(&self) -> bool {
        self.mode == OutputMode::Complete
    }

    /// Applies one record. `watermark` is the watermark its source had emitted before it
    /// (the record's stamp): an assignment to a window ending at or before it is late, as
    /// in Flink. Update mode pushes the rows the record changed onto `out`.
    #[inline]
    pub fn apply(&mut self, e: &Event, watermark: i64, out: &mut Vec<OutRow>) {
        self.last_seq = Some(e.seq);
        // Complete mode drops nothing; otherwise never below what was already evicted.
        let bound = if self.keeps_everything() {
            MIN_WATERMARK
        } else {
            watermark.max(self.closed)
        };
        let update = self.mode == OutputMode::Update;
        let rows_before = out.len();
        let late = match self.window {
            WindowSpec::Session { gap } => self.apply_session(e, gap, bound, update, out),
            spec => {
                let (aggregates, rule) = (&self.aggregates, &self.rule);
                let new = || Accs::new(aggregates);
                self.fixed.fold(spec, e.time, e.key, bound, new, |w, accs| {
                    accs.update(aggregates, e);
                    if update {
                        out.extend(update_row(rule, w, e, accs));
                    }
                })
            }
        };
        self.stats.late_dropped += u64::from(late);
        self.stats.emissions += u64::from(out.len() > rows_before);
    }

    fn apply_session(
        &mut self,
        e: &Event,
        gap: i64,
        bound: i64,
        update: bool,
        out: &mut Vec<OutRow>,
    ) -> bool {
        let set = self.sessions.entry(e.key).or_default();
        if set.is_late(e.time, gap, bound, ClosedSessions::of(self.mode)) {
            return true;
        }
        let r = set.insert(e.time, gap, Accs::of(&self.aggregates, e), |a, b| {
            a.merge(b)
        });
        self.session_ends.push(Reverse((r.window.end, e.key)));
        if update {
            let accs = set
                .get_mut(r.window)
                .expect("the session was just inserted");
            out.extend(update_row(&self.rule, r.window, e, accs));
        }
        false
    }

    /// The watermark has reached `watermark`: every window ending at or before it closes.
    /// Append mode pushes their final rows (sorted by window, then key); update mode has
    /// emitted them already; either way they are evicted. Complete mode keeps everything.
    pub fn close(&mut self, watermark: i64, out: &mut Vec<OutRow>) {
        if watermark <= self.closed || self.keeps_everything() {
            return;
        }
        self.closed = watermark;
        let append = self.mode == OutputMode::Append;
        let rows_before = out.len();
        if append {
            let rule = &self.rule;
            self.fixed.close(watermark, |window, key, accs| {
                out.extend(final_row(rule, window, key, accs))
            });
        } else {
            self.fixed.evict(watermark);
        }
        let mut closed_sessions: Vec<OutRow> = Vec::new();
        while let Some(&Reverse((end, key))) = self.session_ends.peek() {
            if !is_closed(end, watermark) {
                break;
            }
            self.session_ends.pop();
            if let Some(set) = self.sessions.get_mut(&key) {
                set.close(watermark, ClosedSessions::of(self.mode), |window, accs| {
                    if append {
                        closed_sessions.extend(final_row(&self.rule, window, key, &accs));
                    }
                });
                // A set that remembers where its closed sessions ended stays (update
                // mode); an empty one that does not holds nothing (SessionSet).
                if set.is_forgettable() {
                    self.sessions.remove(&key);
                }
            }
        }
        closed_sessions.sort_unstable_by_key(|r| (r.window, r.key));
        out.append(&mut closed_sessions);
        self.stats.emissions += u64::from(out.len() > rows_before);
    }

    /// Complete mode: pushes the whole table (every window and key), numbered `emit`.
    pub fn table(&mut self, emit: u64, out: &mut Vec<OutRow>) {
        let start = out.len();
        let (rule, trigger) = (&self.rule, self.last_seq);
        let table_row = |window: Window, key: KeyId, accs: &Accs| {
            final_row(rule, window, key, accs).map(|row| OutRow {
                emit: Some(emit),
                trigger,
                ..row
            })
        };
        out.reserve(self.fixed.rows());
        self.fixed
            .table(|window, key, accs| out.extend(table_row(window, key, accs)));
        for (&key, set) in &self.sessions {
            out.extend(
                set.sessions()
                    .iter()
                    .filter_map(|(window, accs)| table_row(*window, key, accs)),
            );
        }
        out[start..].sort_unstable_by_key(|r| (r.window, r.key));
        self.stats.emissions += 1;
    }
}

/// An update-mode row, if the (window, key) has one: the record's arrival `seq` is both
/// the emission point and the trigger (every record that changes a row is an emission
/// point).
#[inline]
fn update_row(rule: &RowRule, window: Window, e: &Event, accs: &Accs) -> Option<OutRow> {
    Some(OutRow {
        window,
        key: e.key,
        values: rule.values(accs)?,
        emit: Some(e.seq),
        trigger: Some(e.seq),
    })
}

/// A closed window's row, if it has one (append mode: the harness derives its trigger
/// from the input).
fn final_row(rule: &RowRule, window: Window, key: KeyId, accs: &Accs) -> Option<OutRow> {
    Some(OutRow {
        window,
        key,
        values: rule.values(accs)?,
        emit: None,
        trigger: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker's snapshot as checkpoints held it before the window state moved to core:
    /// each fixed window's rows as a list.
    #[derive(serde::Serialize)]
    struct RowsAsLists {
        fixed: Vec<(Window, Vec<(KeyId, Accs)>)>,
        sessions: Vec<(KeyId, SessionSet<Accs>)>,
        closed: i64,
        last_seq: Option<u64>,
        stats: WorkerStats,
    }

    #[test]
    fn checkpoints_written_with_rows_as_lists_still_read() {
        let plan = Plan::from_toml(
            "event_time = \"ts\"\ngroup_by = [\"key\"]\n[window]\nkind = \"sliding\"\n\
             size = 10\nslide = 5\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n",
        )
        .expect("a valid plan");
        let mut state = WindowState::new(&plan);
        for (seq, (time, key)) in [(1, 0), (7, 1), (3, 0), (12, 2)].into_iter().enumerate() {
            let fields = Default::default();
            let e = Event {
                seq: seq as u64,
                time,
                key,
                part: 0,
                fields,
            };
            state.apply(&e, MIN_WATERMARK, &mut Vec::new());
        }
        let now = state.snapshot();
        let before = RowsAsLists {
            fixed: now
                .fixed
                .iter()
                .map(|(w, rows)| (*w, rows.iter().map(|(k, a)| (*k, a.clone())).collect()))
                .collect(),
            sessions: now.sessions.clone(),
            closed: now.closed,
            last_seq: now.last_seq,
            stats: now.stats,
        };
        let bytes = bincode::serialize(&before).expect("encodes");
        let read: WindowSnapshot = bincode::deserialize(&bytes).expect("decodes");
        assert_eq!(read.fixed.len(), 4, "windows [-5,5) [0,10) [5,15) [10,20)");
        assert_eq!(read, now);
    }
}
