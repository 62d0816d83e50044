//! A query without `[window]` (a projection: one row per event, see
//! [`crate::ops::projection`]): its `[[select]]` columns and `where` condition, and the
//! checks that the rest of the query fits that shape.

use crate::model::event::{Part, SlotType};
use crate::ops::column::{Column, ColumnSource, ColumnType};
use crate::ops::computed_text::ComputedText;
use crate::ops::expr::text::{TextCondition, TextExpr};
use crate::ops::expr::{Condition, Expr};
use crate::ops::projection::Projection;
use crate::query::compile::slots::Slots;
use crate::query::error::{invalid, QueryError};
use crate::query::plan::InputSpec;
use crate::query::spec::{Query, SelectQuery};
use crate::semantics::row::OutputMode;

/// Whether the query's shape fits its kind: a query without `[window]` selects columns
/// and has no group, aggregate, other output mode or watermark; a windowed one has no
/// `[[select]]` or `where`.
pub(super) fn check_shape(query: &Query) -> Result<(), QueryError> {
    let projected = query.window.is_none();
    if projected {
        check_projection(query)?;
    } else if !query.select.is_empty() {
        return Err(invalid(
            "select",
            "a query with [window] aggregates: its columns are the [[aggregate]]s (leave out [window] for one row per event)",
        ));
    } else if query.condition.is_some() {
        return Err(invalid(
            "where",
            "only for queries without [window]; a windowed query filters with [[filter]]",
        ));
    }
    Ok(())
}

/// Why the rest of a query without `[window]` does not fit a projection, if it does not.
fn check_projection(query: &Query) -> Result<(), QueryError> {
    let why = "a query without [window] emits one row per event";
    if query.select.is_empty() {
        return Err(invalid(
            "window",
            "required, unless the query selects columns with [[select]] (one row per event)",
        ));
    }
    if !query.group_by.is_empty() {
        return Err(invalid("group_by", format!("{why}; it does not group")));
    }
    if !query.aggregates.is_empty() {
        return Err(invalid(
            "aggregate",
            format!("{why}; aggregates need a [window]"),
        ));
    }
    if query.output_mode != OutputMode::Append {
        return Err(invalid(
            "output_mode",
            format!("{why}, final when its event arrives: only `append`"),
        ));
    }
    if query.watermark.delay.ms() != 0 || query.inputs.iter().any(|i| i.watermark_delay.is_some()) {
        return Err(invalid(
            "watermark",
            format!("{why}: no window waits for a watermark, so a delay has no meaning"),
        ));
    }
    Ok(())
}

/// The projection of a query without `[window]` (`None` for a windowed one); the inputs
/// of a regular join name the input each column is read from.
pub(super) fn compile(
    query: &Query,
    inputs: &[InputSpec],
    regular_join: bool,
    slots: &mut Slots,
) -> Result<Option<Projection>, QueryError> {
    if query.window.is_some() {
        return Ok(None);
    }
    let joined: Vec<&str> = if regular_join {
        inputs.iter().map(|i| i.name.as_str()).collect()
    } else {
        Vec::new()
    };
    let p = columns(&query.select, query.condition.as_deref(), &joined, slots)?;
    for (field, ty) in &p.text {
        if let Some(s) = slots
            .as_slice()
            .iter()
            .find(|s| s.field == *field && s.ty != *ty)
        {
            return Err(invalid(
                "select",
                format!(
                    "field `{field}` is selected as {ty:?} but used as {:?}: no event could satisfy both",
                    s.ty
                )
                .to_lowercase(),
            ));
        }
    }
    Ok(Some(p))
}

/// Compiles the `[[select]]` entries and `where`, giving each field its event slot (as
/// filters and aggregates do). `joined` names the two inputs of a regular join (empty
/// otherwise): each column then names its input.
fn columns(
    select: &[SelectQuery],
    condition: Option<&str>,
    joined: &[&str],
    slots: &mut Slots,
) -> Result<Projection, QueryError> {
    let mut columns: Vec<Column> = Vec::new();
    let mut text = Vec::new();
    // String expressions' columns (by column index), placed after the read text values.
    let mut computed: Vec<(usize, TextExpr)> = Vec::new();
    // A field's type, where the query declares it (`type` of a selected field).
    let declared = |name: &str| {
        select
            .iter()
            .find(|s| s.field.as_deref() == Some(name))
            .map(|s| s.ty.unwrap_or_default() != ColumnType::Number)
    };
    for (i, s) in select.iter().enumerate() {
        let key = format!("select[{i}]");
        let input =
            match (&s.input, joined.is_empty()) {
                (None, true) => None,
                (Some(_), true) => return Err(invalid(
                    format!("{key}.input"),
                    "only a regular join ([[join]] kind = \"regular\") reads columns of one input",
                )),
                (None, false) => {
                    return Err(invalid(
                        format!("{key}.input"),
                        format!(
                    "a joined row has columns of two inputs: name the one this is read from ({})",
                    joined.join(" or ")
                ),
                    ))
                }
                (Some(name), false) => match joined.iter().position(|n| n == name) {
                    Some(i) => Some(i as Part),
                    None => {
                        return Err(invalid(
                            format!("{key}.input"),
                            format!("no [[input]] is named `{name}`"),
                        ))
                    }
                },
            };
        let (name, source) = match (&s.field, &s.expr) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    format!("{key}.expr"),
                    "give either `field` (pass it through) or `expr` (compute it), not both",
                ))
            }
            (None, None) => {
                return Err(invalid(
                    key,
                    "needs `field` (an input field) or `expr` with `as` (a computed column)",
                ))
            }
            (Some(field), None) => {
                if field.is_empty() {
                    return Err(invalid(format!("{key}.field"), "must not be empty"));
                }
                let fkey = format!("{key}.field");
                let source = match s.ty.unwrap_or_default() {
                    ColumnType::Number => ColumnSource::Field(slots.slot_for(
                        field,
                        SlotType::Number,
                        &fkey,
                        input,
                    )?),
                    ty => {
                        let slot = if ty == ColumnType::String {
                            SlotType::String
                        } else {
                            SlotType::Bool
                        };
                        if input.is_some() {
                            ColumnSource::TextSlot(slots.slot_for(field, slot, &fkey, input)?, ty)
                        } else {
                            text.push((field.clone(), slot));
                            ColumnSource::Text(text.len() - 1)
                        }
                    }
                };
                (s.name.clone().unwrap_or_else(|| field.clone()), source)
            }
            (None, Some(expr)) => {
                if s.ty.is_some() {
                    return Err(invalid(
                        format!("{key}.type"),
                        "a computed column's type follows from its expression",
                    ));
                }
                let name = s.name.clone().ok_or_else(|| {
                    invalid(format!("{key}.as"), "a computed column needs a name")
                })?;
                let ekey = format!("{key}.expr");
                if TextExpr::is_text(expr, &mut |f| declared(f)).map_err(|m| invalid(&ekey, m))? {
                    if input.is_some() {
                        return Err(invalid(
                            &ekey,
                            "string expressions are not supported in a regular join's columns",
                        ));
                    }
                    let mut e = TextExpr::parse(expr, &mut |f| declared(f))
                        .map_err(|m| invalid(&ekey, m))?;
                    let to = place_inputs(e.inputs(), &mut text, &ekey)?;
                    e.place(&to);
                    computed.push((columns.len(), e));
                    // (Its key position is set once all read text values are known.)
                    (name, ColumnSource::Text(usize::MAX))
                } else {
                    let mut e = Expr::parse(expr).map_err(|m| invalid(&ekey, m))?;
                    e.resolve(&mut |f| slots.slot_for(f, SlotType::Number, &ekey, input))?;
                    (name, ColumnSource::Computed(e))
                }
            }
        };
        if name.is_empty() {
            return Err(invalid(format!("{key}.as"), "must not be empty"));
        }
        if columns.iter().any(|c| c.name == name) {
            return Err(invalid(
                format!("{key}.as"),
                format!("`{name}` names two columns"),
            ));
        }
        columns.push(Column {
            name,
            source,
            input,
        });
    }
    let mut text_condition = None;
    let condition = match condition {
        None => None,
        Some(_) if !joined.is_empty() => {
            return Err(invalid(
                "where",
                "a regular join filters each input with its [[input.filter]]s; a `where` over both is not supported",
            ))
        }
        Some(cond) if TextExpr::is_text(cond, &mut |f| declared(f)).map_err(|m| invalid("where", m))? => {
            let mut c = TextCondition::parse(cond, &mut |f| declared(f))
                .map_err(|m| invalid("where", m))?;
            let to = place_inputs(c.inputs(), &mut text, "where")?;
            c.place(&to);
            text_condition = Some(c);
            None
        }
        Some(cond) => {
            let mut c = Condition::parse(cond).map_err(|m| invalid("where", m))?;
            c.resolve(&mut |f| slots.slot_for(f, SlotType::Number, "where", None))?;
            Some(c)
        }
    };
    let read = text.len();
    for (i, (column, _)) in computed.iter().enumerate() {
        columns[*column].source = ColumnSource::Text(read + i);
    }
    let computed = ComputedText {
        read,
        columns: computed.into_iter().map(|(_, e)| e).collect(),
        condition: text_condition,
    };
    Ok(Projection::new(
        columns,
        condition,
        text,
        computed,
        !joined.is_empty(),
    ))
}

/// The key positions of a string expression's inputs: a field already among the key's
/// read values keeps its place (read the same way), a new one is added.
fn place_inputs(
    inputs: &[(String, bool)],
    text: &mut Vec<(String, SlotType)>,
    key: &str,
) -> Result<Vec<usize>, QueryError> {
    inputs
        .iter()
        .map(|(name, is_text)| {
            let ty = if *is_text {
                SlotType::String
            } else {
                SlotType::Number
            };
            match text.iter().position(|(f, _)| f == name) {
                Some(i) if text[i].1 == ty => Ok(i),
                Some(i) => Err(invalid(
                    key,
                    format!(
                        "field `{name}` is read as {:?} here and as {:?} elsewhere",
                        ty, text[i].1
                    )
                    .to_lowercase(),
                )),
                None => {
                    text.push((name.clone(), ty));
                    Ok(text.len() - 1)
                }
            }
        })
        .collect()
}
