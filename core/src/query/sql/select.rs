//! The `SELECT` of a script onto the lab's query: its source table and window (`FROM`),
//! filters (`WHERE`), keys (`GROUP BY`) and columns (aggregates for a windowed query, the
//! selected and computed columns for a query without a window).

use crate::query::spec::{AggregateQuery, Query, SelectQuery};
use crate::query::sql::ddl::Table;
use crate::query::sql::dialect::call_args;
use crate::query::sql::error::SqlError;
use crate::query::sql::expressions::{compile_where, computed};
use crate::query::sql::windows::{find_table, spark_window, table_function, SqlWindow};
use crate::semantics::aggregate::AggFn;
use sqlparser::ast::{
    DuplicateTreatment, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, Ident, SelectItem, SetExpr, Spanned, TableFactor,
};

/// The query a `SELECT` compiles to, and the table it reads.
pub fn compile(
    tables: &[Table],
    query: &sqlparser::ast::Query,
) -> Result<(Query, Vec<usize>), SqlError> {
    let at = query.span();
    if query.with.is_some() || query.order_by.is_some() || query.limit_clause.is_some() {
        return Err(SqlError::at(
            at,
            "WITH, ORDER BY and LIMIT are not supported on a stream",
        ));
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Err(SqlError::at(
            at,
            "the query must be one SELECT (UNION and nested queries are not supported yet)",
        ));
    };
    if select.having.is_some() || select.distinct.is_some() {
        return Err(SqlError::at(at, "HAVING and SELECT DISTINCT are not supported (a second stage the plan does not have yet)"));
    }
    let from = match select.from.as_slice() {
        [one] if one.joins.is_empty() => &one.relation,
        [one] => return crate::query::sql::joins::compile_regular(tables, select, one),
        _ => {
            return Err(SqlError::at(
                at,
                "SELECT reads one table (FROM t, or FROM TABLE(TUMBLE(...)))",
            ))
        }
    };
    let (table, mut window) = match from {
        TableFactor::Table { name, .. } => {
            let ident = name
                .0
                .last()
                .and_then(|p| p.as_ident())
                .cloned()
                .unwrap_or_else(|| Ident::new(name.to_string()));
            (find_table(tables, &ident)?, None)
        }
        TableFactor::TableFunction {
            expr: Expr::Function(f),
            ..
        } => {
            let (t, w) = table_function(tables, f)?;
            (t, Some(w))
        }
        other => {
            return Err(SqlError::at(
                other.span(),
                "FROM reads a table or a window table function",
            ))
        }
    };
    let index = tables
        .iter()
        .position(|t| std::ptr::eq(t, table))
        .expect("found among them");

    // GROUP BY: the window's columns (or Spark's window), then the keys.
    let tvf = window.is_some();
    let mut keys: Vec<Ident> = Vec::new();
    let mut window_columns = 0;
    let group: &[Expr] = match &select.group_by {
        GroupByExpr::Expressions(exprs, modifiers) if modifiers.is_empty() => exprs,
        _ => {
            return Err(SqlError::at(
                at,
                "GROUP BY ALL and grouping modifiers are not supported",
            ))
        }
    };
    for g in group {
        if let Some(w) = spark_window(table, g)? {
            if window.is_some() {
                return Err(SqlError::at(g.span(), "the query already has a window"));
            }
            window = Some(w);
            continue;
        }
        match g {
            Expr::Identifier(i)
                if tvf && matches!(i.value.as_str(), "window_start" | "window_end") =>
            {
                window_columns += 1
            }
            Expr::Identifier(i) => {
                table.physical(i)?;
                if keys.iter().any(|k| k.value == i.value) {
                    return Err(SqlError::at(
                        i.span,
                        format!("`{}` is grouped by twice", i.value),
                    ));
                }
                keys.push(i.clone());
            }
            other => {
                return Err(SqlError::at(
                    other.span(),
                    "GROUP BY takes columns (and a window)",
                ))
            }
        }
    }
    if tvf && window_columns != 2 {
        return Err(SqlError::at(
            at,
            "a window table function's query groups by window_start, window_end (and its keys)",
        ));
    }
    if window.is_none() && !group.is_empty() {
        return Err(SqlError::at(group[0].span(), "GROUP BY without a window is an unbounded aggregate: group by a window (TUMBLE, HOP, SESSION, or Spark's window())"));
    }
    if let Some(SqlWindow {
        partition_by: Some(p),
        time_column,
        ..
    }) = &window
    {
        let same =
            p.len() == keys.len() && p.iter().all(|c| keys.iter().any(|k| k.value == c.value));
        if !same {
            return Err(SqlError::at(
                time_column.span,
                "SESSION partitions by the GROUP BY's keys (the lab's sessions are per key): SESSION(TABLE t PARTITION BY k, ...) ... GROUP BY window_start, window_end, k",
            ));
        }
    }

    let mut out = Query {
        event_time: None,
        group_by: keys.iter().map(|k| k.value.clone()).collect(),
        output_mode: Default::default(),
        watermark: Default::default(),
        window: None,
        filters: Vec::new(),
        aggregates: Vec::new(),
        inputs: Vec::new(),
        joins: Vec::new(),
        select: Vec::new(),
        condition: None,
        format: None,
        columns: None,
        stages: Vec::new(),
    };
    if let Some(w) = &select.selection {
        let w = compile_where(table, w)?;
        out.filters = w.filters;
        out.condition = w.condition;
    }
    match window {
        Some(w) => {
            if out.condition.is_some() {
                return Err(SqlError::at(
                    select.selection.as_ref().map_or(at, |s| s.span()),
                    "a windowed query's WHERE compares columns with constants (a condition on computed values is for queries without a window)",
                ));
            }
            out.event_time = w.event_time.clone();
            out.window = Some(w.window.clone());
            out.aggregates = aggregates(table, &select.projection, &keys, tvf)?;
            if let Some((column, delay)) = &table.watermark {
                if w.window.time == crate::query::spec::TimeDomain::Event
                    && table.time_attribute(column)? != w.event_time
                {
                    return Err(SqlError::at(
                        w.time_column.span,
                        format!(
                            "the window's time column must be the watermark's, `{}`",
                            column.value
                        ),
                    ));
                }
                out.watermark.delay = crate::model::duration::DurationMs(*delay);
            }
        }
        None => {
            out.select = projection(table, &select.projection)?;
        }
    }
    Ok((out, vec![index]))
}

/// A windowed query's columns: the window's and the keys (printed by the lab, checked
/// here) and the aggregates.
fn aggregates(
    table: &Table,
    items: &[SelectItem],
    keys: &[Ident],
    tvf: bool,
) -> Result<Vec<AggregateQuery>, SqlError> {
    let mut out = Vec::new();
    let mut selected_keys = Vec::new();
    for item in items {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(e) => (e, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
            other => {
                return Err(SqlError::at(
                    other.span(),
                    "a windowed query selects its window, keys and aggregates by name",
                ))
            }
        };
        let renamed = |name: &str| alias.is_some_and(|a| a.value != name);
        match expr {
            Expr::Identifier(i)
                if matches!(i.value.as_str(), "window_start" | "window_end") && tvf =>
            {
                if renamed(&i.value) {
                    return Err(SqlError::at(
                        i.span,
                        format!("`{}` keeps its name in the lab's rows", i.value),
                    ));
                }
            }
            Expr::Identifier(i) if i.value == "window_time" => {
                return Err(SqlError::at(i.span, "window_time is not a column of the lab's rows (it is window_end - 1 ms): select window_start, window_end"));
            }
            Expr::CompoundIdentifier(parts)
                if !tvf
                    && parts.len() == 2
                    && parts[0].value == "window"
                    && matches!(parts[1].value.as_str(), "start" | "end") =>
            {
                let lab = format!("window_{}", parts[1].value);
                if renamed(&lab) {
                    return Err(SqlError::at(
                        parts[0].span,
                        format!(
                            "`window.{}` is printed as `{lab}`: alias it AS {lab} or not at all",
                            parts[1].value
                        ),
                    ));
                }
            }
            Expr::Identifier(i) if !tvf && i.value == "window" => {}
            Expr::Identifier(i) => {
                table.physical(i)?;
                if !keys.iter().any(|k| k.value == i.value) {
                    return Err(SqlError::at(i.span, format!("`{}` is neither grouped by nor aggregated: add it to GROUP BY or aggregate it", i.value)));
                }
                if renamed(&i.value) {
                    return Err(SqlError::at(
                        i.span,
                        format!(
                            "a key keeps its name in the lab's rows: select `{}` without AS",
                            i.value
                        ),
                    ));
                }
                selected_keys.push(i.value.clone());
            }
            Expr::Function(f) => {
                let Some(name) = alias else {
                    return Err(SqlError::at(
                        f.name.span(),
                        format!("name the aggregate: {expr} AS some_name"),
                    ));
                };
                out.push(aggregate(table, f, name)?);
            }
            other => {
                return Err(SqlError::at(
                    other.span(),
                    format!("`{other}` is not a window column, a key or an aggregate"),
                ))
            }
        }
    }
    if let Some(k) = keys.iter().find(|k| !selected_keys.contains(&k.value)) {
        return Err(SqlError::at(
            k.span,
            format!("the lab's rows carry every key: select `{}`", k.value),
        ));
    }
    if out.is_empty() {
        return Err(SqlError::at(items.first().map_or(sqlparser::tokenizer::Span::empty(), |i| i.span()), "a windowed query selects at least one aggregate (COUNT(*), SUM, MIN, MAX, AVG, COUNT(DISTINCT c))"));
    }
    Ok(out)
}

/// `COUNT(*)`, `COUNT(DISTINCT c)`, `SUM(c)`, `MIN(c)`, `MAX(c)`, `AVG(c)`.
fn aggregate(table: &Table, f: &Function, name: &Ident) -> Result<AggregateQuery, SqlError> {
    let fname = f.name.to_string().to_uppercase();
    let FunctionArguments::List(list) = &f.args else {
        return Err(SqlError::at(
            f.name.span(),
            format!("{fname} takes a column"),
        ));
    };
    let distinct = list.duplicate_treatment == Some(DuplicateTreatment::Distinct);
    let star = matches!(
        list.args.as_slice(),
        [FunctionArg::Unnamed(FunctionArgExpr::Wildcard)]
    );
    let args = call_args(f)?;
    let func = match (fname.as_str(), distinct) {
        ("COUNT", false) if star => AggFn::Count,
        ("COUNT", false) => return Err(SqlError::at(
            f.name.span(),
            "COUNT(column) is not supported: the lab's values are never NULL, so write COUNT(*)",
        )),
        ("COUNT", true) => AggFn::CountDistinct,
        ("SUM", false) => AggFn::Sum,
        ("MIN", false) => AggFn::Min,
        ("MAX", false) => AggFn::Max,
        ("AVG", false) => AggFn::Avg,
        (_, true) => {
            return Err(SqlError::at(
                f.name.span(),
                format!("{fname}(DISTINCT ...) is not supported; COUNT(DISTINCT c) is"),
            ))
        }
        _ => {
            return Err(SqlError::at(
                f.name.span(),
                format!("`{fname}` is not an aggregate the lab has: COUNT, SUM, MIN, MAX, AVG"),
            ))
        }
    };
    let field = match (func, args.as_slice()) {
        (AggFn::Count, []) => None,
        (_, [Expr::Identifier(c)]) => {
            let column = table.physical(c)?;
            if func != AggFn::CountDistinct && !column.ty.is_number() {
                return Err(SqlError::at(
                    c.span,
                    format!(
                        "{fname} of `{}`, a {:?} column: the lab aggregates numbers",
                        c.value, column.ty
                    ),
                ));
            }
            Some(c.value.clone())
        }
        _ => {
            return Err(SqlError::at(
                f.name.span(),
                format!("{fname} takes one column"),
            ))
        }
    };
    Ok(AggregateQuery {
        func,
        field,
        name: name.value.clone(),
        input: None,
    })
}

/// A query without a window: its columns (`*`, columns, computed columns).
fn projection(table: &Table, items: &[SelectItem]) -> Result<Vec<SelectQuery>, SqlError> {
    let column = |name: &Ident, alias: Option<&Ident>| -> Result<SelectQuery, SqlError> {
        Ok(table.physical(name)?.selected(alias, None))
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            SelectItem::Wildcard(_) => {
                for c in &table.columns {
                    out.push(column(&c.name, None)?);
                }
            }
            SelectItem::UnnamedExpr(Expr::Identifier(i)) => out.push(column(i, None)?),
            SelectItem::ExprWithAlias {
                expr: Expr::Identifier(i),
                alias,
            } => out.push(column(i, Some(alias))?),
            SelectItem::ExprWithAlias { expr, alias } => out.push(SelectQuery {
                field: None,
                name: Some(alias.value.clone()),
                expr: Some(computed(table, expr)?),
                ty: None,
                input: None,
            }),
            SelectItem::UnnamedExpr(e) => {
                return Err(SqlError::at(
                    e.span(),
                    format!("name the computed column: {e} AS some_name"),
                ))
            }
            other => {
                return Err(SqlError::at(
                    other.span(),
                    "select columns, `*` or computed columns",
                ))
            }
        }
    }
    Ok(out)
}
