//! The SQL front end: a script of `CREATE TABLE` statements and one `SELECT` (or `INSERT
//! INTO sink SELECT`), in Flink's dialect or with Spark's window functions, compiled onto
//! the same [`Query`] a TOML file gives, so that both run identically on every engine.
//! Read with sqlparser (a dialect of ours adds Flink's table arguments; `CREATE TABLE` is
//! read with its parts). Errors name the line and column.
//!
//! - `error`: [`SqlError`] and the "did you mean" of a misspelt name.
//! - `dialect`: sqlparser's generic dialect plus `TABLE t [PARTITION BY k]`.
//! - `ddl`: `CREATE TABLE` (types, computed columns, the watermark, options).
//! - `source`: a table's `WITH` options onto the lab's input.
//! - `interval`: durations (`INTERVAL '5' SECOND`, `'10 seconds'`).
//! - `windows`: window table functions and Spark's `window()`.
//! - `expressions`: `WHERE` and computed columns onto the lab's filters and its expression
//!   language (compiled by `crate::ops::expr::parse`, as a TOML `expr`).
//! - `select`: the `SELECT` onto the query; `joins`: a regular join of two tables;
//!   `union`: a view that is a `UNION ALL` of tables.

mod ddl;
mod dialect;
mod error;
mod expressions;
mod interval;
mod joins;
mod select;
mod source;
mod union;
mod windows;

pub use error::SqlError;

use crate::model::duration::DurationMs;
use crate::query::spec::Query;
use crate::semantics::row::OutputMode;
use sqlparser::ast::Statement;
use sqlparser::keywords::Keyword;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// What the command line adds to a SQL query, which SQL does not say: the output mode
/// (Spark sets it on the sink) and a watermark delay for a table without one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SqlOptions {
    /// `--output-mode` (default append).
    pub output_mode: Option<OutputMode>,
    /// `--watermark`: the delay of a table that declares no watermark (Spark's spelling).
    pub watermark: Option<DurationMs>,
}

/// A compiled script: the query, and the input its source table names.
#[derive(Clone, Debug, PartialEq)]
pub struct SqlQuery {
    /// The lab's query.
    pub query: Query,
    /// The source table's input (`'path'`, relative to the script's folder, or a
    /// `kafka://` address), read when the run has no `--input`.
    pub input: Option<String>,
}

/// A join's query with each table's file as its input's path: the tables are read
/// whole, as named inputs (no `--input`).
fn joined<'t>(
    mut out: Query,
    tables: impl Iterator<Item = &'t ddl::Table>,
) -> Result<SqlQuery, SqlError> {
    for (input, table) in out.inputs.iter_mut().zip(tables) {
        let src = source::source(table)?;
        match src.input {
            Some(path) if !path.contains("://") => input.path = path,
            _ => {
                return Err(SqlError::at(
                    table.name.span,
                    format!("`{}` is joined: it needs 'connector' = 'filesystem' and a 'path' (the joined tables are read as named inputs)", table.name.value),
                ))
            }
        }
        if src.format.is_some() {
            out.format = src.format;
        }
    }
    Ok(SqlQuery {
        query: out,
        input: None,
    })
}

/// Whether `path` names a SQL script (by its extension, `.sql`).
pub fn is_sql_file(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("sql"))
}

/// Compiles a script.
pub fn compile(text: &str, options: &SqlOptions) -> Result<SqlQuery, SqlError> {
    let dialect = dialect::FlinkDialect::default();
    let mut parser = Parser::new(&dialect).try_with_sql(text)?;
    let mut tables: Vec<ddl::Table> = Vec::new();
    // Views: the index of the view's table in `tables`, and of the tables it unites.
    let mut views: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut query = None;
    loop {
        while parser.consume_token(&Token::SemiColon) {}
        let next = parser.peek_token();
        if next.token == Token::EOF {
            break;
        }
        if query.is_some() {
            return Err(SqlError::at(
                next.span,
                "a script has one query, after its CREATE TABLE statements",
            ));
        }
        let [first, second] = parser.peek_tokens::<2>();
        let is_keyword = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
        let is_create = is_keyword(&first, Keyword::CREATE) && is_keyword(&second, Keyword::TABLE);
        if is_create {
            let table = ddl::parse_create_table(&mut parser)?;
            if tables.iter().any(|t| t.name.value == table.name.value) {
                return Err(SqlError::at(
                    table.name.span,
                    format!("table `{}` is declared twice", table.name.value),
                ));
            }
            tables.push(table);
            continue;
        }
        let statement = parser.parse_statement()?;
        if let Statement::CreateView(create) = &statement {
            let (view, members) = union::view(&tables, create)?;
            if tables.iter().any(|t| t.name.value == view.name.value) {
                return Err(SqlError::at(
                    view.name.span,
                    format!("`{}` is declared twice", view.name.value),
                ));
            }
            tables.push(view);
            views.push((tables.len() - 1, members));
            continue;
        }
        query = Some(match statement {
            Statement::Query(q) => q,
            Statement::Insert(insert) => match insert.source {
                Some(q) => q,
                None => return Err(SqlError::at(next.span, "INSERT INTO takes a SELECT")),
            },
            _ => {
                return Err(SqlError::at(next.span, "a script holds CREATE TABLE statements and one SELECT (or INSERT INTO sink SELECT)"))
            }
        });
    }
    let Some(q) = query else {
        return Err(SqlError::whole("the script has no SELECT"));
    };
    let (mut out, read) = select::compile(&tables, &q)?;
    if read.len() > 1 {
        return joined(out, read.iter().map(|i| &tables[*i]));
    }
    let table = &tables[read[0]];
    if let Some((_, members)) = views.iter().find(|(v, _)| *v == read[0]) {
        if options.watermark.is_some() {
            return Err(SqlError::at(
                table.name.span,
                "a union's tables declare their watermarks: leave out --watermark",
            ));
        }
        if let Some(mode) = options.output_mode {
            out.output_mode = mode;
        }
        let members: Vec<&ddl::Table> = members.iter().map(|m| &tables[*m]).collect();
        union::inputs(&mut out, &members)?;
        return Ok(SqlQuery {
            query: out,
            input: None,
        });
    }
    let src = source::source(table)?;
    out.format = src.format;
    let declared = table.watermark.is_some() || src.watermark_ms.is_some();
    if let Some(ms) = src.watermark_ms {
        if table.watermark.is_some() {
            return Err(SqlError::at(
                table.name.span,
                "the table has a WATERMARK clause and a 'watermark.delay' option: keep one",
            ));
        }
        out.watermark.delay = DurationMs(ms);
    }
    if let Some(delay) = options.watermark {
        if declared {
            return Err(SqlError::at(
                table.name.span,
                format!(
                    "`{}` declares its watermark: leave out --watermark",
                    table.name.value
                ),
            ));
        }
        out.watermark.delay = delay;
    }
    if out.window.is_none() && out.watermark.delay.ms() != 0 {
        // A query without a window has no use for the source's watermark.
        out.watermark.delay = DurationMs(0);
    }
    if let Some(mode) = options.output_mode {
        out.output_mode = mode;
    }
    Ok(SqlQuery {
        query: out,
        input: src.input,
    })
}

#[cfg(test)]
mod tests;
