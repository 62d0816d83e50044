//! `streamlab experiment NAME`: a teaching experiment into a results folder.

use crate::args::ExperimentArgs;
use anyhow::Result;
use streamlab_experiments::{run_experiment, ExperimentConfig};
use streamlab_measure::results::default_dir;

/// Runs `streamlab experiment`.
pub fn experiment_command(args: &ExperimentArgs) -> Result<()> {
    let cfg = ExperimentConfig {
        experiment: args.name,
        quick: args.quick,
        seed: args.seed,
        reps: args.reps.unwrap_or(if args.quick { 1 } else { 3 }).max(1),
        command: std::env::args().collect::<Vec<_>>().join(" "),
        engines: args.engine.clone(),
        kills: args.kills,
        events: args.events,
        keys: args.keys,
        checkpoint_every: args.checkpoint_every,
        intervals_ms: args.intervals_ms.clone(),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_dir(&args.name.name()));
    run_experiment(&cfg, &out)?;
    let page = streamlab_report::write_report(&out)?;
    let folder = streamlab_report::folder::Folder::load(&out)?;
    if tracing::enabled!(tracing::Level::INFO) {
        // A table, not a log line: printed as it is.
        eprint!(
            "\nmedians over repetitions:\n{}\n",
            streamlab_report::text::closing_table(&folder.raw)
        );
    }
    tracing::info!("streamlab experiment: report in {}", page.display());
    Ok(())
}
