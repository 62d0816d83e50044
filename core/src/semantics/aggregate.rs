//! Aggregate accumulators, once for every engine and the oracle.
//!
//! An aggregate of a query is an [`AggFn`] over an event slot ([`AggSpec`]). An [`Accs`]
//! holds one accumulator per aggregate of the plan. Engines fold events into
//! it ([`Accs::update`]), combine partial results ([`Accs::merge`], for batch partials and
//! session merging) and read the final values ([`Accs::finish`]).

use crate::model::event::{Event, Part};
use crate::model::value::{AggValue, Scalar};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFn {
    /// Number of events.
    Count,
    /// Sum of a numeric field (integer while every input is an integer).
    Sum,
    /// Smallest value of a numeric field.
    Min,
    /// Largest value of a numeric field.
    Max,
    /// Mean of a numeric field, as a float.
    Avg,
    /// Number of distinct values of a field.
    CountDistinct,
}

/// A compiled aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    /// Function.
    pub func: AggFn,
    /// Index into the event's fields (`None` for `count`).
    pub slot: Option<usize>,
    /// Output column name.
    pub name: String,
    /// Only events of this input are folded in (window join); `None`: every event.
    pub input: Option<Part>,
}

/// The values of one result row, in aggregate order.
pub type AggValues = SmallVec<[AggValue; 4]>;

/// One accumulator.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Acc {
    /// Number of events.
    Count(i64),
    /// Integer part kept exact; any float input turns the result into a float.
    Sum {
        /// Sum of integer inputs (wrapping on overflow).
        int: i64,
        /// Sum of float inputs.
        float: f64,
        /// Whether any input was a float.
        any_float: bool,
    },
    /// Smallest value so far (`None` before the first).
    Min(Option<Scalar>),
    /// Largest value so far.
    Max(Option<Scalar>),
    /// Sum and count for the mean.
    Avg {
        /// Sum of inputs.
        sum: f64,
        /// Number of inputs.
        n: i64,
    },
    /// Distinct values seen.
    Distinct(Box<FxHashSet<Scalar>>),
}

impl Acc {
    fn empty(func: AggFn) -> Acc {
        match func {
            AggFn::Count => Acc::Count(0),
            AggFn::Sum => Acc::Sum {
                int: 0,
                float: 0.0,
                any_float: false,
            },
            AggFn::Min => Acc::Min(None),
            AggFn::Max => Acc::Max(None),
            AggFn::Avg => Acc::Avg { sum: 0.0, n: 0 },
            AggFn::CountDistinct => Acc::Distinct(Box::default()),
        }
    }

    #[inline]
    fn add(&mut self, v: Option<Scalar>) {
        match (self, v) {
            (Acc::Count(n), _) => *n += 1,
            (Acc::Sum { int, .. }, Some(Scalar::Int(i))) => *int = int.wrapping_add(i),
            (
                Acc::Sum {
                    float, any_float, ..
                },
                Some(Scalar::Float(f)),
            ) => {
                *float += f;
                *any_float = true;
            }
            (Acc::Min(m), Some(x))
                if m.is_none_or(|m| x.cmp_numeric(m) == Some(std::cmp::Ordering::Less)) =>
            {
                *m = Some(x)
            }
            (Acc::Max(m), Some(x))
                if m.is_none_or(|m| x.cmp_numeric(m) == Some(std::cmp::Ordering::Greater)) =>
            {
                *m = Some(x)
            }
            (Acc::Avg { sum, n }, Some(x)) => {
                *sum += x.as_f64().unwrap_or(0.0);
                *n += 1;
            }
            (Acc::Distinct(set), Some(x)) => {
                set.insert(x);
            }
            // The decoder guarantees aggregated fields are present and of the right type.
            _ => {}
        }
    }

    fn merge(&mut self, other: Acc) {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (
                Acc::Sum {
                    int,
                    float,
                    any_float,
                },
                Acc::Sum {
                    int: i2,
                    float: f2,
                    any_float: a2,
                },
            ) => {
                *int = int.wrapping_add(i2);
                *float += f2;
                *any_float |= a2;
            }
            (a @ Acc::Min(_), Acc::Min(Some(x))) | (a @ Acc::Max(_), Acc::Max(Some(x))) => {
                a.add(Some(x))
            }
            (Acc::Avg { sum, n }, Acc::Avg { sum: s2, n: n2 }) => {
                *sum += s2;
                *n += n2;
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => {
                if a.len() < b.len() {
                    let small = std::mem::replace(a, b);
                    a.extend(small.iter().copied());
                } else {
                    a.extend(b.iter().copied());
                }
            }
            _ => {}
        }
    }

    pub(crate) fn finish(&self) -> AggValue {
        match self {
            Acc::Count(n) => AggValue::Int(*n),
            Acc::Sum {
                int,
                float,
                any_float,
            } => {
                if *any_float {
                    AggValue::Float(*int as f64 + *float)
                } else {
                    AggValue::Int(*int)
                }
            }
            Acc::Min(m) | Acc::Max(m) => match m {
                Some(Scalar::Int(i)) => AggValue::Int(*i),
                Some(x) => AggValue::Float(x.as_f64().unwrap_or(f64::NAN)),
                None => AggValue::Float(f64::NAN),
            },
            Acc::Avg { sum, n } => {
                AggValue::Float(if *n == 0 { f64::NAN } else { *sum / *n as f64 })
            }
            Acc::Distinct(set) => AggValue::Int(set.len() as i64),
        }
    }
}

/// The accumulators of one (window, key) row.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Accs(pub SmallVec<[Acc; 2]>);

impl Accs {
    /// Empty accumulators for the plan's aggregates.
    pub fn new(aggs: &[AggSpec]) -> Accs {
        Accs(aggs.iter().map(|a| Acc::empty(a.func)).collect())
    }

    /// Accumulators holding one event.
    #[inline]
    pub fn of(aggs: &[AggSpec], event: &Event) -> Accs {
        let mut a = Accs::new(aggs);
        a.update(aggs, event);
        a
    }

    /// Folds one event in.
    #[inline]
    pub fn update(&mut self, aggs: &[AggSpec], event: &Event) {
        for (acc, spec) in self.0.iter_mut().zip(aggs) {
            // An accumulator of one input (window join) sees only that input's events.
            if spec.input.is_none_or(|p| p == event.part) {
                acc.add(spec.slot.map(|s| event.fields[s]));
            }
        }
    }

    /// Folds another partial result in (order of merging does not change the result,
    /// up to float rounding).
    pub fn merge(&mut self, other: Accs) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            a.merge(b);
        }
    }

    /// The row's values, in aggregate order.
    pub fn finish(&self) -> AggValues {
        self.0.iter().map(Acc::finish).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Plan;
    use smallvec::smallvec;

    fn plan() -> Plan {
        Plan::from_toml(
            r#"
event_time = "ts"
[window]
kind = "tumbling"
size = 10
[[aggregate]]
fn = "count"
as = "n"
[[aggregate]]
fn = "sum"
field = "v"
as = "s"
[[aggregate]]
fn = "min"
field = "v"
as = "lo"
[[aggregate]]
fn = "max"
field = "v"
as = "hi"
[[aggregate]]
fn = "avg"
field = "v"
as = "mean"
[[aggregate]]
fn = "count_distinct"
field = "v"
as = "d"
"#,
        )
        .unwrap()
    }

    fn ev(v: Scalar) -> Event {
        Event {
            seq: 0,
            time: 0,
            key: 0,
            part: 0,
            fields: smallvec![v],
        }
    }

    #[test]
    fn every_function_over_integers() {
        let p = plan();
        let mut a = Accs::new(&p.aggregates);
        for v in [3, 1, 3, 5] {
            a.update(&p.aggregates, &ev(Scalar::Int(v)));
        }
        let got = a.finish();
        let want: AggValues = smallvec![
            AggValue::Int(4),
            AggValue::Int(12),
            AggValue::Int(1),
            AggValue::Int(5),
            AggValue::Float(3.0),
            AggValue::Int(3)
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_float_input_makes_the_sum_a_float_and_min_keeps_types() {
        let p = plan();
        let mut a = Accs::of(&p.aggregates, &ev(Scalar::Int(2)));
        a.update(&p.aggregates, &ev(Scalar::Float(0.5)));
        let got = a.finish();
        assert!(matches!(got[1], AggValue::Float(f) if f == 2.5));
        assert!(matches!(got[2], AggValue::Float(f) if f == 0.5));
        assert!(matches!(got[3], AggValue::Int(2)));
    }

    #[test]
    fn merging_partials_equals_folding_everything() {
        let p = plan();
        let values: Vec<i64> = (0..50).map(|i| (i * 37) % 11 - 5).collect();
        let mut whole = Accs::new(&p.aggregates);
        for &v in &values {
            whole.update(&p.aggregates, &ev(Scalar::Int(v)));
        }
        let mut left = Accs::new(&p.aggregates);
        let mut right = Accs::new(&p.aggregates);
        for (i, &v) in values.iter().enumerate() {
            let side = if i % 3 == 0 { &mut left } else { &mut right };
            side.update(&p.aggregates, &ev(Scalar::Int(v)));
        }
        left.merge(right);
        assert_eq!(left.finish(), whole.finish());
    }
}
