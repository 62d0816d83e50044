//! Fixed windows (tumbling, sliding): the open windows of one keyed aggregation, sorted by
//! (end, start), each with its rows by key. Both engines, the baseline and the oracle keep
//! their fixed windows in one [`FixedWindows`]; what a row holds and how an event changes
//! it are theirs (`A`: accumulators, or accumulators with the batch that changed them).
//!
//! Sorting by end makes closing at a watermark the drain of a prefix, whatever the shape
//! of the windows. A one-entry cache finds the window of in-order records without a
//! search (for tumbling windows without assigning either). An event's assignments are
//! core's ([`WindowSpec::assign`]), and so is whether each is late ([`is_late`]) and
//! whether a window has closed ([`is_closed`]). When windows close and which rows leave
//! is the user's model:
//!
//! | user | closes windows | append | update | complete |
//! | --- | --- | --- | --- | --- |
//! | record engine | at every watermark step | [`close`] | rows as records change them, [`evict`] | [`table`] per interval |
//! | micro-batch engine | after each batch, at `W_k` | [`close`] | rows the batch changed ([`get`]), [`evict`] | [`table`] per batch |
//! | baseline | after every record | [`close`] | rows as records change them, [`evict`] | [`table`] at the end |
//! | oracle | once, at the end | [`close`] of everything | | |
//!
//! [`close`]: FixedWindows::close
//! [`evict`]: FixedWindows::evict
//! [`table`]: FixedWindows::table
//! [`get`]: FixedWindows::get

use crate::model::event::KeyId;
use crate::model::window::{is_closed, is_late, Window, WindowSpec};
use rustc_hash::FxHashMap;

/// One open fixed window and its rows by key.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowRows<A> {
    /// The window.
    pub window: Window,
    /// Its rows by key.
    pub rows: FxHashMap<KeyId, A>,
}

/// The open windows as a checkpoint holds them: each window with its rows, in (end, start)
/// order. In bincode it is a length, then per window the window and a length-prefixed
/// list of (key, row) pairs: the form the engines and the baseline wrote before they
/// shared this store, so their checkpoints stay readable. Checkpoints read it with
/// `streamlab_checkpoint::sized::vec_of_rows`, which sizes every map once.
pub type FixedSnapshot<A> = Vec<(Window, FxHashMap<KeyId, A>)>;

/// The open fixed windows of one keyed aggregation (one share of its keys), sorted by
/// (end, start), with their rows by key. One store serves one window spec.
#[derive(Debug)]
pub struct FixedWindows<A> {
    /// Sorted by (end, start).
    windows: Vec<WindowRows<A>>,
    /// Index into `windows` of the window used last (the cache of in-order records).
    last: usize,
}

impl<A> Default for FixedWindows<A> {
    fn default() -> Self {
        FixedWindows::new()
    }
}

impl<A> FixedWindows<A> {
    /// No open window.
    pub fn new() -> Self {
        FixedWindows {
            windows: Vec::new(),
            last: 0,
        }
    }

    /// Folds an event at time `t` of group `key` into every window of `spec` containing
    /// it: `f` gets each window, in start order, and the key's row there (made by `new`
    /// if the window has none yet), to fold the event into. An assignment to a window
    /// closed under `late_bound` is dropped (core's [`is_late`]); returns whether one was
    /// (the event counts as late once). `spec` is fixed (tumbling or sliding) and the
    /// same on every call.
    #[inline]
    pub fn fold(
        &mut self,
        spec: WindowSpec,
        t: i64,
        key: KeyId,
        late_bound: i64,
        new: impl Fn() -> A,
        mut f: impl FnMut(Window, &mut A),
    ) -> bool {
        debug_assert!(!spec.is_session(), "sessions are kept in a SessionSet");
        if let WindowSpec::Tumbling { .. } = spec {
            // A tumbling window is the only one of this spec containing `t`: an event in
            // the window used last (most events, in a mostly ordered stream) has it.
            if let Some(open) = self.windows.get_mut(self.last) {
                if open.window.contains(t) {
                    let w = open.window;
                    if is_late(w.end, late_bound) {
                        return true;
                    }
                    f(w, open.rows.entry(key).or_insert_with(&new));
                    return false;
                }
            }
        }
        let mut late = false;
        spec.assign(t, |w| {
            if is_late(w.end, late_bound) {
                late = true;
                return;
            }
            let i = self.slot(w);
            f(w, self.windows[i].rows.entry(key).or_insert_with(&new));
        });
        late
    }

    /// Where `w` is, or would go, in the sorted windows.
    #[inline]
    fn position(&self, w: Window) -> usize {
        self.windows
            .partition_point(|o| (o.window.end, o.window.start) < (w.end, w.start))
    }

    /// Index of the open window `w`, opened empty if needed.
    #[inline]
    fn slot(&mut self, w: Window) -> usize {
        if let Some(open) = self.windows.get(self.last) {
            if open.window == w {
                return self.last;
            }
        }
        let at = self.position(w);
        if self.windows.get(at).is_none_or(|o| o.window != w) {
            // Size a new window like the largest open one: windows of one stream hold
            // about as many keys, and growing a map rehashes it several times.
            let keys = self.windows.iter().map(|o| o.rows.len()).max().unwrap_or(0);
            self.windows.insert(
                at,
                WindowRows {
                    window: w,
                    rows: FxHashMap::with_capacity_and_hasher(keys, Default::default()),
                },
            );
        }
        self.last = at;
        at
    }

    /// The row of `key` in window `w`, if the window is open and has one.
    pub fn get(&self, w: Window, key: KeyId) -> Option<&A> {
        self.windows
            .get(self.position(w))
            .filter(|o| o.window == w)
            .and_then(|o| o.rows.get(&key))
    }

    /// Removes every window closed under `watermark` (core's [`is_closed`]: `end <=
    /// watermark`) and yields them in (end, start) order: a prefix, as windows are sorted
    /// by end.
    pub fn drain_closed(&mut self, watermark: i64) -> std::vec::Drain<'_, WindowRows<A>> {
        let n = self
            .windows
            .partition_point(|o| is_closed(o.window.end, watermark));
        if n > 0 {
            self.last = 0;
        }
        self.windows.drain(..n)
    }

    /// Append mode: removes every window closed under `watermark` and calls `f` with each
    /// of its rows (their final values), windows in (end, start) order and each window's
    /// rows by key: the order they are emitted in.
    pub fn close(&mut self, watermark: i64, mut f: impl FnMut(Window, KeyId, &A)) {
        for closed in self.drain_closed(watermark) {
            let mut rows: Vec<(&KeyId, &A)> = closed.rows.iter().collect();
            rows.sort_unstable_by_key(|(k, _)| **k);
            for (k, a) in rows {
                f(closed.window, *k, a);
            }
        }
    }

    /// Update mode: removes every window closed under `watermark` (their rows left as
    /// they changed).
    pub fn evict(&mut self, watermark: i64) {
        self.drain_closed(watermark);
    }

    /// Complete mode: calls `f` with every row of every open window, windows in (end,
    /// start) order, each window's rows in no particular order.
    pub fn table(&self, mut f: impl FnMut(Window, KeyId, &A)) {
        for open in &self.windows {
            for (k, a) in &open.rows {
                f(open.window, *k, a);
            }
        }
    }

    /// Open (window, key) rows.
    pub fn rows(&self) -> usize {
        self.windows.iter().map(|o| o.rows.len()).sum()
    }

    /// The open windows with their rows, as a checkpoint holds them.
    pub fn snapshot(&self) -> FixedSnapshot<A>
    where
        A: Clone,
    {
        self.windows
            .iter()
            .map(|o| (o.window, o.rows.clone()))
            .collect()
    }

    /// Takes over a snapshot of the same share of keys (a restart on as many workers):
    /// each window's map as it was read, without copying or rehashing a row.
    pub fn adopt(&mut self, snapshot: FixedSnapshot<A>) {
        for (window, rows) in snapshot {
            let at = self.position(window);
            match self.windows.get_mut(at) {
                Some(o) if o.window == window => o.rows.extend(rows),
                _ => self.windows.insert(at, WindowRows { window, rows }),
            }
        }
    }

    /// Takes the rows of the keys `owns` accepts from a snapshot of any share of keys (a
    /// restart on another number of workers reads every worker's snapshot).
    pub fn restore(&mut self, snapshot: &FixedSnapshot<A>, owns: impl Fn(KeyId) -> bool)
    where
        A: Clone,
    {
        for (window, rows) in snapshot {
            let mine: Vec<(KeyId, A)> = rows
                .iter()
                .filter(|(k, _)| owns(**k))
                .map(|(k, a)| (*k, a.clone()))
                .collect();
            if !mine.is_empty() {
                let i = self.slot(*window);
                self.windows[i].rows.extend(mine);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[test]
    fn fixed_windows_stay_sorted_by_end_and_close_as_a_prefix() {
        let mut store = FixedWindows::<u64>::new();
        for (start, end) in [(20, 30), (0, 10), (10, 20), (5, 15)] {
            store.slot(Window { start, end });
        }
        let ends: Vec<i64> = store.windows.iter().map(|s| s.window.end).collect();
        assert_eq!(ends, vec![10, 15, 20, 30]);
        let closed: Vec<i64> = store.drain_closed(15).map(|s| s.window.end).collect();
        assert_eq!(closed, vec![10, 15]);
        assert_eq!(store.windows.len(), 2);
        // A slot found again is the same slot.
        let i = store.slot(Window { start: 10, end: 20 });
        store.windows[i].rows.insert(3, 1);
        assert!(store.get(Window { start: 10, end: 20 }, 3).is_some());
        assert_eq!(store.rows(), 1);
    }

    /// Every window of `spec` containing `t`, by the definition, scanned naively.
    fn windows_by_definition(spec: WindowSpec, t: i64) -> Vec<Window> {
        let (size, slide) = match spec {
            WindowSpec::Tumbling { size } => (size, size),
            WindowSpec::Sliding { size, slide } => (size, slide),
            WindowSpec::Session { .. } => unreachable!("fixed windows only"),
        };
        let mut k = (t - size).div_euclid(slide) - 1;
        let mut out = vec![];
        while k * slide <= t {
            if t < k * slide + size {
                out.push(Window {
                    start: k * slide,
                    end: k * slide + size,
                });
            }
            k += 1;
        }
        out
    }

    proptest! {
        /// The store against a plain table of (window, key) counts: the same assignments
        /// late, the same rows closed in the same order, the same table, and a snapshot
        /// that restores the same rows however the keys are shared out.
        #[test]
        fn folding_and_closing_match_a_plain_table(
            events in proptest::collection::vec((-60i64..60, 0u32..5), 0..80),
            size_k in 1i64..4,
            slide in 1i64..8,
            delay in 0i64..25,
            sliding in any::<bool>(),
        ) {
            let spec = if sliding {
                WindowSpec::Sliding { size: size_k * slide, slide }
            } else {
                WindowSpec::Tumbling { size: size_k * slide }
            };
            let mut store = FixedWindows::<u64>::new();
            // (end, start, key) -> count: sorted as the store closes them.
            let mut table: BTreeMap<(i64, i64, KeyId), u64> = BTreeMap::new();
            let (mut got, mut want) = (vec![], vec![]);
            let (mut watermark, mut max_t) = (i64::MIN, i64::MIN);
            for (t, key) in events {
                let late = store.fold(spec, t, key, watermark, || 0, |_, n| *n += 1);
                let mut table_late = false;
                for w in windows_by_definition(spec, t) {
                    if w.end <= watermark {
                        table_late = true;
                    } else {
                        *table.entry((w.end, w.start, key)).or_insert(0) += 1;
                    }
                }
                prop_assert_eq!(late, table_late);
                prop_assert_eq!(store.rows(), table.len());
                max_t = max_t.max(t);
                if max_t - delay > watermark {
                    watermark = max_t - delay;
                    store.close(watermark, |w, k, n| got.push((w, k, *n)));
                    let open = table.split_off(&(watermark + 1, i64::MIN, 0));
                    want.extend(std::mem::replace(&mut table, open));
                }
            }
            // The table, and the same rows restored from a snapshot: whole, or shared
            // out by key.
            let rows_of = |s: &FixedWindows<u64>| {
                let mut rows = vec![];
                s.table(|w, k, n| rows.push((w.end, w.start, k, *n)));
                rows.sort();
                rows
            };
            let expected: Vec<_> = table.iter().map(|(&(e, s, k), &n)| (e, s, k, n)).collect();
            prop_assert_eq!(rows_of(&store), expected.clone());
            let snapshot = store.snapshot();
            let mut whole = FixedWindows::new();
            whole.adopt(snapshot.clone());
            prop_assert_eq!(rows_of(&whole), expected.clone());
            let (mut even, mut odd) = (FixedWindows::new(), FixedWindows::new());
            even.restore(&snapshot, |k| k % 2 == 0);
            odd.restore(&snapshot, |k| k % 2 == 1);
            let mut shared = rows_of(&even);
            shared.extend(rows_of(&odd));
            shared.sort();
            prop_assert_eq!(shared, expected);
            for (w, key) in table.keys().map(|&(end, start, k)| (Window { start, end }, k)) {
                prop_assert_eq!(store.get(w, key), table.get(&(w.end, w.start, key)));
            }
            store.close(i64::MAX, |w, k, n| got.push((w, k, *n)));
            want.extend(table);
            let want: Vec<_> = want
                .into_iter()
                .map(|((end, start, k), n)| (Window { start, end }, k, n))
                .collect();
            prop_assert_eq!(got, want);
            prop_assert_eq!(store.rows(), 0);
        }
    }
}
