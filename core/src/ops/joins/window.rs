//! The stream-stream window join (`[[join]] kind = "window"`): events of the query's
//! `[[input]]`s whose group keys are equal and which fall in the same window are joined,
//! as Flink's window join (`a.join(b).where(..).equalTo(..).window(..)`) and Spark's
//! stream-stream inner join with watermarks on both sides and a window in the join key.
//!
//! It is a windowed co-group: the state of a (window, key) is one accumulator set with, per
//! input, the count of that input's events there and the aggregates that name the input
//! ([`AggregateQuery::input`](crate::query::AggregateQuery::input)). So a join needs no
//! state, eviction or lateness rule of its own: the state lives, closes and is evicted by
//! the watermark like every other window state, and a late event is counted in the same
//! late counters. What is new is only which rows a (window, key) produces,
//! [`RowRule::values`], called by every engine and the oracle wherever a row is made:
//! - a row only when every input has at least one event in the (window, key) (inner join);
//! - an aggregate that names an input has that input's value (`count` its events);
//! - `count` without an input counts joined pairs, the product of the per-input counts
//!   (Flink's window join emits one row per pair). Other aggregates must name their input
//!   (the query is refused otherwise): `min`, `max` and `avg` over the pairs would equal
//!   the input's own, and a `sum` over pairs is rarely what is meant.
//!
//! Unlike Flink's join, which materializes every pair, only the per-window aggregate of
//! the pairs comes out (a grouped query over the join); the state is O(1) per (window,
//! key) instead of the buffered events.

use crate::model::event::Part;
use crate::model::value::AggValue;
use crate::semantics::aggregate::{Acc, Accs, AggFn, AggSpec, AggValues};

/// How the accumulators of a (window, key) become its result row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RowRule {
    /// `None`: a plain aggregation, every (window, key) with state has a row.
    join: Option<Box<Join>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Join {
    /// Per input, the accumulator counting its events.
    counts: Vec<usize>,
    /// Per result column, where its value comes from.
    columns: Vec<Column>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    /// The finished accumulator at this index.
    Acc(usize),
    /// The number of joined pairs: the product of the per-input counts.
    Pairs,
}

impl RowRule {
    /// The row's values in the plan's aggregate order, or `None` when the (window, key)
    /// produces no row (a window join where some input has no event there).
    #[inline]
    pub fn values(&self, accs: &Accs) -> Option<AggValues> {
        match &self.join {
            None => Some(accs.finish()),
            Some(join) => join.values(accs),
        }
    }

    /// Whether this is a window join's rule.
    pub fn is_join(&self) -> bool {
        self.join.is_some()
    }
}

impl Join {
    fn values(&self, accs: &Accs) -> Option<AggValues> {
        let count = |i: usize| match accs.0[i] {
            Acc::Count(n) => n,
            _ => unreachable!("compile() puts a count at every index of `counts`"),
        };
        let mut pairs = 1i64;
        for &i in &self.counts {
            let n = count(i);
            if n == 0 {
                return None;
            }
            pairs = pairs.saturating_mul(n);
        }
        Some(
            self.columns
                .iter()
                .map(|c| match *c {
                    Column::Acc(i) => accs.0[i].finish(),
                    Column::Pairs => AggValue::Int(pairs),
                })
                .collect(),
        )
    }
}

/// The accumulators and row rule of a window join over `inputs` inputs with the result
/// columns `aggregates` (validated: every aggregate but `count` names its input).
pub(crate) fn compile(inputs: usize, aggregates: &[AggSpec]) -> (Vec<AggSpec>, RowRule) {
    let mut accumulators: Vec<AggSpec> = (0..inputs)
        .map(|i| AggSpec {
            func: AggFn::Count,
            slot: None,
            name: format!("events of input {i}"),
            input: Some(i as Part),
        })
        .collect();
    let columns = aggregates
        .iter()
        .map(|a| match (a.input, a.func) {
            (None, _) => Column::Pairs,
            (Some(i), AggFn::Count) => Column::Acc(usize::from(i)),
            (Some(_), _) => {
                accumulators.push(a.clone());
                Column::Acc(accumulators.len() - 1)
            }
        })
        .collect();
    let rule = RowRule {
        join: Some(Box::new(Join {
            counts: (0..inputs).collect(),
            columns,
        })),
    };
    (accumulators, rule)
}

#[cfg(test)]
mod tests {
    use crate::model::event::Event;
    use crate::model::value::{AggValue, Scalar};
    use crate::query::Plan;
    use crate::semantics::aggregate::Accs;

    const JOIN: &str = r#"
event_time = "ts"
group_by = ["person"]
[window]
kind = "tumbling"
size = 10
[[join]]
kind = "window"
[[input]]
name = "persons"
path = "p.jsonl"
group_by = ["id"]
[[input]]
name = "auctions"
path = "a.jsonl"
group_by = ["seller"]
[[aggregate]]
fn = "count"
as = "pairs"
[[aggregate]]
fn = "count"
input = "auctions"
as = "auctions"
[[aggregate]]
fn = "max"
field = "reserve"
input = "auctions"
as = "top"
"#;

    fn ev(part: u16, reserve: i64) -> Event {
        Event {
            seq: 0,
            time: 0,
            key: 0,
            part,
            fields: smallvec::smallvec![Scalar::Int(reserve)],
        }
    }

    #[test]
    fn a_row_needs_every_input_and_count_counts_pairs() {
        let plan = Plan::from_toml(JOIN).unwrap();
        assert!(plan.is_window_join());
        assert_eq!(plan.accumulators.len(), 3, "two counts and the max");
        assert_eq!(plan.slots[0].input, Some(1), "only auctions carry reserve");
        let mut accs = Accs::new(&plan.accumulators);
        accs.update(&plan.accumulators, &ev(1, 5));
        accs.update(&plan.accumulators, &ev(1, 9));
        assert_eq!(plan.row_rule.values(&accs), None, "no person yet");
        accs.update(&plan.accumulators, &ev(0, 100)); // a person's field is not read
        accs.update(&plan.accumulators, &ev(0, 100));
        let values = plan.row_rule.values(&accs).unwrap();
        assert_eq!(
            values.as_slice(),
            [AggValue::Int(4), AggValue::Int(2), AggValue::Int(9)]
        );
    }

    #[test]
    fn a_plain_query_has_a_row_for_every_state() {
        let plan = Plan::builder()
            .event_time("ts")
            .tumbling_ms(10)
            .count("n")
            .build()
            .unwrap();
        assert!(!plan.is_window_join());
        assert_eq!(plan.accumulators, plan.aggregates);
        let accs = Accs::new(&plan.accumulators);
        assert_eq!(
            plan.row_rule.values(&accs).unwrap().as_slice(),
            [AggValue::Int(0)]
        );
    }

    #[test]
    fn bad_join_queries_name_the_key() {
        let err = |text: &str| Plan::from_toml(text).unwrap_err().to_string();
        let e = err(&JOIN.replace("input = \"auctions\"\nas = \"top\"", "as = \"top\""));
        assert!(e.contains("aggregate[2].input") && e.contains("max"), "{e}");
        let e = err(&JOIN.replace(
            "input = \"auctions\"\nas = \"auctions\"",
            "input = \"bids\"\nas = \"auctions\"",
        ));
        assert!(
            e.contains("aggregate[1].input") && e.contains("`bids`"),
            "{e}"
        );
        let e = err(&JOIN.replace("group_by = [\"seller\"]", "group_by = [\"seller\", \"x\"]"));
        assert!(
            e.contains("input[1].group_by") && e.contains("arity"),
            "{e}"
        );
        let e = err(&JOIN.replace("kind = \"window\"", "kind = \"window\"\non = \"id\""));
        assert!(e.contains("join[0].on"), "{e}");
        let one_input = JOIN.replace(
            "[[input]]\nname = \"auctions\"\npath = \"a.jsonl\"\ngroup_by = [\"seller\"]\n",
            "",
        );
        let e = err(&one_input);
        assert!(
            e.contains("join[0].kind") && e.contains("two or more"),
            "{e}"
        );
        let no_join = JOIN.replace("[[join]]\nkind = \"window\"\n", "");
        let e = err(&no_join);
        assert!(
            e.contains("aggregate[1].input") && e.contains("window join"),
            "{e}"
        );
        let e = err(&JOIN.replace("kind = \"window\"", "kind = \"static\""));
        assert!(e.contains("join[0].table"), "{e}");
    }

    #[test]
    fn round_trips_through_toml() {
        let plan = Plan::from_toml(JOIN).unwrap();
        assert_eq!(Plan::from_toml(&plan.to_toml()).unwrap(), plan);
    }
}
