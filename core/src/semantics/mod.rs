//! The rules.
pub mod aggregate;
pub mod row;
pub mod watermark;
