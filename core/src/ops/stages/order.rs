//! A total order on values, for the sorted state of min/max and top-N: integers exactly,
//! integers and floats by numeric value (an integer before an equal float), floats by
//! `total_cmp` (so no value, NaN, sorts last and a row holding it still has a place).

use crate::model::value::AggValue;
use std::cmp::Ordering;

/// A value in a total order.
#[derive(Clone, Copy, Debug)]
pub struct Ordered(pub AggValue);

impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.0, other.0) {
            (AggValue::Int(a), AggValue::Int(b)) => a.cmp(&b),
            (AggValue::Float(a), AggValue::Float(b)) => a.total_cmp(&b),
            (AggValue::Int(a), AggValue::Float(b)) => (a as f64).total_cmp(&b).then(Ordering::Less),
            (AggValue::Float(a), AggValue::Int(b)) => {
                a.total_cmp(&(b as f64)).then(Ordering::Greater)
            }
        }
    }
}

impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Ordered {}

/// A value's identity in hashed state: integers exactly, floats by their bits.
pub fn bits(v: AggValue) -> (bool, u64) {
    match v {
        AggValue::Int(i) => (false, i as u64),
        AggValue::Float(f) => (true, f.to_bits()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_order_by_value_and_nan_last() {
        let mut v = [
            Ordered(AggValue::Float(f64::NAN)),
            Ordered(AggValue::Float(2.5)),
            Ordered(AggValue::Int(2)),
            Ordered(AggValue::Int(i64::MAX)),
            Ordered(AggValue::Int(i64::MAX - 1)),
            Ordered(AggValue::Float(2.0)),
        ];
        v.sort();
        let shown: Vec<String> = v.iter().map(|o| format!("{:?}", o.0)).collect();
        assert_eq!(
            shown,
            [
                "Int(2)",
                "Float(2.0)",
                "Float(2.5)",
                "Int(9223372036854775806)",
                "Int(9223372036854775807)",
                "Float(NaN)"
            ]
        );
    }
}
