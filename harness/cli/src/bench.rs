//! `streamlab bench`: engines side by side under the same driver, into a results folder;
//! and `streamlab bench-run`, one measured run in a child process of it.

use crate::args::{BenchArgs, BenchRunArgs};
use anyhow::{bail, Context, Result};
use streamlab_core::Plan;
use streamlab_engines::EngineKind;
use streamlab_experiments::child::{run_one, EngineFlags, InputPath, RunSpec, HAND};
use streamlab_experiments::suite::{run_suite, SuiteConfig};
use streamlab_measure::replay::{Profile, Rate};
use streamlab_measure::results::{default_dir, write_json};
use streamlab_reference::HandW1;
use streamlab_workloads::gen::{GenConfig, Workload};
use streamlab_workloads::W1_QUERY;

/// Runs `streamlab bench`.
pub fn bench_command(args: &BenchArgs) -> Result<()> {
    let cfg = bench_config(args)?;
    let out = args.out.clone().unwrap_or_else(|| default_dir("bench"));
    run_suite(&cfg, &out)?;
    let page = streamlab_report::write_report(&out)?;
    tracing::info!("streamlab bench: report in {}", page.display());
    Ok(())
}

/// Runs `streamlab bench-run`: the spec from a file, the metrics to another.
pub fn bench_run_command(args: &BenchRunArgs) -> Result<()> {
    let spec: RunSpec = serde_json::from_str(
        &std::fs::read_to_string(&args.spec)
            .with_context(|| format!("reading {}", args.spec.display()))?,
    )?;
    let metrics = run_one(&spec)?;
    write_json(&args.out, &metrics)?;
    Ok(())
}

/// Turns `bench` arguments into a suite configuration, checking them.
pub fn bench_config(args: &BenchArgs) -> Result<SuiteConfig> {
    let query = match &args.query {
        Some(path) => {
            // A query with [[input]]s reads the generated stream as every input's file
            // (each input keeps its own lines, by its [[input.filter]]s).
            let plan = Plan::from_file(path)?;
            if plan.static_join().is_some() && args.workload != Workload::Ysb {
                bail!(
                    "{}: bench generates its input, and only --workload ysb generates a join table (its campaigns)",
                    path.display()
                );
            }
            // A SQL script reaches the runs as its compiled query, in TOML.
            if streamlab_core::query::sql::is_sql_file(path) {
                plan.to_toml()
            } else {
                std::fs::read_to_string(path)?
            }
        }
        None => W1_QUERY.to_owned(),
    };
    let gen = GenConfig {
        rate: args.event_rate,
        keys: args.keys.unwrap_or(args.workload.default_keys()),
        disorder: args.disorder,
        max_delay_ms: args.max_delay.ms(),
        kinds: args.kind.clone(),
        ..GenConfig::new(args.workload, args.events, args.seed)
    };
    gen.validate().map_err(anyhow::Error::msg)?;
    args.profile
        .parse::<Profile>()
        .map_err(anyhow::Error::msg)?;
    if !(0.0..1.0).contains(&args.warmup) {
        bail!("--warmup must be a fraction in [0, 1)");
    }
    if args.reps == 0 {
        bail!("--reps must be at least 1");
    }
    let engines: Vec<String> = if args.engines.is_empty() {
        let mut engines: Vec<String> = EngineKind::all()
            .into_iter()
            .filter(|k| *k != EngineKind::Oracle)
            .map(EngineKind::name)
            .collect();
        // W1's shape: the loop written for it alone is the reference of COST.
        if Plan::from_toml(&query).is_ok_and(|p| HandW1::accepts(&p).is_ok()) {
            engines.push(HAND.to_owned());
        }
        engines
    } else {
        args.engines.iter().map(|k| k.name()).collect()
    };
    let rate = match args.rate {
        Rate::Max => None,
        Rate::PerSecond(r) => Some(r),
    };
    if let Some(path) = args.path.iter().find(|p| **p != InputPath::Decoded) {
        if rate.is_some() {
            bail!("--path {path} measures end to end in closed loop: leave out --rate (a run at a rate replays decoded input)");
        }
    }
    let start_rate = match args.start_rate {
        Rate::Max => bail!("--start-rate must be a number of events per second"),
        Rate::PerSecond(r) => r,
    };
    Ok(SuiteConfig {
        engines,
        query,
        gen,
        rate,
        profile: args.profile.clone(),
        reps: args.reps,
        warmup: args.warmup,
        paths: if args.path.is_empty() {
            vec![InputPath::Decoded, InputPath::File]
        } else {
            args.path.clone()
        },
        flags: EngineFlags {
            workers: args.workers,
            max_records_per_batch: args.max_records_per_batch,
            trigger: args.trigger.clone(),
            watermark_interval: args.watermark_interval,
        },
        find_sustainable: args.find_sustainable,
        start_rate,
        p99_bound_ms: args.p99_bound.ms() as u64,
        command: std::env::args().collect::<Vec<_>>().join(" "),
    })
}
