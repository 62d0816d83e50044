//! The expression tree every engine evaluates: numbers, fields, operators, calls,
//! casts, `CASE`, and the tests of conditions; evaluating and printing it back as SQL.

use super::functions::Function;
use super::num::{compare_known, BinOp, Num};
use crate::model::value::Scalar;
use crate::ops::filter::CmpOp;
use std::fmt;

/// The most operators on one path of an expression's tree (`a + b + c` is two deep, being
/// left-associative; `-x` one; a call, a cast, a `CASE` and each `AND`, `OR`, `NOT` and
/// comparison one). Resolving, evaluating, printing and dropping an
/// expression recurse once per operator, so without a bound `-(` x 10 000 or a
/// 100 000-term sum overflowed the stack and aborted the process (or a worker thread);
/// such a text is refused when the query is compiled. The parser's own recursion is
/// bounded by [`MAX_OPEN`].
pub const MAX_DEPTH: usize = 256;

/// The most parentheses and unary minus signs open at once while parsing: twice
/// [`MAX_DEPTH`], so that any expression within that limit, printed fully parenthesized
/// (`-(x)`, `(a + b)`), parses back.
pub const MAX_OPEN: usize = 2 * MAX_DEPTH;

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
    /// A scalar function's call (built in or registered).
    Call(Function, Vec<Expr>),
    /// `CAST(x AS ...)`.
    Cast(Box<Expr>, NumType),
    /// `CASE WHEN test THEN value ... ELSE value END`: the first branch whose test holds,
    /// else the `ELSE` value, else none.
    Case(Vec<(Test, Expr)>, Option<Box<Expr>>),
}

/// The number type a `CAST` converts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumType {
    /// `BIGINT` (also `INT`, `INTEGER`): a float is truncated toward zero; out of range it
    /// has no value.
    Int,
    /// `DOUBLE` (also `FLOAT`, `REAL`).
    Float,
}

/// A condition over numbers, with SQL's unknown (see the module doc).
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// `left op right` (never `in`: a list is an `Or` of equalities).
    Cmp(Box<Expr>, CmpOp, Box<Expr>),
    /// `a AND b`.
    And(Box<Test>, Box<Test>),
    /// `a OR b`.
    Or(Box<Test>, Box<Test>),
    /// `NOT a`.
    Not(Box<Test>),
    /// `x IS NULL`: whether `x` has no value (never unknown).
    IsNull(Box<Expr>),
}

impl Expr {
    /// Gives every field its slot (`slot_for` adds the field to the plan as a number).
    pub fn resolve<E>(
        &mut self,
        slot_for: &mut dyn FnMut(&str) -> Result<usize, E>,
    ) -> Result<(), E> {
        self.visit_fields(&mut |name, slot| {
            *slot = slot_for(name)?;
            Ok(())
        })
    }

    /// Calls `f` with every field's name and slot (to resolve or rename them).
    pub fn visit_fields<E>(
        &mut self,
        f: &mut dyn FnMut(&mut String, &mut usize) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Expr::Int(_) | Expr::Float(_) => Ok(()),
            Expr::Field(name, slot) => f(name, slot),
            Expr::Neg(e) | Expr::Cast(e, _) => e.visit_fields(f),
            Expr::Bin(_, a, b) => {
                a.visit_fields(f)?;
                b.visit_fields(f)
            }
            Expr::Call(_, args) => args.iter_mut().try_for_each(|a| a.visit_fields(f)),
            Expr::Case(branches, otherwise) => {
                for (t, e) in branches {
                    t.visit_fields(f)?;
                    e.visit_fields(f)?;
                }
                otherwise.as_mut().map_or(Ok(()), |e| e.visit_fields(f))
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
            Expr::Call(f, args) => {
                let values: smallvec::SmallVec<[Num; 4]> =
                    args.iter().map(|a| a.eval(fields)).collect();
                f.call(&values)
            }
            Expr::Cast(e, ty) => ty.cast(e.eval(fields)),
            Expr::Case(branches, otherwise) => branches
                .iter()
                .find(|(t, _)| t.eval(fields) == Some(true))
                .map(|(_, e)| e)
                .or(otherwise.as_deref())
                .map_or(Num::Null, |e| e.eval(fields)),
        }
    }
}

impl NumType {
    /// Converts a value (none stays none).
    pub fn cast(self, n: Num) -> Num {
        match (self, n) {
            (_, Num::Null) => Num::Null,
            (NumType::Int, Num::Int(i)) => Num::Int(i),
            // In range means strictly inside ±2^63 (`as` would saturate).
            (NumType::Int, Num::Float(f)) => {
                let t = f.trunc();
                if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&t) {
                    Num::Int(t as i64)
                } else {
                    Num::Null
                }
            }
            (NumType::Float, n) => n.as_f64().map_or(Num::Null, Num::float),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            NumType::Int => "BIGINT",
            NumType::Float => "DOUBLE",
        }
    }
}

impl Test {
    /// Gives every field its slot.
    pub fn resolve<E>(
        &mut self,
        slot_for: &mut dyn FnMut(&str) -> Result<usize, E>,
    ) -> Result<(), E> {
        self.visit_fields(&mut |name, slot| {
            *slot = slot_for(name)?;
            Ok(())
        })
    }

    /// Calls `f` with every field's name and slot.
    pub fn visit_fields<E>(
        &mut self,
        f: &mut dyn FnMut(&mut String, &mut usize) -> Result<(), E>,
    ) -> Result<(), E> {
        match self {
            Test::Cmp(a, _, b) => {
                a.visit_fields(f)?;
                b.visit_fields(f)
            }
            Test::And(a, b) | Test::Or(a, b) => {
                a.visit_fields(f)?;
                b.visit_fields(f)
            }
            Test::Not(a) => a.visit_fields(f),
            Test::IsNull(e) => e.visit_fields(f),
        }
    }

    /// True, false, or unknown (`None`: a comparison with no value on a side).
    pub fn eval(&self, fields: &[Scalar]) -> Option<bool> {
        match self {
            Test::Cmp(a, op, b) => compare_known(a.eval(fields), *op, b.eval(fields)),
            Test::And(a, b) => match (a.eval(fields), b.eval(fields)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Test::Or(a, b) => match (a.eval(fields), b.eval(fields)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Test::Not(a) => a.eval(fields).map(|b| !b),
            Test::IsNull(e) => Some(e.eval(fields) == Num::Null),
        }
    }
}

/// Prints the expression fully parenthesized, in SQL (it parses back to the same tree).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Int(i) => write!(f, "{i}"),
            Expr::Float(x) => write!(f, "{x:?}"),
            Expr::Field(name, _) => f.write_str(name),
            Expr::Neg(e) => write!(f, "-({e})"),
            Expr::Bin(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Expr::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
            Expr::Cast(e, ty) => write!(f, "CAST({e} AS {})", ty.sql()),
            Expr::Case(branches, otherwise) => write_case(f, branches, otherwise.as_deref()),
        }
    }
}

/// Prints `CASE WHEN t THEN e ... [ELSE e] END`, for numeric and text expressions alike.
pub(super) fn write_case<T: fmt::Display, E: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    branches: &[(T, E)],
    otherwise: Option<&E>,
) -> fmt::Result {
    f.write_str("CASE")?;
    for (t, e) in branches {
        write!(f, " WHEN {t} THEN {e}")?;
    }
    if let Some(e) = otherwise {
        write!(f, " ELSE {e}")?;
    }
    f.write_str(" END")
}

impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Test::Cmp(a, op, b) => write!(f, "({a} {} {b})", cmp_symbol(*op)),
            Test::And(a, b) => write!(f, "({a} AND {b})"),
            Test::Or(a, b) => write!(f, "({a} OR {b})"),
            Test::Not(a) => write!(f, "(NOT {a})"),
            Test::IsNull(e) => write!(f, "({e} IS NULL)"),
        }
    }
}

fn cmp_symbol(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq | CmpOp::In => "=",
        CmpOp::Ne => "<>",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}
