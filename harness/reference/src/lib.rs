//! The references every engine is measured against, independent of the engines.
//!
//! # Layout
//! - [`oracle`]: the exact answer, the whole input at once: what every engine is checked
//!   against.
//! - [`stages`]: the oracle's later stages of a multi-stage query, each over its whole
//!   input.
//! - [`baseline`]: the single-threaded hand-written loop every throughput is compared with
//!   (COST), and the reference implementation of the checkpoint protocol.
//! - [`hand_w1`]: W1's loop written by hand for W1 alone (`hand` in `streamlab bench`): the
//!   best single thread, the reference of COST (workers an engine needs to match it).

pub mod baseline;
pub mod hand_w1;
pub mod oracle;
pub mod stages;

pub use baseline::Baseline;
pub use hand_w1::HandW1;
pub use oracle::Oracle;
