//! Expressions with string values: string literals, string fields, `=`/`<>` and ordered
//! comparisons of strings (byte order), `CASE` yielding strings, `CAST(x AS STRING)` and
//! the string functions of [`super::text_fns`]. Numeric parts are the number tree
//! ([`Expr`], [`Test`]), compiled by the same code as any numeric expression.
//!
//! Where they run: engines see a string field as an interned id, never its text, so a
//! string expression is evaluated where the text is, when the decoder interns a row's
//! key (a projection's text columns are its key: [`crate::ops::projection`]). Its value
//! is a function of the key's values alone, so it is computed once per distinct key, not
//! per event; its result joins the key, and every engine, exchange and sink carries it
//! as they carry any text column. A numeric expression never goes through this module.
//!
//! Null: `NULL` in, `NULL` out (except `IS NULL`); a comparison with `NULL` on a side, or
//! of a string with a number, is unknown. Strings are UTF-8; they compare by bytes.

use super::parse::{parse_with, ExprError};
use super::text_compile::{needs_text, Compiler};
use super::text_tree::{scalars, Cond, Node};
use crate::model::value::FieldValue;
use sqlparser::ast;
use std::fmt;

pub use super::text_compile::FieldTypes;
pub use super::text_value::Value;

/// A compiled expression that may compute a string, and the fields it reads.
#[derive(Clone, Debug)]
pub struct TextExpr {
    node: Node,
    inputs: Vec<(String, bool)>,
}

/// A compiled condition over string expressions, and the fields it reads.
#[derive(Clone, Debug)]
pub struct TextCondition {
    test: Cond,
    inputs: Vec<(String, bool)>,
}

impl TextExpr {
    /// Parses an expression that may compute a string (errors as [`Expr::parse`]'s).
    pub fn parse(text: &str, types: &mut FieldTypes<'_>) -> Result<TextExpr, String> {
        let ast = parse_with(text, |e| Ok(e.clone()))?;
        TextExpr::compile(&ast, types).map_err(|e| render(&e, text))
    }

    /// Compiles a parsed SQL expression (the SQL front end's entry).
    pub fn compile(e: &ast::Expr, types: &mut FieldTypes<'_>) -> Result<TextExpr, ExprError> {
        let mut c = Compiler {
            types,
            inputs: Vec::new(),
        };
        let node = c.value(e, false, 0)?;
        Ok(TextExpr {
            node,
            inputs: c.inputs,
        })
    }

    /// Whether the text needs this module (it has a string literal, a string function, a
    /// cast to a string, or a field `types` calls text); false for a numeric expression,
    /// which [`Expr`] evaluates on the events.
    pub fn is_text(text: &str, types: &mut FieldTypes<'_>) -> Result<bool, String> {
        let ast = parse_with(text, |e| Ok(e.clone()))?;
        Ok(needs_text(&ast, types))
    }

    /// [`TextExpr::is_text`] of a parsed SQL expression.
    pub fn is_text_sql(e: &ast::Expr, types: &mut FieldTypes<'_>) -> bool {
        needs_text(e, types)
    }

    /// The fields read, by input position, with whether each is read as text.
    pub fn inputs(&self) -> &[(String, bool)] {
        &self.inputs
    }

    /// Moves the fields to other positions (`to[i]` for input `i`): where a row's key
    /// holds them.
    pub fn place(&mut self, to: &[usize]) {
        self.node.place(to);
    }

    /// The value over the inputs' values, by position.
    pub fn eval(&self, values: &[FieldValue]) -> Value {
        self.node.eval(&scalars(values), values)
    }

    /// Whether the expression's value is a string (else a number) for every input.
    pub fn is_string(&self) -> bool {
        self.node.is_string()
    }
}

impl TextCondition {
    /// Parses a condition that may compare strings.
    pub fn parse(text: &str, types: &mut FieldTypes<'_>) -> Result<TextCondition, String> {
        let ast = parse_with(text, |e| Ok(e.clone()))?;
        let mut c = Compiler {
            types,
            inputs: Vec::new(),
        };
        let test = c.test(&ast, 0).map_err(|e| render(&e, text))?;
        Ok(TextCondition {
            test,
            inputs: c.inputs,
        })
    }

    /// Compiles a parsed SQL condition (the SQL front end's entry).
    pub fn compile(e: &ast::Expr, types: &mut FieldTypes<'_>) -> Result<TextCondition, ExprError> {
        let mut c = Compiler {
            types,
            inputs: Vec::new(),
        };
        let test = c.test(e, 0)?;
        Ok(TextCondition {
            test,
            inputs: c.inputs,
        })
    }

    /// The fields read, by input position, with whether each is read as text.
    pub fn inputs(&self) -> &[(String, bool)] {
        &self.inputs
    }

    /// Moves the fields to other positions, as [`TextExpr::place`].
    pub fn place(&mut self, to: &[usize]) {
        self.test.place(to);
    }

    /// Whether the condition holds (unknown does not).
    pub fn holds(&self, values: &[FieldValue]) -> bool {
        self.test.eval(&scalars(values), values) == Some(true)
    }
}

fn render(e: &ExprError, text: &str) -> String {
    if text.contains('\n') {
        format!(
            "at line {}, column {}: {}",
            e.at.line, e.at.column, e.message
        )
    } else {
        format!("at column {}: {}", e.at.column, e.message)
    }
}

/// Prints the expression as SQL (it parses back to the same tree).
impl fmt::Display for TextExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.node.fmt(f)
    }
}

impl fmt::Display for TextCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.test.fmt(f)
    }
}
