//! The expression grammar: tokens, then recursive descent, with every error naming the
//! column where it was found and what was expected there.
//!
//! ```text
//! condition := sum cmp sum
//! sum       := product (('+' | '-') product)*
//! product   := unary (('*' | '/' | '%') unary)*
//! unary     := '-' unary | atom
//! atom      := integer | float | field | '(' sum ')'
//! ```

use super::{BinOp, Condition, Expr};
use crate::ops::filter::CmpOp;
use std::fmt;

/// Parses an arithmetic expression.
pub(super) fn expr(text: &str) -> Result<Expr, String> {
    let mut p = Parser::new(text)?;
    let e = p.sum()?;
    p.end()?;
    Ok(e)
}

/// Parses `expr op expr`.
pub(super) fn condition(text: &str) -> Result<Condition, String> {
    let mut p = Parser::new(text)?;
    let left = p.sum()?;
    let op = match p.peek() {
        Some(Token::Cmp(op)) => {
            p.pos += 1;
            op
        }
        _ => return Err(p.expected("a comparison (= != < <= > >=)")),
    };
    let right = p.sum()?;
    p.end()?;
    Ok(Condition { left, op, right })
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
struct Parser {
    tokens: Vec<(usize, Token)>,
    pos: usize,
    len: usize,
}

impl Parser {
    fn new(text: &str) -> Result<Parser, String> {
        Ok(Parser {
            tokens: tokenize(text)?,
            pos: 0,
            len: text.chars().count(),
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

    /// sum := product (('+' | '-') product)*
    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(Token::Op(op @ (BinOp::Add | BinOp::Sub))) = self.peek() {
            self.pos += 1;
            left = Expr::Bin(op, Box::new(left), Box::new(self.product()?));
        }
        Ok(left)
    }

    /// product := unary (('*' | '/' | '%') unary)*
    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(Token::Op(op @ (BinOp::Mul | BinOp::Div | BinOp::Rem))) = self.peek() {
            self.pos += 1;
            left = Expr::Bin(op, Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    /// unary := '-' unary | atom; a minus right before a literal makes a negative literal.
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek() == Some(Token::Op(BinOp::Sub)) {
            self.pos += 1;
            match self.peek() {
                Some(Token::Int(i)) => {
                    let e = Expr::Int(self.fit(-i)?);
                    self.pos += 1;
                    return Ok(e);
                }
                Some(Token::Float(f)) => {
                    self.pos += 1;
                    return Ok(Expr::Float(-f));
                }
                _ => return Ok(Expr::Neg(Box::new(self.unary()?))),
            }
        }
        self.atom()
    }

    /// The integer literal at the current token, if it fits an `i64`.
    fn fit(&self, i: i128) -> Result<i64, String> {
        i64::try_from(i).map_err(|_| {
            let at = self.tokens.get(self.pos).map_or(self.len, |(at, _)| *at);
            format!("at column {}: `{i}` does not fit a 64-bit integer", at + 1)
        })
    }

    /// atom := integer | float | field | '(' sum ')'
    fn atom(&mut self) -> Result<Expr, String> {
        let e = match self.peek() {
            Some(Token::Int(i)) => Expr::Int(self.fit(i)?),
            Some(Token::Float(f)) => Expr::Float(f),
            Some(Token::Name(n)) => Expr::Field(n, usize::MAX),
            Some(Token::Open) => {
                self.pos += 1;
                let e = self.sum()?;
                if self.peek() != Some(Token::Close) {
                    return Err(self.expected("`)`"));
                }
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
