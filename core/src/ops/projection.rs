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
//! expr = "price * 0.908"               # crate::expr's arithmetic
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
//! Cost: an event carries up to three number fields inline ([`crate::event::Fields`]);
//! Q0 and Q1 read four, so their fields live on the heap and every event frees them in
//! the engine. `streamlab bench --engines baseline --workload nexmark --kind bid
//! --events 2000000` on a loaded 2-core machine: Q1 8.9M events/s (median of 3), Q1
//! without its `ts` column (three fields) 15.1M (one run). Widening `Fields` would grow every windowed event
//! too, so it is left as it is.
//!
//! Such a query has no `[window]`, `group_by`, `[[aggregate]]` or watermark, and its
//! output mode is append: each row is final when its event arrives, so watermarks and
//! lateness do not apply and nothing is dropped as late. A row's latency trigger
//! ([`OutRow::trigger`]) is its own event's arrival `seq`. Rows are compared with the
//! exact answer as a multiset: engines with several workers emit them in another order.

use crate::event::Event;
use crate::expr::{Condition, Expr, Num};
use crate::query::{Predicate, QueryError, SlotType};
use crate::row::{OutRow, ResultRow};
use crate::value::{AggValue, FieldValue, Scalar};
use crate::window::Window;
use serde::{Deserialize, Serialize};

/// The declared type of a selected input field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    /// A JSON number (integer or float, printed as it appeared).
    #[default]
    Number,
    /// A JSON string.
    String,
    /// A JSON boolean.
    Bool,
}

/// `[[select]]` entry: an input field (`field`, optional `as` and `type`) or a computed
/// column (`as` and `expr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectQuery {
    /// Input field passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Output column name (default for a field: its name; required with `expr`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arithmetic over numeric fields (see [`crate::expr`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// Type of `field` (number when absent).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<ColumnType>,
    /// Regular join only: the `[[input]]` whose event the column is read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// Where a column's value comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnSource {
    /// A string or boolean field: position in the row's interned key.
    Text(usize),
    /// A number field: its slot in the event's fields.
    Field(usize),
    /// A computed number.
    Computed(Expr),
    /// A string or boolean field of a joined input, carried in the event's slot (a join
    /// row's key is the join key, so its text travels as [`crate::value::StrId`]s).
    TextSlot(usize, ColumnType),
}

/// One output column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Output name.
    pub name: String,
    /// Its value.
    pub source: ColumnSource,
    /// Regular join: the input (0 or 1) whose event it is read from.
    pub input: Option<crate::event::Part>,
}

/// A compiled projection: the columns in output order, the condition, and the text
/// fields the decoder interns as each event's key.
#[derive(Clone, Debug, PartialEq)]
pub struct Projection {
    /// Output columns, in order.
    pub columns: Vec<Column>,
    /// `where`, when given.
    pub condition: Option<Condition>,
    /// The string and boolean fields, in key order, with their slot type.
    pub text: Vec<(String, SlotType)>,
    /// The number columns in value order (the [`ColumnSource::Field`] and
    /// [`ColumnSource::Computed`] ones), for building rows without a match per column.
    numbers: Vec<ColumnSource>,
    /// Prefixes `"name":` (with a comma after the first), one per column.
    prefixes: Vec<Vec<u8>>,
    /// A regular join's columns by input, for [`crate::regular_join`].
    pub(crate) join: Option<crate::regular_join::JoinColumns>,
}

fn invalid(key: impl Into<String>, message: impl Into<String>) -> QueryError {
    QueryError::Invalid {
        path: None,
        key: key.into(),
        message: message.into(),
    }
}

/// Why the rest of a query does not fit a projection, or `None` when it does.
pub(crate) fn check_query(query: &crate::query::Query) -> Result<(), QueryError> {
    let why = "a query without [window] emits one row per event";
    if query.select.is_empty() {
        return Err(invalid(
            "window",
            "required, unless the query selects columns with [[select]] (one row per event)",
        ));
    }
    if !query.group_by.is_empty() {
        return Err(invalid("group_by", format!("{why}; it does not group")));
    }
    if !query.aggregates.is_empty() {
        return Err(invalid(
            "aggregate",
            format!("{why}; aggregates need a [window]"),
        ));
    }
    if query.output_mode != crate::query::OutputMode::Append {
        return Err(invalid(
            "output_mode",
            format!("{why}, final when its event arrives: only `append`"),
        ));
    }
    if query.watermark.delay.ms() != 0 || query.inputs.iter().any(|i| i.watermark_delay.is_some()) {
        return Err(invalid(
            "watermark",
            format!("{why}: no window waits for a watermark, so a delay has no meaning"),
        ));
    }
    Ok(())
}

/// Gives a field read from `input`'s events (`None`: every event) its slot in events:
/// `(field, type, query key for errors, input)`.
pub(crate) type SlotFor<'a> =
    dyn FnMut(&str, SlotType, &str, Option<crate::event::Part>) -> Result<usize, QueryError> + 'a;

/// Compiles the `[[select]]` entries and `where`; `slot_for(field, type, key, input)`
/// gives a field its event slot (as filters and aggregates do). `joined` names the two
/// inputs of a regular join (empty otherwise): each column then names its input.
pub(crate) fn compile(
    select: &[SelectQuery],
    condition: Option<&str>,
    joined: &[&str],
    slot_for: &mut SlotFor<'_>,
) -> Result<Projection, QueryError> {
    let mut columns: Vec<Column> = Vec::new();
    let mut text = Vec::new();
    for (i, s) in select.iter().enumerate() {
        let key = format!("select[{i}]");
        let input =
            match (&s.input, joined.is_empty()) {
                (None, true) => None,
                (Some(_), true) => return Err(invalid(
                    format!("{key}.input"),
                    "only a regular join ([[join]] kind = \"regular\") reads columns of one input",
                )),
                (None, false) => {
                    return Err(invalid(
                        format!("{key}.input"),
                        format!(
                    "a joined row has columns of two inputs: name the one this is read from ({})",
                    joined.join(" or ")
                ),
                    ))
                }
                (Some(name), false) => match joined.iter().position(|n| n == name) {
                    Some(i) => Some(i as crate::event::Part),
                    None => {
                        return Err(invalid(
                            format!("{key}.input"),
                            format!("no [[input]] is named `{name}`"),
                        ))
                    }
                },
            };
        let (name, source) = match (&s.field, &s.expr) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("{key}.expr"),
                    "give either `field` (pass it through) or `expr` (compute it), not both",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    key,
                    "needs `field` (an input field) or `expr` with `as` (a computed column)",
                ))
            }
            (Some(field), None) => {
                if field.is_empty() {
                    return Err(invalid(format!("{key}.field"), "must not be empty"));
                }
                let fkey = format!("{key}.field");
                let source = match s.ty.unwrap_or_default() {
                    ColumnType::Number => {
                        ColumnSource::Field(slot_for(field, SlotType::Number, &fkey, input)?)
                    }
                    ty => {
                        let slot = if ty == ColumnType::String {
                            SlotType::String
                        } else {
                            SlotType::Bool
                        };
                        if input.is_some() {
                            ColumnSource::TextSlot(slot_for(field, slot, &fkey, input)?, ty)
                        } else {
                            text.push((field.clone(), slot));
                            ColumnSource::Text(text.len() - 1)
                        }
                    }
                };
                (s.name.clone().unwrap_or_else(|| field.clone()), source)
            }
            (None, Some(text)) => {
                if s.ty.is_some() {
                    return Err(invalid(
                        format!("{key}.type"),
                        "a computed column is always a number",
                    ));
                }
                let name = s.name.clone().ok_or_else(|| {
                    invalid(format!("{key}.as"), "a computed column needs a name")
                })?;
                let ekey = format!("{key}.expr");
                let mut e = Expr::parse(text).map_err(|m| invalid(&ekey, m))?;
                e.resolve(&mut |f| slot_for(f, SlotType::Number, &ekey, input))?;
                (name, ColumnSource::Computed(e))
            }
        };
        if name.is_empty() {
            return Err(invalid(format!("{key}.as"), "must not be empty"));
        }
        if columns.iter().any(|c| c.name == name) {
            return Err(invalid(
                format!("{key}.as"),
                format!("`{name}` names two columns"),
            ));
        }
        columns.push(Column {
            name,
            source,
            input,
        });
    }
    let condition = match condition {
        None => None,
        Some(_) if !joined.is_empty() => {
            return Err(invalid(
                "where",
                "a regular join filters each input with its [[input.filter]]s; a `where` over both is not supported",
            ))
        }
        Some(text) => {
            let mut c = Condition::parse(text).map_err(|m| invalid("where", m))?;
            c.resolve(&mut |f| slot_for(f, SlotType::Number, "where", None))?;
            Some(c)
        }
    };
    let numbers = columns
        .iter()
        .filter(|c| !matches!(c.source, ColumnSource::Text(_)))
        .map(|c| c.source.clone())
        .collect();
    let prefixes = columns
        .iter()
        .enumerate()
        .map(|(i, c)| crate::row::json_key(&c.name, i == 0))
        .collect();
    let join = (!joined.is_empty()).then(|| crate::regular_join::JoinColumns::new(&columns));
    Ok(Projection {
        columns,
        condition,
        text,
        numbers,
        prefixes,
        join,
    })
}

impl Projection {
    /// A regular join's columns by input, when the query is one (see
    /// [`crate::regular_join`]).
    pub fn join(&self) -> Option<&crate::regular_join::JoinColumns> {
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
                ColumnSource::Text(k) => crate::row::write_field(&key[k], out),
                ColumnSource::TextSlot(_, ty) => {
                    let v = values.next().copied().unwrap_or(AggValue::Int(-1));
                    crate::regular_join::write_text(v, ty, strings, out)
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

/// Checkpoints are not there yet for projections (a row is final when its event arrives,
/// so exactly-once output needs only the input offset with the committed rows; no engine
/// has that path yet): a run asking for one is refused rather than left without it.
pub fn refuse_checkpoints(
    plan: &crate::Plan,
    options: &crate::engine::RunOptions,
    engine: &str,
) -> Result<(), crate::engine::EngineError> {
    if plan.projection.is_some() && options.checkpoint.is_some() {
        return Err(crate::engine::EngineError::Unsupported {
            engine: engine.into(),
            flag: "--checkpoint with a query without [window] (one row per event)".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::event::Decoder;
    use crate::query::Plan;

    const Q: &str = r#"
[[select]]
field = "auction"
[[select]]
field = "channel"
type = "string"
[[select]]
as = "price_eur"
expr = "price * 0.908"
[[select]]
field = "price"
as = "cents"
where = "auction % 2 = 0"
"#;

    fn with_where(q: &str) -> String {
        // `where` is a top-level key: it must come before the first table.
        let (body, cond) = q.rsplit_once("where = ").unwrap();
        format!("where = {cond}{body}")
    }

    #[test]
    fn rows_hold_the_columns_in_order_and_read_back() {
        let plan = Plan::from_toml(&with_where(Q)).unwrap();
        let p = plan.projection.as_ref().unwrap();
        let mut d = Decoder::new(&plan);
        let e = d
            .decode(
                r#"{"auction": 4, "channel": "a\"b", "price": 1000, "x": 1}"#,
                9,
            )
            .unwrap();
        assert!(p.keeps(&plan.filters, &e));
        let row = p.row(&e);
        assert_eq!(row.trigger, Some(9));
        let mut out = Vec::new();
        d.key_table()
            .with(row.key, |key| p.write(&row, key, &[], &mut out));
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "{\"auction\":4,\"channel\":\"a\\\"b\",\"price_eur\":908.0,\"cents\":1000}\n"
        );
        let back = crate::row::ResultRow::parse(line.trim_end(), &plan).unwrap();
        assert_eq!(back.group.len(), 1);
        assert_eq!(back.values.len(), 3);
        let odd = d
            .decode(r#"{"auction": 5, "channel": "c", "price": 1}"#, 10)
            .unwrap();
        assert!(!p.keeps(&plan.filters, &odd));
    }

    #[test]
    fn text_and_number_types_are_checked_by_the_decoder() {
        let plan = Plan::from_toml(&with_where(Q)).unwrap();
        let mut d = Decoder::new(&plan);
        let err = d
            .decode(r#"{"auction": 4, "channel": 3, "price": 1}"#, 0)
            .unwrap_err();
        assert!(
            err.to_string().contains("`channel` must be a string"),
            "{err}"
        );
        let err = d
            .decode(r#"{"auction": "4", "channel": "c", "price": 1}"#, 0)
            .unwrap_err();
        assert!(
            err.to_string().contains("`auction` must be a number"),
            "{err}"
        );
        let err = d
            .decode(r#"{"auction": 4, "channel": "c"}"#, 0)
            .unwrap_err();
        assert!(err.to_string().contains("`price`"), "{err}");
    }

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
        assert!(e.contains("`select`") && e.contains("field `a`"), "{e}");
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
        let plan = Plan::from_toml(&with_where(Q)).unwrap();
        assert_eq!(Plan::from_toml(&plan.to_toml()).unwrap(), plan);
    }
}
