//! The first N rows of each partition in an order (Flink's `ROW_NUMBER() OVER (PARTITION
//! BY ... ORDER BY ...) <= N`): NEXMark Q19's top 10 bids per auction, and with `n = 1`
//! Q9's winning bid and Q18's dedup (the last bid per bidder and auction: order by time,
//! descending). Over a changelog: a partition keeps every row it was given (a row taken
//! back may bring a lower one back into the top N), counted as copies, in order. Rows of
//! equal order columns are ordered by their other values, then their first-stage key, so
//! the top N is one answer wherever the rows arrived from (Flink leaves such ties to
//! arrival order). After a batch each touched partition emits the difference between
//! the top N it showed and its top N now: with a rank column, rank by rank (`-U` the old
//! row at a rank, `+U` the new one; `+I` a rank filled, `-D` a rank emptied); without,
//! rows that left and rows that entered, paired as `-U`/`+U` while both remain.

use super::change::{extend, Change, Computed, StageRow};
use super::order::{bits, Ordered};
use crate::model::event::KeyId;
use crate::model::value::AggValue;
use crate::semantics::changelog::ChangeKind;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// A compiled top-N stage.
#[derive(Clone, Debug, PartialEq)]
pub struct TopNSpec {
    /// Value positions of the partition columns.
    pub partition: Vec<usize>,
    /// Whether the first stage's key is part of the partition.
    pub key_in_partition: bool,
    /// Value positions of the order columns, each with whether it sorts descending.
    pub order: Vec<(usize, bool)>,
    /// Rows kept per partition.
    pub n: usize,
    /// Whether rows carry their rank (1..=n) as a last value.
    pub rank: bool,
}

/// One order column's value, in its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Dir {
    Asc(Ordered),
    Desc(Reverse<Ordered>),
}

/// A row's place in its partition: the order columns, then every value, then the key.
type SortKey = (SmallVec<[Dir; 2]>, SmallVec<[Ordered; 6]>, KeyId);

type PartitionId = (KeyId, SmallVec<[(bool, u64); 2]>);

#[derive(Debug, Default)]
struct Partition {
    rows: BTreeMap<SortKey, (StageRow, i64)>,
    shown: Vec<StageRow>,
    trigger: Option<u64>,
    dirty: bool,
}

impl Partition {
    /// The first `n` rows now, copies counted.
    fn top(&self, n: usize) -> Vec<StageRow> {
        let mut out = Vec::with_capacity(n);
        for (row, count) in self.rows.values() {
            for _ in 0..(*count).max(0) {
                if out.len() == n {
                    return out;
                }
                out.push(row.clone());
            }
        }
        out
    }
}

/// The partitions of one top-N stage.
#[derive(Debug, Default)]
pub struct TopNState {
    partitions: FxHashMap<PartitionId, Partition>,
}

fn identity(r: &StageRow) -> (KeyId, SmallVec<[(bool, u64); 6]>) {
    (r.key, r.values.iter().map(|v| bits(*v)).collect())
}

impl TopNState {
    /// Empty.
    pub fn new(_spec: &TopNSpec) -> TopNState {
        TopNState::default()
    }

    /// Number of partitions held.
    pub fn len(&self) -> usize {
        self.partitions.len()
    }

    /// Whether no partition is held.
    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }

    /// Applies a batch of changes; each touched partition's changes, in first-touch order.
    pub fn apply(
        &mut self,
        spec: &TopNSpec,
        computed: &[Computed],
        changes: Vec<Change>,
    ) -> Vec<Change> {
        let mut touched: Vec<PartitionId> = Vec::new();
        for c in changes {
            let values = extend(computed, &c.row);
            let key = if spec.key_in_partition { c.row.key } else { 0 };
            let id: PartitionId = (
                key,
                spec.partition.iter().map(|&i| bits(values[i])).collect(),
            );
            let sort: SortKey = (
                spec.order
                    .iter()
                    .map(|&(i, desc)| {
                        let v = Ordered(values[i]);
                        if desc {
                            Dir::Desc(Reverse(v))
                        } else {
                            Dir::Asc(v)
                        }
                    })
                    .collect(),
                values.iter().map(|v| Ordered(*v)).collect(),
                c.row.key,
            );
            let p = self.partitions.entry(id.clone()).or_default();
            if !p.dirty {
                p.dirty = true;
                touched.push(id);
            }
            p.trigger = p.trigger.max(c.row.trigger);
            let row = StageRow { values, ..c.row };
            let entry = p.rows.entry(sort.clone()).or_insert((row, 0));
            entry.1 += c.kind.sign();
            if entry.1 == 0 {
                p.rows.remove(&sort);
            }
        }
        let mut out = Vec::new();
        for id in touched {
            let Some(p) = self.partitions.get_mut(&id) else {
                continue;
            };
            p.dirty = false;
            let trigger = p.trigger.take();
            let now = p.top(spec.n);
            let old = std::mem::replace(&mut p.shown, now.clone());
            let stamp = |mut r: StageRow, rank: Option<usize>| {
                if let Some(rank) = rank {
                    r.values.push(AggValue::Int(rank as i64 + 1));
                }
                r.trigger = trigger;
                r
            };
            if spec.rank {
                for i in 0..old.len().max(now.len()) {
                    match (old.get(i), now.get(i)) {
                        (Some(a), Some(b)) if identity(a) == identity(b) => {}
                        (Some(a), Some(b)) => {
                            out.push(Change {
                                kind: ChangeKind::UpdateBefore,
                                row: stamp(a.clone(), Some(i)),
                            });
                            out.push(Change {
                                kind: ChangeKind::UpdateAfter,
                                row: stamp(b.clone(), Some(i)),
                            });
                        }
                        (Some(a), None) => out.push(Change {
                            kind: ChangeKind::Delete,
                            row: stamp(a.clone(), Some(i)),
                        }),
                        (None, Some(b)) => out.push(Change {
                            kind: ChangeKind::Insert,
                            row: stamp(b.clone(), Some(i)),
                        }),
                        (None, None) => {}
                    }
                }
            } else {
                let (left, entered) = difference(&old, &now);
                for i in 0..left.len().max(entered.len()) {
                    match (left.get(i), entered.get(i)) {
                        (Some(a), Some(b)) => {
                            out.push(Change {
                                kind: ChangeKind::UpdateBefore,
                                row: stamp(a.clone(), None),
                            });
                            out.push(Change {
                                kind: ChangeKind::UpdateAfter,
                                row: stamp(b.clone(), None),
                            });
                        }
                        (Some(a), None) => out.push(Change {
                            kind: ChangeKind::Delete,
                            row: stamp(a.clone(), None),
                        }),
                        (None, Some(b)) => out.push(Change {
                            kind: ChangeKind::Insert,
                            row: stamp(b.clone(), None),
                        }),
                        (None, None) => {}
                    }
                }
            }
            if p.rows.is_empty() {
                self.partitions.remove(&id);
            }
        }
        out
    }
}

/// The rows of `old` not in `now` and of `now` not in `old`, as multisets.
fn difference(old: &[StageRow], now: &[StageRow]) -> (Vec<StageRow>, Vec<StageRow>) {
    let mut count: FxHashMap<_, i64> = FxHashMap::default();
    for r in old {
        *count.entry(identity(r)).or_default() += 1;
    }
    let mut entered = Vec::new();
    for r in now {
        let c = count.entry(identity(r)).or_default();
        if *c > 0 {
            *c -= 1;
        } else {
            entered.push(r.clone());
        }
    }
    let mut left = Vec::new();
    for r in old {
        let c = count.entry(identity(r)).or_default();
        if *c > 0 {
            *c -= 1;
            left.push(r.clone());
        }
    }
    (left, entered)
}
