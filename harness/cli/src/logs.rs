//! Diagnostics on stderr through `tracing`: INFO by default (progress, where results
//! went), WARN and up with `--quiet`, DEBUG with `-v`, TRACE with `-vv`; `RUST_LOG`
//! (`RUST_LOG=streamlab=debug`, say) overrides the flags. Error messages are not logs:
//! `main` prints them, in the same words, whatever the level.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// Installs the subscriber for this process (once; later calls do nothing).
pub fn init(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    // Other crates' events only from WARN unless RUST_LOG asks for them.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,streamlab={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
