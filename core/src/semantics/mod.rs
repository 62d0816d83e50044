//! The rules of the streaming semantics (docs/semantics.md), written once so that every
//! engine, the baseline and the oracle apply the same ones: a difference between their
//! answers can then only come from when they apply them.
//!
//! - [`watermark`]: how the watermark moves, per source partition and input.
//! - [`aggregate`]: the aggregate functions and their accumulators (fold, merge, finish).
//! - [`row`]: result rows as emitted and as read back, output modes, and the final answer
//!   a run's rows stand for.
//! - [`changelog`]: the rows a stage that revises its answer emits, and the table they
//!   stand for.
//! - [`window_state`]: the open windows and their rows by key: fixed windows sorted by
//!   end, and each key's sessions. Every engine, the baseline and the oracle keep them
//!   there; each decides only when windows close and what it emits.

pub mod aggregate;
pub mod changelog;
pub mod row;
pub mod watermark;
pub mod window_state;
