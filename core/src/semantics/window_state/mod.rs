//! Window state: the windows of a keyed aggregation that are still open, with their rows
//! by key, kept the same way by both engines, the baseline and the oracle
//! (docs/semantics.md, "Windows"). A user keeps only what its execution model decides:
//! when windows close and which rows leave then (per record, per batch, per interval, at
//! the end of the input).
//!
//! - [`fixed`]: fixed windows (tumbling, sliding), sorted by end, each with its rows by
//!   key: assignment, lateness, closing, tables, and the form a checkpoint holds.
//! - [`sessions`]: the open sessions of one key, merged as events bridge gaps, and what a
//!   key keeps of the sessions it closed.

pub mod fixed;
pub mod sessions;

pub use fixed::{FixedSnapshot, FixedWindows, WindowRows};
pub use sessions::{ClosedSessions, SessionInsert, SessionSet};
