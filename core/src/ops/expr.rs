//! The expression language: the `expr` of a computed column (`price * 0.908`), a
//! `where` condition (`auction % 123 = 0`), the computed keys and filters of a stage,
//! and SQL's expressions, one tree that every engine evaluates.
//!
//! # Language
//! SQL's expression syntax, parsed by sqlparser ([`parse`]), over numbers:
//! - Operands: integer literals (`123`, an `i64`), float literals (`0.908`, `1e3`: a `.`
//!   or an exponent makes a float) and field names (`[A-Za-z_][A-Za-z0-9_]*`).
//! - Operators, loosest first: `+ -`, then `* / %`, then unary `-`; left-associative;
//!   parentheses group. At most [`MAX_DEPTH`] operators deep (see there).
//! - Functions ([`functions`]): `HOUR(ts)`, `MINUTE(ts)` (of epoch milliseconds, UTC),
//!   `MOD(a, b)` (the same as `a % b`), `ABS(x)`, `SIGN(x)`, `GREATEST(...)`, `LEAST(...)`, and scalar
//!   functions registered in Rust ([`functions::register`]).
//! - `CAST(x AS BIGINT | INT | DOUBLE | FLOAT)`, `CASE WHEN test THEN x ... [ELSE y] END`
//!   (without `ELSE`: no value), `CASE x WHEN v THEN ... END`.
//! - Tests (a condition, a `CASE WHEN`): comparisons `= == != <> < <= > >=`, `AND`, `OR`,
//!   `NOT`, `x [NOT] BETWEEN a AND b`, `x [NOT] IN (a, b, ...)`, `x IS [NOT] NULL`.
//!
//! Strings are values of [`text`]'s expressions (string literals, `CASE` yielding
//! strings, `CAST(x AS STRING)`, `||`, `CONCAT`, `LOWER`, `UPPER`, `CHAR_LENGTH`,
//! `SPLIT_INDEX`, `REGEXP_EXTRACT`, `DATE_FORMAT`, string functions registered in Rust:
//! [`text_fns`]), which a projection evaluates once per distinct key, where the text is
//! (see [`text`]); the tree here computes numbers over numeric fields, and a string
//! function in it is refused by name.
//!
//! # Values
//! - Integer op integer is an integer (`/` truncates toward zero, `%` takes the sign of
//!   the dividend, as in SQL and Rust); as soon as one side is a float both are floats.
//! - There is no value (JSON `null` in the output; SQL's NULL, what `IS NULL` tests) when
//!   an integer operation overflows, on division or remainder by zero, when a float
//!   operation's result is not a finite number, and from a `CASE` none of whose tests
//!   holds and that has no `ELSE`; an operation with no value on either side has none
//!   either. A comparison with no value on either side is unknown, as in SQL: `NOT`
//!   keeps it unknown, `AND`/`OR` follow SQL's three-valued logic, and a condition or a
//!   `WHEN` that is unknown does not hold.
//! - A field an expression reads must be a JSON number in every event: the plan gives it a
//!   [`SlotType::Number`](crate::model::event::SlotType::Number) slot, so a line where it
//!   is missing or not a number is malformed (docs/semantics.md) and never reaches an
//!   engine.

pub mod functions;
#[cfg(test)]
mod language_tests;
#[cfg(test)]
mod legacy;
mod num;
pub mod parse;
#[cfg(test)]
mod tests;
pub mod text;
mod text_compile;
pub mod text_fns;
#[cfg(test)]
mod text_tests;
mod text_tree;
mod text_value;
mod tree;

pub use functions::Function;
pub use num::{compare, BinOp, Num};
pub use tree::{Expr, NumType, Test, MAX_DEPTH, MAX_OPEN};

use crate::model::value::Scalar;
use crate::ops::filter::CmpOp;

impl Expr {
    /// Parses an expression; the error says where (`at column N`, with the line when the
    /// text has several) and what is wrong.
    pub fn parse(text: &str) -> Result<Expr, String> {
        parse::expression(text)
    }
}

/// A projection's or a stage's `where`: a test that must hold (unknown does not).
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// The test.
    pub test: Test,
}

impl Condition {
    /// Parses a condition (`a % 123 = 0`, `price BETWEEN 1 AND 5 AND HOUR(ts) < 6`).
    pub fn parse(text: &str) -> Result<Condition, String> {
        parse::condition(text).map(|test| Condition { test })
    }

    /// `left op right`.
    pub fn compare(left: Expr, op: CmpOp, right: Expr) -> Condition {
        Condition {
            test: Test::Cmp(Box::new(left), op, Box::new(right)),
        }
    }

    /// Gives every field its slot.
    pub fn resolve<E>(
        &mut self,
        slot_for: &mut dyn FnMut(&str) -> Result<usize, E>,
    ) -> Result<(), E> {
        self.test.resolve(slot_for)
    }

    /// Whether the event satisfies the condition (never when it is unknown).
    pub fn holds(&self, fields: &[Scalar]) -> bool {
        self.test.eval(fields) == Some(true)
    }
}
