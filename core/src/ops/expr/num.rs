//! The numbers expressions compute ([`Num`], with no value as SQL's NULL), the
//! arithmetic operators on them, and comparing them (the rules: [`super`]'s doc).

use crate::model::value::AggValue;
use crate::ops::filter::CmpOp;

/// A number an expression computes, or none (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// No value: overflow, division by zero, a non-finite float.
    Null,
}

impl Num {
    pub(crate) fn float(f: f64) -> Num {
        if f.is_finite() {
            Num::Float(f)
        } else {
            Num::Null
        }
    }

    /// The value as a float; none without one.
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Num::Int(i) => Some(i as f64),
            Num::Float(f) => Some(f),
            Num::Null => None,
        }
    }

    /// The value as a result-row value; no value is a NaN float, which rows print as
    /// `null`.
    pub fn to_agg(self) -> AggValue {
        match self {
            Num::Int(i) => AggValue::Int(i),
            Num::Float(f) => AggValue::Float(f),
            Num::Null => AggValue::Float(f64::NAN),
        }
    }
}

/// A binary arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    pub(super) fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
            BinOp::Rem => '%',
        }
    }

    /// Applies the operator by the rules of the module doc.
    pub fn apply(self, a: Num, b: Num) -> Num {
        match (a, b) {
            (Num::Null, _) | (_, Num::Null) => Num::Null,
            (Num::Int(x), Num::Int(y)) => {
                let r = match self {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    // i64::MIN % -1 is 0, not an overflow.
                    BinOp::Rem => (y != 0).then(|| x.wrapping_rem(y)),
                };
                r.map_or(Num::Null, Num::Int)
            }
            (a, b) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                Num::float(match self {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                })
            }
        }
    }
}

/// `a op b` on numbers: integers exactly, otherwise as floats; false with no value.
pub fn compare(a: Num, op: CmpOp, b: Num) -> bool {
    compare_known(a, op, b) == Some(true)
}

/// `a op b` on numbers; unknown (`None`) with no value on a side.
pub(super) fn compare_known(a: Num, op: CmpOp, b: Num) -> Option<bool> {
    use std::cmp::Ordering::*;
    let ord = match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    }?;
    Some(match op {
        // A condition never holds `in` (a list is an `Or` of equalities).
        CmpOp::Eq | CmpOp::In => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    })
}
