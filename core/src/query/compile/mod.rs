//! Compiling a [`Query`] into a [`Plan`], one section of the file per module, in the
//! order the checks run (which decides the error a query with several faults gets):
//!
//! 1. [`select`]: the query's shape (a projection without `[window]`, or windowed);
//! 2. [`window`]: the window and its clock;
//! 3. [`inputs`]: the `[[input]]`s;
//! 4. [`joins`]: the `[[join]]`;
//! 5. here: the number of inputs, `event_time`, `group_by`, that a windowed query
//!    aggregates;
//! 6. [`filters`], [`aggregates`], then [`select`]'s columns, each taking its fields'
//!    event slots from one [`slots::Slots`];
//! 7. [`stages`]: the `[[stage]]`s after the first, over the first stage's columns.

mod aggregates;
mod filters;
mod inputs;
mod joins;
mod select;
mod slots;
pub(crate) mod stages;
mod window;

use crate::model::event::Part;
use crate::ops::joins::window::RowRule;
use crate::query::error::{invalid, QueryError};
use crate::query::plan::Plan;
use crate::query::spec::Query;
use crate::query::sql::{self, SqlError, SqlOptions};
use crate::semantics::row::RESERVED_COLUMNS;
use std::path::Path;

/// The line of `text` an error points at, with a caret under its column.
fn snippet(text: &str, error: &SqlError) -> String {
    let Some(line) = usize::try_from(error.line)
        .ok()
        .filter(|l| *l > 0)
        .and_then(|l| text.lines().nth(l - 1))
    else {
        return String::new();
    };
    let pad = " ".repeat(usize::try_from(error.column).unwrap_or(1).saturating_sub(1));
    format!("\n  {line}\n  {pad}^")
}

/// An output mode the query cannot have, refused with Spark's reason.
fn check_sql_output_mode(query: &Query) -> Result<(), SqlError> {
    use crate::semantics::row::OutputMode;
    match (query.window.is_some(), query.output_mode) {
        (false, OutputMode::Complete) => Err(SqlError::whole(
            "--output-mode complete: Complete output mode not supported when there are no streaming aggregations on streaming DataFrames/Datasets (Spark's reason); a query without a window runs in append mode",
        )),
        (false, OutputMode::Update) => Err(SqlError::whole(
            "--output-mode update: a query without a window emits each row once, final when its event arrives: run it in append mode (Spark's update mode gives the same rows)",
        )),
        _ => Ok(()),
    }
}

impl Plan {
    /// Reads and compiles a query file, SQL for a `.sql` file (with default options, see
    /// [`Plan::from_sql_file`]), else TOML; errors name the file and the key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Plan, QueryError> {
        let path = path.as_ref();
        if sql::is_sql_file(path) {
            return Plan::from_sql_file(path, &SqlOptions::default());
        }
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| QueryError::Read {
            path: shown.clone(),
            cause,
        })?;
        Plan::from_toml(&text).map_err(|e| match e {
            QueryError::Syntax { message, .. } => QueryError::Syntax {
                path: shown,
                message,
            },
            QueryError::Invalid { key, message, .. } => QueryError::Invalid {
                path: Some(shown),
                key,
                message,
            },
            other => other,
        })
    }

    /// Reads and compiles a SQL script; errors name the file, line and column.
    pub fn from_sql_file(path: impl AsRef<Path>, options: &SqlOptions) -> Result<Plan, QueryError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|cause| QueryError::Read {
            path: shown.clone(),
            cause,
        })?;
        Plan::from_sql(&text, options).map_err(|e| match e {
            QueryError::Sql { error, snippet, .. } => QueryError::Sql {
                path: Some(shown.clone()),
                error,
                snippet,
            },
            QueryError::Invalid { key, message, .. } => QueryError::Invalid {
                path: Some(shown.clone()),
                key,
                message,
            },
            other => other,
        })
    }

    /// Compiles a SQL script (see [`crate::query::sql`]) onto the plan its TOML twin gets.
    pub fn from_sql(text: &str, options: &SqlOptions) -> Result<Plan, QueryError> {
        let located = |error: SqlError| QueryError::Sql {
            snippet: snippet(text, &error),
            path: None,
            error,
        };
        let compiled = sql::compile(text, options).map_err(located)?;
        check_sql_output_mode(&compiled.query).map_err(located)?;
        let mut plan = Plan::compile(compiled.query)?;
        plan.default_input = compiled.input;
        Ok(plan)
    }

    /// Parses and compiles query text.
    pub fn from_toml(text: &str) -> Result<Plan, QueryError> {
        let query: Query = toml::from_str(text).map_err(|e| QueryError::Syntax {
            path: "<text>".into(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Plan::compile(query)
    }

    /// Validates a query and resolves its fields.
    pub fn compile(query: Query) -> Result<Plan, QueryError> {
        if !query.stages.is_empty() {
            // The first stage is the query without its later stages, emitting a window's
            // rows when it closes; the later stages read them.
            let mut first = query.clone();
            first.stages.clear();
            first.output_mode = crate::semantics::row::OutputMode::Append;
            let mut plan = Plan::compile(first)?;
            let (kind, schema) =
                stages::first_schema(&query, plan.projection.as_ref(), &plan.aggregates);
            plan.stages = stages::compile(&query, kind, schema)?;
            plan.query = query;
            return Ok(plan);
        }
        let projected = query.window.is_none();
        select::check_shape(&query)?;
        let (window, time) = window::compile(&query)?;
        let mut inputs = inputs::compile(&query)?;
        let joins = joins::compile(&query, &mut inputs)?;
        if inputs.len() > usize::from(Part::MAX) {
            return Err(invalid("input", "too many inputs"));
        }
        if query.event_time.as_deref() == Some("") {
            return Err(invalid("event_time", "must not be empty"));
        }
        for (i, g) in query.group_by.iter().enumerate() {
            if g.is_empty() {
                return Err(invalid("group_by", "field names must not be empty"));
            }
            if query.group_by[..i].contains(g) {
                return Err(invalid("group_by", format!("`{g}` is listed twice")));
            }
            if RESERVED_COLUMNS.contains(&g.as_str()) {
                return Err(invalid(
                    "group_by",
                    format!("`{g}` clashes with a result column"),
                ));
            }
        }
        if query.aggregates.is_empty() && !projected {
            return Err(invalid(
                "aggregate",
                "at least one [[aggregate]] is required",
            ));
        }

        let mut slots = slots::Slots::default();
        let (filters, string_constants) = filters::compile(&query, &mut inputs, &mut slots)?;
        let aggregates = aggregates::compile(&query, &inputs, joins.window, &mut slots)?;
        let (accumulators, row_rule) = if joins.window {
            crate::ops::joins::window::compile(inputs.len(), &aggregates)
        } else {
            (aggregates.clone(), RowRule::default())
        };
        let projection = select::compile(&query, &inputs, joins.regular, &mut slots)?;
        Ok(Plan {
            projection,
            window,
            time,
            delay_ms: query.watermark.delay.ms(),
            mode: query.output_mode,
            slots: slots.into_vec(),
            filters,
            aggregates,
            accumulators,
            row_rule,
            string_constants,
            inputs,
            table: None,
            default_input: None,
            stages: None,
            query,
        })
    }
}
