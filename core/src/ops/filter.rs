//! Filters: a `[[filter]]` (or `[[input.filter]]`) compiled to a [`Predicate`] on one event
//! slot, and the comparison operators filters and `where` conditions share ([`CmpOp`]).
//! Engines apply the plan's predicates before anything else; the decoder applies an
//! input's own to pick that input's lines of a shared file.

use crate::model::value::Scalar;
use serde::{Deserialize, Serialize};

/// Comparison operators of `[[filter]]`s and of a projection's `where` condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// less than
    Lt,
    /// less than or equal
    Le,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// equal to one of a list (`value = ["OR", "ID", "CA"]`, SQL's `IN`); filters only
    In,
}

/// A compiled filter: `fields[slot] op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// Index into the event's fields.
    pub slot: usize,
    /// Comparison.
    pub op: CmpOp,
    /// Constant; strings are interned with ids `0..` in the order of the plan's
    /// [`string_constants`](crate::query::Plan::string_constants).
    /// For `in`, the list's first constant.
    pub value: Scalar,
    /// For `in`: every constant of the list (empty otherwise).
    pub one_of: std::sync::Arc<[Scalar]>,
}

impl Predicate {
    /// Whether the event field satisfies the predicate. The decoder guarantees the field
    /// has the type of the constant, so only like types are ever compared here.
    #[inline]
    pub fn holds(&self, field: Scalar) -> bool {
        use std::cmp::Ordering::*;
        match self.op {
            CmpOp::Eq => field == self.value || field.cmp_numeric(self.value) == Some(Equal),
            CmpOp::Ne => !(field == self.value || field.cmp_numeric(self.value) == Some(Equal)),
            CmpOp::Lt => field.cmp_numeric(self.value) == Some(Less),
            CmpOp::Le => matches!(field.cmp_numeric(self.value), Some(Less | Equal)),
            CmpOp::Gt => field.cmp_numeric(self.value) == Some(Greater),
            CmpOp::Ge => matches!(field.cmp_numeric(self.value), Some(Greater | Equal)),
            CmpOp::In => self
                .one_of
                .iter()
                .any(|v| field == *v || field.cmp_numeric(*v) == Some(Equal)),
        }
    }
}
