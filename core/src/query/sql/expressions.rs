//! SQL expressions onto the lab's: a `WHERE` becomes filters (`col op constant`, `col IN
//! (...)`, an `OR` of equalities on one column; `c BETWEEN a AND b` is two filters) and
//! one condition on computed values, the `AND` of the other conjuncts (`MOD(auction, 123)
//! = 0 AND HOUR(ts) < 6`, a projection's `where`); a computed column becomes the lab's
//! expression (`price * 0.908`, `CASE WHEN ... END`: [`crate::ops::expr`], compiled from
//! the parsed SQL by the same code that compiles a TOML `expr`), printed as its text.

use crate::ops::expr::parse::{compile, compile_test, ExprError};
use crate::ops::expr::text::{TextCondition, TextExpr};
use crate::ops::expr::Test;
use crate::ops::filter::CmpOp;
use crate::query::spec::{FilterQuery, FilterValue, Literal};
use crate::query::sql::ddl::{SqlType, Table};
use crate::query::sql::error::SqlError;
use sqlparser::ast::{BinaryOperator, Expr, Ident, InTarget, Spanned, UnaryOperator, Value};

/// A `WHERE`, split at its `AND`s.
#[derive(Default)]
pub struct Where {
    /// `col op constant` conjuncts.
    pub filters: Vec<FilterQuery>,
    /// The one conjunct on computed values, as the lab's condition text.
    pub condition: Option<String>,
}

/// Splits `expr` at its `AND`s into filters and a condition.
pub fn compile_where(table: &Table, expr: &Expr) -> Result<Where, SqlError> {
    let mut out = Where::default();
    let mut tests: Vec<Test> = Vec::new();
    let mut text_tests: Vec<String> = Vec::new();
    let mut conjuncts = Vec::new();
    split_and(expr, &mut conjuncts);
    for c in conjuncts {
        if let Expr::Between {
            expr: inner,
            negated: false,
            low,
            high,
        } = c
        {
            // `c BETWEEN a AND b` is `c >= a AND c <= b`, both ends included.
            let bound = |op, value: &Expr| Expr::BinaryOp {
                left: inner.clone(),
                op,
                right: Box::new(value.clone()),
            };
            let bounds = [
                filter(table, &bound(BinaryOperator::GtEq, low))?,
                filter(table, &bound(BinaryOperator::LtEq, high))?,
            ];
            // A column between two constants is two filters; anything else a test.
            if let [Some(a), Some(b)] = bounds {
                out.filters.extend([a, b]);
                continue;
            }
        }
        match filter(table, c) {
            Ok(Some(f)) => out.filters.push(f),
            // (Only an OR over several columns is no filter but may be a string test.)
            Err(e)
                if !matches!(
                    c,
                    Expr::BinaryOp {
                        op: BinaryOperator::Or,
                        ..
                    }
                ) =>
            {
                return Err(e)
            }
            // A conjunct over strings (`LOWER(channel) = 'apple'`): a string condition.
            _ if TextExpr::is_text_sql(c, &mut |n| text_column(table, n)) => {
                let t =
                    TextCondition::compile(c, &mut |n| text_column(table, n)).map_err(located)?;
                check_columns(table, c, t.inputs())?;
                text_tests.push(t.to_string());
            }
            Ok(None) => tests.push(condition(table, c)?),
            Err(e) => return Err(e),
        }
    }
    // With a string conjunct the whole condition is one string condition (its numeric
    // parts print as they parse).
    let tests = tests.into_iter().map(|t| t.to_string()).chain(text_tests);
    out.condition = tests.reduce(|a, b| format!("({a} AND {b})"));
    Ok(out)
}

/// The conjuncts of `a AND (b AND c)`: `[a, b, c]`.
pub(super) fn split_and<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            split_and(left, out);
            split_and(right, out);
        }
        Expr::Nested(e) => split_and(e, out),
        e => out.push(e),
    }
}

/// The comparison of a SQL operator.
fn cmp_op(op: &BinaryOperator) -> Option<CmpOp> {
    Some(match op {
        BinaryOperator::Eq => CmpOp::Eq,
        BinaryOperator::NotEq => CmpOp::Ne,
        BinaryOperator::Lt => CmpOp::Lt,
        BinaryOperator::LtEq => CmpOp::Le,
        BinaryOperator::Gt => CmpOp::Gt,
        BinaryOperator::GtEq => CmpOp::Ge,
        _ => return None,
    })
}

/// The comparison with its sides swapped (`5 < x` is `x > 5`).
fn flipped(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

/// A constant, or `None` when `expr` is not one.
fn literal(expr: &Expr) -> Result<Option<Literal>, SqlError> {
    let bad = |what: &str| SqlError::at(expr.span(), format!("`{expr}`: {what}"));
    Ok(Some(match expr {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => Literal::Str(s.clone()),
            Value::Boolean(b) => Literal::Bool(*b),
            Value::Number(n, _) => number(n).ok_or_else(|| bad("not a number the lab reads"))?,
            Value::Null => return Err(bad("the lab's values are never NULL")),
            _ => return Ok(None),
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => match literal(inner)? {
            Some(Literal::Int(i)) => Literal::Int(-i),
            Some(Literal::Float(f)) => Literal::Float(-f),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    }))
}

fn number(text: &str) -> Option<Literal> {
    if text.contains(['.', 'e', 'E']) {
        text.parse()
            .ok()
            .filter(|f: &f64| f.is_finite())
            .map(Literal::Float)
    } else {
        text.parse().ok().map(Literal::Int)
    }
}

/// The column `expr` names, if it is a plain column of `table`.
fn column<'t>(
    table: &'t Table,
    expr: &Expr,
) -> Result<Option<&'t crate::query::sql::ddl::Column>, SqlError> {
    match expr {
        Expr::Identifier(i) => table.physical(i).map(Some),
        Expr::Nested(e) => column(table, e),
        _ => Ok(None),
    }
}

/// A constant of the column's type, or an error saying what the column holds.
fn typed(ty: SqlType, name: &str, lit: Literal, at: &Expr) -> Result<Literal, SqlError> {
    let fits = matches!(
        (ty, &lit),
        (SqlType::String, Literal::Str(_))
            | (SqlType::Bool, Literal::Bool(_))
            | (SqlType::Integer | SqlType::Timestamp, Literal::Int(_))
            | (SqlType::Float, Literal::Int(_) | Literal::Float(_))
    ) || (ty == SqlType::Integer && matches!(lit, Literal::Float(_)));
    if fits {
        Ok(lit)
    } else {
        Err(SqlError::at(
            at.span(),
            format!(
                "`{at}` compares column `{name}`, which holds {}, with another type",
                ty.plural()
            ),
        ))
    }
}

/// `col op constant`, `constant op col`, `col IN (...)`, or an `OR` of `col = constant`
/// on one column, as a filter; `None` for anything else.
fn filter(table: &Table, expr: &Expr) -> Result<Option<FilterQuery>, SqlError> {
    match expr {
        Expr::Nested(e) => filter(table, e),
        Expr::BinaryOp { left, op, right } if cmp_op(op).is_some() => {
            let op = cmp_op(op).expect("checked");
            let (col, lit, op) = match (column(table, left)?, literal(right)?) {
                (Some(c), Some(l)) => (c, l, op),
                _ => match (literal(left)?, column(table, right)?) {
                    (Some(l), Some(c)) => (c, l, flipped(op)),
                    _ => return Ok(None),
                },
            };
            let value = typed(col.ty, &col.name.value, lit, expr)?;
            Ok(Some(FilterQuery {
                field: col.name.value.clone(),
                op,
                value: FilterValue::One(value),
            }))
        }
        Expr::In {
            expr: inner,
            target: InTarget::List(list),
            negated: false,
            ..
        } => {
            let Some(col) = column(table, inner)? else {
                return Ok(None);
            };
            let mut values = Vec::new();
            for item in list {
                let Some(lit) = literal(item)? else {
                    return Err(SqlError::at(
                        item.span(),
                        "an IN list of a filter holds constants",
                    ));
                };
                values.push(typed(col.ty, &col.name.value, lit, item)?);
            }
            Ok(Some(FilterQuery {
                field: col.name.value.clone(),
                op: CmpOp::In,
                value: FilterValue::List(values),
            }))
        }
        Expr::BinaryOp {
            op: BinaryOperator::Or,
            ..
        } => {
            let mut alternatives = Vec::new();
            split_or(expr, &mut alternatives);
            let mut field = None;
            let mut values = Vec::new();
            for a in alternatives {
                match filter(table, a)? {
                    Some(FilterQuery {
                        field: f,
                        op: CmpOp::Eq,
                        value: FilterValue::One(v),
                    }) if field.as_ref().is_none_or(|g| *g == f) => {
                        field = Some(f);
                        values.push(v);
                    }
                    _ => {
                        return Err(SqlError::at(
                            a.span(),
                            "an OR must compare one column with constants (`s = 'OR' OR s = 'ID'`, or `s IN ('OR', 'ID')`)",
                        ))
                    }
                }
            }
            Ok(field.map(|field| FilterQuery {
                field,
                op: CmpOp::In,
                value: FilterValue::List(values),
            }))
        }
        _ => Ok(None),
    }
}

fn split_or<'a>(expr: &'a Expr, out: &mut Vec<&'a Expr>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Or,
            right,
        } => {
            split_or(left, out);
            split_or(right, out);
        }
        Expr::Nested(e) => split_or(e, out),
        e => out.push(e),
    }
}

/// A conjunct on computed values, as the lab's test (its fields checked against the
/// table).
fn condition(table: &Table, expr: &Expr) -> Result<Test, SqlError> {
    let mut t = compile_test(expr).map_err(located)?;
    t.visit_fields(&mut |name, _| numeric_column(table, expr, name))?;
    Ok(t)
}

/// Whether column `name` of `table` holds text (`None`: no such column).
fn text_column(table: &Table, name: &str) -> Option<bool> {
    table.column(name).map(|c| !c.ty.is_number())
}

/// Every field a string expression reads is a column of `table`.
fn check_columns(table: &Table, expr: &Expr, inputs: &[(String, bool)]) -> Result<(), SqlError> {
    for (name, _) in inputs {
        let at = find_ident(expr, name).unwrap_or_else(|| expr.span());
        table.physical(&Ident::with_span(at, name.as_str()))?;
    }
    Ok(())
}

/// A computed column's text in the lab's language, and whether it is a string
/// expression ([`TextExpr`]) rather than arithmetic.
pub fn computed(table: &Table, expr: &Expr) -> Result<String, SqlError> {
    if !TextExpr::is_text_sql(expr, &mut |n| text_column(table, n)) {
        return arithmetic(table, expr);
    }
    let e = TextExpr::compile(expr, &mut |n| text_column(table, n)).map_err(located)?;
    check_columns(table, expr, e.inputs())?;
    Ok(e.to_string())
}

/// The lab's expression text of a SQL expression over numeric columns (fully
/// parenthesized, so that it means what the SQL does).
pub fn arithmetic(table: &Table, expr: &Expr) -> Result<String, SqlError> {
    let mut e = compile(expr).map_err(located)?;
    e.visit_fields(&mut |name, _| numeric_column(table, expr, name))?;
    Ok(e.to_string())
}

fn located(e: ExprError) -> SqlError {
    SqlError::at_location(e.at, e.message)
}

/// Renames `name` to its column's name in `table`, which must hold numbers.
fn numeric_column(table: &Table, expr: &Expr, name: &mut String) -> Result<(), SqlError> {
    let at = find_ident(expr, name).unwrap_or_else(|| expr.span());
    let c = table.physical(&Ident::with_span(at, name.as_str()))?;
    if !c.ty.is_number() {
        return Err(SqlError::at(
            at,
            format!("`{name}` is not a number: expressions read numeric columns"),
        ));
    }
    *name = c.name.value.clone();
    Ok(())
}

/// Where `expr` names the column `name` (for errors).
fn find_ident(expr: &Expr, name: &str) -> Option<sqlparser::tokenizer::Span> {
    let mut found = None;
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Identifier(i) if i.value == name => {
                found = Some(i.span);
                break;
            }
            Expr::BinaryOp { left, right, .. } => {
                stack.push(right);
                stack.push(left);
            }
            Expr::UnaryOp { expr, .. } | Expr::Nested(expr) | Expr::Cast { expr, .. } => {
                stack.push(expr)
            }
            Expr::IsNull(expr) | Expr::IsNotNull(expr) => stack.push(expr),
            Expr::Between {
                expr, low, high, ..
            } => {
                stack.extend([high.as_ref(), low.as_ref(), expr.as_ref()]);
            }
            _ => {}
        }
    }
    found
}
