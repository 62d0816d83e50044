//! Arithmetic over an event's numeric fields: the `expr` of a projection's computed
//! column (`price * 0.908`) and the two sides of its `where` condition
//! (`auction % 123 = 0`).
//!
//! # Language
//! - Operands: integer literals (`123`, an `i64`), float literals (`0.908`, `1e3`: a `.`
//!   or an exponent makes a float) and field names (`[A-Za-z_][A-Za-z0-9_]*`).
//! - Operators, loosest first: `+ -`, then `* / %`, then unary `-`; left-associative;
//!   parentheses group. At most [`MAX_DEPTH`] operators deep (see there). A condition is `expr op expr` with op one of
//!   `= == != <> < <= > >=`.
//!
//! # Values
//! - Integer op integer is an integer (`/` truncates toward zero, `%` takes the sign of
//!   the dividend, as in SQL and Rust); as soon as one side is a float both are floats.
//! - There is no value (JSON `null` in the output) when an integer operation overflows,
//!   on division or remainder by zero, and when a float operation's result is not a
//!   finite number; an operation with no value on either side has none either. A
//!   condition with no value on either side does not hold (SQL's unknown).
//! - A field an expression reads must be a JSON number in every event: the plan gives it a
//!   [`SlotType::Number`](crate::model::event::SlotType::Number) slot, so a line where it
//!   is missing or not a number is malformed (docs/semantics.md) and never reaches an
//!   engine.

#[cfg(test)]
mod tests;

use crate::model::value::{AggValue, Scalar};
use crate::ops::filter::CmpOp;
use std::fmt;

/// The most operators on one path of an expression's tree (`a + b + c` is two deep, being
/// left-associative; `-x` one). Resolving, evaluating, printing and dropping an
/// expression recurse once per operator, so without a bound `-(` x 10 000 or a
/// 100 000-term sum overflowed the stack and aborted the process (or a worker thread);
/// such a text is refused when the query is compiled. The parser's own recursion is
/// bounded by [`MAX_OPEN`].
pub const MAX_DEPTH: usize = 256;

/// The most parentheses and unary minus signs open at once while parsing: twice
/// [`MAX_DEPTH`], so that any expression within that limit, printed fully parenthesized
/// (`-(x)`, `(a + b)`), parses back.
pub const MAX_OPEN: usize = 2 * MAX_DEPTH;

/// A number an expression computes, or none (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    /// An integer.
    Int(i64),
    /// A finite float.
    Float(f64),
    /// No value: overflow, division by zero, a non-finite float.
    Null,
}

impl Num {
    fn float(f: f64) -> Num {
        if f.is_finite() {
            Num::Float(f)
        } else {
            Num::Null
        }
    }

    fn as_f64(self) -> Option<f64> {
        match self {
            Num::Int(i) => Some(i as f64),
            Num::Float(f) => Some(f),
            Num::Null => None,
        }
    }

    /// The value as a result-row value; no value is a NaN float, which rows print as
    /// `null`.
    pub fn to_agg(self) -> AggValue {
        match self {
            Num::Int(i) => AggValue::Int(i),
            Num::Float(f) => AggValue::Float(f),
            Num::Null => AggValue::Float(f64::NAN),
        }
    }
}

/// A binary arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

impl BinOp {
    fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
            BinOp::Rem => '%',
        }
    }

    /// Applies the operator by the rules of the module doc.
    pub fn apply(self, a: Num, b: Num) -> Num {
        match (a, b) {
            (Num::Null, _) | (_, Num::Null) => Num::Null,
            (Num::Int(x), Num::Int(y)) => {
                let r = match self {
                    BinOp::Add => x.checked_add(y),
                    BinOp::Sub => x.checked_sub(y),
                    BinOp::Mul => x.checked_mul(y),
                    BinOp::Div => x.checked_div(y),
                    // i64::MIN % -1 is 0, not an overflow.
                    BinOp::Rem => (y != 0).then(|| x.wrapping_rem(y)),
                };
                r.map_or(Num::Null, Num::Int)
            }
            (a, b) => {
                let (x, y) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                Num::float(match self {
                    BinOp::Add => x + y,
                    BinOp::Sub => x - y,
                    BinOp::Mul => x * y,
                    BinOp::Div => x / y,
                    BinOp::Rem => x % y,
                })
            }
        }
    }
}

/// A parsed expression. Field operands carry the event slot they read, set by
/// [`Expr::resolve`] when the plan is compiled.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// A field: its name and its slot in [`Event::fields`](crate::model::event::Event::fields).
    Field(String, usize),
    /// Unary minus.
    Neg(Box<Expr>),
    /// `left op right`.
    Bin(BinOp, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Parses an arithmetic expression; the error says where and what was expected.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let mut p = Parser::new(text)?;
        let (e, _) = p.sum()?;
        p.end()?;
        Ok(e)
    }

    /// Gives every field its slot (`slot_for` adds the field to the plan as a number).
    pub fn resolve<E>(
        &mut self,
        slot_for: &mut dyn FnMut(&str) -> Result<usize, E>,
    ) -> Result<(), E> {
        match self {
            Expr::Int(_) | Expr::Float(_) => Ok(()),
            Expr::Field(name, slot) => {
                *slot = slot_for(name)?;
                Ok(())
            }
            Expr::Neg(e) => e.resolve(slot_for),
            Expr::Bin(_, a, b) => {
                a.resolve(slot_for)?;
                b.resolve(slot_for)
            }
        }
    }

    /// The value over an event's fields.
    pub fn eval(&self, fields: &[Scalar]) -> Num {
        match self {
            Expr::Int(i) => Num::Int(*i),
            Expr::Float(f) => Num::Float(*f),
            Expr::Field(_, slot) => match fields[*slot] {
                Scalar::Int(i) => Num::Int(i),
                Scalar::Float(f) => Num::float(f),
                // The decoder gives expression fields number slots only.
                Scalar::Bool(_) | Scalar::Str(_) => Num::Null,
            },
            Expr::Neg(e) => match e.eval(fields) {
                Num::Int(i) => i.checked_neg().map_or(Num::Null, Num::Int),
                Num::Float(f) => Num::Float(-f),
                Num::Null => Num::Null,
            },
            Expr::Bin(op, a, b) => op.apply(a.eval(fields), b.eval(fields)),
        }
    }
}

/// Prints the expression fully parenthesized (it parses back to the same tree).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => write!(f, "{x:?}"),
            Expr::Field(name, _) => f.write_str(name),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Bin(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
        }
    }
}

/// `left op right`: a projection's `where`.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Left side.
    pub left: Expr,
    /// Comparison.
    pub op: CmpOp,
    /// Right side.
    pub right: Expr,
}

impl Condition {
    /// Parses `expr op expr`.
    pub fn parse(text: &str) -> Result<Condition, String> {
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
        Ok(Condition { left, op, right })
    }

    /// Gives every field its slot.
    pub fn resolve<E>(
        &mut self,
        slot_for: &mut dyn FnMut(&str) -> Result<usize, E>,
    ) -> Result<(), E> {
        self.left.resolve(slot_for)?;
        self.right.resolve(slot_for)
    }

    /// Whether the event satisfies the condition (never when a side has no value).
    pub fn holds(&self, fields: &[Scalar]) -> bool {
        compare(self.left.eval(fields), self.op, self.right.eval(fields))
    }
}

/// `a op b` on numbers: integers exactly, otherwise as floats; false with no value.
pub fn compare(a: Num, op: CmpOp, b: Num) -> bool {
    use std::cmp::Ordering::*;
    let ord = match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        (a, b) => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => None,
        },
    };
    let Some(ord) = ord else { return false };
    match op {
        // A condition never parses `in` (a filter's list); one value is equality.
        CmpOp::Eq | CmpOp::In => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    }
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
