//! The `streamlab` binary: parse arguments, run, map errors to exit codes.

use clap::Parser;

/// mimalloc, not the system allocator: restoring a checkpoint of a million keys makes
/// millions of small allocations, and glibc's malloc spent most of a restart in them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = streamlab_cli::args::Cli::parse();
    match streamlab_cli::commands::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("streamlab: error: {e:#}");
            std::process::exit(2);
        }
    }
}
