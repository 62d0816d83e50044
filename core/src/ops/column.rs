//! The columns of a query without `[window]` (a projection, or a regular join's rows):
//! each a name and where its value comes from, an input field or a computed expression.
//! [`crate::ops::projection`] builds rows of them, [`crate::ops::joins::regular`] the
//! halves of joined rows.

use crate::model::event::Part;
use crate::ops::expr::Expr;
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
    /// row's key is the join key, so its text travels as [`StrId`](crate::model::value::StrId)s).
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
    pub input: Option<Part>,
}
