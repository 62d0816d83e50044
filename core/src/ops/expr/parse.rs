//! Expression text to the tree, through sqlparser: the text is tokenized and parsed as a
//! SQL expression ([`expression`], [`condition`]), and the SQL tree is compiled onto the
//! lab's ([`compile`], which the SQL front end also calls on its own parsed
//! expressions, so both front ends share one language).
//!
//! Limits: before parsing, the tokens are checked against [`MAX_OPEN`] (sqlparser
//! recurses once per parenthesis and minus sign); while compiling, the tree against
//! [`MAX_DEPTH`], counting from the root, so that compiling never recurses deeper than
//! the limit. A long text is parsed on a thread with a large stack: sqlparser's own
//! recursion, and dropping its tree of a 100 000-term sum, need more than a worker's.
//!
//! Differences from the hand-written parser this replaced (its texts parse to the same
//! trees; `legacy`'s proptest checks it): `-- ` (two minus signs and a space) starts a
//! SQL comment, which is refused (write `- -x`); a double-quoted name is a field; errors
//! are sqlparser's words, at the same kind of position.

use super::functions;
use super::num::BinOp;
use super::tree::{Expr, NumType, Test, MAX_DEPTH, MAX_OPEN};
use crate::ops::filter::CmpOp;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, FunctionArg, FunctionArgExpr, FunctionArguments,
    Spanned, UnaryOperator, Value,
};
use sqlparser::dialect::Dialect;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer, Whitespace};

/// The expression dialect: SQL's, with plain identifiers (`user` is a field, not
/// `CURRENT_USER`) and `--` a comment only before whitespace (`--x` is `-(-x)`).
#[derive(Debug)]
struct ExprDialect;

impl Dialect for ExprDialect {
    fn is_identifier_start(&self, ch: char) -> bool {
        ch.is_ascii_alphabetic() || ch == '_'
    }

    fn is_identifier_part(&self, ch: char) -> bool {
        ch.is_ascii_alphanumeric() || ch == '_'
    }

    fn requires_single_line_comment_whitespace(&self) -> bool {
        true
    }
}

/// A compile error: where in the text, and what.
#[derive(Clone, Debug, PartialEq)]
pub struct ExprError {
    /// Line and column (1-based) of the offending part.
    pub at: Location,
    /// What is wrong.
    pub message: String,
}

impl ExprError {
    fn at(at: Location, message: impl Into<String>) -> ExprError {
        ExprError {
            at,
            message: message.into(),
        }
    }

    pub(super) fn of(e: &ast::Expr, message: impl Into<String>) -> ExprError {
        ExprError::at(e.span().start, message)
    }

    /// `at column C: ...` (with `line L, ` when the text has several lines).
    fn render(&self, multiline: bool) -> String {
        if multiline {
            format!(
                "at line {}, column {}: {}",
                self.at.line, self.at.column, self.message
            )
        } else {
            format!("at column {}: {}", self.at.column, self.message)
        }
    }
}

/// Parses an expression computing a number.
pub fn expression(text: &str) -> Result<Expr, String> {
    parse_with(text, compile)
}

/// Parses a condition (a test: comparisons, `AND`, `OR`, `NOT`, ...).
pub fn condition(text: &str) -> Result<Test, String> {
    parse_with(text, compile_test)
}

/// Texts longer than this are parsed on a thread with [`BIG_STACK`] bytes of stack.
const LONG_TEXT: usize = 512;
const BIG_STACK: usize = 256 << 20;

pub(super) fn parse_with<T: Send>(
    text: &str,
    compile: impl Fn(&ast::Expr) -> Result<T, ExprError> + Send + Sync,
) -> Result<T, String> {
    let multiline = text.contains('\n');
    let run = || parse_ast(text).and_then(|e| compile(&e));
    let result = if text.len() > LONG_TEXT {
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(BIG_STACK)
                .spawn_scoped(s, run)
                .map_err(|e| {
                    ExprError::at(Location::new(1, 1), format!("no thread to parse on: {e}"))
                })?
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
        })
    } else {
        run()
    };
    result.map_err(|e| e.render(multiline))
}

/// Tokenizes, checks the nesting, and parses one SQL expression filling the text.
fn parse_ast(text: &str) -> Result<ast::Expr, ExprError> {
    let dialect = ExprDialect;
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| ExprError::at(e.location, e.message))?;
    check_nesting(&tokens)?;
    let end = end_of(text);
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(4 * MAX_OPEN + 64)
        .with_tokens_with_locations(tokens.clone());
    if parser.peek_token().token == Token::EOF {
        return Err(ExprError::at(end, "expected an expression, found the end"));
    }
    let e = parser
        .parse_expr()
        .map_err(|e| parser_error(e, end, &tokens))?;
    // (sqlparser stops before a token no operator starts, or says it has no parser for
    // it: both are the same error.)
    let next = parser.peek_token();
    if next.token != Token::EOF {
        return Err(ExprError::at(
            next.span.start,
            format!("expected an operator or the end, found `{}`", next.token),
        ));
    }
    Ok(e)
}

/// Where the text ends (the position errors at its end point to).
fn end_of(text: &str) -> Location {
    let line = text.lines().count().max(1);
    let last = text.rsplit('\n').next().unwrap_or("");
    Location::new(line as u64, last.chars().count() as u64 + 1)
}

/// sqlparser's message, its position taken out of the text into [`ExprError::at`].
fn parser_error(e: ParserError, end: Location, text_tokens: &[TokenWithSpan]) -> ExprError {
    let text = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return ExprError::at(end, "nested too deeply: split the expression")
        }
    };
    match text.rsplit_once(" at Line: ") {
        Some((message, place)) => {
            let mut numbers = place.split(", Column: ").map(|n| n.trim().parse::<u64>());
            match (numbers.next(), numbers.next()) {
                (Some(Ok(line)), Some(Ok(column))) => {
                    let message = match message.strip_prefix("No infix parser for token ") {
                        Some(_) => format!(
                            "expected an operator or the end, found `{}`",
                            token_at(text_tokens, Location::new(line, column))
                        ),
                        None => tidy(message),
                    };
                    ExprError::at(Location::new(line, column), message)
                }
                _ => ExprError::at(end, tidy(&text)),
            }
        }
        None => ExprError::at(end, tidy(&text)),
    }
}

/// The text of the token at `at`.
fn token_at(tokens: &[TokenWithSpan], at: Location) -> String {
    tokens
        .iter()
        .find(|t| t.span.start == at)
        .map_or_else(String::new, |t| t.token.to_string())
}

/// `Expected: an expression, found: EOF` as `expected an expression, found the end`.
fn tidy(message: &str) -> String {
    message
        .replace("Expected: ", "expected ")
        .replace(", found: EOF", ", found the end")
        .replace(", found: ", ", found ")
}

/// Refuses more than [`MAX_OPEN`] parentheses and minus signs open at once (a minus
/// sign right before a number is part of it), before sqlparser recurses through them.
fn check_nesting(tokens: &[TokenWithSpan]) -> Result<(), ExprError> {
    // Open parentheses (true) and unary minus signs (false), innermost last.
    let mut open: Vec<bool> = Vec::new();
    let mut prev: Option<&Token> = None;
    let significant: Vec<&TokenWithSpan> = tokens
        .iter()
        .filter(|t| !matches!(t.token, Token::Whitespace(_)))
        .collect();
    if let Some(c) = tokens.iter().find(|t| {
        matches!(
            t.token,
            Token::Whitespace(
                Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)
            )
        )
    }) {
        return Err(ExprError::at(
            c.span.start,
            "a SQL comment (`-- ` or `/*`) in an expression: write two minus signs as `- -x`",
        ));
    }
    let operand_done = |open: &mut Vec<bool>| {
        while open.last() == Some(&false) {
            open.pop();
        }
    };
    for (i, t) in significant.iter().enumerate() {
        match &t.token {
            Token::LParen => open.push(true),
            Token::RParen => {
                operand_done(&mut open);
                open.pop();
                operand_done(&mut open);
            }
            // A unary minus (a minus right before a number is part of it).
            Token::Minus
                if prev.is_none_or(|p| !ends_operand(p))
                    && !matches!(
                        significant.get(i + 1).map(|n| &n.token),
                        Some(Token::Number(..))
                    ) =>
            {
                open.push(false)
            }
            Token::Number(..) | Token::Word(_) => operand_done(&mut open),
            _ => {}
        }
        if open.len() > MAX_OPEN {
            return Err(ExprError::at(
                t.span.start,
                format!("more than {MAX_OPEN} parentheses and minus signs open at once: split the expression"),
            ));
        }
        prev = Some(&t.token);
    }
    Ok(())
}

/// Whether a token ends an operand (a minus after it subtracts).
fn ends_operand(t: &Token) -> bool {
    match t {
        Token::Number(..) | Token::RParen | Token::SingleQuotedString(_) => true,
        Token::Word(w) => !matches!(
            w.value.to_ascii_uppercase().as_str(),
            "AND" | "OR" | "NOT" | "WHEN" | "THEN" | "ELSE" | "CASE" | "BETWEEN" | "IN" | "IS"
        ),
        _ => false,
    }
}

/// The error for a tree deeper than [`MAX_DEPTH`].
fn too_deep(e: &ast::Expr) -> ExprError {
    ExprError::of(
        e,
        format!("more than {MAX_DEPTH} operators deep (each operator of a chain like `a + b + c` and each unary minus counts one): split the expression"),
    )
}

/// Compiles a SQL expression computing a number onto the lab's tree.
pub fn compile(e: &ast::Expr) -> Result<Expr, ExprError> {
    number(e, 0)
}

/// Compiles a SQL condition onto the lab's test.
pub fn compile_test(e: &ast::Expr) -> Result<Test, ExprError> {
    test(e, 0)
}

/// One operator below `depth` (refused past [`MAX_DEPTH`]).
fn deeper(e: &ast::Expr, depth: usize) -> Result<usize, ExprError> {
    if depth >= MAX_DEPTH {
        Err(too_deep(e))
    } else {
        Ok(depth + 1)
    }
}

pub(super) fn comparison(op: &BinaryOperator) -> Option<CmpOp> {
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

fn arithmetic(op: &BinaryOperator) -> Option<BinOp> {
    Some(match op {
        BinaryOperator::Plus => BinOp::Add,
        BinaryOperator::Minus => BinOp::Sub,
        BinaryOperator::Multiply => BinOp::Mul,
        BinaryOperator::Divide => BinOp::Div,
        BinaryOperator::Modulo => BinOp::Rem,
        _ => return None,
    })
}

/// A number literal's text (with a leading minus when negated).
fn literal(e: &ast::Expr, text: &str) -> Result<Expr, ExprError> {
    if text.contains(['.', 'e', 'E']) {
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Expr::Float(f)),
            _ => Err(ExprError::of(e, format!("`{text}` is not a finite number"))),
        }
    } else {
        text.parse::<i64>()
            .map(Expr::Int)
            .map_err(|_| ExprError::of(e, format!("`{text}` does not fit a 64-bit integer")))
    }
}

fn number(e: &ast::Expr, depth: usize) -> Result<Expr, ExprError> {
    match e {
        ast::Expr::Nested(inner) => number(inner, depth),
        ast::Expr::Identifier(i) => Ok(Expr::Field(i.value.clone(), usize::MAX)),
        ast::Expr::Value(v) => match &v.value {
            Value::Number(n, false) => literal(e, n),
            Value::Null => Err(ExprError::of(
                e,
                "a NULL literal: an expression has no value only where its operations have none",
            )),
            other => Err(ExprError::of(
                e,
                format!("`{other}` is not a number: the lab's expressions compute numbers"),
            )),
        },
        ast::Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr: inner,
        } => match inner.as_ref() {
            // A minus right before a literal makes a negative literal.
            ast::Expr::Value(v) if matches!(v.value, Value::Number(_, false)) => {
                let Value::Number(n, _) = &v.value else {
                    unreachable!("matched")
                };
                literal(e, &format!("-{n}"))
            }
            _ => Ok(Expr::Neg(Box::new(number(inner, deeper(e, depth)?)?))),
        },
        ast::Expr::UnaryOp {
            op: UnaryOperator::Plus,
            expr: inner,
        } => number(inner, depth),
        ast::Expr::BinaryOp { left, op, right } => match arithmetic(op) {
            Some(op) => {
                let d = deeper(e, depth)?;
                Ok(Expr::Bin(
                    op,
                    Box::new(number(left, d)?),
                    Box::new(number(right, d)?),
                ))
            }
            None if comparison(op).is_some() => Err(ExprError::of(
                e,
                format!("expected a number, found comparison `{e}` (a condition)"),
            )),
            None => Err(ExprError::of(
                e,
                format!("operator `{op}` is not one of the lab's (+ - * / %, comparisons, AND, OR, NOT)"),
            )),
        },
        ast::Expr::Function(f) => call(e, f, depth),
        ast::Expr::Cast {
            kind: CastKind::Cast | CastKind::DoubleColon,
            expr: inner,
            data_type,
            format: None,
        } => {
            let ty = match data_type {
                DataType::BigInt(_)
                | DataType::Int(_)
                | DataType::Integer(_)
                | DataType::Int64
                | DataType::SmallInt(_)
                | DataType::TinyInt(_) => NumType::Int,
                DataType::Double(_)
                | DataType::Float(_)
                | DataType::Float64
                | DataType::Real
                | DataType::DoublePrecision => NumType::Float,
                other => {
                    return Err(ExprError::of(
                        e,
                        format!("CAST to {other}: the lab's expressions compute numbers (BIGINT, INT, DOUBLE, FLOAT)"),
                    ))
                }
            };
            Ok(Expr::Cast(Box::new(number(inner, deeper(e, depth)?)?), ty))
        }
        ast::Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            let d = deeper(e, depth)?;
            let mut branches = Vec::new();
            for w in conditions {
                let t = match operand {
                    Some(x) => Test::Cmp(
                        Box::new(number(x, d)?),
                        CmpOp::Eq,
                        Box::new(number(&w.condition, d)?),
                    ),
                    None => test(&w.condition, d)?,
                };
                branches.push((t, number(&w.result, d)?));
            }
            let otherwise = match else_result {
                Some(x) => Some(Box::new(number(x, d)?)),
                None => None,
            };
            Ok(Expr::Case(branches, otherwise))
        }
        ast::Expr::CompoundIdentifier(_) => Err(ExprError::of(
            e,
            format!("`{e}`: a field is one name (a query's columns are named without their table here)"),
        )),
        _ if is_test(e) => Err(ExprError::of(
            e,
            format!("expected a number, found the condition `{e}`"),
        )),
        _ => Err(ExprError::of(
            e,
            format!("`{e}` is not an expression the lab evaluates (numbers, fields, + - * / %, functions, CAST, CASE)"),
        )),
    }
}

/// Whether `e` is a condition rather than a number.
fn is_test(e: &ast::Expr) -> bool {
    match e {
        ast::Expr::Nested(inner) => is_test(inner),
        ast::Expr::BinaryOp { op, .. } => {
            comparison(op).is_some() || matches!(op, BinaryOperator::And | BinaryOperator::Or)
        }
        ast::Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        }
        | ast::Expr::Between { .. }
        | ast::Expr::In { .. }
        | ast::Expr::IsNull(_)
        | ast::Expr::IsNotNull(_) => true,
        _ => false,
    }
}

fn call(e: &ast::Expr, f: &ast::Function, depth: usize) -> Result<Expr, ExprError> {
    let name = f.name.to_string();
    let unsupported =
        |what: &str| ExprError::of(e, format!("{what} in a call of {name} is not supported"));
    if f.filter.is_some() || f.over.is_some() || !f.within_group.is_empty() {
        return Err(unsupported("FILTER, OVER or WITHIN GROUP"));
    }
    let args: Vec<&ast::Expr> = match &f.args {
        FunctionArguments::None => Vec::new(),
        FunctionArguments::Subquery(_) => return Err(unsupported("a subquery")),
        FunctionArguments::List(list) => {
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() {
                return Err(unsupported("DISTINCT, ALL or a clause"));
            }
            list.args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                    other => Err(unsupported(&format!("argument `{other}`"))),
                })
                .collect::<Result<_, _>>()?
        }
    };
    let d = deeper(e, depth)?;
    // MOD(a, b) is `a % b` (the same tree as the operator, so twins compile alike).
    if name.eq_ignore_ascii_case("MOD") {
        return match args.as_slice() {
            [a, b] => Ok(Expr::Bin(
                BinOp::Rem,
                Box::new(number(a, d)?),
                Box::new(number(b, d)?),
            )),
            _ => Err(ExprError::of(
                e,
                format!("MOD takes 2 arguments, not {}", args.len()),
            )),
        };
    }
    let function = functions::lookup(&name, args.len()).map_err(|m| ExprError::of(e, m))?;
    let args = args
        .into_iter()
        .map(|a| number(a, d))
        .collect::<Result<_, _>>()?;
    Ok(Expr::Call(function, args))
}

fn test(e: &ast::Expr, depth: usize) -> Result<Test, ExprError> {
    let cmp = |a: &ast::Expr, op: CmpOp, b: &ast::Expr, d: usize| -> Result<Test, ExprError> {
        Ok(Test::Cmp(
            Box::new(number(a, d)?),
            op,
            Box::new(number(b, d)?),
        ))
    };
    let not = |t: Test, negated: bool| if negated { Test::Not(Box::new(t)) } else { t };
    match e {
        ast::Expr::Nested(inner) => test(inner, depth),
        ast::Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or => {
                let d = deeper(e, depth)?;
                let (a, b) = (Box::new(test(left, d)?), Box::new(test(right, d)?));
                Ok(if *op == BinaryOperator::And {
                    Test::And(a, b)
                } else {
                    Test::Or(a, b)
                })
            }
            // A comparison is not counted (as the hand-written parser did not: its
            // sides have the whole depth); what nests in its sides is.
            op => match comparison(op) {
                Some(c) => cmp(left, c, right, depth),
                None => Err(expected_test(e)),
            },
        },
        ast::Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr: inner,
        } => Ok(Test::Not(Box::new(test(inner, deeper(e, depth)?)?))),
        ast::Expr::Between {
            expr: x,
            negated,
            low,
            high,
        } => {
            // `x BETWEEN a AND b` is `x >= a AND x <= b`, both ends included.
            let d = deeper(e, depth)?;
            let both = Test::And(
                Box::new(cmp(x, CmpOp::Ge, low, d)?),
                Box::new(cmp(x, CmpOp::Le, high, d)?),
            );
            Ok(not(both, *negated))
        }
        ast::Expr::In {
            expr: x,
            target: ast::InTarget::List(list),
            negated,
            global: false,
        } => {
            // `x IN (a, b)` is `x = a OR x = b`.
            let d = deeper(e, depth)?;
            let mut any: Option<Test> = None;
            for item in list {
                let eq = cmp(x, CmpOp::Eq, item, d)?;
                any = Some(match any {
                    None => eq,
                    Some(t) => Test::Or(Box::new(t), Box::new(eq)),
                });
            }
            let any = any.ok_or_else(|| ExprError::of(e, "an empty IN list"))?;
            Ok(not(any, *negated))
        }
        ast::Expr::IsNull(x) => Ok(Test::IsNull(Box::new(number(x, deeper(e, depth)?)?))),
        ast::Expr::IsNotNull(x) => Ok(Test::Not(Box::new(Test::IsNull(Box::new(number(
            x,
            deeper(e, depth)?,
        )?))))),
        _ => Err(expected_test(e)),
    }
}

fn expected_test(e: &ast::Expr) -> ExprError {
    ExprError::of(
        e,
        format!("expected a comparison (= != < <= > >=), AND, OR, NOT, BETWEEN, IN or IS NULL, found `{e}`"),
    )
}
