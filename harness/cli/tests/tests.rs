#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The streamlab binary's integration tests, one test binary (ripgrep style): a module
//! per area, the engine-against-oracle suites, the golden cases, and the tests that run
//! the `streamlab` binary itself. They need every crate of the harness, so they live
//! here, beside the binary.
//!
//! - [`macros`] (first: the modules below use them), [`fixtures`]: what the suites share.
//! - Engines against the oracle: [`baseline_vs_oracle`], [`record_vs_oracle`],
//!   [`microbatch_vs_oracle`], [`partitions`], [`projection`], [`union`].
//! - Joins: [`joins`] (stream-static), [`window_join`], [`regular_join`], [`nexmark_q8`];
//!   [`nexmark_queries`]: NEXMark Q11 and Q20 against answers computed from the lines.
//! - [`sql`]: SQL queries against their TOML twins on every configuration; the binary's
//!   `--query FILE.sql`, `--sql`, `--output-mode`, `explain` and SQL errors.
//! - [`stages`]: multi-stage queries (changelogs, aggregate and top-N stages, NEXMark
//!   Q4, Q9, Q17-Q19) on every engine against the oracle.
//! - [`golden`]: the golden cases under `tests/golden/<case>/` on every engine
//!   configuration of the one list in [`macros`].
//! - [`engine_flags`]: an engine's own flags, and refusing them for another engine.
//! - [`file_input`]: a file decoded while the engine runs gives the output of one decoded
//!   beforehand, for any decoding threads and chunk size; memory stays flat.
//! - [`csv_input`]: W1 as CSV (`gen --format csv`, a header or declared columns) gives
//!   the JSON run's output through `streamlab run`; bad declarations and headers.
//! - The binary: [`checkpoints`], [`recovery`], [`part_checks`], [`checkpoint_lock`],
//!   [`output_paths`], [`cluster`], [`live_inputs`], `kafka`
//!   (cargo feature `kafka`; a broker from `STREAMLAB_KAFKA` or tansu), [`experiments`],
//!   [`report`] (the HTML report in headless Chromium).
//! - [`dir_resume`]: a `dir://` input resumed per file: archived and added files, a
//!   changed one refused, malformed lines named by file and line.
//! - [`stop_signals`]: SIGINT/SIGTERM on a run: the final rows, the summary, exit
//!   130/143, a resumable last checkpoint; a second signal exits at once.
//! - [`peers_parity`]: the micro-batch engine against real Spark batch by batch, the
//!   record engine against real Flink record by record (`STREAMLAB_PEERS_PYTHON`).
//! - [`messages`]: hostile input through the binary: answers that must not wrap, messages
//!   that must name the problem; [`limits`]: the edges of time, resource limits, deep
//!   expressions.
//! - [`live_view`]: `--serve`, the live view, in a headless Chromium ([`live_browser`]).

#[macro_use]
mod macros;
mod fixtures;

mod async_checkpoints;
mod baseline_vs_oracle;
mod checkpoint_lock;
mod checkpoints;
mod cluster;
mod csv_input;
mod dir_resume;
mod engine_flags;
mod experiments;
mod file_input;
mod golden;
mod joins;
#[cfg(feature = "kafka")]
mod kafka;
mod limits;
mod live_browser;
mod live_inputs;
mod live_view;
mod messages;
mod microbatch_vs_oracle;
mod nexmark_q8;
mod nexmark_queries;
mod output_paths;
mod part_checks;
mod partitions;
mod peers_parity;
mod projection;
mod record_vs_oracle;
mod recovery;
mod regular_join;
mod report;
mod sql;
mod stages;
mod stop_signals;
mod union;
mod window_join;
