//! Windows as Flink and Spark write them, onto the lab's `[window]`: Flink's window table
//! functions in `FROM` (`TABLE(TUMBLE(TABLE t, DESCRIPTOR(et), INTERVAL '10' SECOND))`,
//! `HOP` with the slide before the size, `SESSION` with `PARTITION BY`), and Spark's
//! grouping functions (`GROUP BY window(ts, '10 seconds', '5 seconds')`,
//! `session_window(ts, '10 seconds')`).

use crate::model::duration::DurationMs;
use crate::query::spec::{TimeDomain, WindowKind, WindowQuery};
use crate::query::sql::ddl::Table;
use crate::query::sql::dialect::call_args;
use crate::query::sql::dialect::TABLE_ARG;
use crate::query::sql::error::SqlError;
use crate::query::sql::interval::interval_ms;
use sqlparser::ast::{Expr, Function, Ident, Spanned};

/// A window a query groups by.
#[derive(Clone, Debug)]
pub struct SqlWindow {
    /// The lab's window.
    pub window: WindowQuery,
    /// The event-time field (for processing time too, when the table has one: the
    /// oracle places events by it).
    pub event_time: Option<String>,
    /// A session's `PARTITION BY` columns (Flink), which must be the grouping keys.
    pub partition_by: Option<Vec<Ident>>,
    /// The time column, for the watermark's check.
    pub time_column: Ident,
}

/// The table a window table function reads and its window: `f` is the call inside
/// `FROM TABLE(...)`.
pub fn table_function<'t>(
    tables: &'t [Table],
    f: &Function,
) -> Result<(&'t Table, SqlWindow), SqlError> {
    let name = f.name.to_string().to_uppercase();
    let args = call_args(f)?;
    let span = f.name.span();
    let (data, rest) = match args.split_first() {
        Some((Expr::Function(t), rest)) if t.name.to_string() == TABLE_ARG => (t, rest),
        _ => {
            return Err(SqlError::at(
                span,
                format!(
                "{name} takes `TABLE name` first: {name}(TABLE t, DESCRIPTOR(time_column), ...)"
            ),
            ))
        }
    };
    let data_args = call_args(data)?;
    let idents: Vec<&Ident> = data_args
        .iter()
        .filter_map(|e| match e {
            Expr::Identifier(i) => Some(i),
            _ => None,
        })
        .collect();
    let table_name = idents[0];
    let table = find_table(tables, table_name)?;
    let partition_by: Vec<Ident> = idents[1..].iter().map(|i| (*i).clone()).collect();
    let (time_column, sizes) = match rest.split_first() {
        Some((Expr::Function(d), sizes)) if d.name.to_string().eq_ignore_ascii_case("DESCRIPTOR") => {
            match call_args(d)?.as_slice() {
                [Expr::Identifier(c)] => (c.clone(), sizes),
                _ => return Err(SqlError::at(d.name.span(), "DESCRIPTOR names one time column")),
            }
        }
        _ => {
            return Err(SqlError::at(
                span,
                format!("{name} takes the time column second: {name}(TABLE t, DESCRIPTOR(time_column), ...)"),
            ))
        }
    };
    let durations = sizes
        .iter()
        .map(interval_ms)
        .collect::<Result<Vec<_>, _>>()?;
    let arity = |n: usize, shape: &str| -> Result<(), SqlError> {
        if durations.len() == n {
            Ok(())
        } else {
            Err(SqlError::at(span, format!("{name} takes {shape}")))
        }
    };
    let (kind, size, slide, gap) = match name.as_str() {
        "TUMBLE" => {
            arity(
                1,
                "one size: TUMBLE(TABLE t, DESCRIPTOR(c), INTERVAL '10' SECOND)",
            )?;
            (WindowKind::Tumbling, Some(durations[0]), None, None)
        }
        "HOP" => {
            arity(2, "a slide and a size, the slide first: HOP(TABLE t, DESCRIPTOR(c), INTERVAL '5' SECOND, INTERVAL '10' SECOND)")?;
            let (slide, size) = (durations[0], durations[1]);
            if slide > size {
                return Err(SqlError::at(
                    sizes[0].span(),
                    format!(
                        "HOP takes the slide before the size: a slide of {} is longer than the size {}",
                        DurationMs(slide),
                        DurationMs(size)
                    ),
                ));
            }
            (WindowKind::Sliding, Some(size), Some(slide), None)
        }
        "SESSION" => {
            arity(
                1,
                "one gap: SESSION(TABLE t PARTITION BY k, DESCRIPTOR(c), INTERVAL '5' SECOND)",
            )?;
            (WindowKind::Session, None, None, Some(durations[0]))
        }
        "CUMULATE" => {
            return Err(SqlError::at(
                span,
                "CUMULATE windows are not in the lab's window model (tumbling, sliding, session)",
            ))
        }
        _ => {
            return Err(SqlError::at(
                span,
                format!("`{name}` is not a window table function: use TUMBLE, HOP or SESSION"),
            ))
        }
    };
    if kind != WindowKind::Session && !partition_by.is_empty() {
        return Err(SqlError::at(
            span,
            format!("{name} takes no PARTITION BY (only SESSION does)"),
        ));
    }
    let window = window_of(table, &time_column, kind, size, slide, gap)?;
    Ok((
        table,
        SqlWindow {
            partition_by: (kind == WindowKind::Session).then_some(partition_by),
            ..window
        },
    ))
}

/// Spark's `window(ts, size[, slide])` or `session_window(ts, gap)` in a `GROUP BY`, if
/// `expr` is one.
pub fn spark_window(table: &Table, expr: &Expr) -> Result<Option<SqlWindow>, SqlError> {
    let Expr::Function(f) = expr else {
        return Ok(None);
    };
    let name = f.name.to_string().to_lowercase();
    if name != "window" && name != "session_window" {
        return Ok(None);
    }
    let args = call_args(f)?;
    let Some((Expr::Identifier(column), sizes)) = args.split_first() else {
        return Err(SqlError::at(
            f.name.span(),
            format!("{name} takes the time column first"),
        ));
    };
    let d = sizes
        .iter()
        .map(interval_ms)
        .collect::<Result<Vec<_>, _>>()?;
    let w = match (name.as_str(), d.as_slice()) {
        ("window", [size]) => window_of(table, column, WindowKind::Tumbling, Some(*size), None, None),
        ("window", [size, slide]) => {
            if slide > size {
                return Err(SqlError::at(
                    sizes[1].span(),
                    format!(
                        "window takes the size before the slide (Spark's order): a slide of {} is longer than the size {}",
                        DurationMs(*slide),
                        DurationMs(*size)
                    ),
                ));
            }
            let kind = if slide == size { WindowKind::Tumbling } else { WindowKind::Sliding };
            let slide = (slide != size).then_some(*slide);
            window_of(table, column, kind, Some(*size), slide, None)
        }
        ("session_window", [gap]) => window_of(table, column, WindowKind::Session, None, None, Some(*gap)),
        _ => {
            return Err(SqlError::at(
                f.name.span(),
                format!("{name} takes (time_column, size[, slide]) for window, (time_column, gap) for session_window; a start offset is not supported"),
            ))
        }
    }?;
    Ok(Some(w))
}

fn window_of(
    table: &Table,
    column: &Ident,
    kind: WindowKind,
    size: Option<i64>,
    slide: Option<i64>,
    gap: Option<i64>,
) -> Result<SqlWindow, SqlError> {
    let field = table.time_attribute(column)?;
    let time = if field.is_some() {
        TimeDomain::Event
    } else {
        TimeDomain::Processing
    };
    // A processing-time window still has the table's event time, if it declares one.
    let event_time = field.or_else(|| {
        table
            .watermark
            .as_ref()
            .and_then(|(c, _)| table.time_attribute(c).ok().flatten())
    });
    Ok(SqlWindow {
        window: WindowQuery {
            kind,
            size: size.map(DurationMs),
            slide: slide.map(DurationMs),
            gap: gap.map(DurationMs),
            time,
        },
        event_time,
        partition_by: None,
        time_column: column.clone(),
    })
}

/// The table named `name`, or an error listing the declared ones.
pub fn find_table<'t>(tables: &'t [Table], name: &Ident) -> Result<&'t Table, SqlError> {
    tables
        .iter()
        .find(|t| t.name.value == name.value)
        .ok_or_else(|| {
            SqlError::at(
                name.span,
                format!(
                    "table `{}` is not declared{}",
                    name.value,
                    crate::query::sql::error::did_you_mean(
                        &name.value,
                        tables.iter().map(|t| t.name.value.as_str())
                    )
                ),
            )
        })
}
