//! GROUP BY without a window, over a changelog (Flink's regular group aggregate, Spark's
//! streaming aggregation without a watermark): one row per group, revised as its input
//! changes. An input row added folds into its group's accumulators, a row taken back is
//! folded out, so every accumulator is retractable: counts and sums add and subtract,
//! min and max keep a count per value. After a batch of changes each touched group emits
//! what changed: `+I` for a new group, `-U` and `+U` for a revised one, `-D` for a group
//! whose last row was taken back. A group whose row did not change emits nothing.

use super::change::{extend, scalar, Change, Computed, StageRow};
use super::order::{bits, Ordered};
use crate::model::event::KeyId;
use crate::model::value::AggValue;
use crate::ops::expr::Condition;
use crate::semantics::aggregate::{AggFn, AggValues};
use crate::semantics::changelog::ChangeKind;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::collections::BTreeMap;

/// One aggregate of a stage.
#[derive(Clone, Debug, PartialEq)]
pub struct StageAgg {
    /// Function (count, sum, min, max, avg).
    pub func: AggFn,
    /// Value position of its input column (`None`: `count` of rows).
    pub input: Option<usize>,
    /// Output name.
    pub name: String,
    /// Only rows where it holds are aggregated (`FILTER (WHERE ...)`).
    pub condition: Option<Condition>,
}

/// A compiled aggregate stage.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateSpec {
    /// Value positions (of the row with computed columns) of the group columns.
    pub group: Vec<usize>,
    /// Whether the first stage's key (its text columns) is part of the group.
    pub key_in_group: bool,
    /// The aggregates, in output order after the group columns.
    pub aggs: Vec<StageAgg>,
}

impl AggregateSpec {
    /// Whether the aggregate sees this row.
    pub fn sees(&self, agg: &StageAgg, values: &[AggValue]) -> bool {
        agg.condition.as_ref().is_none_or(|c| {
            let scalars: Vec<_> = values.iter().map(|v| scalar(*v)).collect();
            c.holds(&scalars)
        })
    }
}

/// A value that counts as present (SQL ignores NULLs in aggregates).
pub fn present(v: AggValue) -> Option<AggValue> {
    match v {
        AggValue::Float(f) if f.is_nan() => None,
        v => Some(v),
    }
}

/// A retractable accumulator.
#[derive(Clone, Debug)]
enum Acc {
    Count(i64),
    /// Sum and avg: how many values, their integer sum exactly, their float sum.
    Sum {
        n: i64,
        ints: i128,
        floats: f64,
        float_n: i64,
    },
    /// Min and max: how many copies of each value.
    Extreme(BTreeMap<Ordered, i64>),
}

impl Acc {
    fn new(func: AggFn) -> Acc {
        match func {
            AggFn::Count | AggFn::CountDistinct => Acc::Count(0),
            AggFn::Sum | AggFn::Avg => Acc::Sum {
                n: 0,
                ints: 0,
                floats: 0.0,
                float_n: 0,
            },
            AggFn::Min | AggFn::Max => Acc::Extreme(BTreeMap::new()),
        }
    }

    /// Folds `value` in `sign` times (-1: out).
    fn fold(&mut self, value: Option<AggValue>, sign: i64) {
        match self {
            Acc::Count(n) => {
                if value.is_some() {
                    *n += sign
                }
            }
            Acc::Sum {
                n,
                ints,
                floats,
                float_n,
            } => {
                let Some(v) = value else { return };
                *n += sign;
                match v {
                    AggValue::Int(i) => *ints += i128::from(i) * i128::from(sign),
                    AggValue::Float(f) => {
                        *floats += f * sign as f64;
                        *float_n += sign;
                    }
                }
            }
            Acc::Extreme(m) => {
                let Some(v) = value else { return };
                let c = m.entry(Ordered(v)).or_insert(0);
                *c += sign;
                if *c == 0 {
                    m.remove(&Ordered(v));
                }
            }
        }
    }

    fn finish(&self, func: AggFn) -> AggValue {
        let none = AggValue::Float(f64::NAN);
        match (self, func) {
            (Acc::Count(n), _) => AggValue::Int(*n),
            (Acc::Sum { n, .. }, _) if *n <= 0 => none,
            (
                Acc::Sum {
                    ints,
                    floats,
                    float_n,
                    ..
                },
                AggFn::Sum,
            ) => {
                if *float_n > 0 {
                    AggValue::Float(*ints as f64 + floats)
                } else {
                    i64::try_from(*ints).map_or(none, AggValue::Int)
                }
            }
            (
                Acc::Sum {
                    n, ints, floats, ..
                },
                _,
            ) => AggValue::Float((*ints as f64 + floats) / *n as f64),
            (Acc::Extreme(m), AggFn::Min) => {
                m.iter().find(|(_, c)| **c > 0).map_or(none, |(v, _)| v.0)
            }
            (Acc::Extreme(m), _) => m
                .iter()
                .rev()
                .find(|(_, c)| **c > 0)
                .map_or(none, |(v, _)| v.0),
        }
    }
}

/// A group's identity: the first stage's key (or 0) and its group values.
type GroupId = (KeyId, SmallVec<[(bool, u64); 4]>);

#[derive(Debug)]
struct Group {
    key: KeyId,
    group: AggValues,
    /// Input rows in the group (copies added minus taken back).
    rows: i64,
    accs: Vec<Acc>,
    /// The row last emitted for the group.
    shown: Option<AggValues>,
    time: i64,
    trigger: Option<u64>,
    /// Touched by the batch being applied.
    dirty: bool,
}

impl Group {
    fn row(&self, spec: &AggregateSpec) -> Option<AggValues> {
        if self.rows <= 0 {
            return None;
        }
        let mut v = self.group.clone();
        v.extend(
            self.accs
                .iter()
                .zip(&spec.aggs)
                .map(|(a, s)| a.finish(s.func)),
        );
        Some(v)
    }
}

/// The groups of one aggregate stage.
#[derive(Debug, Default)]
pub struct AggregateState {
    groups: FxHashMap<GroupId, Group>,
}

impl AggregateState {
    /// Empty.
    pub fn new(_spec: &AggregateSpec) -> AggregateState {
        AggregateState::default()
    }

    /// Number of groups held (including those whose rows were all taken back).
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    /// Whether no group is held.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Applies a batch of changes; each touched group's changes, in first-touch order.
    pub fn apply(
        &mut self,
        spec: &AggregateSpec,
        computed: &[Computed],
        changes: Vec<Change>,
    ) -> Vec<Change> {
        let mut touched: Vec<GroupId> = Vec::new();
        for c in changes {
            let values = extend(computed, &c.row);
            let key = if spec.key_in_group { c.row.key } else { 0 };
            let group: AggValues = spec.group.iter().map(|&i| values[i]).collect();
            let id: GroupId = (key, group.iter().map(|v| bits(*v)).collect());
            let g = self.groups.entry(id.clone()).or_insert_with(|| Group {
                key,
                group,
                rows: 0,
                accs: spec.aggs.iter().map(|a| Acc::new(a.func)).collect(),
                shown: None,
                time: c.row.time,
                trigger: None,
                dirty: false,
            });
            if !g.dirty {
                g.dirty = true;
                touched.push(id);
            }
            let sign = c.kind.sign();
            g.rows += sign;
            for (acc, a) in g.accs.iter_mut().zip(&spec.aggs) {
                if spec.sees(a, &values) {
                    acc.fold(
                        a.input
                            .map_or(Some(AggValue::Int(1)), |i| present(values[i])),
                        sign,
                    );
                }
            }
            g.time = g.time.max(c.row.time);
            g.trigger = g.trigger.max(c.row.trigger);
        }
        let mut out = Vec::new();
        for id in touched {
            let Some(g) = self.groups.get_mut(&id) else {
                continue;
            };
            g.dirty = false;
            let trigger = g.trigger.take();
            let now = g.row(spec);
            if same(now.as_ref(), g.shown.as_ref()) {
                if g.rows == 0 {
                    self.groups.remove(&id);
                }
                continue;
            }
            let row = |values: AggValues| StageRow {
                key: g.key,
                values,
                time: g.time,
                trigger,
            };
            match (g.shown.take(), now.clone()) {
                (None, Some(new)) => out.push(Change {
                    kind: ChangeKind::Insert,
                    row: row(new),
                }),
                (Some(old), Some(new)) => {
                    out.push(Change {
                        kind: ChangeKind::UpdateBefore,
                        row: row(old),
                    });
                    out.push(Change {
                        kind: ChangeKind::UpdateAfter,
                        row: row(new),
                    });
                }
                (Some(old), None) => out.push(Change {
                    kind: ChangeKind::Delete,
                    row: row(old),
                }),
                (None, None) => {}
            }
            g.shown = now;
            if g.rows == 0 && g.shown.is_none() {
                self.groups.remove(&id);
            }
        }
        out
    }
}

/// Whether two rows are the same bit for bit (the tolerant `AggValue` equality would
/// hide a small revision of a float).
fn same(a: Option<&AggValues>, b: Option<&AggValues>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| bits(*x) == bits(*y))
        }
        _ => false,
    }
}
