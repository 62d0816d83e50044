//! The `streamlab` binary: parse arguments, run, map errors to exit codes.

use clap::Parser;

fn main() {
    let cli = harness::cli::Cli::parse();
    match harness::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("streamlab: error: {e:#}");
            std::process::exit(2);
        }
    }
}
