//! A regular join as SQL writes it, `FROM a AS A JOIN b AS B ON A.x = B.y`, onto the lab's
//! `[[join]] kind = "regular"` of two `[[input]]`s: each table is an input (its `'path'`),
//! its `ON` column is the input's `on`, a `WHERE` conjunct on one table's columns is that
//! input's filter, and the selected `A.c` columns are read from their input's events.

use crate::query::spec::{InputQuery, JoinKind, JoinQuery, Query};
use crate::query::sql::ddl::Table;
use crate::query::sql::error::SqlError;
use crate::query::sql::expressions::{compile_where, split_and};
use crate::query::sql::windows::find_table;
use sqlparser::ast::{
    BinaryOperator, Expr, Ident, JoinConstraint, JoinOperator, Select, SelectItem, Spanned,
    TableFactor, TableWithJoins,
};

/// A table of the join and the name (alias) its columns are qualified with.
struct Side<'t> {
    table: &'t Table,
    qualifier: String,
    index: usize,
}

/// The query of a `SELECT` over `from`, a regular join of two tables, and the tables read.
pub fn compile_regular(
    tables: &[Table],
    select: &Select,
    from: &TableWithJoins,
) -> Result<(Query, Vec<usize>), SqlError> {
    let [join] = from.joins.as_slice() else {
        return Err(SqlError::at(
            from.joins[1].relation.span(),
            "the lab joins two tables",
        ));
    };
    let on = match &join.join_operator {
        JoinOperator::Join(JoinConstraint::On(e)) | JoinOperator::Inner(JoinConstraint::On(e)) => e,
        other => {
            return Err(SqlError::at(
                join.relation.span(),
                format!(
                    "only an inner JOIN ... ON is supported (not {})",
                    operator_name(other)
                ),
            ))
        }
    };
    if select.group_by != sqlparser::ast::GroupByExpr::Expressions(Vec::new(), Vec::new()) {
        return Err(SqlError::at(
            on.span(),
            "an aggregate over a join needs a second stage the plan does not have yet",
        ));
    }
    let sides = [side(tables, &from.relation)?, side(tables, &join.relation)?];
    if sides[0].table.name.value == sides[1].table.name.value {
        return Err(SqlError::at(
            join.relation.span(),
            "a self-join is not supported: join two tables",
        ));
    }
    let find = |q: &Ident| -> Result<usize, SqlError> {
        sides
            .iter()
            .position(|s| s.qualifier == q.value)
            .ok_or_else(|| {
                SqlError::at(
                    q.span,
                    format!(
                        "`{}` is neither joined table: qualify columns with {} or {}",
                        q.value, sides[0].qualifier, sides[1].qualifier
                    ),
                )
            })
    };
    // ON A.x = B.y: each input's `on` field.
    let mut keys: [Option<String>; 2] = [None, None];
    match on {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Eq,
            right,
        } => {
            for e in [left.as_ref(), right.as_ref()] {
                let (q, c) = qualified(e)?;
                let i = find(q)?;
                sides[i].table.physical(c)?;
                if keys[i].replace(c.value.clone()).is_some() {
                    return Err(SqlError::at(
                        on.span(),
                        "ON compares a column of each table",
                    ));
                }
            }
        }
        other => {
            return Err(SqlError::at(
                other.span(),
                "ON takes one equality of a column of each table: A.x = B.y",
            ))
        }
    }
    // WHERE: each conjunct is one table's filter.
    let mut filters = [Vec::new(), Vec::new()];
    if let Some(w) = &select.selection {
        let mut conjuncts = Vec::new();
        split_and(w, &mut conjuncts);
        for c in conjuncts {
            let mut owner = None;
            let local = unqualified(c, &mut |q| {
                let i = find(q)?;
                match owner {
                    Some(o) if o != i => Err(SqlError::at(q.span, "a condition of a join's WHERE reads one table (a condition across both is not supported)")),
                    _ => {
                        owner = Some(i);
                        Ok(())
                    }
                }
            })?;
            let Some(i) = owner else {
                return Err(SqlError::at(
                    c.span(),
                    "qualify the columns of a join's WHERE with their table",
                ));
            };
            let compiled = compile_where(sides[i].table, &local)?;
            if compiled.condition.is_some() {
                return Err(SqlError::at(c.span(), "a join's WHERE compares columns with constants (a condition on computed values is not supported here)"));
            }
            filters[i].extend(compiled.filters);
        }
    }
    // SELECT A.c [AS n]: a column of one input's events.
    let mut columns = Vec::new();
    for item in &select.projection {
        let (expr, alias) = match item {
            SelectItem::UnnamedExpr(e) => (e, None),
            SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias)),
            other => {
                return Err(SqlError::at(
                    other.span(),
                    "a join selects qualified columns (A.c [AS name])",
                ))
            }
        };
        let (q, c) = qualified(expr)?;
        let i = find(q)?;
        let column = sides[i].table.physical(c)?;
        columns.push(column.selected(alias, Some(sides[i].table.name.value.clone())));
    }
    let inputs = sides
        .iter()
        .zip(keys)
        .zip(filters)
        .map(|((s, key), filters)| InputQuery {
            name: s.table.name.value.clone(),
            // Filled by the caller from the table's 'path'.
            path: String::new(),
            event_time: None,
            watermark_delay: None,
            group_by: None,
            on: key,
            filters,
        })
        .collect();
    let query = Query {
        event_time: None,
        group_by: Vec::new(),
        output_mode: Default::default(),
        watermark: Default::default(),
        window: None,
        filters: Vec::new(),
        aggregates: Vec::new(),
        inputs,
        joins: vec![JoinQuery {
            kind: JoinKind::Regular,
            table: None,
            on: None,
        }],
        select: columns,
        condition: None,
        format: None,
        columns: None,
        stages: Vec::new(),
    };
    Ok((query, sides.iter().map(|s| s.index).collect()))
}

fn operator_name(op: &JoinOperator) -> &'static str {
    match op {
        JoinOperator::Left(_) | JoinOperator::LeftOuter(_) => "LEFT JOIN",
        JoinOperator::Right(_) | JoinOperator::RightOuter(_) => "RIGHT JOIN",
        JoinOperator::FullOuter(_) => "FULL JOIN",
        JoinOperator::CrossJoin(_) => "CROSS JOIN",
        _ => "this join or constraint",
    }
}

/// A plain table with its alias (or its name) as the qualifier.
fn side<'t>(tables: &'t [Table], relation: &TableFactor) -> Result<Side<'t>, SqlError> {
    let TableFactor::Table { name, alias, .. } = relation else {
        return Err(SqlError::at(
            relation.span(),
            "a join reads declared tables (a window join is not in the SQL front end yet)",
        ));
    };
    let ident = name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .cloned()
        .unwrap_or_else(|| Ident::new(name.to_string()));
    let table = find_table(tables, &ident)?;
    let index = tables
        .iter()
        .position(|t| std::ptr::eq(t, table))
        .expect("found among them");
    let qualifier = alias
        .as_ref()
        .map_or(ident.value.clone(), |a| a.name.value.clone());
    Ok(Side {
        table,
        qualifier,
        index,
    })
}

/// `A.c` as (A, c).
fn qualified(expr: &Expr) -> Result<(&Ident, &Ident), SqlError> {
    match expr {
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => Ok((&parts[0], &parts[1])),
        other => Err(SqlError::at(
            other.span(),
            format!("qualify `{other}` with its table: A.column"),
        )),
    }
}

/// `expr` with every `A.c` made `c`, telling `seen` each qualifier.
fn unqualified(
    expr: &Expr,
    seen: &mut dyn FnMut(&Ident) -> Result<(), SqlError>,
) -> Result<Expr, SqlError> {
    Ok(match expr {
        Expr::CompoundIdentifier(parts) if parts.len() == 2 => {
            seen(&parts[0])?;
            Expr::Identifier(parts[1].clone())
        }
        Expr::Identifier(i) => {
            return Err(SqlError::at(
                i.span,
                format!("qualify `{}` with its table: A.{}", i.value, i.value),
            ))
        }
        Expr::BinaryOp { left, op, right } => Expr::BinaryOp {
            left: Box::new(unqualified(left, seen)?),
            op: op.clone(),
            right: Box::new(unqualified(right, seen)?),
        },
        Expr::Nested(e) => Expr::Nested(Box::new(unqualified(e, seen)?)),
        Expr::In {
            expr,
            target,
            negated,
            global,
        } => Expr::In {
            expr: Box::new(unqualified(expr, seen)?),
            target: target.clone(),
            negated: *negated,
            global: *global,
        },
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => Expr::Between {
            expr: Box::new(unqualified(expr, seen)?),
            negated: *negated,
            low: low.clone(),
            high: high.clone(),
        },
        other => other.clone(),
    })
}
