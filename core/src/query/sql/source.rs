//! A table's `WITH (...)` options onto the lab's input: `'connector' = 'filesystem'`
//! (`'path'`, `'format'`, `'json.ignore-parse-errors'`), `'connector' = 'kafka'` (a
//! `kafka://` input address), and `'watermark.delay'` for Spark's spelling, which has no
//! watermark clause. Any other option is refused by name.

use crate::query::spec::InputFormat;
use crate::query::sql::ddl::Table;
use crate::query::sql::error::SqlError;
use crate::query::sql::interval::interval_ms;
use sqlparser::ast::{Expr, Value, ValueWithSpan};

/// What a table's options say about its input.
#[derive(Debug, Default, PartialEq)]
pub struct Source {
    /// The input to read without `--input`: a file path (relative to the script's folder)
    /// or a `kafka://` address.
    pub input: Option<String>,
    /// `'format'`.
    pub format: Option<InputFormat>,
    /// `'watermark.delay'`, in ms.
    pub watermark_ms: Option<i64>,
}

/// The source `table`'s options describe.
pub fn source(table: &Table) -> Result<Source, SqlError> {
    let mut out = Source::default();
    let get = |key: &str| table.options.iter().find(|(k, _, _)| k == key);
    let connector = get("connector").map(|(_, v, _)| v.as_str());
    let mut known: Vec<&str> = vec!["connector", "format", "watermark.delay"];
    match connector {
        None => {}
        Some("filesystem") => {
            known.extend([
                "path",
                "json.ignore-parse-errors",
                "csv.ignore-parse-errors",
            ]);
            out.input = get("path").map(|(_, v, _)| v.clone());
            if out.input.is_none() {
                return Err(SqlError::at(
                    table.name.span,
                    "'connector' = 'filesystem' needs a 'path'",
                ));
            }
        }
        Some("kafka") => {
            known.extend([
                "topic",
                "properties.bootstrap.servers",
                "properties.group.id",
                "scan.startup.mode",
            ]);
            let need = |key: &str| {
                get(key).map(|(_, v, _)| v.clone()).ok_or_else(|| {
                    SqlError::at(
                        table.name.span,
                        format!("'connector' = 'kafka' needs '{key}'"),
                    )
                })
            };
            let servers = need("properties.bootstrap.servers")?;
            let topic = need("topic")?;
            let mut query = Vec::new();
            if let Some((_, g, _)) = get("properties.group.id") {
                query.push(format!("group={g}"));
            }
            if let Some((_, mode, span)) = get("scan.startup.mode") {
                let start = match mode.as_str() {
                    "earliest-offset" => "earliest",
                    "latest-offset" => "latest",
                    "group-offsets" => "committed",
                    other => {
                        return Err(SqlError::at(*span, format!("'scan.startup.mode' = '{other}' is not supported: earliest-offset, latest-offset or group-offsets")))
                    }
                };
                query.push(format!("start={start}"));
            }
            let query = if query.is_empty() {
                String::new()
            } else {
                format!("?{}", query.join("&"))
            };
            out.input = Some(format!("kafka://{servers}/{topic}{query}"));
        }
        Some(other) => {
            let span = get("connector").map(|(_, _, s)| *s).expect("present");
            return Err(SqlError::at(span, format!("'connector' = '{other}' is not supported: filesystem or kafka (or no WITH: the input comes from --input)")));
        }
    }
    for (key, value, span) in &table.options {
        if !known.contains(&key.as_str()) {
            return Err(SqlError::at(
                *span,
                format!(
                    "option '{key}' is not supported{}",
                    match connector {
                        Some(c) => format!(" by the '{c}' connector"),
                        None => String::new(),
                    }
                ),
            ));
        }
        match key.as_str() {
            "format" => {
                out.format = Some(match value.as_str() {
                    "json" => InputFormat::Json,
                    "csv" => InputFormat::Csv,
                    other => {
                        return Err(SqlError::at(
                            *span,
                            format!("'format' = '{other}' is not supported: json or csv"),
                        ))
                    }
                })
            }
            "json.ignore-parse-errors" | "csv.ignore-parse-errors" if value != "true" => {
                return Err(SqlError::at(*span, format!("'{key}' = '{value}': the lab skips and counts malformed lines ('true'); to stop at the first, run with --strict")));
            }
            "watermark.delay" => {
                let text = Expr::Value(ValueWithSpan {
                    value: Value::SingleQuotedString(value.clone()),
                    span: *span,
                });
                out.watermark_ms = Some(interval_ms(&text)?);
            }
            _ => {}
        }
    }
    Ok(out)
}
