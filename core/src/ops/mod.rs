//! The operators a plan is compiled into, which engines call per event or per row: each
//! a small value with the behaviour that gives it meaning (a filter holds, an expression
//! evaluates, a join pairs). Engines decide only where and when they run.
//!
//! - [`filter`]: compiled `[[filter]]`s and the comparison operators.
//! - [`expr`]: the arithmetic of computed columns and `where` conditions.
//! - [`column`](mod@column): the columns of a query without `[window]`.
//! - [`joins`]: the static table, the window join's row rule, the regular join.
//! - [`projection`]: one row per event, of selected and computed columns;
//!   [`computed_text`]: its string-valued columns and `where`, computed from its key.
//! - [`stages`]: the stages after the first (unbounded aggregate, top-N) over changelogs.

pub mod column;
pub mod computed_text;
pub mod expr;
pub mod filter;
pub mod joins;
pub mod projection;
pub mod stages;
