//! The references every engine is measured against, independent of the engines.
//!
//! # Layout
//! - [`oracle`]: the exact answer, the whole input at once: what every engine is checked
//!   against.
//! - [`stages`]: the oracle's later stages of a multi-stage query, each over its whole
//!   input.
//! - [`baseline`]: the single-threaded hand-written loop every throughput is compared with
//!   (COST), and the reference implementation of the checkpoint protocol.

pub mod baseline;
pub mod oracle;
pub mod stages;

pub use baseline::Baseline;
pub use oracle::Oracle;
