//! The query layer: a TOML file (see `queries/*.toml`) or the same plan built in Rust,
//! validated and compiled into the [`Plan`] engines run.
//!
//! - `spec`: [`Query`], the file key for key (the serde mirror; unknown keys are errors).
//! - `error`: [`QueryError`], naming the file and the key at fault.
//! - `plan`: [`Plan`] and its own parts ([`Slot`], [`InputSpec`], [`LoadedTable`]).
//! - `compile`: [`Plan::compile`], one module per section of the file.
//! - `builder`: [`PlanBuilder`], the same plan from Rust.
//! - `sql`: a SQL script compiled onto the same [`Query`] ([`Plan::from_sql`]).
//!
//! The modules are private and their items re-exported here: a query is one vocabulary,
//! `query::Plan`, `query::Query`, whichever file defines it.

mod builder;
mod compile;
mod error;
mod plan;
mod spec;
pub mod sql;
#[cfg(test)]
mod tests;

pub use builder::PlanBuilder;
pub use error::QueryError;
pub use plan::{InputSpec, LoadedTable, Plan, Slot};
pub use spec::{
    AggregateQuery, ComputeQuery, FilterQuery, FilterValue, InputFormat, InputQuery, JoinKind,
    JoinQuery, Literal, Query, SelectQuery, StageAggregateQuery, StageKind, StageQuery, TimeDomain,
    WatermarkQuery, WindowKind, WindowQuery,
};
