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

pub use engine::{Engine, EngineError, Poll, RunOptions, RunSummary, Sink, Source};
pub use model::event::{Dictionary, Event, KeyId, KeyTable, Part};
pub use model::window::{Window, WindowSpec};
pub use query::Plan;
pub use semantics::aggregate::{Accs, AggValues};
pub use semantics::row::{OutRow, OutputMode, ResultRow};

// Old module paths, kept until the harness crates import the new ones (issue 16).
#[doc(hidden)]
pub use model::{duration, event, value};

/// Old path of the window model and the session set (issue 16).
#[doc(hidden)]
pub mod window {
    pub use crate::model::window::*;
    pub use crate::semantics::window_state::SessionSet;
}

#[doc(hidden)]
pub use ops::joins::{regular as regular_join, static_table as join};

/// Old path of the watermark and the closing rules (issue 16).
#[doc(hidden)]
pub mod watermark {
    pub use crate::model::window::{is_closed, is_late};
    pub use crate::semantics::watermark::Watermark;
}

/// Old path of the row format and the final answer (issue 16).
#[doc(hidden)]
pub mod row {
    pub use crate::row_format::RowFormat;
    pub use crate::semantics::row::final_rows;
}

/// Old path of the projection (issue 16).
#[doc(hidden)]
pub mod projection {
    pub use crate::ops::projection::Projection;
}
