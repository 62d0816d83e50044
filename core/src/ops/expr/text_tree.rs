//! The tree of a string expression ([`Node`]) and of a condition over one ([`Cond`]):
//! evaluating them over a row's key values, and printing them back as SQL.

use super::num::{compare_known, BinOp, Num};
use super::text_fns::TextFn;
use super::text_value::Value;
use super::tree::{write_case, Expr, NumType, Test};
use crate::model::value::{FieldValue, Scalar};
use crate::ops::filter::CmpOp;
use smallvec::SmallVec;
use std::cmp::Ordering;
use std::fmt;

/// A node of a string expression.
#[derive(Clone, Debug)]
pub(super) enum Node {
    /// A numeric part (its fields' slots are input positions).
    Num(Expr),
    /// A string literal (or `NULL`).
    Lit(Value),
    /// A string field's input position.
    Field(String, usize),
    /// A string function's call.
    Call(TextFn, Vec<Node>),
    /// Arithmetic with a string function's number on a side (`CHAR_LENGTH(s) + 1`).
    Arith(BinOp, Box<Node>, Box<Node>),
    /// `CAST(s AS BIGINT | DOUBLE)` of a string: its number, none if it is not one.
    ToNum(Box<Node>, NumType),
    /// `CASE WHEN test THEN value ... ELSE value END`.
    Case(Vec<(Cond, Node)>, Option<Box<Node>>),
}

/// A condition (three-valued, as [`Test`]).
#[derive(Clone, Debug)]
pub(super) enum Cond {
    /// A numeric condition.
    Num(Test),
    /// `a op b`.
    Cmp(Box<Node>, CmpOp, Box<Node>),
    /// `a AND b`.
    And(Box<Cond>, Box<Cond>),
    /// `a OR b`.
    Or(Box<Cond>, Box<Cond>),
    /// `NOT a`.
    Not(Box<Cond>),
    /// `x IS NULL`.
    IsNull(Box<Node>),
}

/// The inputs as the numeric parts read them (text has no number).
pub(super) fn scalars(values: &[FieldValue]) -> SmallVec<[Scalar; 8]> {
    values
        .iter()
        .map(|v| match v {
            FieldValue::Int(i) => Scalar::Int(*i),
            FieldValue::Float(f) => Scalar::Float(*f),
            FieldValue::Str(_) | FieldValue::Bool(_) => Scalar::Bool(false),
        })
        .collect()
}

impl Node {
    pub(super) fn place(&mut self, to: &[usize]) {
        match self {
            Node::Num(e) => {
                let _ = e.visit_fields(&mut |_, slot| {
                    *slot = to[*slot];
                    Ok::<_, ()>(())
                });
            }
            Node::Lit(_) => {}
            Node::Field(_, at) => *at = to[*at],
            Node::Call(_, args) => args.iter_mut().for_each(|a| a.place(to)),
            Node::Arith(_, a, b) => {
                a.place(to);
                b.place(to);
            }
            Node::ToNum(a, _) => a.place(to),
            Node::Case(branches, otherwise) => {
                for (t, e) in branches {
                    t.place(to);
                    e.place(to);
                }
                if let Some(e) = otherwise {
                    e.place(to);
                }
            }
        }
    }

    pub(super) fn is_string(&self) -> bool {
        match self {
            Node::Num(_) | Node::Arith(..) | Node::ToNum(..) => false,
            Node::Lit(v) => matches!(v, Value::Str(_)),
            Node::Field(..) => true,
            Node::Call(f, _) => !matches!(f, TextFn::CharLength),
            Node::Case(branches, otherwise) => {
                branches.iter().any(|(_, e)| e.is_string())
                    || otherwise.as_ref().is_some_and(|e| e.is_string())
            }
        }
    }

    pub(super) fn eval(&self, scalars: &[Scalar], values: &[FieldValue]) -> Value {
        match self {
            Node::Num(e) => Value::of_num(e.eval(scalars)),
            Node::Lit(v) => v.clone(),
            Node::Field(_, at) => Value::of_field(&values[*at]),
            Node::Call(f, args) => {
                let args: SmallVec<[Value; 4]> =
                    args.iter().map(|a| a.eval(scalars, values)).collect();
                f.call(&args)
            }
            Node::Arith(op, a, b) => Value::of_num(
                op.apply(a.eval(scalars, values).num(), b.eval(scalars, values).num()),
            ),
            Node::ToNum(a, ty) => match a.eval(scalars, values) {
                Value::Str(s) => {
                    let t = s.trim();
                    let n = t
                        .parse::<i64>()
                        .map(Num::Int)
                        .or_else(|_| t.parse::<f64>().map(Num::float))
                        .unwrap_or(Num::Null);
                    Value::of_num(ty.cast(n))
                }
                v => Value::of_num(ty.cast(v.num())),
            },
            Node::Case(branches, otherwise) => branches
                .iter()
                .find(|(t, _)| t.eval(scalars, values) == Some(true))
                .map(|(_, e)| e)
                .or(otherwise.as_deref())
                .map_or(Value::Null, |e| e.eval(scalars, values)),
        }
    }
}

impl Cond {
    pub(super) fn place(&mut self, to: &[usize]) {
        match self {
            Cond::Num(t) => {
                let _ = t.visit_fields(&mut |_, slot| {
                    *slot = to[*slot];
                    Ok::<_, ()>(())
                });
            }
            Cond::Cmp(a, _, b) => {
                a.place(to);
                b.place(to);
            }
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.place(to);
                b.place(to);
            }
            Cond::Not(a) => a.place(to),
            Cond::IsNull(e) => e.place(to),
        }
    }

    pub(super) fn eval(&self, scalars: &[Scalar], values: &[FieldValue]) -> Option<bool> {
        match self {
            Cond::Num(t) => t.eval(scalars),
            Cond::Cmp(a, op, b) => {
                compare_values(&a.eval(scalars, values), *op, &b.eval(scalars, values))
            }
            Cond::And(a, b) => match (a.eval(scalars, values), b.eval(scalars, values)) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            },
            Cond::Or(a, b) => match (a.eval(scalars, values), b.eval(scalars, values)) {
                (Some(true), _) | (_, Some(true)) => Some(true),
                (Some(false), Some(false)) => Some(false),
                _ => None,
            },
            Cond::Not(a) => a.eval(scalars, values).map(|b| !b),
            Cond::IsNull(e) => Some(e.eval(scalars, values) == Value::Null),
        }
    }
}

/// `a op b`: strings by bytes, numbers as numbers; unknown with NULL on a side or a
/// string beside a number.
fn compare_values(a: &Value, op: CmpOp, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => {
            let ord = x.as_bytes().cmp(y.as_bytes());
            Some(match op {
                CmpOp::Eq | CmpOp::In => ord == Ordering::Equal,
                CmpOp::Ne => ord != Ordering::Equal,
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                CmpOp::Ge => ord != Ordering::Less,
            })
        }
        (Value::Str(_), _) | (_, Value::Str(_)) => None,
        _ => compare_known(a.num(), op, b.num()),
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Num(e) => write!(f, "{e}"),
            Node::Lit(Value::Str(s)) => write!(f, "'{}'", s.replace('\'', "''")),
            Node::Lit(_) => f.write_str("NULL"),
            Node::Field(name, _) => f.write_str(name),
            Node::Call(TextFn::CastString, args) => write!(f, "CAST({} AS STRING)", args[0]),
            Node::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match (func, i) {
                        (TextFn::RegexpExtract(re), 1) => {
                            write!(f, "'{}'", re.as_str().replace('\'', "''"))?
                        }
                        _ => write!(f, "{a}")?,
                    }
                }
                f.write_str(")")
            }
            Node::Arith(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Node::ToNum(a, NumType::Int) => write!(f, "CAST({a} AS BIGINT)"),
            Node::ToNum(a, NumType::Float) => write!(f, "CAST({a} AS DOUBLE)"),
            Node::Case(branches, otherwise) => write_case(f, branches, otherwise.as_deref()),
        }
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Cond::Num(t) => write!(f, "{t}"),
            Cond::Cmp(a, op, b) => {
                let s = match op {
                    CmpOp::Eq | CmpOp::In => "=",
                    CmpOp::Ne => "<>",
                    CmpOp::Lt => "<",
                    CmpOp::Le => "<=",
                    CmpOp::Gt => ">",
                    CmpOp::Ge => ">=",
                };
                write!(f, "({a} {s} {b})")
            }
            Cond::And(a, b) => write!(f, "({a} AND {b})"),
            Cond::Or(a, b) => write!(f, "({a} OR {b})"),
            Cond::Not(a) => write!(f, "(NOT {a})"),
            Cond::IsNull(e) => write!(f, "({e} IS NULL)"),
        }
    }
}
