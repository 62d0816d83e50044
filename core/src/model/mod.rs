//! The data model: what flows through a query and the arithmetic of time over it. No
//! rule of the streaming semantics and nothing of a query lives here; every other layer
//! is written in these terms.
//!
//! - [`duration`]: `"10s"`-style durations of query files.
//! - [`value`]: group-by values as in the input, hot-path scalars, aggregate results.
//! - [`event`]: the [`Event`](event::Event) engines process, the types of its fields, the
//!   key table its interned ids point into, and why a line is no event.
//! - [`key_hash`]: which worker or partition owns a group key.
//! - [`window`]: windows, their assignment to event times, and whether a window has closed
//!   under a given watermark.

pub mod duration;
pub mod event;
pub mod key_hash;
pub mod value;
pub mod window;
