//! Queries without windows: one output row per input event that passes the filters, with
//! selected and computed columns (NEXMark Q0 pass-through, Q1 currency conversion, Q2
//! selection).
//!
//! ```toml
//! [[select]]
//! field = "auction"                    # an input number, printed as it appeared
//! [[select]]
//! field = "channel"
//! type = "string"                      # number (default) | string | bool
//! [[select]]
//! as = "price_eur"
//! expr = "price * 0.908"               # crate::ops::expr's arithmetic
//! where = "auction % 123 = 0"          # optional, top level: keep events where it holds
//! ```
//!
//! A column's type is declared, as in a SQL schema, because the row carries it by type: a
//! line whose field has another type (or is missing) is malformed, as for any field a
//! query reads. Numbers (selected or computed) travel as the row's values; strings and
//! booleans are interned by the decoder as the row's key, the way group-by values are,
//! so a row stays a plain [`OutRow`] that every engine, exchange and sink already moves.
//! (Interning costs memory per distinct tuple of text columns: 10 003 `channel`/`url`
//! pairs in 184 000 generated NEXMark bids.)
//!
//! Its columns are [`crate::ops::column`]s; compiling `[[select]]` and `where` is the
//! query layer's (`query/compile/select.rs`).
//!
//! Cost: an event carries up to three number fields inline
//! ([`Fields`](crate::model::event::Fields)); Q0 and Q1 read four, so their fields live on
//! the heap and every event frees them in the engine (measure it with `streamlab bench
//! --engines baseline --workload nexmark --kind bid --query
//! queries/nexmark_q1_currency.toml`, with and without the `ts` column; committed NEXMark
//! figures are in `results/2026-12-01-vm-nexmark/`). Widening `Fields` would grow every
//! windowed event too, so it is left as it is.
//!
//! Such a query has no `[window]`, `group_by`, `[[aggregate]]` or watermark, and its
//! output mode is append: each row is final when its event arrives, so watermarks and
//! lateness do not apply and nothing is dropped as late. A row's latency trigger
//! ([`OutRow::trigger`]) is its own event's arrival `seq`. Rows are compared with the
//! exact answer as a multiset: engines with several workers emit them in another order.

use crate::model::event::{Event, SlotType};
use crate::model::value::{AggValue, FieldValue, Scalar};
use crate::model::window::Window;
use crate::ops::column::{Column, ColumnSource};
use crate::ops::computed_text::ComputedText;
use crate::ops::expr::{Condition, Num};
use crate::ops::filter::Predicate;
use crate::ops::joins::regular::{write_text, JoinColumns};
use crate::semantics::row::{json_key, write_field, OutRow, ResultRow};

/// A compiled projection: the columns in output order, the condition, and the text
/// fields the decoder interns as each event's key.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Output columns, in order.
    pub columns: Vec<Column>,
    /// `where`, when given.
    pub condition: Option<Condition>,
    /// The string and boolean fields, in key order, with their slot type (and the
    /// fields string expressions read, a number as [`SlotType::Number`]).
    pub text: Vec<(String, SlotType)>,
    /// The string-valued columns and `where`, computed from the key by the decoder.
    pub computed: ComputedText,
    /// The number columns in value order (the [`ColumnSource::Field`] and
    /// [`ColumnSource::Computed`] ones), for building rows without a match per column.
    numbers: Vec<ColumnSource>,
    /// Prefixes `"name":` (with a comma after the first), one per column.
    prefixes: Vec<Vec<u8>>,
    /// A regular join's columns by input, for [`crate::ops::joins::regular`].
    join: Option<JoinColumns>,
}

impl Projection {
    /// The projection of `columns` with the `where` `condition` and the `text` fields the
    /// decoder interns as each event's key; `joined`: the columns are a regular join's.
    pub(crate) fn new(
        columns: Vec<Column>,
        condition: Option<Condition>,
        text: Vec<(String, SlotType)>,
        computed: ComputedText,
        joined: bool,
    ) -> Projection {
        let numbers = columns
            .iter()
            .filter(|c| !matches!(c.source, ColumnSource::Text(_)))
            .map(|c| c.source.clone())
            .collect();
        let prefixes = columns
            .iter()
            .enumerate()
            .map(|(i, c)| json_key(&c.name, i == 0))
            .collect();
        let join = joined.then(|| JoinColumns::new(&columns));
        Projection {
            columns,
            condition,
            text,
            computed,
            numbers,
            prefixes,
            join,
        }
    }

    /// A regular join's columns by input, when the query is one (see
    /// [`crate::ops::joins::regular`]).
    pub fn join(&self) -> Option<&JoinColumns> {
        self.join.as_ref()
    }

    /// Whether the event passes the plan's `filters` and this projection's condition.
    #[inline]
    pub fn keeps(&self, filters: &[Predicate], e: &Event) -> bool {
        filters.iter().all(|p| p.holds(e.fields[p.slot]))
            && self.condition.as_ref().is_none_or(|c| c.holds(&e.fields))
    }

    /// The event's output row: its text columns are its key, its numbers the values; the
    /// window is the instant of the event (not printed).
    #[inline]
    pub fn row(&self, e: &Event) -> OutRow {
        OutRow {
            window: Window {
                start: e.time,
                end: e.time,
            },
            key: e.key,
            values: self
                .numbers
                .iter()
                .map(|c| match c {
                    ColumnSource::Field(slot) => match e.fields[*slot] {
                        Scalar::Int(i) => AggValue::Int(i),
                        Scalar::Float(f) => AggValue::Float(f),
                        Scalar::Bool(_) | Scalar::Str(_) => Num::Null.to_agg(),
                    },
                    ColumnSource::Computed(x) => x.eval(&e.fields).to_agg(),
                    ColumnSource::Text(_) | ColumnSource::TextSlot(..) => {
                        unreachable!("a projection without a join has its text in the key")
                    }
                })
                .collect(),
            emit: None,
            trigger: Some(e.seq),
        }
    }

    /// Appends the row as a JSON object of the columns in order, and a newline; a joined
    /// row's string columns are looked up in `strings`.
    pub fn write(&self, row: &OutRow, key: &[FieldValue], strings: &[Box<str>], out: &mut Vec<u8>) {
        out.push(b'{');
        let mut values = row.values.iter();
        for (c, prefix) in self.columns.iter().zip(&self.prefixes) {
            out.extend_from_slice(prefix);
            match c.source {
                ColumnSource::Text(k) => write_field(&key[k], out),
                ColumnSource::TextSlot(_, ty) => {
                    let v = values.next().copied().unwrap_or(AggValue::Int(-1));
                    write_text(v, ty, strings, out)
                }
                _ => values
                    .next()
                    .copied()
                    .unwrap_or(AggValue::Float(f64::NAN))
                    .write_json(out),
            }
        }
        out.extend_from_slice(b"}\n");
    }

    /// Reads a printed row back: text columns as the group, numbers (`null`: none) as
    /// the values; the error names the column.
    pub fn parse_row(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<ResultRow, String> {
        let mut group = Vec::new();
        let mut values = Vec::new();
        for c in &self.columns {
            let v = obj.get(&c.name);
            match (&c.source, v) {
                (
                    ColumnSource::Text(_) | ColumnSource::TextSlot(..),
                    Some(v @ (serde_json::Value::String(_) | serde_json::Value::Bool(_))),
                ) => group.push(FieldValue::from_json(v).expect("a string or boolean")),
                // A computed string column's NULL.
                (ColumnSource::Text(_), Some(serde_json::Value::Null)) => {
                    group.push(FieldValue::Float(f64::NAN))
                }
                (ColumnSource::Text(_) | ColumnSource::TextSlot(..), _) => {
                    return Err(format!(
                        "column `{}` missing or not a string or boolean",
                        c.name
                    ))
                }
                (_, Some(serde_json::Value::Number(n))) => values.push(match n.as_i64() {
                    Some(i) => AggValue::Int(i),
                    None => AggValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                }),
                (_, Some(serde_json::Value::Null)) => values.push(AggValue::Float(f64::NAN)),
                _ => return Err(format!("column `{}` missing or not a number", c.name)),
            }
        }
        Ok(ResultRow {
            window: Window { start: 0, end: 0 },
            group,
            values,
            emit: None,
        })
    }

    /// Names of the number columns in value order, each with whether it is computed
    /// (computed ones can be wrong; the others identify a row with the text columns).
    pub fn number_columns(&self) -> impl Iterator<Item = (&str, bool)> {
        self.columns.iter().filter_map(|c| match c.source {
            ColumnSource::Text(_) | ColumnSource::TextSlot(..) => None,
            ColumnSource::Field(_) => Some((c.name.as_str(), false)),
            ColumnSource::Computed(_) => Some((c.name.as_str(), true)),
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::query::Plan;

    /// Shared with streamlab-io's JSON Lines tests, which decode lines through it.
    const Q: &str = include_str!("../../tests/data/projection.toml");

    #[test]
    fn bad_select_entries_name_the_key() {
        let err = |q: &str| Plan::from_toml(q).unwrap_err().to_string();
        let e = err("[[select]]\nfield = \"a\"\nexp = \"a + 1\"\n");
        assert!(e.contains("exp"), "{e}");
        let e = err("[[select]]\nexpr = \"a + 1\"\n");
        assert!(e.contains("select[0].as"), "{e}");
        let e = err("[[select]]\nfield = \"a\"\n[[select]]\nas = \"b\"\nexpr = \"a +\"\n");
        assert!(
            e.contains("select[1].expr") && e.contains("column 4"),
            "{e}"
        );
        let e = err("[[select]]\nfield = \"a\"\nexpr = \"a\"\nas = \"b\"\n");
        assert!(e.contains("select[0].expr"), "{e}");
        let e = err("[[select]]\nas = \"b\"\n");
        assert!(e.contains("select[0]"), "{e}");
        let e = err("[[select]]\nfield = \"a\"\n[[select]]\nfield = \"b\"\nas = \"a\"\n");
        assert!(
            e.contains("select[1].as") && e.contains("two columns"),
            "{e}"
        );
        let e = err("[[select]]\nas = \"b\"\nexpr = \"1\"\ntype = \"string\"\n");
        assert!(e.contains("select[0].type"), "{e}");
        let e = err("[[select]]\nfield = \"a\"\ntype = \"text\"\n");
        assert!(e.contains("text"), "{e}");
        let e = err("where = \"a +\"\n[[select]]\nfield = \"a\"\n");
        assert!(e.contains("`where`"), "{e}");
        let e = err("[[select]]\nfield = \"a\"\ntype = \"string\"\n[[select]]\nas = \"b\"\nexpr = \"a * 2\"\n");
        assert!(
            e.contains("select[1].expr") && e.contains("`a` is not a number"),
            "{e}"
        );
    }

    #[test]
    fn windows_aggregates_and_other_modes_are_refused() {
        let err = |q: &str| Plan::from_toml(q).unwrap_err().to_string();
        let sel = "[[select]]\nfield = \"a\"\n";
        assert!(err(&format!("group_by = [\"k\"]\n{sel}")).contains("`group_by`"));
        assert!(err(&format!("output_mode = \"update\"\n{sel}")).contains("`output_mode`"));
        assert!(err(&format!("[watermark]\ndelay = 5\n{sel}")).contains("`watermark`"));
        let e = err(&format!("{sel}[[aggregate]]\nfn = \"count\"\nas = \"n\"\n"));
        assert!(e.contains("`aggregate`"), "{e}");
        let e = err(&format!(
            "event_time = \"ts\"\n[window]\nkind = \"tumbling\"\nsize = 5\n{sel}[[aggregate]]\nfn = \"count\"\nas = \"n\"\n"
        ));
        assert!(e.contains("`select`"), "{e}");
        let e = err("where = \"a = 1\"\nevent_time = \"ts\"\n[window]\nkind = \"tumbling\"\nsize = 5\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n");
        assert!(e.contains("`where`"), "{e}");
        let e = err("event_time = \"ts\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n");
        assert!(e.contains("`window`"), "{e}");
    }

    #[test]
    fn round_trips_through_toml() {
        let plan = Plan::from_toml(Q).unwrap();
        assert_eq!(Plan::from_toml(&plan.to_toml()).unwrap(), plan);
    }
}
