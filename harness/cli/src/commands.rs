//! Runs a parsed command line: one arm per subcommand, each handing its arguments to the
//! module that does the work.

use crate::args::{Cli, Command};
use crate::run::run_command;
use anyhow::{Context, Result};
use clap::ArgMatches;
use streamlab_core::engine::RunOptions;
use streamlab_engines::EngineKind;

/// Runs a parsed command line; `matches` are clap's for it
/// ([`Cli::try_parse_with_matches`]).
pub fn run(cli: Cli, matches: &ArgMatches) -> Result<i32> {
    match cli.command {
        Command::Run(args) => {
            let given = matches
                .subcommand_matches("run")
                .context("the matches of another command line than `streamlab run`")?;
            let options = args.options(given)?;
            // Before the engine is built: with the view on, it logs what the view shows.
            let live = streamlab_live::LiveView::start(&args.live)?;
            let report = run_command(args.engine().as_ref(), &args.io, &options)?;
            live.map(streamlab_live::LiveView::finish).transpose()?;
            Ok(report.exit_status())
        }
        Command::Oracle(args) => {
            let report = run_command(
                EngineKind::Oracle.build().as_ref(),
                &args.io,
                &RunOptions::default(),
            )?;
            Ok(report.exit_status())
        }
        Command::Compare(args) => crate::compare::compare_command(&args),
        Command::Explain(args) => {
            print!("{}", crate::explain::explain(&args.query.load()?));
            Ok(0)
        }
        Command::Gen(args) => crate::gen::gen_command(&args),
        Command::Demo(args) => {
            let live = streamlab_live::LiveView::start(&args.live)?;
            crate::demo::run_demo(&args, &mut std::io::stdout())?;
            live.map(streamlab_live::LiveView::finish).transpose()?;
            Ok(0)
        }
        Command::Bench(args) => {
            crate::bench::bench_command(&args)?;
            Ok(0)
        }
        Command::Produce(args) => {
            streamlab_workloads::produce::produce(&args)?;
            Ok(0)
        }
        Command::Experiment(args) => {
            let live = streamlab_live::LiveView::start(&args.live)?;
            crate::experiment::experiment_command(&args)?;
            live.map(streamlab_live::LiveView::finish).transpose()?;
            Ok(0)
        }
        Command::Report(args) => {
            for page in streamlab_report::report(&args.dirs)? {
                println!("{}", page.display());
            }
            Ok(0)
        }
        Command::BenchRun(args) => {
            crate::bench::bench_run_command(&args)?;
            Ok(0)
        }
    }
}
