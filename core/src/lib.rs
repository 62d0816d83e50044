//! streamlab-core: what both engines share, so that a difference in their answers can only
//! come from the execution model.
//!
//! # Layout
//! - [`duration`]: `"10s"`-style durations of query files.
//! - [`query`]: the query file format ([`query::Query`]), its validation and the compiled
//!   [`query::Plan`] (plus a builder for the same plan in Rust).
//! - [`expr`]: the arithmetic of computed columns and conditions (`price * 0.908`).
//! - [`projection`]: queries without windows: one row per event, selected and computed
//!   columns (NEXMark Q0-Q2).
//! - [`value`]: group-by values as in the input, hot-path scalars, aggregate results.
//! - [`event`]: the [`event::Event`] engines process and the JSON Lines
//!   [`event::Decoder`] with semantics.md's malformed rules.
//! - [`window`]: window assignment and session merging.
//! - [`watermark`]: the watermark, window closing and lateness rules.
//! - [`aggregate`]: accumulators for count, sum, min, max, avg, count_distinct.
//! - [`row`]: result rows: emitted, printed, read back, reduced to the final answer.
//! - [`join`], [`window_join`]: the stream-static join's table; the window join's
//!   [`window_join::RowRule`], which decides the rows of every (window, key).
//! - [`regular_join`]: the unwindowed join of two inputs (NEXMark Q3): a row per pair,
//!   and the symmetric hash join state every engine runs it with.
//! - [`engine`]: the [`engine::Engine`] trait, sources, sinks, options and run summary.

pub mod engine;
pub mod model;
pub mod ops;
pub mod query;
pub mod semantics;

pub use model::{duration, event, value, window};
pub use ops::joins::{regular as regular_join, static_table as join, window as window_join};
pub use ops::{expr, projection};
pub use semantics::{aggregate, row, watermark};

pub use aggregate::{Accs, AggValues};
pub use engine::{Engine, EngineError, Poll, RunOptions, RunSummary, Sink, Source};
pub use event::{Decoder, Dictionary, Event, KeyId, KeyTable, Part};
pub use query::{OutputMode, Plan};
pub use row::{OutRow, ResultRow};
pub use window::{Window, WindowSpec};
