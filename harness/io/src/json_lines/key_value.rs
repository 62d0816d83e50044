//! A group key's value as read from a line (borrowed: a key seen before is found without
//! copying it), and the bytes keys are interned by.

use streamlab_core::model::value::FieldValue;

/// One value of a group key, borrowing its string from the line.
#[derive(Clone, Copy, Debug)]
pub(super) enum KeyValue<'a> {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(&'a str),
}

impl<'a> KeyValue<'a> {
    /// The value the key table holds.
    pub(super) fn to_owned(self) -> FieldValue {
        match self {
            KeyValue::Bool(b) => FieldValue::Bool(b),
            KeyValue::Int(i) => FieldValue::Int(i),
            KeyValue::Float(f) => FieldValue::Float(f),
            KeyValue::Str(s) => FieldValue::Str(s.into()),
        }
    }

    /// A key table's value, borrowed.
    pub(super) fn of(v: &'a FieldValue) -> KeyValue<'a> {
        match v {
            FieldValue::Bool(b) => KeyValue::Bool(*b),
            FieldValue::Int(i) => KeyValue::Int(*i),
            FieldValue::Float(f) => KeyValue::Float(*f),
            FieldValue::Str(s) => KeyValue::Str(s),
        }
    }

    /// Appends the bytes the value is interned by (type-tagged, so `1` and `"1"` differ).
    pub(super) fn encode(self, buf: &mut Vec<u8>) {
        match self {
            KeyValue::Bool(b) => buf.extend_from_slice(&[0, b as u8]),
            KeyValue::Int(i) => {
                buf.push(1);
                buf.extend_from_slice(&i.to_le_bytes());
            }
            KeyValue::Float(f) => {
                buf.push(2);
                buf.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            KeyValue::Str(s) => {
                buf.push(3);
                buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
                buf.extend_from_slice(s.as_bytes());
            }
        }
    }
}
