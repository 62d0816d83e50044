//! The event's slots: one per input field a query reads and scope (every event, or one
//! input's events only), each with the type every event must have there. Filters,
//! aggregates and projection columns ask for theirs; a field used with two types that no
//! value could both have is an error naming the key that asked second.

use crate::model::event::{Part, SlotType};
use crate::query::error::{invalid, QueryError};
use crate::query::plan::Slot;

/// The slots handed out so far, in slot order.
#[derive(Default)]
pub(super) struct Slots(Vec<Slot>);

impl Slots {
    /// The slot of `field` read from `input`'s events (`None`: every event), as type `ty`;
    /// `key` names the query key asking, for the error.
    pub(super) fn slot_for(
        &mut self,
        field: &str,
        ty: SlotType,
        key: &str,
        input: Option<Part>,
    ) -> Result<usize, QueryError> {
        let slots = &mut self.0;
        if let Some(i) = slots
            .iter()
            .position(|s| s.field == field && s.input == input)
        {
            let have = slots[i].ty;
            let merged = match (have, ty) {
                    (a, b) if a == b => a,
                    (SlotType::Any, b) => b,
                    (a, SlotType::Any) => a,
                    (a, b) => {
                        return Err(invalid(
                            key,
                            format!(
                                "field `{field}` is used both as {a:?} and as {b:?}: no event could satisfy both"
                            )
                            .to_lowercase(),
                        ))
                    }
                };
            slots[i].ty = merged;
            Ok(i)
        } else {
            slots.push(Slot {
                field: field.to_owned(),
                ty,
                input,
            });
            Ok(slots.len() - 1)
        }
    }

    /// The slots handed out so far.
    pub(super) fn as_slice(&self) -> &[Slot] {
        &self.0
    }

    /// The slots, for the plan.
    pub(super) fn into_vec(self) -> Vec<Slot> {
        self.0
    }
}
