//! The hand-written parser the expression language had before it moved onto sqlparser
//! ([`super::parse`]), kept for the tests only: a proptest checks that the new path
//! parses every text this one did into the same tree (so the existing queries give the
//! same answers), and both refuse the same malformed texts.

use super::num::BinOp;
use super::tree::{Expr, MAX_DEPTH, MAX_OPEN};
use super::Condition;
use crate::ops::filter::CmpOp;
use std::fmt;

/// Parses an arithmetic expression as the old parser did.
pub fn parse_expr(text: &str) -> Result<Expr, String> {
    let mut p = Parser::new(text)?;
    let (e, _) = p.sum()?;
    p.end()?;
    Ok(e)
}

/// Parses `expr op expr` as the old parser did (a comparison of two sums).
pub fn parse_condition(text: &str) -> Result<Condition, String> {
    let mut p = Parser::new(text)?;
    let (left, _) = p.sum()?;
    let op = match p.peek() {
        Some(Token::Cmp(op)) => {
            p.pos += 1;
            op
        }
        _ => return Err(p.expected("a comparison (= != < <= > >=)")),
    };
    let (right, _) = p.sum()?;
    p.end()?;
    Ok(Condition::compare(left, op, right))
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    /// Unsigned as written; the parser checks the range (`-9223372036854775808` fits).
    Int(i128),
    Float(f64),
    Name(String),
    Op(BinOp),
    Cmp(CmpOp),
    Open,
    Close,
}

/// Recursive descent over the tokens, remembering where each one started (for errors).
///
/// Every rule returns its expression with its height (operators deep, see
/// [`MAX_DEPTH`]), and `open` counts the parentheses and minus signs being parsed (see
/// [`MAX_OPEN`]), so that neither the tree nor the parser's recursion is unbounded.
struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    len: usize,
    open: usize,
}

/// An expression and its height.
type Parsed = Result<(Expr, usize), String>;

impl Parser {
    fn new(text: &str) -> Result<Parser, String> {
        Ok(Parser {
            tokens: tokenize(text)?,
            pos: 0,
            len: text.chars().count(),
            open: 0,
        })
    }

    fn peek(&self) -> Option<Token> {
        self.tokens.get(self.pos).map(|(_, t)| t.clone())
    }

    fn expected(&self, what: &str) -> String {
        match self.tokens.get(self.pos) {
            Some((at, t)) => format!("at column {}: expected {what}, found {t}", at + 1),
            None => format!("at column {}: expected {what}, found the end", self.len + 1),
        }
    }

    fn end(&self) -> Result<(), String> {
        match self.tokens.get(self.pos) {
            None => Ok(()),
            Some(_) => Err(self.expected("an operator or the end")),
        }
    }

    /// Where the current token starts, 1-based, for errors.
    fn column(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.len, |(at, _)| *at) + 1
    }

    /// The error for a tree deeper than [`MAX_DEPTH`].
    fn too_deep(&self) -> String {
        format!(
            "at column {}: more than {MAX_DEPTH} operators deep (each operator of a chain like `a + b + c` and each unary minus counts one): split the expression",
            self.column()
        )
    }

    /// `left op right`, one operator deeper than the deeper of its sides.
    fn binary(&self, op: BinOp, (a, ha): (Expr, usize), (b, hb): (Expr, usize)) -> Parsed {
        let height = ha.max(hb) + 1;
        if height > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok((Expr::Bin(op, Box::new(a), Box::new(b)), height))
    }

    /// Enters a parenthesis or a unary minus (see [`MAX_OPEN`]).
    fn enter(&mut self) -> Result<(), String> {
        if self.open >= MAX_OPEN {
            return Err(format!(
                "at column {}: more than {MAX_OPEN} parentheses and minus signs open at once: split the expression",
                self.column()
            ));
        }
        self.open += 1;
        Ok(())
    }

    /// sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Parsed {
        let mut left = self.product()?;
        while let Some(Token::Op(op @ (BinOp::Add | BinOp::Sub))) = self.peek() {
            self.pos += 1;
            let right = self.product()?;
            left = self.binary(op, left, right)?;
        }
        Ok(left)
    }

    /// product := unary (('*' | '/' | '%') unary)*
    fn product(&mut self) -> Parsed {
        let mut left = self.unary()?;
        while let Some(Token::Op(op @ (BinOp::Mul | BinOp::Div | BinOp::Rem))) = self.peek() {
            self.pos += 1;
            let right = self.unary()?;
            left = self.binary(op, left, right)?;
        }
        Ok(left)
    }

    /// unary := '-' unary | atom; a minus right before a literal makes a negative literal.
    fn unary(&mut self) -> Parsed {
        if self.peek() == Some(Token::Op(BinOp::Sub)) {
            self.pos += 1;
            match self.peek() {
                Some(Token::Int(i)) => {
                    let e = Expr::Int(self.fit(-i)?);
                    self.pos += 1;
                    return Ok((e, 0));
                }
                Some(Token::Float(f)) => {
                    self.pos += 1;
                    return Ok((Expr::Float(-f), 0));
                }
                _ => {
                    self.enter()?;
                    let (e, height) = self.unary()?;
                    self.open -= 1;
                    if height >= MAX_DEPTH {
                        return Err(self.too_deep());
                    }
                    return Ok((Expr::Neg(Box::new(e)), height + 1));
                }
            }
        }
        self.atom()
    }

    /// The integer literal at the current token, if it fits an `i64`.
    fn fit(&self, i: i128) -> Result<i64, String> {
        i64::try_from(i).map_err(|_| {
            format!(
                "at column {}: `{i}` does not fit a 64-bit integer",
                self.column()
            )
        })
    }

    /// atom := integer | float | field | '(' sum ')'
    fn atom(&mut self) -> Parsed {
        let e = match self.peek() {
            Some(Token::Int(i)) => (Expr::Int(self.fit(i)?), 0),
            Some(Token::Float(f)) => (Expr::Float(f), 0),
            Some(Token::Name(n)) => (Expr::Field(n, usize::MAX), 0),
            Some(Token::Open) => {
                self.enter()?;
                self.pos += 1;
                let e = self.sum()?;
                if self.peek() != Some(Token::Close) {
                    return Err(self.expected("`)`"));
                }
                self.open -= 1;
                e
            }
            _ => return Err(self.expected("a number, a field or `(`")),
        };
        self.pos += 1;
        Ok(e)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Int(i) => write!(f, "`{i}`"),
            Token::Float(x) => write!(f, "`{x:?}`"),
            Token::Name(n) => write!(f, "`{n}`"),
            Token::Op(op) => write!(f, "`{}`", op.symbol()),
            Token::Cmp(op) => write!(f, "comparison `{op:?}`"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, Token)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let at = |what: String| format!("at column {}: {what}", start + 1);
        let token = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '+' => Token::Op(BinOp::Add),
            '-' => Token::Op(BinOp::Sub),
            '*' => Token::Op(BinOp::Mul),
            '/' => Token::Op(BinOp::Div),
            '%' => Token::Op(BinOp::Rem),
            '(' => Token::Open,
            ')' => Token::Close,
            '=' | '!' | '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let (op, width) = match (c, next) {
                    ('=', Some('=')) => (CmpOp::Eq, 2),
                    ('=', _) => (CmpOp::Eq, 1),
                    ('!', Some('=')) => (CmpOp::Ne, 2),
                    ('<', Some('>')) => (CmpOp::Ne, 2),
                    ('<', Some('=')) => (CmpOp::Le, 2),
                    ('<', _) => (CmpOp::Lt, 1),
                    ('>', Some('=')) => (CmpOp::Ge, 2),
                    ('>', _) => (CmpOp::Gt, 1),
                    _ => return Err(at("`!` must be followed by `=`".into())),
                };
                i += width;
                tokens.push((start, Token::Cmp(op)));
                continue;
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                if i < chars.len() && matches!(chars[i], 'e' | 'E') {
                    i += 1;
                    if i < chars.len() && matches!(chars[i], '+' | '-') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                if i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    return Err(at(format!(
                        "`{}` is not a number",
                        chars[start..=i].iter().collect::<String>()
                    )));
                }
                let s: String = chars[start..i].iter().collect();
                let is_float = s.contains(['.', 'e', 'E']);
                tokens.push((
                    start,
                    if is_float {
                        match s.parse::<f64>() {
                            Ok(f) if f.is_finite() => Token::Float(f),
                            _ => return Err(at(format!("`{s}` is not a finite number"))),
                        }
                    } else {
                        Token::Int(
                            s.parse::<i128>()
                                .map_err(|_| at(format!("`{s}` does not fit a 64-bit integer")))?,
                        )
                    },
                ));
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push((start, Token::Name(chars[start..i].iter().collect())));
                continue;
            }
            other => return Err(at(format!("unexpected `{other}`"))),
        };
        tokens.push((start, token));
        i += 1;
    }
    Ok(tokens)
}
