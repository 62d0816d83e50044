//! What the engine-against-oracle suites share: the engine configurations they run on, the
//! query they vary, random streams with controlled disorder, and final answers reduced to
//! comparable rows.
#![allow(dead_code)] // each suite uses its own subset

use clap::{CommandFactory, FromArgMatches};
use proptest::prelude::*;
use streamlab_cli::args::{Cli, Command, RunArgs};
use streamlab_core::engine::{RunOptions, RunSummary};
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::semantics::row::final_rows;
use streamlab_core::{Engine, OutputMode, Plan, ResultRow, Window};
use streamlab_engines::{EngineConfigs, EngineKind};

/// Tumbling, sliding and session windows (query file syntax).
pub const WINDOWS: [&str; 3] = [
    "kind = \"tumbling\"\nsize = 10",
    "kind = \"sliding\"\nsize = 20\nslide = 5",
    "kind = \"session\"\ngap = 7",
];

/// The three output modes.
pub const MODES: [&str; 3] = ["append", "update", "complete"];

/// count, sum and max of `v` per `key` over `window`, in `mode`, with watermark `delay`.
pub fn plan(window: &str, mode: &str, delay: i64) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = {delay}\n[window]\n{window}\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"s\"\n[[aggregate]]\nfn = \"max\"\nfield = \"v\"\nas = \"hi\"\n"
    ))
    .unwrap()
}

/// One event: key index, event time, value.
pub type Item = (u8, i64, i64);

/// Events in arrival order: nominal times rising by 0..4 ms (so repeated times are
/// common), each moved back by up to `disorder` ms; `keys` keys; times may be negative.
pub fn stream(n: usize, disorder: i64, keys: u8) -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec((0..keys, 0..=disorder, -50i64..50, 0..4i64), 1..n).prop_map(|raw| {
        let mut t = -200i64;
        raw.into_iter()
            .map(|(key, back, v, step)| {
                t += step;
                (key, t - back, v)
            })
            .collect()
    })
}

/// The events as JSON Lines (`ts`, `key` = "k<index>", `v`).
pub fn text(items: &[Item]) -> String {
    items
        .iter()
        .map(|(k, t, v)| format!("{{\"ts\":{t},\"key\":\"k{k}\",\"v\":{v}}}\n"))
        .collect()
}

/// A row reduced to what the answer is: window, key, values.
pub type Answer = Vec<(Window, Vec<FieldValue>, Vec<AggValue>)>;

/// The final answer of an output, as comparable rows.
pub fn answer(rows: &[ResultRow], mode: OutputMode) -> Answer {
    final_rows(rows, mode)
        .into_iter()
        .map(|r| (r.window, r.group, r.values))
        .collect()
}

/// Starts the run, waits until it has written `checkpoints` more checkpoints, then a few
/// more milliseconds (so the kill lands between or during checkpoint writes), and sends
/// SIGKILL. True when the kill landed before the run finished.
pub fn run_and_kill(
    args: &[String],
    ck: &std::path::Path,
    checkpoints: u64,
    extra: std::time::Duration,
) -> bool {
    let before = streamlab_checkpoint::newest_id(ck);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let target = before.map_or(checkpoints - 1, |b| b + checkpoints);
    while streamlab_checkpoint::newest_id(ck).is_none_or(|n| n < target) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    std::thread::sleep(extra);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    !finished
}

/// An engine configuration of the suites: `streamlab run` flags (the engine and its own
/// knobs, the run options), parsed as the binary parses them, flags of another engine
/// refused. The suites' list of them is [`configurations`].
#[derive(Clone, Debug)]
pub struct Configuration {
    /// Its name in messages and in the golden cases' `expected.<label>.jsonl`.
    pub label: String,
    /// The flags that make it, `--engine` first.
    pub flags: String,
    /// The engine.
    pub kind: EngineKind,
    /// The engines' own knobs (only `kind`'s are set).
    pub engines: EngineConfigs,
    /// The run options.
    pub options: RunOptions,
}

impl Configuration {
    /// The configuration `flags` make, e.g. `--engine record --watermark-interval 1`;
    /// a flag given twice takes its last value. Panics on flags `streamlab run` refuses.
    pub fn parse(label: &str, flags: &str) -> Configuration {
        let (run, options) = parse_run(
            ["--query", "<unused>"]
                .into_iter()
                .chain(flags.split_whitespace()),
        )
        .unwrap_or_else(|e| panic!("configuration {label} ({flags}): {e:#}"));
        Configuration {
            label: label.to_owned(),
            flags: flags.to_owned(),
            kind: run.engine,
            engines: run.engines,
            options,
        }
    }

    /// This configuration with more flags, which override its own (`--workers 2`).
    pub fn with(&self, flags: &str) -> Configuration {
        Configuration::parse(
            &format!("{} {}", self.label, flags.trim()),
            &format!("{} {flags}", self.flags),
        )
    }

    /// A fresh engine of this configuration.
    pub fn engine(&self) -> Box<dyn Engine> {
        self.kind.configured(&self.engines)
    }

    /// Whether its engine takes `flag` (`--workers`, `--checkpoint`, ...).
    pub fn takes(&self, flag: &str) -> bool {
        self.kind.takes(flag)
    }

    /// Whether it runs as `other` does: the same engine, knobs and workers.
    pub fn runs_as(&self, other: &Configuration) -> bool {
        self.kind == other.kind
            && self.engines == other.engines
            && self.options.workers == other.options.workers
    }

    /// Runs over JSON Lines `text` and reads the output rows back, as `streamlab run`
    /// does ([`streamlab_engines::runner::run_text`]).
    pub fn run_text(
        &self,
        plan: &Plan,
        text: &str,
    ) -> anyhow::Result<(RunSummary, Vec<ResultRow>)> {
        streamlab_engines::runner::run_text(self.engine().as_ref(), plan, &self.options, text)
    }
}

impl std::fmt::Display for Configuration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.label, self.flags)
    }
}

/// The engine with its default knobs and options.
pub fn default_of(kind: EngineKind) -> Configuration {
    Configuration::parse(&kind.name(), &format!("--engine {}", kind.name()))
}

/// Parses `streamlab run` with `args`, a flag given twice taking its last value: the
/// arguments and the run options, checked as the binary checks them.
pub fn parse_run<'a>(
    args: impl IntoIterator<Item = &'a str>,
) -> anyhow::Result<(RunArgs, RunOptions)> {
    let argv: Vec<&str> = ["streamlab", "run"].into_iter().chain(args).collect();
    let matches = Cli::command()
        .mut_subcommand("run", |run| run.args_override_self(true))
        .try_get_matches_from(argv)?;
    let Command::Run(run) = Cli::from_arg_matches(&matches)?.command else {
        anyhow::bail!("not a run command");
    };
    let given = matches
        .subcommand_matches("run")
        .ok_or_else(|| anyhow::anyhow!("no run command"))?;
    let options = run.options(given)?;
    Ok((run, options))
}

/// Every engine configuration of the suites, from the one list (`with_configurations!`):
/// the golden cases and the engine-against-oracle suites run on each.
pub fn configurations() -> Vec<Configuration> {
    with_configurations!(configuration_list!())
}

/// Every engine configuration but the oracle's: what suites that compare with the oracle
/// run.
pub fn beside_the_oracle() -> Vec<Configuration> {
    configurations()
        .into_iter()
        .filter(|c| c.kind != EngineKind::Oracle)
        .collect()
}
