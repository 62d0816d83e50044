//! `[[join]]` (at most one): a static join names its table and `on` field; a window join
//! needs two or more `[[input]]`s and no `on`; a regular join needs exactly two inputs,
//! each with its own `on` field, which becomes that input's group key. An input's `on` is
//! refused unless the join is regular.

use crate::query::error::{invalid, QueryError};
use crate::query::plan::InputSpec;
use crate::query::spec::{JoinKind, JoinQuery, Query};

/// Which join the query has, as the rest of compiling needs to know it.
pub(super) struct Joins {
    /// `[[join]] kind = "window"`: the inputs are joined per window and key.
    pub(super) window: bool,
    /// `[[join]] kind = "regular"`: the inputs are paired on their `on` fields.
    pub(super) regular: bool,
}

/// Checks the query's `[[join]]` against its inputs; a regular join keys each input by
/// its `on` field.
pub(super) fn compile(query: &Query, inputs: &mut [InputSpec]) -> Result<Joins, QueryError> {
    let window_join = match query.joins.as_slice() {
        [] => false,
        [j] if j.kind == JoinKind::Static => {
            for (k, v) in [("table", &j.table), ("on", &j.on)] {
                match v.as_deref() {
                    None => {
                        return Err(invalid(
                            format!("join[0].{k}"),
                            "required for a static join",
                        ))
                    }
                    Some("") => return Err(invalid(format!("join[0].{k}"), "must not be empty")),
                    Some(_) => {}
                }
            }
            false
        }
        [j] if j.kind == JoinKind::Regular => {
            check_regular(query, j)?;
            for (spec, input) in inputs.iter_mut().zip(&query.inputs) {
                spec.group_by = vec![input.on.clone().expect("checked")];
            }
            false
        }
        [j] => {
            for (k, v) in [("table", &j.table), ("on", &j.on)] {
                if v.is_some() {
                    return Err(invalid(
                        format!("join[0].{k}"),
                        "not used by a window join: it joins the [[input]]s on their group_by fields",
                    ));
                }
            }
            if inputs.len() < 2 {
                return Err(invalid(
                    "join[0].kind",
                    "a window join joins two or more [[input]]s; name them in the query",
                ));
            }
            true
        }
        _ => return Err(invalid("join", "one [[join]] per query for now")),
    };
    let regular_join = query
        .joins
        .first()
        .is_some_and(|j| j.kind == JoinKind::Regular);
    if !regular_join {
        if let Some(i) = query.inputs.iter().position(|i| i.on.is_some()) {
            return Err(invalid(
                format!("input[{i}].on"),
                "only a regular join ([[join]] kind = \"regular\") joins inputs on a field",
            ));
        }
    }
    Ok(Joins {
        window: window_join,
        regular: regular_join,
    })
}

/// Why a query's `[[join]] kind = "regular"` cannot run (see
/// [`crate::ops::joins::regular`]), if it cannot.
fn check_regular(query: &Query, join: &JoinQuery) -> Result<(), QueryError> {
    for (k, v) in [("table", &join.table), ("on", &join.on)] {
        if v.is_some() {
            return Err(invalid(
                format!("join[0].{k}"),
                "not used by a regular join: each [[input]] names its own `on` field",
            ));
        }
    }
    if query.window.is_some() {
        return Err(invalid(
            "window",
            "a regular join has no window: it emits one row per joined pair, with [[select]] columns (kind = \"window\" joins per window)",
        ));
    }
    if query.inputs.len() != 2 {
        return Err(invalid(
            "join[0].kind",
            format!(
                "a regular join joins two [[input]]s; the query names {}",
                query.inputs.len()
            ),
        ));
    }
    for (i, input) in query.inputs.iter().enumerate() {
        match input.on.as_deref() {
            None => {
                return Err(invalid(
                    format!("input[{i}].on"),
                    "required for a regular join: the field matched with the other input's",
                ))
            }
            Some("") => return Err(invalid(format!("input[{i}].on"), "must not be empty")),
            Some(_) => {}
        }
        if input.group_by.is_some() {
            return Err(invalid(
                format!("input[{i}].group_by"),
                "a regular join does not group; its inputs meet on `on`",
            ));
        }
    }
    Ok(())
}
