//! Values as they travel through streamlab.
//!
//! - [`FieldValue`]: a group-by value exactly as it appeared in the input, kept so result
//!   rows can print it back unchanged (a string stays a string).
//! - [`Scalar`]: the compact, `Copy` form an event carries for filtered and aggregated
//!   fields on the hot path; strings are interned to a [`StrId`] by the decoder.
//! - [`AggValue`]: an aggregate's result (integers stay integers, `avg` is a float).

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

/// Id of a string interned by the JSON Lines decoder (`streamlab_io::json_lines`); equal
/// strings get equal ids.
pub type StrId = u32;

/// A group-by value as it appeared in the input.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FieldValue {
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number without fraction or exponent that fits an `i64`.
    Int(i64),
    /// Any other JSON number.
    Float(f64),
    /// A JSON string.
    Str(Box<str>),
}

impl FieldValue {
    /// Converts to the JSON value it came from.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            FieldValue::Bool(b) => serde_json::Value::Bool(*b),
            FieldValue::Int(i) => serde_json::Value::from(*i),
            FieldValue::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            FieldValue::Str(s) => serde_json::Value::String(s.to_string()),
        }
    }

    /// Reads a scalar JSON value; `None` for null, arrays and objects.
    pub fn from_json(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::Bool(b) => Some(FieldValue::Bool(*b)),
            serde_json::Value::Number(n) => Some(match n.as_i64() {
                Some(i) => FieldValue::Int(i),
                None => FieldValue::Float(n.as_f64()?),
            }),
            serde_json::Value::String(s) => Some(FieldValue::Str(s.as_str().into())),
            _ => None,
        }
    }

    fn rank(&self) -> u8 {
        match self {
            FieldValue::Bool(_) => 0,
            FieldValue::Int(_) | FieldValue::Float(_) => 1,
            FieldValue::Str(_) => 2,
        }
    }
}

/// Total order used to print and compare result rows deterministically:
/// booleans, then numbers (by value, integers before equal floats), then strings.
impl Ord for FieldValue {
    fn cmp(&self, other: &Self) -> Ordering {
        use FieldValue::*;
        match (self, other) {
            (Bool(a), Bool(b)) => a.cmp(b),
            (Int(a), Int(b)) => a.cmp(b),
            (Float(a), Float(b)) => a.total_cmp(b),
            (Int(a), Float(b)) => (*a as f64).total_cmp(b).then(Ordering::Less),
            (Float(a), Int(b)) => a.total_cmp(&(*b as f64)).then(Ordering::Greater),
            (Str(a), Str(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}
impl PartialOrd for FieldValue {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl PartialEq for FieldValue {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for FieldValue {}

/// The hot-path form of a filtered or aggregated field: 16 bytes, `Copy`, no heap.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum Scalar {
    /// JSON `true` / `false`.
    Bool(bool),
    /// An integer number.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// An interned string.
    Str(StrId),
}

impl Scalar {
    /// The numeric value, for sums, averages and ordered comparisons.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Scalar::Int(i) => Some(i as f64),
            Scalar::Float(f) => Some(f),
            _ => None,
        }
    }

    /// Numeric comparison (integers compared exactly); `None` when either side is not a number.
    pub fn cmp_numeric(self, other: Scalar) -> Option<Ordering> {
        match (self, other) {
            (Scalar::Int(a), Scalar::Int(b)) => Some(a.cmp(&b)),
            _ => self.as_f64()?.partial_cmp(&other.as_f64()?),
        }
    }
}

/// Equality as `count_distinct` sees it: same type and same value (floats by bits).
impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Scalar::Bool(a), Scalar::Bool(b)) => a == b,
            (Scalar::Int(a), Scalar::Int(b)) => a == b,
            (Scalar::Float(a), Scalar::Float(b)) => a.to_bits() == b.to_bits(),
            (Scalar::Str(a), Scalar::Str(b)) => a == b,
            _ => false,
        }
    }
}
impl Eq for Scalar {}
impl Hash for Scalar {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match *self {
            Scalar::Bool(b) => (0u8, b as u64).hash(h),
            Scalar::Int(i) => (1u8, i as u64).hash(h),
            Scalar::Float(f) => (2u8, f.to_bits()).hash(h),
            Scalar::Str(s) => (3u8, s as u64).hash(h),
        }
    }
}

/// The value of one aggregate in a result row.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub enum AggValue {
    /// count, count_distinct, sum of integers, min/max of integers.
    Int(i64),
    /// avg, sums involving a float, min/max of floats.
    Float(f64),
}

impl AggValue {
    /// The value as a float, for error arithmetic.
    pub fn as_f64(self) -> f64 {
        match self {
            AggValue::Int(i) => i as f64,
            AggValue::Float(f) => f,
        }
    }

    /// Writes the value as JSON (non-finite floats, which JSON cannot hold, as `null`).
    pub fn write_json(self, out: &mut Vec<u8>) {
        match self {
            AggValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
            AggValue::Float(f) if f.is_finite() => {
                out.extend_from_slice(ryu::Buffer::new().format_finite(f).as_bytes())
            }
            AggValue::Float(_) => out.extend_from_slice(b"null"),
        }
    }
}

/// Exact equality for integers; floats equal within a relative 1e-9, because engines
/// that sum partial aggregates in a different order round differently; no value (NaN,
/// printed `null`) equals no value, as two answers that both have none agree.
impl PartialEq for AggValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (AggValue::Int(a), AggValue::Int(b)) => a == b,
            (a, b) => {
                let (x, y) = (a.as_f64(), b.as_f64());
                x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) || (x.is_nan() && y.is_nan())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_order_numbers_by_value() {
        assert!(FieldValue::Int(2) < FieldValue::Float(2.5));
        assert!(FieldValue::Float(1.5) < FieldValue::Int(2));
        assert!(FieldValue::Int(9) < FieldValue::Str("a".into()));
        assert_ne!(FieldValue::Int(1), FieldValue::Float(1.0));
    }

    #[test]
    fn agg_values_compare_floats_with_tolerance() {
        assert_eq!(AggValue::Float(0.1 + 0.2), AggValue::Float(0.3));
        assert_ne!(AggValue::Float(0.3), AggValue::Float(0.31));
        assert_ne!(AggValue::Int(3), AggValue::Int(4));
        assert_eq!(AggValue::Float(f64::NAN), AggValue::Float(f64::NAN));
        assert_ne!(AggValue::Float(f64::NAN), AggValue::Float(0.0));
    }

    #[test]
    fn agg_values_print_as_json_numbers() {
        let mut out = Vec::new();
        AggValue::Float(2.0).write_json(&mut out);
        out.push(b' ');
        AggValue::Int(-7).write_json(&mut out);
        out.push(b' ');
        AggValue::Float(f64::NAN).write_json(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "2.0 -7 null");
    }
}
