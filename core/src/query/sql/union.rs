//! `CREATE VIEW v AS SELECT * FROM a UNION ALL SELECT * FROM b`: the lab's union of named
//! inputs (`[[input]]`s), each table a source with its own file and watermark (the
//! query's is the minimum over them). The view is a table of its own name with the first
//! table's columns, time attribute and watermark; every table must declare the same
//! columns.

use crate::model::duration::DurationMs;
use crate::query::spec::{InputQuery, Query};
use crate::query::sql::ddl::Table;
use crate::query::sql::error::SqlError;
use crate::query::sql::source::source;
use crate::query::sql::windows::find_table;
use sqlparser::ast::{
    CreateView, Ident, SelectItem, SetExpr, SetOperator, SetQuantifier, Spanned, TableFactor,
};

/// The view as a table, and the indices of its tables in `tables`.
pub fn view(tables: &[Table], create: &CreateView) -> Result<(Table, Vec<usize>), SqlError> {
    let name = create
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .cloned()
        .unwrap_or_else(|| Ident::new(create.name.to_string()));
    let mut members = Vec::new();
    branches(tables, &create.query.body, &mut members)?;
    let first = &tables[members[0]];
    for &m in &members[1..] {
        let t = &tables[m];
        let same = t.columns.len() == first.columns.len()
            && t.columns
                .iter()
                .zip(&first.columns)
                .all(|(a, b)| a.name.value == b.name.value && a.ty == b.ty);
        if !same {
            return Err(SqlError::at(
                t.name.span,
                format!(
                    "`{}` and `{}` declare other columns: a UNION ALL reads tables of one schema",
                    t.name.value, first.name.value
                ),
            ));
        }
        if t.watermark.is_none() != first.watermark.is_none() {
            return Err(SqlError::at(
                t.name.span,
                "every table of a UNION ALL declares a WATERMARK, or none does",
            ));
        }
    }
    let table = Table {
        name,
        columns: first.columns.clone(),
        computed: first.computed.clone(),
        watermark: first.watermark.clone(),
        options: Vec::new(),
    };
    Ok((table, members))
}

/// The tables of `SELECT * FROM a UNION ALL SELECT * FROM b ...`.
fn branches(tables: &[Table], body: &SetExpr, out: &mut Vec<usize>) -> Result<(), SqlError> {
    match body {
        SetExpr::SetOperation {
            left,
            op: SetOperator::Union,
            set_quantifier: SetQuantifier::All,
            right,
        } => {
            branches(tables, left, out)?;
            branches(tables, right, out)
        }
        SetExpr::Select(s) => {
            let plain = matches!(s.projection.as_slice(), [SelectItem::Wildcard(_)])
                && s.selection.is_none()
                && s.from.len() == 1
                && s.from[0].joins.is_empty();
            let table = match (&s.from.first().map(|f| &f.relation), plain) {
                (Some(TableFactor::Table { name, .. }), true) => name,
                _ => {
                    return Err(SqlError::at(
                        s.span(),
                        "a view is a UNION ALL of `SELECT * FROM table`s",
                    ))
                }
            };
            let ident = table
                .0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .unwrap_or_else(|| Ident::new(table.to_string()));
            let t = find_table(tables, &ident)?;
            let index = tables
                .iter()
                .position(|x| std::ptr::eq(x, t))
                .expect("found among them");
            if out.contains(&index) {
                return Err(SqlError::at(
                    ident.span,
                    format!("`{}` is in the union twice", ident.value),
                ));
            }
            out.push(index);
            Ok(())
        }
        other => Err(SqlError::at(
            other.span(),
            "a view is a UNION ALL of `SELECT * FROM table`s (UNION without ALL is not supported)",
        )),
    }
}

/// The query's `[[input]]`s, one per table of the union: its file, and its event time
/// and watermark delay where they differ from the query's (the first table's).
pub fn inputs(query: &mut Query, members: &[&Table]) -> Result<(), SqlError> {
    for t in members {
        let src = source(t)?;
        let path = match src.input {
            Some(p) if !p.contains("://") => p,
            _ => {
                return Err(SqlError::at(
                    t.name.span,
                    format!("`{}` is in a union: it needs 'connector' = 'filesystem' and a 'path' (each table is a named input)", t.name.value),
                ))
            }
        };
        if src.format.is_some() {
            query.format = src.format;
        }
        let (time, delay) = match &t.watermark {
            Some((column, delay)) => (t.time_attribute(column)?, *delay),
            None => (None, src.watermark_ms.unwrap_or(query.watermark.delay.ms())),
        };
        query.inputs.push(InputQuery {
            name: t.name.value.clone(),
            path,
            event_time: time.filter(|f| Some(f) != query.event_time.as_ref()),
            watermark_delay: (delay != query.watermark.delay.ms()).then_some(DurationMs(delay)),
            group_by: None,
            on: None,
            filters: Vec::new(),
        });
    }
    Ok(())
}
