//! streamlab's inputs and outputs: everything that reads events in or writes rows out, so
//! that an engine sees only a [`Source`](streamlab_core::engine::Source) and a
//! [`Sink`](streamlab_core::engine::Sink).
//!
//! # Layout
//! - [`json_lines`]: the JSON Lines format: one input line becomes an event of a plan
//!   (docs/semantics.md's malformed rules), reading only the fields the plan needs; its
//!   [`Decoder`](json_lines::Decoder) reads CSV lines too.
//! - `csv_line`: one CSV line's columns, typed as the JSON reader's values (`format =
//!   "csv"`, a header line or declared `columns`).
//! - [`pipeline`]: decoding a file or stdin while the engine runs: chunks of whole lines
//!   decoded on several threads, delivered in file order with one decoder's ids; memory
//!   bounded by a window of chunks. `streamlab run` reads files through it.
//! - [`decode`]: decoding a whole input into memory before a run (what replays and
//!   engine-only benchmarks measure from; the query's named inputs merged into one
//!   stream), malformed-line reporting, `--strict`.
//! - [`file_position`]: a file input resumed at a checkpoint's line and byte offset.
//! - [`file_prefix`]: the checksum of the file before that line, so an edited file is
//!   refused.
//! - [`address`]: `--input` addresses (file, `-`, `tcp://`, `dir://`, `kafka://`).
//! - [`live`]: live inputs decoded as they arrive: a socket, a directory (and Kafka).
//! - [`dir_input`]: a `dir://` input's reader and its positions, per file (name, lines,
//!   bytes, CRC-32), so a restart neither skips nor re-reads rows when files come and go.
//! - `kafka`, `kafka_position` (cargo feature `kafka`, default on): Kafka source, sink and
//!   producer; the offsets behind every line, for checkpoints. Without the feature the
//!   crate links neither rdkafka nor tokio, and a `kafka://` address is an error saying so.
//! - [`sink`]: JSON Lines output, the exactly-once file sink, the sink `--output` names.
//! - [`part_manifest`]: the exactly-once file sink's record of its parts (length, CRC-32),
//!   checked on restart and when the output is joined.
//! - [`tables`]: the table of a stream-static join (CSV or JSON Lines).

pub mod address;
mod csv_line;
pub mod decode;
pub mod dir_input;
pub mod file_position;
pub mod file_prefix;
pub mod json_lines;
#[cfg(feature = "kafka")]
pub mod kafka;
#[cfg(feature = "kafka")]
pub mod kafka_position;
pub mod live;
pub mod part_manifest;
pub mod pipeline;
pub mod sink;
pub mod tables;
