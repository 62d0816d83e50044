//! Durations written in SQL: Flink's `INTERVAL '5' SECOND` (and `INTERVAL '5 SECOND'`) and
//! Spark's duration strings (`'10 seconds'`, `'1 minute'`), both in milliseconds.

use crate::query::sql::error::SqlError;
use sqlparser::ast::{Expr, Spanned, Value};

/// The milliseconds of an `INTERVAL` expression or a duration string.
pub fn interval_ms(expr: &Expr) -> Result<i64, SqlError> {
    let span = expr.span();
    match expr {
        Expr::Interval(i) => {
            if i.last_field.is_some() {
                return Err(SqlError::at(
                    span,
                    "an interval from one unit to another (`DAY TO SECOND`) is not supported: use one unit",
                ));
            }
            let amount = match i.value.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) | Value::Number(s, _) => s.clone(),
                    other => return Err(SqlError::at(span, format!("`{other}` is not an amount"))),
                },
                other => return Err(SqlError::at(span, format!("`{other}` is not an amount"))),
            };
            match &i.leading_field {
                Some(unit) => amount_ms(amount.trim(), &unit.to_string(), span),
                None => duration_text_ms(&amount, span),
            }
        }
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => duration_text_ms(s, span),
            other => Err(SqlError::at(
                span,
                format!("`{other}` is not a duration: write INTERVAL '10' SECOND or '10 seconds'"),
            )),
        },
        other => Err(SqlError::at(
            span,
            format!("`{other}` is not a duration: write INTERVAL '10' SECOND or '10 seconds'"),
        )),
    }
}

/// `'10 seconds'`, `'5 SECOND'`, `'1 minute'`.
fn duration_text_ms(text: &str, span: sqlparser::tokenizer::Span) -> Result<i64, SqlError> {
    let mut words = text.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some(amount), Some(unit), None) => amount_ms(amount, unit, span),
        _ => Err(SqlError::at(
            span,
            format!("`{text}` is not a duration: write an amount and a unit, e.g. '10 seconds'"),
        )),
    }
}

/// An amount of a unit, in milliseconds.
fn amount_ms(amount: &str, unit: &str, span: sqlparser::tokenizer::Span) -> Result<i64, SqlError> {
    let per: i64 = match unit.to_lowercase().as_str() {
        "ms" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "day" | "days" => 86_400_000,
        _ => {
            return Err(SqlError::at(
                span,
                format!("unknown time unit `{unit}`: use MILLISECOND, SECOND, MINUTE, HOUR or DAY"),
            ))
        }
    };
    let n: i64 = amount.parse().map_err(|_| {
        SqlError::at(
            span,
            format!(
                "`{amount}` is not a whole number of {}s",
                unit.to_lowercase().trim_end_matches('s')
            ),
        )
    })?;
    n.checked_mul(per)
        .ok_or_else(|| SqlError::at(span, format!("`{amount} {unit}` is too long")))
}
