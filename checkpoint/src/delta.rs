//! What changed between two snapshots of an engine's state: the payload of an incremental
//! checkpoint (as RocksDB's incremental checkpoints and Spark's changelog checkpointing
//! write only what changed since the last one).
//!
//! An engine's snapshot type implements [`Incremental`]: `delta(prev, cur)` is what turns
//! `prev` into `cur`, and `apply` does it. Restoring a chain (a full checkpoint and the
//! increments after it) applies every increment to the full one in order, and must give
//! exactly the snapshot a full checkpoint at the chain's head would hold (proptested in
//! `tests/chain.rs`). The helpers here diff the collections every engine's state is made
//! of: keyed maps ([`MapDelta`]), rows of fixed windows ([`FixedDelta`]: a closed window is
//! one deletion, not one per key) and per-key lists such as sessions.
//!
//! The diff runs on the checkpoint writer's thread, off the stream's critical path: it
//! compares every key once (a hash look-up each), and writes only the changed ones.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use streamlab_core::model::window::Window;

/// A snapshot that can be checkpointed incrementally.
pub trait Incremental: Sized {
    /// What turns one snapshot into a later one.
    type Delta: Serialize + DeserializeOwned;
    /// The change from `prev` to `cur`.
    fn delta(prev: &Self, cur: &Self) -> Self::Delta;
    /// Applies `delta` (taken from this snapshot to a later one): this becomes the later one.
    fn apply(&mut self, delta: Self::Delta);
}

/// The change of one keyed map: keys set (new or changed) and keys removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapDelta<K, V> {
    /// Keys whose value is new or changed, with the value.
    pub set: Vec<(K, V)>,
    /// Keys no longer present.
    pub removed: Vec<K>,
}

impl<K, V> Default for MapDelta<K, V> {
    fn default() -> Self {
        MapDelta {
            set: Vec::new(),
            removed: Vec::new(),
        }
    }
}

impl<K, V> MapDelta<K, V> {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.removed.is_empty()
    }
}

/// The change from map `prev` to map `cur`.
pub fn map_delta<K, V, S>(prev: &HashMap<K, V, S>, cur: &HashMap<K, V, S>) -> MapDelta<K, V>
where
    K: Eq + Hash + Clone,
    V: PartialEq + Clone,
    S: BuildHasher,
{
    let set = cur
        .iter()
        .filter(|(k, v)| prev.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let removed = prev
        .keys()
        .filter(|k| !cur.contains_key(*k))
        .cloned()
        .collect();
    MapDelta { set, removed }
}

/// Applies `delta` to `map`.
pub fn apply_map<K: Eq + Hash, V, S: BuildHasher>(
    map: &mut HashMap<K, V, S>,
    delta: MapDelta<K, V>,
) {
    for k in &delta.removed {
        map.remove(k);
    }
    map.extend(delta.set);
}

/// The change from a list of `(key, value)` pairs (each key once, in any order: a map
/// written as a list, such as sessions by key) to another.
pub fn pairs_delta<K, V>(prev: &[(K, V)], cur: &[(K, V)]) -> MapDelta<K, V>
where
    K: Eq + Hash + Clone,
    V: PartialEq + Clone,
{
    let before: HashMap<&K, &V> = prev.iter().map(|(k, v)| (k, v)).collect();
    let now: HashMap<&K, ()> = cur.iter().map(|(k, _)| (k, ())).collect();
    let set = cur
        .iter()
        .filter(|(k, v)| before.get(k) != Some(&v))
        .cloned()
        .collect();
    let removed = prev
        .iter()
        .filter(|(k, _)| !now.contains_key(k))
        .map(|(k, _)| k.clone())
        .collect();
    MapDelta { set, removed }
}

/// Applies `delta` to a list of pairs: changed keys are replaced in place, new ones appended.
pub fn apply_pairs<K: Eq + Hash + Clone, V>(pairs: &mut Vec<(K, V)>, delta: MapDelta<K, V>) {
    if !delta.removed.is_empty() {
        let gone: std::collections::HashSet<&K> = delta.removed.iter().collect();
        pairs.retain(|(k, _)| !gone.contains(k));
    }
    let at: HashMap<K, usize> = pairs
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.clone(), i))
        .collect();
    for (k, v) in delta.set {
        match at.get(&k) {
            Some(&i) => pairs[i].1 = v,
            None => pairs.push((k, v)),
        }
    }
}

/// The change of the rows of fixed windows (core's `FixedSnapshot`): windows closed since
/// (evicted whole: one entry each), and the changed rows of every other window (all rows
/// of a new one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FixedDelta<K, V> {
    /// Windows gone (closed and evicted).
    pub closed: Vec<Window>,
    /// Windows with changed rows, and the change.
    pub changed: Vec<(Window, MapDelta<K, V>)>,
}

/// The change from one fixed-window snapshot to another.
pub fn fixed_delta<K, V, S>(
    prev: &[(Window, HashMap<K, V, S>)],
    cur: &[(Window, HashMap<K, V, S>)],
) -> FixedDelta<K, V>
where
    K: Eq + Hash + Clone,
    V: PartialEq + Clone,
    S: BuildHasher + Default,
{
    let before: HashMap<Window, &HashMap<K, V, S>> = prev.iter().map(|(w, r)| (*w, r)).collect();
    let now: std::collections::HashSet<Window> = cur.iter().map(|(w, _)| *w).collect();
    let empty = HashMap::default();
    let changed = cur
        .iter()
        .map(|(w, rows)| {
            (
                *w,
                map_delta(before.get(w).copied().unwrap_or(&empty), rows),
            )
        })
        .filter(|(w, d)| !d.is_empty() || !before.contains_key(w))
        .collect();
    let closed = prev
        .iter()
        .map(|(w, _)| *w)
        .filter(|w| !now.contains(w))
        .collect();
    FixedDelta { closed, changed }
}

/// Applies `delta` to a fixed-window snapshot; windows stay sorted by (end, start), as
/// core keeps them.
pub fn apply_fixed<K, V, S>(windows: &mut Vec<(Window, HashMap<K, V, S>)>, delta: FixedDelta<K, V>)
where
    K: Eq + Hash,
    S: BuildHasher + Default,
{
    if !delta.closed.is_empty() {
        let gone: std::collections::HashSet<Window> = delta.closed.into_iter().collect();
        windows.retain(|(w, _)| !gone.contains(w));
    }
    for (w, d) in delta.changed {
        let key = |x: &Window| (x.end, x.start);
        match windows.binary_search_by_key(&key(&w), |(x, _)| key(x)) {
            Ok(i) => apply_map(&mut windows[i].1, d),
            Err(i) => {
                let mut rows = HashMap::default();
                apply_map(&mut rows, d);
                windows.insert(i, (w, rows));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_delta_holds_only_changes_and_applies_back() {
        let prev: HashMap<u32, u32> = (0..100).map(|k| (k, k)).collect();
        let mut cur = prev.clone();
        cur.insert(5, 50);
        cur.insert(200, 1);
        cur.remove(&7);
        let d = map_delta(&prev, &cur);
        assert_eq!(d.set.len(), 2);
        assert_eq!(d.removed, vec![7]);
        let mut back = prev;
        apply_map(&mut back, d);
        assert_eq!(back, cur);
    }

    #[test]
    fn a_closed_window_is_one_deletion() {
        let w = |s: i64| Window {
            start: s,
            end: s + 10,
        };
        let rows: HashMap<u32, u32> = (0..1000).map(|k| (k, 1)).collect();
        let prev = vec![(w(0), rows.clone()), (w(10), rows.clone())];
        let cur = vec![(w(10), rows.clone()), (w(20), HashMap::from([(1, 1)]))];
        let d = fixed_delta(&prev, &cur);
        assert_eq!(d.closed, vec![w(0)]);
        assert_eq!(d.changed.len(), 1);
        let mut back = prev;
        apply_fixed(&mut back, d);
        assert_eq!(back, cur);
    }
}
