//! The operators.
pub mod expr;
pub mod joins;
pub mod projection;
