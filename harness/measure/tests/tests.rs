#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The measure crate's integration tests, one binary (the peak-RSS test is `peak_rss.rs`,
//! a binary of its own: it needs a process where no other test allocates).
//!
//! - [`measurement`]: the measurement machinery against engines whose behaviour is known.

mod measurement;
