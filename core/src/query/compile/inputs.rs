//! `[[input]]`s: each a named source with its own event-time field, watermark delay and
//! group-key fields (defaults: the query's). Their `[[input.filter]]`s are compiled with
//! the other filters ([`super::filters`]).

use crate::query::error::{invalid, QueryError};
use crate::query::plan::InputSpec;
use crate::query::spec::{InputFormat, Query};

/// `format` and `columns`: a column list only for CSV, with distinct non-empty names;
/// CSV for the one `--input` of a query (its `[[input]]`s read JSON Lines).
fn check_format(query: &Query) -> Result<(), QueryError> {
    let csv = query.format == Some(InputFormat::Csv);
    if csv && !query.inputs.is_empty() {
        return Err(invalid(
            "format",
            "CSV is read from --input; a query with [[input]]s reads JSON Lines",
        ));
    }
    let Some(columns) = &query.columns else {
        return Ok(());
    };
    if !csv {
        return Err(invalid(
            "columns",
            "names a CSV file's columns: set format = \"csv\" too",
        ));
    }
    if columns.is_empty() {
        return Err(invalid("columns", "must name at least one column"));
    }
    for (i, c) in columns.iter().enumerate() {
        if c.is_empty() {
            return Err(invalid("columns", format!("column {} has no name", i + 1)));
        }
        if columns[..i].contains(c) {
            return Err(invalid("columns", format!("`{c}` is listed twice")));
        }
    }
    Ok(())
}

/// The inputs, in query order (their index is their events' part).
pub(super) fn compile(query: &Query) -> Result<Vec<InputSpec>, QueryError> {
    check_format(query)?;
    let mut inputs = Vec::new();
    for (i, input) in query.inputs.iter().enumerate() {
        let key = format!("input[{i}]");
        if input.name.is_empty() {
            return Err(invalid(format!("{key}.name"), "must not be empty"));
        }
        if query.inputs[..i].iter().any(|o| o.name == input.name) {
            return Err(invalid(
                format!("{key}.name"),
                format!("`{}` names two inputs", input.name),
            ));
        }
        if input.path.is_empty() {
            return Err(invalid(format!("{key}.path"), "must not be empty"));
        }
        if input.event_time.as_deref() == Some("") {
            return Err(invalid(format!("{key}.event_time"), "must not be empty"));
        }
        let delay_ms = input.watermark_delay.unwrap_or(query.watermark.delay).ms();
        if delay_ms < 0 {
            return Err(invalid(
                format!("{key}.watermark_delay"),
                "must not be negative",
            ));
        }
        let group_by = match &input.group_by {
            None => query.group_by.clone(),
            Some(fields) => {
                if fields.len() != query.group_by.len() {
                    return Err(invalid(
                        format!("{key}.group_by"),
                        format!(
                            "names {} fields, the query's group_by {}: each input's key must have the same arity",
                            fields.len(),
                            query.group_by.len()
                        ),
                    ));
                }
                for (j, f) in fields.iter().enumerate() {
                    if f.is_empty() {
                        return Err(invalid(
                            format!("{key}.group_by"),
                            "field names must not be empty",
                        ));
                    }
                    if fields[..j].contains(f) {
                        return Err(invalid(
                            format!("{key}.group_by"),
                            format!("`{f}` is listed twice"),
                        ));
                    }
                }
                fields.clone()
            }
        };
        inputs.push(InputSpec {
            name: input.name.clone(),
            path: input.path.clone(),
            time_field: input
                .event_time
                .clone()
                .or_else(|| query.event_time.clone()),
            delay_ms,
            group_by,
            filters: Vec::new(),
        });
    }
    Ok(inputs)
}
