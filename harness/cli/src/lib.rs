//! The `streamlab` binary's library: the command line and what each subcommand does with
//! it. The work itself lives in the crates below (io, workloads, measure, reference,
//! engines, experiments); `main.rs` only parses and maps errors to exit codes.
//!
//! # Layout
//! - [`args`]: every subcommand's arguments (clap; `run` flattens every engine's own
//!   flags), the engine and options of `run`'s flags.
//! - [`commands`]: running a parsed command line, one arm per subcommand.
//! - [`query`]: the query a command is given (TOML, `.sql`, `--sql`), compiled.
//! - [`explain`]: `explain`: the plan a query runs as.
//! - [`run`]: `run` and `oracle`: an engine over a file, stdin, named inputs or a live
//!   input, resuming a checkpointed file run where it stopped.
//! - [`stop`]: SIGINT/SIGTERM: a graceful stop (the final rows, a last checkpoint, the
//!   summary, exit 130/143), an immediate exit on the second signal.
//! - [`distinct_paths`]: refusing an `--output` that is the input, the query, the
//!   summary or the checkpoint directory.
//! - [`compare`]: `compare`: a result file against a reference.
//! - [`gen`]: `gen`: a workload as JSON Lines.
//! - [`demo`]: `demo`, the main job: every engine side by side against the oracle.
//! - [`bench`]: `bench` and its child runs (`bench-run`).
//! - [`logs`]: diagnostics through `tracing` (`RUST_LOG`, `--quiet`, `-v`).
//! - [`experiment`]: `experiment NAME`, then its report.
//!
//! `report` is [`streamlab_report::report`].
//!
//! `produce` is [`streamlab_workloads::produce`]; the engines registry is
//! [`streamlab_engines::EngineKind`].

pub mod args;
pub mod bench;
pub mod commands;
pub mod compare;
pub mod demo;
pub mod distinct_paths;
pub mod experiment;
pub mod explain;
pub mod gen;
pub mod logs;
pub mod query;
pub mod run;
pub mod stop;
