//! The columns of a stage's rows, each a name and where its value lives in a
//! [`StageRow`](super::StageRow): a number value, an interned text value (a regular
//! join's string columns), or a position in the first stage's key.

use crate::model::value::{AggValue, FieldValue};
use crate::ops::column::ColumnType;
use crate::ops::joins::regular::write_text;
use crate::semantics::changelog::ChangeKind;
use crate::semantics::row::{json_key, write_field};

/// Where a column's value lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// A number: position in the row's values.
    Number(usize),
    /// A string or boolean interned as a number: position in the values, and its type.
    Interned(usize, ColumnType),
    /// A string or boolean of the first stage's key: position in the key's values.
    Key(usize),
}

impl Place {
    /// The value position, for a column held in the values.
    pub fn value(self) -> Option<usize> {
        match self {
            Place::Number(i) | Place::Interned(i, _) => Some(i),
            Place::Key(_) => None,
        }
    }
}

/// One column.
#[derive(Clone, Debug, PartialEq)]
pub struct Col {
    /// Name.
    pub name: String,
    /// Where its value lives.
    pub place: Place,
}

/// The columns of a stage's rows, in output order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schema {
    /// Columns.
    pub cols: Vec<Col>,
}

/// The printed name of a changelog row's kind.
pub const OP_COLUMN: &str = "op";

impl Schema {
    /// The column called `name`.
    pub fn find(&self, name: &str) -> Option<&Col> {
        self.cols.iter().find(|c| c.name == name)
    }

    /// Number of columns held in the values.
    pub fn values(&self) -> usize {
        self.cols
            .iter()
            .filter(|c| c.place.value().is_some())
            .count()
    }

    /// Whether a column lives in the first stage's key.
    pub fn uses_key(&self) -> bool {
        self.cols.iter().any(|c| matches!(c.place, Place::Key(_)))
    }

    /// Appends a changelog row (its kind's code first in `values`) as a JSON object of
    /// the columns in order, then `op`, and a newline.
    pub fn write(
        &self,
        values: &[AggValue],
        key: &[FieldValue],
        strings: &[Box<str>],
        out: &mut Vec<u8>,
    ) {
        let (kind, values) = match values.split_first() {
            Some((k, rest)) => (ChangeKind::from_code(*k), rest),
            None => (None, values),
        };
        out.push(b'{');
        for (i, c) in self.cols.iter().enumerate() {
            out.extend_from_slice(&json_key(&c.name, i == 0));
            match c.place {
                Place::Number(v) => values
                    .get(v)
                    .copied()
                    .unwrap_or(AggValue::Float(f64::NAN))
                    .write_json(out),
                Place::Interned(v, ty) => write_text(
                    values.get(v).copied().unwrap_or(AggValue::Int(-1)),
                    ty,
                    strings,
                    out,
                ),
                Place::Key(k) => match key.get(k) {
                    Some(f) => write_field(f, out),
                    None => out.extend_from_slice(b"null"),
                },
            }
        }
        out.extend_from_slice(&json_key(OP_COLUMN, self.cols.is_empty()));
        let op = kind.map_or("?", ChangeKind::op);
        serde_json::to_writer(&mut *out, op).expect("writing to a Vec cannot fail");
        out.extend_from_slice(b"}\n");
    }
}

impl Schema {
    /// Reads a printed changelog row back: text columns, then the `op`, as the group;
    /// numbers (`null`: none) as the values; the error names the column.
    pub fn parse_row(
        &self,
        obj: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<crate::semantics::row::ResultRow, String> {
        let mut group = Vec::new();
        let mut values = Vec::new();
        for c in &self.cols {
            let v = obj.get(&c.name);
            match (c.place, v) {
                (
                    Place::Key(_) | Place::Interned(..),
                    Some(v @ (serde_json::Value::String(_) | serde_json::Value::Bool(_))),
                ) => group.push(FieldValue::from_json(v).expect("a string or boolean")),
                (Place::Key(_) | Place::Interned(..), _) => {
                    return Err(format!(
                        "column `{}` missing or not a string or boolean",
                        c.name
                    ))
                }
                (Place::Number(_), Some(serde_json::Value::Number(n))) => {
                    values.push(match n.as_i64() {
                        Some(i) => AggValue::Int(i),
                        None => AggValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                    })
                }
                (Place::Number(_), Some(serde_json::Value::Null)) => {
                    values.push(AggValue::Float(f64::NAN))
                }
                _ => return Err(format!("column `{}` missing or not a number", c.name)),
            }
        }
        match obj.get(OP_COLUMN).and_then(|v| v.as_str()) {
            Some(op) if ChangeKind::from_op(op).is_some() => group.push(FieldValue::Str(op.into())),
            _ => {
                return Err(format!(
                    "`{OP_COLUMN}` missing or not one of +I, -U, +U, -D"
                ))
            }
        }
        Ok(crate::semantics::row::ResultRow {
            window: crate::model::window::Window { start: 0, end: 0 },
            group,
            values,
            emit: None,
        })
    }
}
