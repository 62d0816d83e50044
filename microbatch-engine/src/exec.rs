//! Batch execution on one partition: the work one worker does for one batch.
//!
//! A batch runs as a whole, in three steps (semantics.md, micro-batch rule):
//! 1. **ingest**: every event of the batch whose key this partition owns passes the
//!    filters and is assigned to its windows; an assignment to a window with
//!    `end <= W_(k-1)` (closed by the previous batch) is dropped as late, every other one
//!    is folded straight into the partition's state store. A session event is late as
//!    core's `SessionSet::is_late` says under `W_(k-1)`: its own session has closed and
//!    joins no open one, or it would merge into a session already closed. The watermark
//!    does not move.
//! 2. **emit** by output mode ([`crate::output`]): update emits the rows the batch changed.
//! 3. **close** the windows with `end <= W_k`: append emits them, append and update evict
//!    them; complete emits the whole table and keeps it.
//!
//! The batch is folded into the store directly rather than first into a per-batch partial
//! table: each partition already owns its keys (no shuffle to save), so a partial table
//! would only add a second hash lookup per (window, key) (measured in the crate docs,
//! "Design decisions").

use crate::exchange::{admits, Exchange, MapFailed, Owners};
use crate::output::Emission;
use crate::state_store::{Entry, KeySessions, SessionStore};
use streamlab_core::model::key_hash::partition_of;
use streamlab_core::semantics::watermark::PartitionMaxima;
use streamlab_core::semantics::window_state::{ClosedSessions, FixedSnapshot, FixedWindows};
use streamlab_core::{Event, KeyId, OutRow, OutputMode, Plan, Window, WindowSpec};

/// The watermarks one batch runs under (serializable: in a cluster they travel with the
/// batch to every partition).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BatchParams {
    /// Batch id k (from 0).
    pub id: u64,
    /// W_(k-1): an assignment to a window with `end <= late_bound` is late.
    pub late_bound: i64,
    /// W_k: windows with `end <= close_at` close at the end of the batch.
    pub close_at: i64,
    /// Arrival `seq` of the last event of the run so far.
    pub last_seq: Option<u64>,
}

/// What one partition did in one batch (serializable: in a cluster it travels back to the
/// driver).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PartOutput {
    /// Rows to emit, in emission order.
    pub rows: Vec<OutRow>,
    /// Events with at least one assignment dropped as late.
    pub late: u64,
    /// Events removed by the filters.
    pub filtered: u64,
    /// Largest event time per source partition among the events that passed the
    /// filters: the input of the next watermark.
    pub maxima: PartitionMaxima,
}

/// A partition's state between two batches, as a checkpoint holds it.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct PartitionState {
    /// Open fixed windows with their rows.
    #[serde(deserialize_with = "streamlab_checkpoint::sized::vec_of_rows")]
    pub fixed: FixedSnapshot<Entry>,
    /// Sessions by key (every key seen: a closed session's end decides lateness).
    pub sessions: Vec<(KeyId, KeySessions)>,
}

/// One partition: the keys hashing to `me` among `n`, and their state.
pub struct Partition<'p> {
    plan: &'p Plan,
    me: usize,
    n: usize,
    fixed: FixedWindows<Entry>,
    sessions: SessionStore,
    /// Update mode: (window, key) rows changed in the current batch.
    changed: Vec<(Window, KeyId)>,
    /// Update mode, sessions: keys with a session changed in the current batch.
    changed_keys: Vec<KeyId>,
    /// A regular join: every event so far of the keys this partition owns.
    join: streamlab_core::ops::joins::regular::JoinState,
}

impl<'p> Partition<'p> {
    /// Partition `me` of `n` for `plan`, with empty state.
    pub fn new(plan: &'p Plan, me: usize, n: usize) -> Self {
        Partition {
            plan,
            me,
            n,
            fixed: FixedWindows::new(),
            sessions: SessionStore::default(),
            changed: Vec::new(),
            changed_keys: Vec::new(),
            join: Default::default(),
        }
    }

    /// This partition's state store, for a checkpoint taken between two batches.
    pub fn snapshot(&self) -> PartitionState {
        PartitionState {
            fixed: self.fixed.snapshot(),
            sessions: self
                .sessions
                .keys
                .iter()
                .map(|(k, s)| (*k, s.clone()))
                .collect(),
        }
    }

    /// Takes the keys this partition owns from the snapshots of every partition of the
    /// run that wrote them (the run may have had another number of partitions).
    pub fn restore(&mut self, parts: &[PartitionState]) {
        let (me, n) = (self.me, self.n);
        for part in parts {
            self.fixed
                .restore(&part.fixed, |k| partition_of(k, n) == me);
            for (key, ks) in part
                .sessions
                .iter()
                .filter(|(k, _)| partition_of(*k, n) == me)
            {
                for (w, _) in ks.set.sessions() {
                    self.sessions.note_end(w.end);
                }
                self.sessions.keys.insert(*key, ks.clone());
            }
        }
    }

    /// Takes over `part`, the snapshot of this same partition (same `me` of the same `n`).
    pub fn adopt(&mut self, part: PartitionState) {
        self.fixed.adopt(part.fixed);
        for (key, ks) in part.sessions {
            for (w, _) in ks.set.sessions() {
                self.sessions.note_end(w.end);
            }
            self.sessions.keys.insert(key, ks);
        }
    }

    /// Open (window, key) rows in this partition's state store.
    pub fn state_rows(&self) -> usize {
        self.fixed.rows() + self.sessions.rows()
    }

    /// Runs one batch over this partition's share of `events`, scanning the whole batch
    /// for the events it owns (one partition, or each partition on its own).
    pub fn run(&mut self, params: &BatchParams, events: &[Event]) -> PartOutput {
        let (plan, me) = (self.plan, self.me);
        let owners = Owners::of(plan, self.n);
        let mut tally = PartOutput::default();
        let mut out = self.ingest(
            params,
            events
                .iter()
                .filter(|e| owners.owner(e) == me && admits(plan, e, &mut tally)),
        );
        out.filtered += tally.filtered;
        out.maxima.merge(&tally.maxima);
        out
    }

    /// Runs one batch through `exchange` (several partitions): maps ranges of `events`
    /// until none is left, waits for the other partitions to map theirs, then reduces
    /// this partition's buckets. The filtered count and event-time maxima of the ranges
    /// this partition mapped come back with its rows.
    pub fn run_exchanged(
        &mut self,
        params: &BatchParams,
        events: &[Event],
        exchange: &Exchange,
    ) -> Result<PartOutput, MapFailed> {
        let mut mapped = PartOutput::default();
        exchange.map(self.plan, events, &mut mapped);
        exchange.wait()?;
        let mut out = self.ingest(params, exchange.share(self.me, events));
        out.filtered += mapped.filtered;
        out.maxima.merge(&mapped.maxima);
        Ok(out)
    }

    /// The reduce side: folds `events` (this partition's, admitted, in arrival order)
    /// into the state store, then emits and closes by the plan's output mode.
    fn ingest<'e>(
        &mut self,
        params: &BatchParams,
        events: impl Iterator<Item = &'e Event>,
    ) -> PartOutput {
        let mut out = PartOutput::default();
        if let Some(p) = &self.plan.projection {
            match p.join() {
                Some(columns) => {
                    crate::regular_join::join(columns, &mut self.join, events, &mut out)
                }
                None => crate::projection::project(p, events, &mut out),
            }
            return out;
        }
        let emission = Emission {
            mode: self.plan.mode,
            batch: params.id,
            last_seq: params.last_seq,
            rule: &self.plan.row_rule,
        };
        let late_bound = if emission.drops_late() {
            params.late_bound
        } else {
            i64::MIN
        };
        let (mark, track) = (emission.mark(), emission.mode == OutputMode::Update);
        for e in events {
            let late = match self.plan.window {
                WindowSpec::Session { gap } => self.fold_session(e, gap, late_bound, mark, track),
                spec => self.fold_fixed(e, spec, late_bound, mark, track),
            };
            out.late += u64::from(late);
        }
        self.emit_and_close(params.close_at, &emission, &mut out.rows);
        out
    }

    /// Folds `e` into the rows of its fixed windows, marked as changed by this batch
    /// (`mark`); update mode (`track`) notes each row the batch changes, once. Whether an
    /// assignment was late.
    #[inline]
    fn fold_fixed(
        &mut self,
        e: &Event,
        spec: WindowSpec,
        late_bound: i64,
        mark: u64,
        track: bool,
    ) -> bool {
        let aggs = &self.plan.accumulators[..];
        let changed = &mut self.changed;
        let new = || Entry::new(aggs);
        self.fixed
            .fold(spec, e.time, e.key, late_bound, new, |w, row| {
                row.accs.update(aggs, e);
                row.trigger = e.seq;
                if row.changed != mark {
                    row.changed = mark;
                    if track {
                        changed.push((w, e.key));
                    }
                }
            })
    }

    /// Folds `e` into its key's sessions, as [`Self::fold_fixed`] does into windows; update
    /// mode notes each key whose sessions the batch changes, once. Whether `e` was late:
    /// its own session ends at or below `W_(k-1)` and joins no open session, or (update
    /// mode) it would merge into a session already closed (core's rule).
    #[inline]
    fn fold_session(
        &mut self,
        e: &Event,
        gap: i64,
        late_bound: i64,
        mark: u64,
        track: bool,
    ) -> bool {
        let aggs = &self.plan.accumulators[..];
        let ks: &mut KeySessions = self.sessions.keys.entry(e.key).or_default();
        if ks
            .set
            .is_late(e.time, gap, late_bound, ClosedSessions::of(self.plan.mode))
        {
            return true;
        }
        let own = Window {
            start: e.time,
            end: e.time.saturating_add(gap),
        };
        let r = ks
            .set
            .insert_window(own, Entry::of(aggs, e, mark), &mut |a: &mut Entry, b| {
                a.merge(b)
            });
        if ks.changed != mark {
            ks.changed = mark;
            if track {
                self.changed_keys.push(e.key);
            }
        }
        self.sessions.note_end(r.window.end);
        false
    }

    fn emit_and_close(&mut self, close_at: i64, emission: &Emission, rows: &mut Vec<OutRow>) {
        let mark = emission.mark();
        match emission.mode {
            OutputMode::Update => {
                for (w, key) in self.changed.drain(..) {
                    if let Some(entry) = self.fixed.get(w, key) {
                        rows.extend(emission.changed(w, key, entry));
                    }
                }
                for key in self.changed_keys.drain(..) {
                    if let Some(ks) = self.sessions.keys.get(&key) {
                        rows.extend(
                            ks.set
                                .sessions()
                                .iter()
                                .filter(|(_, en)| en.changed == mark)
                                .filter_map(|(w, en)| emission.changed(*w, key, en)),
                        );
                    }
                }
                self.fixed.evict(close_at);
                self.sessions
                    .close(close_at, ClosedSessions::Remember, |_, _, _| ());
            }
            OutputMode::Append => {
                self.fixed.close(close_at, |w, key, en| {
                    rows.extend(emission.closed(w, key, en))
                });
                self.sessions
                    .close(close_at, ClosedSessions::Forget, |w, key, en| {
                        rows.extend(emission.closed(w, key, &en))
                    });
            }
            OutputMode::Complete => {
                rows.reserve(self.fixed.rows());
                self.fixed
                    .table(|w, key, en| rows.extend(emission.table(w, key, en)));
                for (key, ks) in &self.sessions.keys {
                    rows.extend(
                        ks.set
                            .sessions()
                            .iter()
                            .filter_map(|(w, en)| emission.table(*w, *key, en)),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustc_hash::FxHashMap;

    /// A partition's state as checkpoints held it before the window state moved to core:
    /// one struct per open fixed window.
    #[derive(serde::Serialize)]
    struct Slots {
        fixed: Vec<Slot>,
        sessions: Vec<(KeyId, KeySessions)>,
    }

    #[derive(serde::Serialize)]
    struct Slot {
        window: Window,
        rows: FxHashMap<KeyId, Entry>,
    }

    #[test]
    fn checkpoints_written_with_a_struct_per_window_still_read() {
        let plan = Plan::from_toml(
            "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"update\"\n\
             [window]\nkind = \"sliding\"\nsize = 10\nslide = 5\n\
             [[aggregate]]\nfn = \"count\"\nas = \"n\"\n",
        )
        .expect("a valid plan");
        let event = |seq, time, key| Event {
            seq,
            time,
            key,
            part: 0,
            fields: Default::default(),
        };
        let events = [
            event(0, 1, 0),
            event(1, 7, 1),
            event(2, 3, 0),
            event(3, 12, 2),
        ];
        let mut part = Partition::new(&plan, 0, 1);
        let params = BatchParams {
            id: 0,
            late_bound: i64::MIN,
            close_at: i64::MIN,
            last_seq: None,
        };
        part.run(&params, &events);
        let now = part.snapshot();
        let before = Slots {
            fixed: now
                .fixed
                .iter()
                .map(|(window, rows)| Slot {
                    window: *window,
                    rows: rows.clone(),
                })
                .collect(),
            sessions: now.sessions.clone(),
        };
        let bytes = bincode::serialize(&before).expect("encodes");
        let read: PartitionState = bincode::deserialize(&bytes).expect("decodes");
        assert_eq!(read.fixed.len(), 4, "windows [-5,5) [0,10) [5,15) [10,20)");
        assert_eq!(read.fixed, now.fixed);
    }
}
