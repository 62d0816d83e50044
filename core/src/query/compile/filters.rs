//! `[[filter]]`s (every event must pass them) and each input's `[[input.filter]]`s (which
//! lines of its file belong to it, checked while decoding; see [`InputSpec::filters`]):
//! each becomes a [`Predicate`] on a slot. String constants are interned with ids `0..`
//! in the order they first appear, so a filter compares ids, not text.

use crate::model::event::{Part, SlotType};
use crate::model::value::Scalar;
use crate::ops::filter::{CmpOp, Predicate};
use crate::query::compile::slots::Slots;
use crate::query::error::{invalid, QueryError};
use crate::query::plan::InputSpec;
use crate::query::spec::{FilterValue, Literal, Query};
use std::sync::Arc;

/// The query's filters (each input's go into its [`InputSpec::filters`]) and the string
/// constants of all of them.
pub(super) fn compile(
    query: &Query,
    inputs: &mut [InputSpec],
    slots: &mut Slots,
) -> Result<(Vec<Predicate>, Vec<String>), QueryError> {
    let mut string_constants = Vec::new();
    // `[[filter]]`s hold for every event; an input's `[[input.filter]]`s select the
    // lines of its file that belong to it (checked while decoding, see InputSpec).
    let scoped_filters = std::iter::once((None, "filter".to_owned(), &query.filters)).chain(
        query.inputs.iter().enumerate().map(|(i, input)| {
            (
                Some(i as Part),
                format!("input[{i}].filter"),
                &input.filters,
            )
        }),
    );
    let mut filters = Vec::new();
    for (scope, prefix, list) in scoped_filters {
        for (i, f) in list.iter().enumerate() {
            let key = format!("{prefix}[{i}]");
            if f.field.is_empty() {
                return Err(invalid(format!("{key}.field"), "must not be empty"));
            }
            let ordered = !matches!(f.op, CmpOp::Eq | CmpOp::Ne | CmpOp::In);
            let literals: &[Literal] = match (&f.value, f.op) {
                (FilterValue::List(list), CmpOp::In) if list.is_empty() => {
                    return Err(invalid(
                        format!("{key}.value"),
                        "`in` needs at least one value",
                    ))
                }
                (FilterValue::List(list), CmpOp::In) => list,
                (FilterValue::One(_), CmpOp::In) => {
                    return Err(invalid(
                        format!("{key}.value"),
                        "`in` takes a list of values, e.g. value = [\"OR\", \"ID\"]",
                    ))
                }
                (FilterValue::List(_), op) => {
                    return Err(invalid(
                        format!("{key}.value"),
                        format!("a list of values is for `in`; {op:?} compares with one")
                            .to_lowercase(),
                    ))
                }
                (FilterValue::One(one), _) => std::slice::from_ref(one),
            };
            let mut ty = None;
            let mut values = Vec::with_capacity(literals.len());
            for literal in literals {
                let (t, value) = match literal {
                    Literal::Int(v) => (SlotType::Number, Scalar::Int(*v)),
                    Literal::Float(v) => (SlotType::Number, Scalar::Float(*v)),
                    Literal::Bool(v) if !ordered => (SlotType::Bool, Scalar::Bool(*v)),
                    Literal::Str(v) if !ordered => {
                        let id = match string_constants.iter().position(|s| s == v) {
                            Some(id) => id,
                            None => {
                                string_constants.push(v.clone());
                                string_constants.len() - 1
                            }
                        };
                        (SlotType::String, Scalar::Str(id as u32))
                    }
                    _ => {
                        return Err(invalid(
                            format!("{key}.op"),
                            format!(
                            "{:?} compares numbers only; use eq, ne or in for strings and booleans",
                            f.op
                        )
                            .to_lowercase(),
                        ))
                    }
                };
                if ty.is_some_and(|have| have != t) {
                    return Err(invalid(
                        format!("{key}.value"),
                        "the values of one `in` list must all have one type",
                    ));
                }
                ty = Some(t);
                values.push(value);
            }
            let ty = ty.expect("at least one value");
            let slot = slots.slot_for(&f.field, ty, &format!("{key}.field"), scope)?;
            let predicate = Predicate {
                slot,
                op: f.op,
                value: values[0],
                one_of: if f.op == CmpOp::In {
                    values.into()
                } else {
                    Arc::from([])
                },
            };
            match scope {
                None => filters.push(predicate),
                Some(p) => inputs[usize::from(p)].filters.push(predicate),
            }
        }
    }
    Ok((filters, string_constants))
}
