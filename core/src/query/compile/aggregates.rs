//! `[[aggregate]]`s: the result columns of a windowed query, each a function over a slot
//! (`count` over none). In a window join an aggregate names the input whose events it
//! sees, except `count`, which then counts joined pairs.

use crate::model::event::{Part, SlotType};
use crate::query::compile::slots::Slots;
use crate::query::error::{invalid, QueryError};
use crate::query::plan::InputSpec;
use crate::query::spec::Query;
use crate::semantics::aggregate::{AggFn, AggSpec};
use crate::semantics::row::RESERVED_COLUMNS;

/// The aggregates, in result column order.
pub(super) fn compile(
    query: &Query,
    inputs: &[InputSpec],
    window_join: bool,
    slots: &mut Slots,
) -> Result<Vec<AggSpec>, QueryError> {
    let mut aggregates = Vec::new();
    for (i, a) in query.aggregates.iter().enumerate() {
        let key = format!("aggregate[{i}]");
        if a.name.is_empty() {
            return Err(invalid(format!("{key}.as"), "must not be empty"));
        }
        if RESERVED_COLUMNS.contains(&a.name.as_str()) || query.group_by.contains(&a.name) {
            return Err(invalid(
                format!("{key}.as"),
                format!("`{}` clashes with another result column", a.name),
            ));
        }
        if query.aggregates[..i].iter().any(|b| b.name == a.name) {
            return Err(invalid(
                format!("{key}.as"),
                format!("`{}` is used twice", a.name),
            ));
        }
        let input =
            match &a.input {
                None => None,
                Some(_) if !window_join => return Err(invalid(
                    format!("{key}.input"),
                    "only a window join ([[join]] kind = \"window\") has aggregates of one input",
                )),
                Some(name) => match inputs.iter().position(|i| i.name == *name) {
                    Some(i) => Some(i as Part),
                    None => {
                        return Err(invalid(
                            format!("{key}.input"),
                            format!("no [[input]] is named `{name}`"),
                        ))
                    }
                },
            };
        if window_join && input.is_none() && a.func != AggFn::Count {
            return Err(invalid(
                format!("{key}.input"),
                format!(
                    "in a window join {:?} must name the input whose field it reads (input = \"...\"); only count (of joined pairs) may leave it out",
                    a.func
                )
                .to_lowercase(),
            ));
        }
        let slot = match (a.func, &a.field) {
            (AggFn::Count, None) => None,
            (AggFn::Count, Some(_)) => {
                return Err(invalid(
                    format!("{key}.field"),
                    "count takes no field (it counts events)",
                ))
            }
            (_, None) => {
                return Err(invalid(
                    format!("{key}.field"),
                    format!("{:?} needs a field", a.func).to_lowercase(),
                ))
            }
            (func, Some(field)) => {
                let ty = if func == AggFn::CountDistinct {
                    SlotType::Any
                } else {
                    SlotType::Number
                };
                Some(slots.slot_for(field, ty, &format!("{key}.field"), input)?)
            }
        };
        aggregates.push(AggSpec {
            func: a.func,
            slot,
            name: a.name.clone(),
            input,
        });
    }
    Ok(aggregates)
}
