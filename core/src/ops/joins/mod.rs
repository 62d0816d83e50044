//! The joins.
pub mod regular;
pub mod static_table;
pub mod window;
