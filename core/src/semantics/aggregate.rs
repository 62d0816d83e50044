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
    /// Sum of a numeric field (integer while every input is an integer; `null` when an
    /// integer sum leaves the 64-bit range, as `expr` arithmetic does).
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
///
/// Serialized (checkpoints) through [`AccRepr`], which keeps the layout of checkpoints
/// written before the integer sum counted its overflows.
#[derive(Clone, Debug, PartialEq)]
pub enum Acc {
    /// Number of events.
    Count(i64),
    /// Integer part kept exact; any float input turns the result into a float.
    ///
    /// The exact integer sum is `int + wraps * 2^64`: `int` wraps, `wraps` counts how often
    /// it did (up past `i64::MAX`: +1, down past `i64::MIN`: -1). Counting instead of
    /// stopping at the first overflow makes the answer independent of the order events
    /// and partials are folded in (`MAX + 1 - 1` is `MAX` however the engine groups it),
    /// so every engine gives the same one; the sum is out of range exactly when
    /// `wraps != 0`. An `i32` keeps `Acc` at 24 bytes; it saturates only past 2^95.
    Sum {
        /// Sum of integer inputs, modulo 2^64.
        int: i64,
        /// Net number of times `int` wrapped.
        wraps: i32,
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
                wraps: 0,
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
            (Acc::Sum { int, wraps, .. }, Some(Scalar::Int(i))) => add_wrapping(int, wraps, i, 0),
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
                    wraps,
                    float,
                    any_float,
                },
                Acc::Sum {
                    int: i2,
                    wraps: w2,
                    float: f2,
                    any_float: a2,
                },
            ) => {
                add_wrapping(int, wraps, i2, w2);
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
                wraps,
                float,
                any_float,
            } => {
                if *any_float {
                    // 2^64: the weight of one wrap.
                    const WRAP: f64 = 18_446_744_073_709_551_616.0;
                    AggValue::Float(*int as f64 + f64::from(*wraps) * WRAP + *float)
                } else if *wraps == 0 {
                    AggValue::Int(*int)
                } else {
                    // Out of the 64-bit range: no value (`null`), as `expr` overflow.
                    AggValue::Float(f64::NAN)
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

/// Adds `i` (and `w` wraps) to the wrapping sum `int` with its wrap count `wraps`.
#[inline]
fn add_wrapping(int: &mut i64, wraps: &mut i32, i: i64, w: i32) {
    let (sum, overflowed) = int.overflowing_add(i);
    let carry = match (overflowed, i < 0) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => -1,
    };
    *int = sum;
    *wraps = wraps.saturating_add(w).saturating_add(carry);
}

/// The serialized form of [`Acc`]. The first six variants are the layout of every
/// checkpoint written so far (bincode numbers variants by position), so those still load;
/// a sum that never wrapped is written in that old form too, and only one that did needs
/// the added [`AccRepr::SumWrapped`] (which a build before it refuses as an unknown
/// variant instead of misreading).
#[derive(Serialize, Deserialize)]
enum AccRepr<D> {
    Count(i64),
    Sum {
        int: i64,
        float: f64,
        any_float: bool,
    },
    Min(Option<Scalar>),
    Max(Option<Scalar>),
    Avg {
        sum: f64,
        n: i64,
    },
    Distinct(D),
    SumWrapped {
        int: i64,
        wraps: i32,
        float: f64,
        any_float: bool,
    },
}

impl Serialize for Acc {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let repr: AccRepr<&FxHashSet<Scalar>> = match self {
            Acc::Count(n) => AccRepr::Count(*n),
            &Acc::Sum {
                int,
                wraps: 0,
                float,
                any_float,
            } => AccRepr::Sum {
                int,
                float,
                any_float,
            },
            &Acc::Sum {
                int,
                wraps,
                float,
                any_float,
            } => AccRepr::SumWrapped {
                int,
                wraps,
                float,
                any_float,
            },
            Acc::Min(m) => AccRepr::Min(*m),
            Acc::Max(m) => AccRepr::Max(*m),
            Acc::Avg { sum, n } => AccRepr::Avg { sum: *sum, n: *n },
            Acc::Distinct(set) => AccRepr::Distinct(set),
        };
        repr.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Acc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Acc, D::Error> {
        Ok(match AccRepr::<Box<FxHashSet<Scalar>>>::deserialize(d)? {
            AccRepr::Count(n) => Acc::Count(n),
            AccRepr::Sum {
                int,
                float,
                any_float,
            } => Acc::Sum {
                int,
                wraps: 0,
                float,
                any_float,
            },
            AccRepr::SumWrapped {
                int,
                wraps,
                float,
                any_float,
            } => Acc::Sum {
                int,
                wraps,
                float,
                any_float,
            },
            AccRepr::Min(m) => Acc::Min(m),
            AccRepr::Max(m) => Acc::Max(m),
            AccRepr::Avg { sum, n } => Acc::Avg { sum, n },
            AccRepr::Distinct(set) => Acc::Distinct(set),
        })
    }
}

/// The accumulators of one (window, key) row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

    /// The sum's value (index 1 of the plan) after folding `values` split into partials
    /// by `side` (0..parts) and merging them in order.
    fn sum_of(values: &[Scalar], parts: usize, side: impl Fn(usize) -> usize) -> AggValue {
        let p = plan();
        let mut partials: Vec<Accs> = (0..parts).map(|_| Accs::new(&p.aggregates)).collect();
        for (i, &v) in values.iter().enumerate() {
            partials[side(i)].update(&p.aggregates, &ev(v));
        }
        let mut whole = Accs::new(&p.aggregates);
        for partial in partials {
            whole.merge(partial);
        }
        whole.finish()[1]
    }

    fn is_null(v: AggValue) -> bool {
        matches!(v, AggValue::Float(f) if f.is_nan())
    }

    #[test]
    fn an_integer_sum_beyond_64_bits_has_no_value_like_expr_overflow() {
        let max = Scalar::Int(i64::MAX);
        let min = Scalar::Int(i64::MIN);
        // It wrapped to i64::MIN before.
        assert!(is_null(sum_of(&[max, Scalar::Int(1)], 1, |_| 0)));
        assert!(is_null(sum_of(&[min, Scalar::Int(-1)], 1, |_| 0)));
        // Two wraps up and back are still out of range, not the wrapped value.
        assert!(is_null(sum_of(&[max, max, max, max], 2, |i| i % 2)));
        // The edges themselves are values.
        assert_eq!(sum_of(&[max], 1, |_| 0), AggValue::Int(i64::MAX));
        assert_eq!(
            sum_of(&[min, Scalar::Int(0)], 1, |_| 0),
            AggValue::Int(i64::MIN)
        );
    }

    #[test]
    fn a_sum_back_in_range_is_exact_however_it_is_grouped() {
        // MAX + 1 - 1 in every order and split: the engines fold and merge differently.
        let values = [Scalar::Int(i64::MAX), Scalar::Int(1), Scalar::Int(-1)];
        let orders = [[0, 1, 2], [1, 0, 2], [0, 2, 1], [2, 1, 0]];
        for order in orders {
            let v: Vec<Scalar> = order.iter().map(|&i| values[i]).collect();
            for parts in 1..=3 {
                assert_eq!(
                    sum_of(&v, parts, |i| i % parts),
                    AggValue::Int(i64::MAX),
                    "order {order:?}, {parts} partials"
                );
            }
        }
        let down = [
            Scalar::Int(i64::MIN),
            Scalar::Int(-5),
            Scalar::Int(i64::MAX),
        ];
        assert_eq!(sum_of(&down, 1, |_| 0), AggValue::Int(-6));
        assert_eq!(sum_of(&down, 3, |i| i), AggValue::Int(-6));
    }

    #[test]
    fn a_float_sum_counts_the_integer_part_exactly_past_64_bits() {
        let got = sum_of(
            &[Scalar::Int(i64::MAX), Scalar::Int(1), Scalar::Float(0.5)],
            1,
            |_| 0,
        );
        assert_eq!(got, AggValue::Float(9_223_372_036_854_775_808.5));
        assert!(matches!(got, AggValue::Float(f) if f > 9.2e18));
    }

    #[test]
    fn the_accumulator_stays_24_bytes() {
        assert!(
            std::mem::size_of::<Acc>() <= 24,
            "{}",
            std::mem::size_of::<Acc>()
        );
    }
}
