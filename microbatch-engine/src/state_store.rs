//! The state store: the keyed aggregation state one partition keeps between batches
//! (Spark's `StateStore`, one per partition).
//!
//! Each partition owns the keys that hash to it (core's
//! [`partition_of`](streamlab_core::model::key_hash::partition_of)), so batches merge into
//! the store without locks. Fixed windows (tumbling, sliding) are kept per window, sorted
//! by end, so closing at a watermark is draining a prefix; sessions are kept per key in
//! core's [`SessionSet`], which merges them as events bridge gaps, also across batches.

use rustc_hash::FxHashMap;
use streamlab_core::model::window::{is_closed, SessionSet};
use streamlab_core::semantics::aggregate::AggSpec;
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

/// One open fixed window and its keys.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct WindowSlot {
    /// The window.
    pub window: Window,
    /// Its rows by key.
    #[serde(deserialize_with = "streamlab_checkpoint::sized::map")]
    pub rows: FxHashMap<KeyId, Entry>,
}

/// Open fixed windows of one partition, sorted by (end, start).
#[derive(Debug, Default)]
pub struct FixedStore {
    windows: Vec<WindowSlot>,
    /// Index of the slot found last (events of a batch mostly share a few windows).
    last: usize,
}

impl FixedStore {
    /// The slot of `w`, created empty if the window is not open yet.
    #[inline]
    pub fn slot(&mut self, w: Window) -> &mut WindowSlot {
        if let Some(s) = self.windows.get(self.last) {
            if s.window == w {
                return &mut self.windows[self.last];
            }
        }
        let at = self
            .windows
            .partition_point(|s| (s.window.end, s.window.start) < (w.end, w.start));
        if self.windows.get(at).is_none_or(|s| s.window != w) {
            // Size a new window like the largest open one: windows of one stream hold
            // about as many keys, and growing a map rehashes it several times.
            let keys = self.windows.iter().map(|s| s.rows.len()).max().unwrap_or(0);
            self.windows.insert(
                at,
                WindowSlot {
                    window: w,
                    rows: FxHashMap::with_capacity_and_hasher(keys, Default::default()),
                },
            );
        }
        self.last = at;
        &mut self.windows[at]
    }

    /// Adds a whole window slot (a restart): its map is kept as it is.
    pub fn adopt(&mut self, slot: WindowSlot) {
        let w = slot.window;
        let at = self
            .windows
            .partition_point(|s| (s.window.end, s.window.start) < (w.end, w.start));
        match self.windows.get_mut(at) {
            Some(s) if s.window == w => s.rows.extend(slot.rows),
            _ => self.windows.insert(at, slot),
        }
    }

    /// The row of `(w, key)`, if open.
    pub fn get(&self, w: Window, key: KeyId) -> Option<&Entry> {
        let at = self
            .windows
            .partition_point(|s| (s.window.end, s.window.start) < (w.end, w.start));
        self.windows
            .get(at)
            .filter(|s| s.window == w)
            .and_then(|s| s.rows.get(&key))
    }

    /// Removes every window with `end <= watermark`, calling `f` with each, in end order.
    pub fn close(&mut self, watermark: i64, mut f: impl FnMut(WindowSlot)) {
        let n = self
            .windows
            .partition_point(|s| is_closed(s.window.end, watermark));
        if n > 0 {
            self.last = 0;
            for slot in self.windows.drain(..n) {
                f(slot);
            }
        }
    }

    /// Every open window, in end order.
    pub fn windows(&self) -> &[WindowSlot] {
        &self.windows
    }

    /// Number of open (window, key) rows.
    pub fn rows(&self) -> usize {
        self.windows.iter().map(|s| s.rows.len()).sum()
    }
}

/// The sessions of one key.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
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

    /// Removes every session with `end <= watermark`, calling `f` with each.
    pub fn close(&mut self, watermark: i64, mut f: impl FnMut(Window, KeyId, Entry)) {
        if !is_closed(self.min_end, watermark) {
            return;
        }
        let mut min_end = i64::MAX;
        // A key's set stays after its sessions close: it remembers where the last closed
        // session ended, which decides lateness for good (core's `SessionSet::is_late`).
        for (&key, ks) in self.keys.iter_mut() {
            ks.set.close(watermark, |w, e| f(w, key, e));
            min_end = min_end.min(ks.set.min_end().unwrap_or(i64::MAX));
        }
        self.min_end = min_end;
    }

    /// Number of open sessions.
    pub fn rows(&self) -> usize {
        self.keys.values().map(|k| k.set.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_stay_sorted_by_end_and_close_as_a_prefix() {
        let mut store = FixedStore::default();
        for (start, end) in [(20, 30), (0, 10), (10, 20), (5, 15)] {
            store.slot(Window { start, end });
        }
        let ends: Vec<i64> = store.windows().iter().map(|s| s.window.end).collect();
        assert_eq!(ends, vec![10, 15, 20, 30]);
        let mut closed = vec![];
        store.close(15, |s| closed.push(s.window.end));
        assert_eq!(closed, vec![10, 15]);
        assert_eq!(store.windows().len(), 2);
        // A slot found again is the same slot.
        store
            .slot(Window { start: 10, end: 20 })
            .rows
            .insert(3, Entry::of(&[], &event(), 1));
        assert!(store.get(Window { start: 10, end: 20 }, 3).is_some());
        assert_eq!(store.rows(), 1);
    }

    fn event() -> Event {
        Event {
            seq: 0,
            time: 0,
            key: 0,
            part: 0,
            fields: Default::default(),
        }
    }
}
