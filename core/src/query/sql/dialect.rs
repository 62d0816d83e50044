//! Flink's SQL as sqlparser reads it: the generic dialect plus the table argument of a
//! window table function, `TABLE clicks [PARTITION BY key]`, which sqlparser's dialects
//! do not parse. It becomes a call `TABLE(clicks, key, ...)` the window module reads.

use crate::query::sql::error::SqlError;
use sqlparser::ast::Spanned;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident,
    ObjectName,
};
use sqlparser::dialect::{Dialect, GenericDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::Token;

/// The name of the call a table argument becomes.
pub const TABLE_ARG: &str = "TABLE";

/// The generic dialect with Flink's table arguments.
#[derive(Debug, Default)]
pub struct FlinkDialect(GenericDialect);

impl Dialect for FlinkDialect {
    fn is_delimited_identifier_start(&self, ch: char) -> bool {
        self.0.is_delimited_identifier_start(ch)
    }

    fn is_identifier_start(&self, ch: char) -> bool {
        self.0.is_identifier_start(ch)
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        self.0.is_identifier_part(ch)
    }

    fn supports_group_by_expr(&self) -> bool {
        true
    }

    fn parse_prefix(&self, parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
        // `TABLE name` inside a call's arguments; `TABLE(` is sqlparser's own.
        let [table, next] = parser.peek_tokens::<2>();
        let is_table = matches!(&table, Token::Word(w) if w.keyword == Keyword::TABLE);
        if !is_table || !matches!(next, Token::Word(_)) {
            return None;
        }
        parser.next_token();
        Some(table_argument(parser))
    }
}

/// `name [PARTITION BY col | PARTITION BY (col, ...)]` after `TABLE`.
fn table_argument(parser: &mut Parser) -> Result<Expr, ParserError> {
    let name = parser.parse_identifier()?;
    let mut args = vec![name];
    if parser.parse_keywords(&[Keyword::PARTITION, Keyword::BY]) {
        if parser.consume_token(&Token::LParen) {
            args.extend(parser.parse_comma_separated(|p| p.parse_identifier())?);
            parser.expect_token(&Token::RParen)?;
        } else {
            args.push(parser.parse_identifier()?);
        }
    }
    Ok(Expr::Function(Function {
        name: ObjectName::from(vec![Ident::new(TABLE_ARG)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|i| FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Identifier(i))))
                .collect(),
            clauses: Vec::new(),
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: Vec::new(),
    }))
}

/// A call's positional arguments (`COUNT(*)` has none; a named or `DISTINCT` argument is
/// refused by the caller that cares).
pub fn call_args(f: &Function) -> Result<Vec<Expr>, SqlError> {
    let FunctionArguments::List(list) = &f.args else {
        return Ok(Vec::new());
    };
    list.args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(Ok(e.clone())),
            FunctionArg::Unnamed(FunctionArgExpr::Wildcard) => None,
            other => Some(Err(SqlError::at(
                f.name.span(),
                format!("argument `{other}` of {} is not supported", f.name),
            ))),
        })
        .collect()
}
