//! The values string expressions compute ([`Value`]: a number, a string, or none), and
//! how a row's key values become them and back.

use super::num::Num;
use crate::model::value::FieldValue;
use std::borrow::Cow;

/// A value a string expression computes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// No value (SQL's NULL).
    Null,
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// A string.
    Str(String),
}

impl Value {
    /// The value as text (a number printed as `CAST(x AS STRING)` does); none for NULL.
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Int(i) => Some(Cow::Owned(i.to_string())),
            Value::Float(f) => number_text(Num::Float(*f)).map(Cow::Owned),
            Value::Null => None,
        }
    }

    /// The value as a number (a string has none here: see [`TextExpr::ToNum`]).
    pub fn num(&self) -> Num {
        match self {
            Value::Int(i) => Num::Int(*i),
            Value::Float(f) => Num::float(*f),
            Value::Str(_) | Value::Null => Num::Null,
        }
    }

    /// Epoch milliseconds (a float floored); none for a string or NULL.
    pub fn millis(&self) -> Option<i64> {
        match self.num() {
            Num::Int(i) => Some(i),
            Num::Float(f) => {
                let t = f.floor();
                (-9.2e18..9.2e18).contains(&t).then_some(t as i64)
            }
            Num::Null => None,
        }
    }

    pub(super) fn of_num(n: Num) -> Value {
        match n {
            Num::Int(i) => Value::Int(i),
            Num::Float(f) => Value::Float(f),
            Num::Null => Value::Null,
        }
    }

    /// A key's value as an expression reads it (a NaN float, a computed column's NULL,
    /// and a boolean have no value).
    pub fn of_field(v: &FieldValue) -> Value {
        match v {
            FieldValue::Str(s) => Value::Str(s.to_string()),
            FieldValue::Int(i) => Value::Int(*i),
            FieldValue::Float(f) if f.is_finite() => Value::Float(*f),
            FieldValue::Float(_) | FieldValue::Bool(_) => Value::Null,
        }
    }

    /// The value as a key holds it; NULL is a NaN float, which rows print as `null`.
    pub fn into_field(self) -> FieldValue {
        match self {
            Value::Str(s) => FieldValue::Str(s.into()),
            Value::Int(i) => FieldValue::Int(i),
            Value::Float(f) => FieldValue::Float(f),
            Value::Null => FieldValue::Float(f64::NAN),
        }
    }
}

/// A number as `CAST(x AS STRING)` prints it (Flink: `1`, `1.5`, `2.0`).
pub(super) fn number_text(n: Num) -> Option<String> {
    match n {
        Num::Int(i) => Some(i.to_string()),
        Num::Float(f) => Some(if f.fract() == 0.0 && f.abs() < 1e7 {
            format!("{f:.1}")
        } else {
            format!("{f}")
        }),
        Num::Null => None,
    }
}
