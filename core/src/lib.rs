//! streamlab-core: what both engines share, so that a difference in their answers can only
//! come from the execution model.
//!
//! # Layout
//! Five layers, each using only the ones before it (no module imports one of a later
//! layer; `tests/layers.rs` checks it). Read them in this order:
//!
//! 1. [`model`]: the data. Durations, values, the [`Event`] and its fields, the key table,
//!    the key hash, windows and their assignment.
//! 2. [`semantics`]: the rules (docs/semantics.md). The watermark, the aggregate functions
//!    and their accumulators, result rows and output modes, and the window state every
//!    engine keeps: fixed windows sorted by end, each key's sessions.
//! 3. [`ops`]: the operators a plan is made of. Filters, expressions, projection columns,
//!    the projection, and the joins (static table, window join, regular join).
//! 4. [`query`]: the query language. The TOML file ([`query::Query`]), its compilation,
//!    section by section, into the [`Plan`] of the operators above, and a builder.
//! 5. Running a plan: [`engine`], the [`Engine`] contract between the harness and an
//!    engine (sources, sinks, options, run summary); [`row_format`], result rows as JSON
//!    Lines.
//!
//! Reading input lines into events is not here: the JSON Lines decoder is the harness's
//! side of the [`Source`] contract (`streamlab_io::json_lines`), and engines only pull
//! events.
//!
//! Unit tests (`#[cfg(test)]` modules and `tests.rs` files) may use any layer: they build
//! their plans from TOML, as users do.
//!
//! The items engines name most are re-exported here.

pub mod engine;
pub mod model;
pub mod ops;
pub mod query;
pub mod row_format;
pub mod semantics;

pub use engine::{Engine, EngineError, Job, Poll, RunOptions, RunSummary, Sink, Source};
pub use model::event::{Dictionary, Event, KeyId, KeyTable, Part};
pub use model::window::{Window, WindowSpec};
pub use query::Plan;
pub use semantics::aggregate::{Accs, AggValues};
pub use semantics::row::{OutRow, OutputMode, ResultRow};
