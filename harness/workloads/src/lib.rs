//! streamlab's workloads: deterministic generated streams (the same seed gives the same
//! bytes) and `streamlab produce`, which sends one to a Kafka topic at a rate.
//!
//! # Layout
//! - [`gen`]: the generator (`streamlab gen`), one file per workload: clicks, logs, likes,
//!   NEXMark, YSB (with its campaign table), and malformed lines.
//! - [`queries`]: built-in queries over them (W1).
//! - [`produce`]: `streamlab produce`, a workload or a file into a Kafka topic at a
//!   controlled rate (cargo feature `kafka`, default on; without it, an error saying so).

pub mod gen;
pub mod produce;
pub mod queries;

pub use queries::W1_QUERY;
