//! SQL's parsed expressions onto string expressions' trees ([`super::text_tree`]): which
//! parts are text (typing), which numeric parts go to the number tree, and the string
//! functions' arguments (a regex or date pattern compiled here, once per query).

use super::num::BinOp;
use super::parse::{comparison, ExprError};
use super::text_fns::{self, TextFn};
use super::text_tree::{Cond, Node};
use super::text_value::Value;
use super::tree::{NumType, MAX_DEPTH};
use crate::ops::filter::CmpOp;
use sqlparser::ast::{
    self, BinaryOperator, CastKind, DataType, FunctionArg, FunctionArgExpr, FunctionArguments,
    UnaryOperator, Value as SqlValue,
};

/// How a field's type is known while compiling: `Some(true)` text, `Some(false)` a
/// number (a SQL table's columns), `None` unknown (a TOML query: then the field's place
/// decides, `LOWER(channel)` reads text and `HOUR(ts)` a number).
pub type FieldTypes<'a> = dyn FnMut(&str) -> Option<bool> + 'a;

pub(super) struct Compiler<'a, 'b> {
    pub(super) types: &'a mut FieldTypes<'b>,
    pub(super) inputs: Vec<(String, bool)>,
}

/// The string functions by name: built in, `DATE_FORMAT`, or registered in Rust.
fn is_text_function(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    upper == "DATE_FORMAT"
        || text_fns::BUILT_IN.iter().any(|(n, ..)| *n == upper)
        || text_fns::registered(&upper).is_some()
}

fn is_string_type(t: &DataType) -> bool {
    matches!(
        t,
        DataType::String(_)
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::Text
            | DataType::CharacterVarying(_)
    )
}

/// Whether `e` has a string part (see [`TextExpr::is_text`]).
pub(super) fn needs_text(e: &ast::Expr, types: &mut FieldTypes<'_>) -> bool {
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        match e {
            ast::Expr::Value(v) if matches!(v.value, SqlValue::SingleQuotedString(_)) => {
                return true
            }
            ast::Expr::Identifier(i) if types(&i.value) == Some(true) => return true,
            ast::Expr::Function(f) => {
                if is_text_function(&f.name.to_string()) {
                    return true;
                }
                if let FunctionArguments::List(list) = &f.args {
                    for a in &list.args {
                        if let FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) = a {
                            stack.push(x);
                        }
                    }
                }
            }
            ast::Expr::BinaryOp { left, op, right } => {
                if *op == BinaryOperator::StringConcat {
                    return true;
                }
                stack.push(left);
                stack.push(right);
            }
            ast::Expr::Cast {
                expr, data_type, ..
            } => {
                if is_string_type(data_type) {
                    return true;
                }
                stack.push(expr);
            }
            ast::Expr::UnaryOp { expr, .. }
            | ast::Expr::Nested(expr)
            | ast::Expr::IsNull(expr)
            | ast::Expr::IsNotNull(expr) => stack.push(expr),
            ast::Expr::In {
                expr,
                target: ast::InTarget::List(list),
                ..
            } => {
                stack.push(expr);
                stack.extend(list);
            }
            ast::Expr::Between {
                expr, low, high, ..
            } => stack.extend([&**expr, &**low, &**high]),
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                stack.extend(operand.as_deref());
                for w in conditions {
                    stack.extend([&w.condition, &w.result]);
                }
                stack.extend(else_result.as_deref());
            }
            _ => {}
        }
    }
    false
}

fn deeper(e: &ast::Expr, depth: usize) -> Result<usize, ExprError> {
    if depth >= MAX_DEPTH {
        Err(ExprError::of(
            e,
            format!("more than {MAX_DEPTH} operators deep: split the expression"),
        ))
    } else {
        Ok(depth + 1)
    }
}

impl Compiler<'_, '_> {
    /// The input position of field `name` read as text or not (one way only).
    fn input(&mut self, e: &ast::Expr, name: &str, text: bool) -> Result<usize, ExprError> {
        match self.inputs.iter().position(|(n, _)| n == name) {
            Some(i) if self.inputs[i].1 == text => Ok(i),
            Some(_) => Err(ExprError::of(
                e,
                format!("field `{name}` is read both as a string and as a number"),
            )),
            None => {
                self.inputs.push((name.to_owned(), text));
                Ok(self.inputs.len() - 1)
            }
        }
    }

    /// A numeric part, its fields made inputs.
    fn number(&mut self, e: &ast::Expr) -> Result<Node, ExprError> {
        let mut x = super::parse::compile(e)?;
        x.visit_fields(&mut |name, slot| {
            *slot = self.input(e, name, false)?;
            Ok(())
        })?;
        Ok(Node::Num(x))
    }

    /// A value; `text`: a field here is read as a string unless its type says otherwise.
    pub(super) fn value(
        &mut self,
        e: &ast::Expr,
        text: bool,
        depth: usize,
    ) -> Result<Node, ExprError> {
        let d = deeper(e, depth)?;
        match e {
            ast::Expr::Nested(inner) => self.value(inner, text, depth),
            ast::Expr::Value(v) => match &v.value {
                SqlValue::SingleQuotedString(s) => Ok(Node::Lit(Value::Str(s.clone()))),
                SqlValue::Null => Ok(Node::Lit(Value::Null)),
                _ => self.number(e),
            },
            ast::Expr::Identifier(i) => {
                if (self.types)(&i.value).unwrap_or(text) {
                    let at = self.input(e, &i.value, true)?;
                    Ok(Node::Field(i.value.clone(), at))
                } else {
                    self.number(e)
                }
            }
            ast::Expr::Function(f) if is_text_function(&f.name.to_string()) => {
                self.call(e, f, d)
            }
            ast::Expr::BinaryOp {
                left,
                op: BinaryOperator::StringConcat,
                right,
            } => Ok(Node::Call(
                TextFn::Concat,
                vec![self.value(left, true, d)?, self.value(right, true, d)?],
            )),
            _ if !needs_text(e, self.types) => self.number(e),
            ast::Expr::BinaryOp { left, op, right } => {
                let op = match op {
                    BinaryOperator::Plus => BinOp::Add,
                    BinaryOperator::Minus => BinOp::Sub,
                    BinaryOperator::Multiply => BinOp::Mul,
                    BinaryOperator::Divide => BinOp::Div,
                    BinaryOperator::Modulo => BinOp::Rem,
                    _ => {
                        return Err(ExprError::of(
                            e,
                            format!("expected a value, found `{e}`"),
                        ))
                    }
                };
                let mut side = |x: &ast::Expr| -> Result<Box<Node>, ExprError> {
                    let n = self.value(x, false, d)?;
                    if n.is_string() {
                        return Err(ExprError::of(
                            x,
                            format!("`{x}` is not a number: arithmetic (+ - * / %) takes numbers"),
                        ));
                    }
                    Ok(Box::new(n))
                };
                Ok(Node::Arith(op, side(left)?, side(right)?))
            }
            ast::Expr::Cast {
                kind: CastKind::Cast,
                expr: inner,
                data_type,
                format: None,
            } => {
                if is_string_type(data_type) {
                    return Ok(Node::Call(
                        TextFn::CastString,
                        vec![self.value(inner, false, d)?],
                    ));
                }
                let ty = match data_type {
                    DataType::BigInt(_) | DataType::Int(_) | DataType::Integer(_) => NumType::Int,
                    DataType::Double(_) | DataType::Float(_) | DataType::Real => NumType::Float,
                    other => {
                        return Err(ExprError::of(
                            e,
                            format!("CAST to {other}: to STRING, VARCHAR, BIGINT, INT or DOUBLE"),
                        ))
                    }
                };
                Ok(Node::ToNum(Box::new(self.value(inner, true, d)?), ty))
            }
            ast::Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                let mut branches = Vec::new();
                for w in conditions {
                    let test = match operand {
                        // `CASE x WHEN v`: `x = v`.
                        Some(x) => self.compare(x, CmpOp::Eq, &w.condition, d)?,
                        None => self.test(&w.condition, d)?,
                    };
                    branches.push((test, self.value(&w.result, text, d)?));
                }
                let otherwise = match else_result {
                    Some(x) => Some(Box::new(self.value(x, text, d)?)),
                    None => None,
                };
                Ok(Node::Case(branches, otherwise))
            }
            _ => Err(ExprError::of(
                e,
                format!("`{e}` is not supported on strings (string literals, fields, CASE, CAST, ||, and the functions {}, DATE_FORMAT)",
                    text_fns::BUILT_IN.map(|(n, ..)| n).join(", ")),
            )),
        }
    }

    fn call(&mut self, e: &ast::Expr, f: &ast::Function, d: usize) -> Result<Node, ExprError> {
        let name = f.name.to_string().to_ascii_uppercase();
        let args: Vec<&ast::Expr> = match &f.args {
            FunctionArguments::List(list) if list.duplicate_treatment.is_none() => list
                .args
                .iter()
                .map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(x)) => Ok(x),
                    other => Err(ExprError::of(e, format!("argument `{other}` of {name}"))),
                })
                .collect::<Result<_, _>>()?,
            FunctionArguments::None => Vec::new(),
            _ => return Err(ExprError::of(e, format!("{name} takes a list of values"))),
        };
        let n = args.len();
        let arity_error = |what: &str| ExprError::of(e, format!("{name} takes {what}, not {n}"));
        // A literal string argument (a regex, a date pattern).
        let literal = |x: &ast::Expr, what: &str| match x {
            ast::Expr::Value(v) => match &v.value {
                SqlValue::SingleQuotedString(s) => Ok(s.clone()),
                _ => Err(ExprError::of(
                    x,
                    format!("{name}'s {what} must be a string literal"),
                )),
            },
            _ => Err(ExprError::of(
                x,
                format!("{name}'s {what} must be a string literal"),
            )),
        };
        if name == "DATE_FORMAT" {
            if n != 2 {
                return Err(arity_error("2 arguments (epoch milliseconds, pattern)"));
            }
            let source = literal(args[1], "pattern")?;
            let pattern = text_fns::date_pattern(&source).map_err(|m| ExprError::of(args[1], m))?;
            return Ok(Node::Call(
                TextFn::DateFormat(pattern, source.clone()),
                vec![
                    self.value(args[0], false, d)?,
                    Node::Lit(Value::Str(source)),
                ],
            ));
        }
        if let Some(r) = text_fns::registered(&name) {
            if n != r.arity {
                return Err(arity_error(&format!("{} arguments", r.arity)));
            }
            let args = args
                .iter()
                .map(|a| self.value(a, true, d))
                .collect::<Result<_, _>>()?;
            return Ok(Node::Call(TextFn::Registered(r), args));
        }
        let &(_, min, max) = text_fns::BUILT_IN
            .iter()
            .find(|(b, ..)| *b == name)
            .expect("a string function");
        if n < min || n > max {
            return Err(arity_error(&if min == max {
                format!("{min} argument{}", if min == 1 { "" } else { "s" })
            } else if max == usize::MAX {
                format!("at least {min} argument")
            } else {
                format!("{min} to {max} arguments")
            }));
        }
        let f = match name.as_str() {
            "CONCAT" => TextFn::Concat,
            "LOWER" => TextFn::Lower,
            "UPPER" => TextFn::Upper,
            "CHAR_LENGTH" => TextFn::CharLength,
            "SPLIT_INDEX" => TextFn::SplitIndex,
            _ => {
                let source = literal(args[1], "regex")?;
                let re = regex::Regex::new(&source).map_err(|err| {
                    ExprError::of(
                        args[1],
                        format!("REGEXP_EXTRACT: bad regex '{source}': {err}"),
                    )
                })?;
                TextFn::RegexpExtract(re)
            }
        };
        // Which arguments are numbers: SPLIT_INDEX's index, REGEXP_EXTRACT's group.
        let numeric =
            |i: usize| i == 2 && matches!(f, TextFn::SplitIndex | TextFn::RegexpExtract(_));
        let args = args
            .iter()
            .enumerate()
            .map(|(i, a)| self.value(a, !numeric(i), d))
            .collect::<Result<_, _>>()?;
        Ok(Node::Call(f, args))
    }

    fn compare(
        &mut self,
        a: &ast::Expr,
        op: CmpOp,
        b: &ast::Expr,
        d: usize,
    ) -> Result<Cond, ExprError> {
        let text = needs_text(a, self.types) || needs_text(b, self.types);
        let (x, y) = (self.value(a, text, d)?, self.value(b, text, d)?);
        let number = |n: &Node| matches!(n, Node::Num(_) | Node::Arith(..) | Node::ToNum(..));
        if (x.is_string() && number(&y)) || (number(&x) && y.is_string()) {
            return Err(ExprError::of(
                a,
                format!("`{a}` and `{b}`: a string compared with a number (CAST one of them)"),
            ));
        }
        Ok(Cond::Cmp(Box::new(x), op, Box::new(y)))
    }

    pub(super) fn test(&mut self, e: &ast::Expr, depth: usize) -> Result<Cond, ExprError> {
        let d = deeper(e, depth)?;
        match e {
            ast::Expr::Nested(inner) => self.test(inner, depth),
            _ if !needs_text(e, self.types) => {
                let mut t = super::parse::compile_test(e)?;
                t.visit_fields(&mut |name, slot| {
                    *slot = self.input(e, name, false)?;
                    Ok(())
                })?;
                Ok(Cond::Num(t))
            }
            ast::Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::And => Ok(Cond::And(
                    Box::new(self.test(left, d)?),
                    Box::new(self.test(right, d)?),
                )),
                BinaryOperator::Or => Ok(Cond::Or(
                    Box::new(self.test(left, d)?),
                    Box::new(self.test(right, d)?),
                )),
                op => match comparison(op) {
                    Some(op) => self.compare(left, op, right, d),
                    None => Err(ExprError::of(
                        e,
                        format!("expected a condition, found `{e}`"),
                    )),
                },
            },
            ast::Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } => Ok(Cond::Not(Box::new(self.test(expr, d)?))),
            ast::Expr::IsNull(x) => Ok(Cond::IsNull(Box::new(self.value(x, true, d)?))),
            ast::Expr::IsNotNull(x) => Ok(Cond::Not(Box::new(Cond::IsNull(Box::new(
                self.value(x, true, d)?,
            ))))),
            ast::Expr::In {
                expr,
                target: ast::InTarget::List(list),
                negated,
                ..
            } => {
                let mut any: Option<Cond> = None;
                for v in list {
                    let eq = self.compare(expr, CmpOp::Eq, v, d)?;
                    any = Some(match any {
                        None => eq,
                        Some(a) => Cond::Or(Box::new(a), Box::new(eq)),
                    });
                }
                let any = any.ok_or_else(|| ExprError::of(e, "IN needs a value"))?;
                Ok(if *negated {
                    Cond::Not(Box::new(any))
                } else {
                    any
                })
            }
            ast::Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let both = Cond::And(
                    Box::new(self.compare(expr, CmpOp::Ge, low, d)?),
                    Box::new(self.compare(expr, CmpOp::Le, high, d)?),
                );
                Ok(if *negated {
                    Cond::Not(Box::new(both))
                } else {
                    both
                })
            }
            _ => Err(ExprError::of(
                e,
                format!("expected a condition, found `{e}`"),
            )),
        }
    }
}
