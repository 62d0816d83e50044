//! The `streamlab` binary: parse arguments, run, map errors to exit codes.

/// mimalloc, not the system allocator: restoring a checkpoint of a million keys makes
/// millions of small allocations, and glibc's malloc spent most of a restart in them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let (cli, matches) = streamlab_cli::args::Cli::try_parse_with_matches(std::env::args_os())
        .unwrap_or_else(|e| e.exit());
    streamlab_cli::logs::init(cli.quiet, cli.verbose);
    match streamlab_cli::commands::run(cli, &matches) {
        Ok(code) => std::process::exit(code),
        // Stdout's reader went away (`| head`): the run stopped on it; not an error.
        Err(_) if streamlab_io::sink::stdout_closed() => std::process::exit(0),
        Err(e) => {
            eprintln!("streamlab: error: {e:#}");
            std::process::exit(2);
        }
    }
}
