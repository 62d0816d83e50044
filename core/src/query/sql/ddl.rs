//! `CREATE TABLE`, as Flink writes it: physical columns with types, computed columns
//! (`et AS TO_TIMESTAMP_LTZ(ts, 3)`, `pt AS PROCTIME()`), `WATERMARK FOR et AS et -
//! INTERVAL '5' SECOND` and `WITH (...)` options. sqlparser has no statement for Flink's
//! table (a computed column without a type, the watermark clause), so this module reads
//! it with sqlparser's own parts (identifiers, types, expressions, string literals).

use crate::ops::column::ColumnType;
use crate::query::spec::SelectQuery;
use crate::query::sql::error::{did_you_mean, SqlError};
use crate::query::sql::interval::interval_ms;
use sqlparser::ast::{BinaryOperator, Expr, Ident, Spanned};
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Span, Token};

/// A column's SQL type, as far as the lab's values tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    /// `BIGINT`, `INT`, `INTEGER`, `SMALLINT`, `TINYINT`.
    Integer,
    /// `DOUBLE`, `FLOAT`, `REAL`, `DECIMAL`.
    Float,
    /// `STRING`, `VARCHAR(n)`, `CHAR(n)`.
    String,
    /// `BOOLEAN`.
    Bool,
    /// `TIMESTAMP(3)`, `TIMESTAMP_LTZ(3)`: in the lab's inputs, epoch milliseconds.
    Timestamp,
}

impl SqlType {
    /// What the column holds, for messages ("integers").
    pub fn plural(self) -> &'static str {
        match self {
            SqlType::Integer => "integers",
            SqlType::Float => "numbers",
            SqlType::String => "strings",
            SqlType::Bool => "booleans",
            SqlType::Timestamp => "timestamps",
        }
    }

    /// Whether the lab reads the column as a JSON number.
    pub fn is_number(self) -> bool {
        matches!(self, SqlType::Integer | SqlType::Float | SqlType::Timestamp)
    }
}

/// A declared column.
#[derive(Clone, Debug)]
pub struct Column {
    /// Name, with where it is written.
    pub name: Ident,
    /// Type.
    pub ty: SqlType,
}

impl Column {
    /// This column as a selected one (`AS alias` when it renames it), typed where the
    /// row keeps text and booleans apart; `input`: the joined table it comes from.
    pub(super) fn selected(&self, alias: Option<&Ident>, input: Option<String>) -> SelectQuery {
        SelectQuery {
            field: Some(self.name.value.clone()),
            name: alias
                .filter(|a| a.value != self.name.value)
                .map(|a| a.value.clone()),
            expr: None,
            ty: match self.ty {
                SqlType::String => Some(ColumnType::String),
                SqlType::Bool => Some(ColumnType::Bool),
                _ => None,
            },
            input,
        }
    }
}

/// A column computed from the others: the lab has two, an event time read from an
/// epoch-millisecond column and the processing time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Computed {
    /// `et AS TO_TIMESTAMP_LTZ(ts, 3)`: the event time of column `ts`.
    EventTime(String),
    /// `pt AS PROCTIME()`.
    ProcessingTime,
}

/// `CREATE TABLE`.
#[derive(Clone, Debug)]
pub struct Table {
    /// Name.
    pub name: Ident,
    /// Physical columns, in order.
    pub columns: Vec<Column>,
    /// Computed columns: name, what it is.
    pub computed: Vec<(Ident, Computed)>,
    /// `WATERMARK FOR col AS col - INTERVAL ...`: the column and the delay in ms.
    pub watermark: Option<(Ident, i64)>,
    /// `WITH ('key' = 'value', ...)`, with where each key is written.
    pub options: Vec<(String, String, Span)>,
}

impl Table {
    /// The declared column named `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.value == name)
    }

    /// Every name a query may use: the columns and the computed columns.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .map(|c| c.name.value.as_str())
            .chain(self.computed.iter().map(|(n, _)| n.value.as_str()))
    }

    /// The physical column named `ident`, or an error naming the table's columns.
    pub fn physical(&self, ident: &Ident) -> Result<&Column, SqlError> {
        if let Some(c) = self.column(&ident.value) {
            return Ok(c);
        }
        let message = if self.computed.iter().any(|(n, _)| n.value == ident.value) {
            format!(
                "`{}` is a time attribute: it can be a window's time column, not a value here",
                ident.value
            )
        } else {
            format!(
                "column `{}` not found in table `{}`{}",
                ident.value,
                self.name.value,
                did_you_mean(&ident.value, self.names())
            )
        };
        Err(SqlError::at(ident.span, message))
    }

    /// What the time column `ident` (a window's `DESCRIPTOR`, a watermark's column) is:
    /// `Some(field)` for event time read from `field`, `None` for processing time.
    pub fn time_attribute(&self, ident: &Ident) -> Result<Option<String>, SqlError> {
        if let Some((_, c)) = self.computed.iter().find(|(n, _)| n.value == ident.value) {
            return Ok(match c {
                Computed::EventTime(field) => Some(field.clone()),
                Computed::ProcessingTime => None,
            });
        }
        let column = self.physical(ident)?;
        if matches!(column.ty, SqlType::Integer | SqlType::Timestamp) {
            Ok(Some(column.name.value.clone()))
        } else {
            Err(SqlError::at(
                ident.span,
                format!(
                    "`{}` is not a time: an event time is a TIMESTAMP(3), TIMESTAMP_LTZ(3) or BIGINT column of epoch milliseconds",
                    ident.value
                ),
            ))
        }
    }
}

/// Reads `CREATE TABLE name (...) [WITH (...)]`; the parser stands at `CREATE`.
pub fn parse_create_table(parser: &mut Parser) -> Result<Table, SqlError> {
    parser.expect_keyword(Keyword::CREATE)?;
    parser.expect_keyword(Keyword::TABLE)?;
    let _ = parser.parse_keywords(&[Keyword::IF, Keyword::NOT, Keyword::EXISTS]);
    let name = parser.parse_identifier()?;
    parser.expect_token(&Token::LParen)?;
    let mut table = Table {
        name,
        columns: Vec::new(),
        computed: Vec::new(),
        watermark: None,
        options: Vec::new(),
    };
    let mut watermark_expr = None;
    loop {
        let at = parser.peek_token();
        let is_watermark = matches!(&at.token, Token::Word(w) if w.value.eq_ignore_ascii_case("WATERMARK") && w.quote_style.is_none());
        if is_watermark {
            parser.next_token();
            if watermark_expr.is_some() {
                return Err(SqlError::at(at.span, "a table has one WATERMARK"));
            }
            parser.expect_keyword(Keyword::FOR)?;
            let column = parser.parse_identifier()?;
            parser.expect_keyword(Keyword::AS)?;
            watermark_expr = Some((column, parser.parse_expr()?));
        } else if parser.parse_keyword(Keyword::PRIMARY) {
            return Err(SqlError::at(
                at.span,
                "PRIMARY KEY is not supported: the lab's tables are append-only streams",
            ));
        } else {
            let name = parser.parse_identifier()?;
            if table.names().any(|n| n == name.value) {
                return Err(SqlError::at(
                    name.span,
                    format!("column `{}` is declared twice", name.value),
                ));
            }
            if parser.parse_keyword(Keyword::AS) {
                let expr = parser.parse_expr()?;
                let computed = computed_column(&table, &expr)?;
                table.computed.push((name, computed));
            } else {
                let ty_at = parser.peek_token().span;
                let ty = sql_type(&parser.parse_data_type()?.to_string(), ty_at)?;
                if parser.parse_keywords(&[Keyword::NOT, Keyword::NULL]) {
                    // Every value the lab reads is there (a line lacking it is malformed).
                }
                table.columns.push(Column { name, ty });
            }
        }
        if !parser.consume_token(&Token::Comma) {
            break;
        }
    }
    parser.expect_token(&Token::RParen)?;
    if let Some((column, expr)) = watermark_expr {
        let delay = watermark_delay(&column, &expr)?;
        match table.time_attribute(&column)? {
            Some(_) => table.watermark = Some((column, delay)),
            None => {
                return Err(SqlError::at(
                    column.span,
                    format!(
                        "`{}` is the processing time: a watermark is for an event time",
                        column.value
                    ),
                ))
            }
        }
    }
    if parser.parse_keyword(Keyword::WITH) {
        parser.expect_token(&Token::LParen)?;
        loop {
            let span = parser.peek_token().span;
            let key = parser.parse_literal_string()?;
            parser.expect_token(&Token::Eq)?;
            let value = parser.parse_literal_string()?;
            table.options.push((key, value, span));
            if !parser.consume_token(&Token::Comma) {
                break;
            }
        }
        parser.expect_token(&Token::RParen)?;
    }
    Ok(table)
}

/// The lab's type of a SQL type's text (`BIGINT`, `VARCHAR(10)`, `TIMESTAMP_LTZ(3)`).
fn sql_type(text: &str, span: Span) -> Result<SqlType, SqlError> {
    let head = text.split('(').next().unwrap_or("").trim().to_uppercase();
    Ok(match head.as_str() {
        "BIGINT" | "INT" | "INTEGER" | "SMALLINT" | "TINYINT" => SqlType::Integer,
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT" | "REAL" | "DECIMAL" => SqlType::Float,
        "STRING" | "VARCHAR" | "CHAR" | "TEXT" => SqlType::String,
        "BOOLEAN" | "BOOL" => SqlType::Bool,
        "TIMESTAMP" | "TIMESTAMP_LTZ" => SqlType::Timestamp,
        _ => {
            return Err(SqlError::at(
                span,
                format!("type `{text}` is not supported: use BIGINT, INT, DOUBLE, STRING, VARCHAR, BOOLEAN, TIMESTAMP(3) or TIMESTAMP_LTZ(3)"),
            ))
        }
    })
}

/// `TO_TIMESTAMP_LTZ(ts, 3)` or `PROCTIME()`.
fn computed_column(table: &Table, expr: &Expr) -> Result<Computed, SqlError> {
    let unsupported = || {
        SqlError::at(
            expr.span(),
            format!("computed column `{expr}` is not supported: the lab computes TO_TIMESTAMP_LTZ(column, 3) and PROCTIME() (compute values in the SELECT)"),
        )
    };
    let Expr::Function(f) = expr else {
        return Err(unsupported());
    };
    let name = f.name.to_string().to_uppercase();
    let args = crate::query::sql::dialect::call_args(f)?;
    match (name.as_str(), args.as_slice()) {
        ("PROCTIME", []) => Ok(Computed::ProcessingTime),
        ("TO_TIMESTAMP_LTZ", [Expr::Identifier(column), precision]) => {
            if precision.to_string() != "3" {
                return Err(SqlError::at(
                    precision.span(),
                    "the lab's event times are epoch milliseconds: TO_TIMESTAMP_LTZ(column, 3)",
                ));
            }
            let c = table.physical(column)?;
            if c.ty != SqlType::Integer {
                return Err(SqlError::at(
                    column.span,
                    format!(
                        "TO_TIMESTAMP_LTZ reads a BIGINT of epoch milliseconds; `{}` is not one",
                        column.value
                    ),
                ));
            }
            Ok(Computed::EventTime(column.value.clone()))
        }
        _ => Err(unsupported()),
    }
}

/// `col - INTERVAL ...` (or `col`: no delay), the watermark's delay in ms.
fn watermark_delay(column: &Ident, expr: &Expr) -> Result<i64, SqlError> {
    let own = |e: &Expr| matches!(e, Expr::Identifier(i) if i.value == column.value);
    match expr {
        e if own(e) => Ok(0),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Minus,
            right,
        } if own(left) => {
            let ms = interval_ms(right)?;
            if ms < 0 {
                return Err(SqlError::at(
                    right.span(),
                    "a watermark delay is not negative",
                ));
            }
            Ok(ms)
        }
        other => Err(SqlError::at(
            other.span(),
            format!(
                "the watermark must be `{0}` or `{0} - INTERVAL 'n' UNIT` (a bounded delay)",
                column.value
            ),
        )),
    }
}
