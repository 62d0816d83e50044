//! A projection's string-valued columns and string `where`: computed from the row's key
//! when the decoder interns it, since only there is the text (engines see interned ids).
//!
//! A projection's text columns are its key ([`crate::ops::projection`]); the fields a
//! string expression reads join them (a number it reads too, as a key value), so every
//! string expression is a function of the key alone. The decoder computes the
//! [`ComputedText::columns`] once per new key and appends them to the key's values
//! (where the row prints them from, like any text column), and decides the
//! [`ComputedText::condition`] once per key: a line whose key fails it is dropped as
//! excluded (counted with the filtered lines, as a joined table's unmatched lines), so
//! no engine sees it. Every engine therefore gives the same answer by construction, and
//! a regex runs once per distinct key, not per event. Numeric columns and conditions
//! stay on the events ([`crate::ops::expr::Expr`]): a query without string expressions
//! has an empty `ComputedText` and pays nothing.

use crate::model::value::FieldValue;
use crate::ops::expr::text::{TextCondition, TextExpr};

/// The computed text of a projection's key.
#[derive(Clone, Debug, Default)]
pub struct ComputedText {
    /// How many of the key's values are read from the line (the computed ones follow).
    pub read: usize,
    /// The string-valued columns, in key order after the read values.
    pub columns: Vec<TextExpr>,
    /// The `where` condition, when it compares or computes strings.
    pub condition: Option<TextCondition>,
}

impl ComputedText {
    /// Whether there is nothing to compute.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty() && self.condition.is_none()
    }

    /// The values a key is interned by: the read ones (a key table's values also hold
    /// the computed ones, which follow from these).
    pub fn read_values<'v>(&self, values: &'v [FieldValue]) -> &'v [FieldValue] {
        if self.is_empty() {
            values
        } else {
            &values[..self.read.min(values.len())]
        }
    }

    /// Appends the computed columns to a new key's read values.
    pub fn complete(&self, values: &mut Vec<FieldValue>) {
        let computed: Vec<FieldValue> = self
            .columns
            .iter()
            .map(|c| c.eval(values).into_field())
            .collect();
        values.extend(computed);
    }

    /// Whether a key's rows are kept (no condition, or it holds: unknown does not).
    pub fn keeps(&self, values: &[FieldValue]) -> bool {
        self.condition.as_ref().is_none_or(|c| c.holds(values))
    }
}

/// Equal when they print the same (a compiled regex has no equality of its own).
impl PartialEq for ComputedText {
    fn eq(&self, other: &Self) -> bool {
        self.read == other.read
            && self.columns.len() == other.columns.len()
            && self
                .columns
                .iter()
                .zip(&other.columns)
                .all(|(a, b)| a.to_string() == b.to_string())
            && self.condition.as_ref().map(ToString::to_string)
                == other.condition.as_ref().map(ToString::to_string)
    }
}
