//! The regular join: two `[[input]]`s paired on a key at any distance in time, one row
//! per pair (NEXMark Q3; Flink SQL's regular join, Spark's stream-stream inner join
//! without a watermark bound).
//!
//! ```toml
//! [[join]]
//! kind = "regular"
//! [[input]]
//! name = "persons"
//! path = "nexmark.jsonl"
//! on = "id"                         # equal to the other input's `on` value
//! [[input]]
//! name = "auctions"
//! path = "nexmark.jsonl"
//! on = "seller"
//! [[select]]
//! field = "name"
//! type = "string"
//! input = "persons"                 # every column names the input it is read from
//! [[select]]
//! field = "id"
//! input = "auctions"
//! ```
//!
//! # Semantics
//! - The answer is the inner equi-join of everything both inputs ever sent: each pair of
//!   events with equal `on` values (compared as JSON values of one type: `1` is neither
//!   `"1"` nor `1.0`) gives exactly one row, however far apart in time they came.
//! - A pair's row is final when the second of its two events arrives: the query has no
//!   window and no watermark, so its output mode is append and nothing is ever late.
//!   Its latency trigger ([`OutRow::trigger`]) is that second event's `seq`.
//! - Nothing is evicted: every kept event of both inputs stays in the state, as in Flink
//!   without a state TTL and Spark without watermarks on the join. State grows with the
//!   input (the baseline prints what it kept; `experiment nexmark` measures each engine's
//!   memory).
//! - Each input's `[[input.filter]]`s run before the join (NEXMark Q3's category and
//!   states); the rows are compared with the oracle as a multiset.
//!
//! # Where it lives
//! The query's checks are `query/compile/joins.rs`'s. Which columns come from which input,
//! a half-row per event ([`Half`]) and a pair's row ([`JoinColumns::pair`]) are here, as is
//! the symmetric hash join the engines share ([`JoinState`]): an arriving event is joined
//! with every earlier event of the other input under its key, then kept. The engines only
//! decide when events reach it (one at a time, or a batch's worth per partition); the
//! oracle pairs whole inputs by itself.

use crate::model::event::{Event, KeyId};
use crate::model::value::{AggValue, Scalar};
use crate::model::window::Window;
use crate::ops::column::{Column, ColumnSource, ColumnType};
use crate::ops::expr::Num;
use crate::semantics::aggregate::AggValues;
use crate::semantics::row::OutRow;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// A regular join's columns by input: what each event contributes to its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct JoinColumns {
    /// Per input, the sources of its columns in column order.
    sides: [Vec<ColumnSource>; 2],
    /// The input of each column, in column order.
    order: Vec<u8>,
    /// Whether the columns are the first input's, then the second's (a pair's values are
    /// then the two halves one after the other, as in Q3 and most joins).
    in_input_order: bool,
}

/// What one event contributes to every row it joins into: its columns' values, computed
/// once when it arrives (strings as their [`StrId`](crate::model::value::StrId)s), with
/// its arrival.
#[derive(Clone, Debug, PartialEq)]
pub struct Half {
    /// The event's arrival `seq`.
    pub seq: u64,
    /// Its event time.
    pub time: i64,
    /// Its columns' values, in column order.
    pub values: SmallVec<[AggValue; 4]>,
}

impl JoinColumns {
    pub(crate) fn new(columns: &[Column]) -> JoinColumns {
        let mut sides: [Vec<ColumnSource>; 2] = Default::default();
        let mut order = Vec::with_capacity(columns.len());
        for c in columns {
            let side = usize::from(c.input.expect("every column of a join names its input"));
            sides[side].push(c.source.clone());
            order.push(side as u8);
        }
        let in_input_order = order.windows(2).all(|w| w[0] <= w[1]);
        JoinColumns {
            sides,
            order,
            in_input_order,
        }
    }

    /// The event's half-row (the event is of input `e.part`, 0 or 1).
    #[inline]
    pub fn half(&self, e: &Event) -> Half {
        let sources = &self.sides[usize::from(e.part.min(1))];
        let mut values = SmallVec::with_capacity(sources.len());
        for c in sources {
            values.push(match c {
                ColumnSource::Field(slot) => match e.fields[*slot] {
                    Scalar::Int(i) => AggValue::Int(i),
                    Scalar::Float(f) => AggValue::Float(f),
                    Scalar::Bool(_) | Scalar::Str(_) => Num::Null.to_agg(),
                },
                ColumnSource::Computed(x) => x.eval(&e.fields).to_agg(),
                ColumnSource::TextSlot(slot, _) => match e.fields[*slot] {
                    Scalar::Str(id) => AggValue::Int(i64::from(id)),
                    Scalar::Bool(b) => AggValue::Int(i64::from(b)),
                    Scalar::Int(_) | Scalar::Float(_) => AggValue::Int(-1),
                },
                ColumnSource::Text(_) => unreachable!("a join's text columns are slots"),
            });
        }
        Half {
            seq: e.seq,
            time: e.time,
            values,
        }
    }

    /// The row of a pair: `first` from input 0, `second` from input 1, under `key`. It
    /// is final at the later of the two (its trigger and its instant).
    #[inline]
    pub fn pair(&self, first: &Half, second: &Half, key: KeyId) -> OutRow {
        let values = if self.in_input_order {
            let mut v = AggValues::with_capacity(self.order.len());
            v.extend_from_slice(&first.values);
            v.extend_from_slice(&second.values);
            v
        } else {
            let (mut a, mut b) = (first.values.iter(), second.values.iter());
            self.order
                .iter()
                .map(|side| {
                    let v = if *side == 0 { a.next() } else { b.next() };
                    *v.expect("a half has a value per column of its input")
                })
                .collect()
        };
        let later = if first.seq > second.seq {
            first
        } else {
            second
        };
        OutRow {
            window: Window {
                start: later.time,
                end: later.time,
            },
            key,
            values,
            emit: None,
            trigger: Some(later.seq),
        }
    }
}

/// Prints a joined row's string or boolean column from its value ([`Half`]'s encoding).
pub(crate) fn write_text(v: AggValue, ty: ColumnType, strings: &[Box<str>], out: &mut Vec<u8>) {
    match (ty, v) {
        (ColumnType::Bool, AggValue::Int(b)) => {
            out.extend_from_slice(if b != 0 { b"true" } else { b"false" })
        }
        (_, AggValue::Int(id)) if id >= 0 && (id as usize) < strings.len() => {
            serde_json::to_writer(&mut *out, &*strings[id as usize])
                .expect("writing to a Vec cannot fail")
        }
        _ => out.extend_from_slice(b"null"),
    }
}

/// Both inputs' events so far, by key: the state of a symmetric hash join. Nothing is
/// ever removed (see the module's semantics).
#[derive(Debug, Default)]
pub struct JoinState {
    by_key: FxHashMap<KeyId, [Vec<Half>; 2]>,
    kept: [u64; 2],
}

impl JoinState {
    /// Joins `e` with every event of the other input kept under its key, appending one
    /// row per pair to `rows` (in the other events' arrival order), then keeps `e`.
    #[inline]
    pub fn arrive(&mut self, join: &JoinColumns, e: &Event, rows: &mut Vec<OutRow>) {
        let side = usize::from(e.part.min(1));
        let half = join.half(e);
        let halves = self.by_key.entry(e.key).or_default();
        for other in &halves[1 - side] {
            rows.push(if side == 0 {
                join.pair(&half, other, e.key)
            } else {
                join.pair(other, &half, e.key)
            });
        }
        halves[side].push(half);
        self.kept[side] += 1;
    }

    /// Events kept, per input.
    pub fn kept(&self) -> [u64; 2] {
        self.kept
    }

    /// Distinct keys in the state.
    pub fn keys(&self) -> usize {
        self.by_key.len()
    }
}

#[cfg(test)]
mod tests {
    use crate::query::Plan;

    /// Shared with streamlab-io's JSON Lines tests, which decode lines through it.
    const Q: &str = include_str!("../../../tests/data/regular_join.toml");

    #[test]
    fn bad_regular_joins_name_the_key() {
        let err = |q: &str| Plan::from_toml(q).unwrap_err().to_string();
        let e = err(&Q.replace("on = \"seller\"", ""));
        assert!(e.contains("input[1].on"), "{e}");
        let e = err(&Q.replacen("input = \"persons\"", "", 1));
        assert!(
            e.contains("select[0].input") && e.contains("persons or auctions"),
            "{e}"
        );
        let e = err(&Q.replacen("input = \"persons\"", "input = \"bids\"", 1));
        assert!(e.contains("`bids`"), "{e}");
        let e = err(&Q.replace("value = [\"OR\", \"ID\", \"CA\"]", "value = \"OR\""));
        assert!(e.contains("input[0].filter[1].value"), "{e}");
        let e = err(&Q.replace("value = [\"OR\", \"ID\", \"CA\"]", "value = [\"OR\", 3]"));
        assert!(e.contains("one type"), "{e}");
        let e = err(&Q.replace("op = \"in\"", "op = \"eq\""));
        assert!(e.contains("a list of values is for `in`"), "{e}");
        let e = err(&Q.replace("kind = \"regular\"", "kind = \"window\""));
        assert!(e.contains("input[0].on"), "{e}");
        let e = err(&format!("where = \"id > 1\"\n{Q}"));
        assert!(e.contains("`where`"), "{e}");
        let e = err(&Q.replace("kind = \"regular\"", "kind = \"regular\"\non = \"id\""));
        assert!(e.contains("join[0].on"), "{e}");
    }

    #[test]
    fn round_trips_through_toml() {
        let plan = Plan::from_toml(Q).unwrap();
        assert_eq!(Plan::from_toml(&plan.to_toml()).unwrap(), plan);
    }
}
