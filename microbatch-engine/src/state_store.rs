//! The state store: the keyed aggregation state one partition keeps between batches
//! (Spark's `StateStore`, one per partition).
//!
//! Each partition owns the keys that hash to it (core's
//! [`partition_of`](streamlab_core::model::key_hash::partition_of)), so batches merge into
//! the store without locks. Its rows are [`Entry`]s: accumulators with the batch that last
//! changed them, which update mode emits. Fixed windows (tumbling, sliding) are kept in
//! core's [`FixedWindows`](streamlab_core::semantics::window_state::FixedWindows), as every
//! engine keeps them; sessions per key in core's [`SessionSet`], which merges them as
//! events bridge gaps, also across batches. A partition closes windows once per batch, so
//! [`SessionStore`] finds the sessions to close by scanning its keys when one can have
//! ended (the record engine, closing at every watermark step, keeps a heap of ends).

use rustc_hash::FxHashMap;
use streamlab_core::model::window::is_closed;
use streamlab_core::semantics::aggregate::AggSpec;
use streamlab_core::semantics::window_state::{ClosedSessions, SessionSet};
use streamlab_core::{Accs, Event, KeyId, Window};

/// The state of one (window, key) row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The row's accumulators.
    pub accs: Accs,
    /// Mark of the last batch that changed the row (batch id + 1; 0 = never).
    pub changed: u64,
    /// Arrival `seq` of the last event that changed the row.
    pub trigger: u64,
}

impl Entry {
    /// A row no event has changed yet.
    #[inline]
    pub fn new(aggs: &[AggSpec]) -> Entry {
        Entry {
            accs: Accs::new(aggs),
            changed: 0,
            trigger: 0,
        }
    }

    /// A row holding one event, changed in the batch marked `mark`.
    #[inline]
    pub fn of(aggs: &[AggSpec], e: &Event, mark: u64) -> Entry {
        Entry {
            accs: Accs::of(aggs, e),
            changed: mark,
            trigger: e.seq,
        }
    }

    /// Folds a partial row in (session merging): both changes count.
    pub fn merge(&mut self, other: Entry) {
        self.accs.merge(other.accs);
        self.changed = self.changed.max(other.changed);
        self.trigger = self.trigger.max(other.trigger);
    }
}

/// The sessions of one key.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct KeySessions {
    /// Open sessions with their rows.
    pub set: SessionSet<Entry>,
    /// Mark of the last batch that changed any session of the key.
    pub changed: u64,
}

/// Sessions of one partition, by key (every key seen: see [`SessionStore::close`]).
#[derive(Debug)]
pub struct SessionStore {
    /// Sessions per key.
    pub keys: FxHashMap<KeyId, KeySessions>,
    /// No session ends before this (a lower bound: closing below it is a no-op).
    min_end: i64,
}

impl Default for SessionStore {
    fn default() -> Self {
        SessionStore {
            keys: FxHashMap::default(),
            min_end: i64::MAX,
        }
    }
}

impl SessionStore {
    /// Notes that a session ending at `end` is open (keeps the closing bound low).
    #[inline]
    pub fn note_end(&mut self, end: i64) {
        self.min_end = self.min_end.min(end);
    }

    /// Removes every session with `end <= watermark`, calling `f` with each; `closed`
    /// says whether keys remember where closed sessions ended (update mode: for good,
    /// core's `SessionSet::is_late`) or forget them, and then a key with no open session
    /// is dropped.
    pub fn close(
        &mut self,
        watermark: i64,
        closed: ClosedSessions,
        mut f: impl FnMut(Window, KeyId, Entry),
    ) {
        if !is_closed(self.min_end, watermark) {
            return;
        }
        let mut min_end = i64::MAX;
        self.keys.retain(|&key, ks| {
            ks.set.close(watermark, closed, |w, e| f(w, key, e));
            min_end = min_end.min(ks.set.min_end().unwrap_or(i64::MAX));
            !ks.set.is_forgettable()
        });
        self.min_end = min_end;
    }

    /// Number of open sessions.
    pub fn rows(&self) -> usize {
        self.keys.values().map(|k| k.set.len()).sum()
    }
}
