//! The engine registry: every engine the CLI and the test suites can pick by name, and
//! every engine's own flags. Adding an engine is adding a variant here and its `Config` to
//! [`EngineConfigs`]; the golden and oracle suites then run it.

use clap::parser::ValueSource;
use clap::{Arg, ArgMatches, Args, Command};
use streamlab_core::engine::EngineError;
use streamlab_core::Engine;

/// Engines selectable with `--engine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineKind {
    /// The exact answer over the whole input at once (the reference).
    Oracle,
    /// A single-threaded hand-written loop (the COST baseline; per-record watermark).
    Baseline,
    /// The micro-batch engine (the Spark Structured Streaming model).
    Microbatch,
    /// The per-record dataflow engine on timely (the Flink model).
    Record,
}

/// Every engine's own knobs as `streamlab run` takes them: each engine crate's `Config` (a
/// `clap::Args`), flattened. A run builds its engine from its own; a flag of another
/// engine is refused ([`EngineKind::refuse_foreign_flags`]). Timely's cluster flags
/// (`--processes/--process/--hostfile`) are declared once, in the record engine's
/// `Config`, and taken by both timely engines: the micro-batch engine is built with them
/// too.
#[derive(Clone, Debug, Default, PartialEq, Eq, clap::Args)]
#[group(id = "engine-configs", multiple = true)]
pub struct EngineConfigs {
    /// The micro-batch engine's knobs.
    #[command(flatten)]
    pub microbatch: streamlab_microbatch_engine::Config,
    /// The record engine's knobs.
    #[command(flatten)]
    pub record: streamlab_record_engine::Config,
}

impl EngineConfigs {
    /// Refuses a value no run can use, naming its flag.
    pub fn validate(&self) -> Result<(), String> {
        self.microbatch.validate()?;
        self.record.validate()
    }
}

impl EngineKind {
    /// A fresh engine of this kind with its default knobs.
    pub fn build(self) -> Box<dyn Engine> {
        self.configured(&EngineConfigs::default())
    }

    /// A fresh engine of this kind, built from its own knobs in `configs` (the other
    /// engines' are not read).
    pub fn configured(self, configs: &EngineConfigs) -> Box<dyn Engine> {
        match self {
            EngineKind::Oracle => Box::new(streamlab_reference::Oracle),
            EngineKind::Baseline => Box::new(streamlab_reference::Baseline),
            EngineKind::Microbatch => {
                let engine =
                    streamlab_microbatch_engine::MicrobatchEngine::new(configs.microbatch.clone())
                        .with_cluster(configs.record.cluster.cluster());
                match streamlab_measure::tap::board() {
                    // The live view shows the batches: the engine logs them in memory.
                    Some(board) => {
                        let log = streamlab_microbatch_engine::BatchLog::default();
                        board.set_batch_feed(&self.name(), crate::live::batch_feed(log.clone()));
                        Box::new(engine.with_batch_log(log))
                    }
                    None => Box::new(engine),
                }
            }
            EngineKind::Record => Box::new(streamlab_record_engine::RecordEngine::new(
                configs.record.clone(),
            )),
        }
    }

    /// Every registered engine, reference first.
    pub fn all() -> Vec<EngineKind> {
        <EngineKind as clap::ValueEnum>::value_variants().to_vec()
    }

    /// The registry name, as typed on the command line.
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .map(|v| v.get_name().to_owned())
            .unwrap_or_default()
    }

    /// The flags of this engine's own `Config`, as clap declares them, and the id of the
    /// group that holds them all (none for the reference engines, which have no knobs).
    /// The micro-batch engine's include timely's cluster flags, which the record engine's
    /// `Config` declares for both.
    fn own_flags(self) -> (Command, Option<clap::Id>) {
        let command = Command::new("engine");
        match self {
            EngineKind::Oracle | EngineKind::Baseline => (command, None),
            EngineKind::Microbatch => (
                streamlab_record_engine::ClusterArgs::augment_args(
                    streamlab_microbatch_engine::Config::augment_args(command),
                ),
                streamlab_microbatch_engine::Config::group_id(),
            ),
            EngineKind::Record => (
                streamlab_record_engine::Config::augment_args(command),
                streamlab_record_engine::Config::group_id(),
            ),
        }
    }

    /// Whether this engine takes `flag` (`--workers`, `--trigger`, ...): a run option it
    /// supports, or a flag of its own `Config`.
    pub fn takes(self, flag: &str) -> bool {
        self.build()
            .supported_flags()
            .iter()
            .any(|f| f.flag() == flag)
            || self.own_flags().0.get_arguments().any(|a| {
                a.get_long()
                    .is_some_and(|long| flag.strip_prefix("--") == Some(long))
            })
    }

    /// Refuses the first flag the user gave in `matches` (a parsed `streamlab run`, which
    /// flattens [`EngineConfigs`]) that belongs to another engine's `Config`, naming it:
    /// `engine `oracle` does not support --trigger`.
    pub fn refuse_foreign_flags(self, matches: &ArgMatches) -> Result<(), EngineError> {
        let (mine, _) = self.own_flags();
        let shared = |arg: &Arg| mine.get_arguments().any(|a| a.get_id() == arg.get_id());
        for other in EngineKind::all().into_iter().filter(|k| *k != self) {
            let (flags, own_group) = other.own_flags();
            for arg in flags.get_arguments().filter(|a| !shared(a)) {
                if matches.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
                    return Err(EngineError::Unsupported {
                        engine: self.name(),
                        flag: spelling(&flags, own_group.as_ref(), arg),
                    });
                }
            }
        }
        Ok(())
    }
}

/// How a refusal names `arg` of an engine's flags: `--long`, or, for an arg of a group of
/// flags given together inside the engine's `Config` (timely's cluster), the whole group:
/// `--processes/--process/--hostfile`.
fn spelling(flags: &Command, own_group: Option<&clap::Id>, arg: &Arg) -> String {
    let long = |id: &clap::Id| {
        flags
            .get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(Arg::get_long)
            .map_or_else(|| id.to_string(), |l| format!("--{l}"))
    };
    flags
        .get_groups()
        .filter(|g| Some(g.get_id()) != own_group)
        .find(|g| g.get_args().any(|id| id == arg.get_id()))
        .map_or_else(
            || long(arg.get_id()),
            |group| group.get_args().map(long).collect::<Vec<_>>().join("/"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, FromArgMatches, Parser};

    /// `--engine` with every engine's flags, as `streamlab run` has them.
    #[derive(Debug, Parser)]
    struct Run {
        #[arg(long, value_enum)]
        engine: EngineKind,
        #[command(flatten)]
        engines: EngineConfigs,
    }

    fn refusal(args: &str) -> Result<(), String> {
        let argv = std::iter::once("run").chain(args.split_whitespace());
        let matches = Run::command()
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        let run = Run::from_arg_matches(&matches).map_err(|e| e.to_string())?;
        run.engine
            .refuse_foreign_flags(&matches)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_flag_of_another_engine_is_refused_by_name() {
        assert_eq!(
            refusal("--engine oracle --trigger once"),
            Err("engine `oracle` does not support --trigger".into())
        );
        assert_eq!(
            refusal("--engine record --max-records-per-batch 5"),
            Err("engine `record` does not support --max-records-per-batch".into())
        );
        assert_eq!(
            refusal("--engine microbatch --watermark-interval 3"),
            Err("engine `microbatch` does not support --watermark-interval".into())
        );
        assert_eq!(
            refusal("--engine baseline --processes 2 --process 1"),
            Err("engine `baseline` does not support --processes/--process/--hostfile".into())
        );
        assert_eq!(
            refusal("--engine microbatch --processes 2 --process 1 --hostfile h"),
            Ok(()),
            "both timely engines take the cluster flags"
        );
        assert_eq!(refusal("--engine record --watermark-interval 1"), Ok(()));
        assert_eq!(
            refusal("--engine microbatch --trigger once --max-records-per-batch 2"),
            Ok(())
        );
        assert_eq!(refusal("--engine oracle"), Ok(()));
    }

    #[test]
    fn an_engine_takes_its_run_options_and_its_own_flags() {
        assert!(EngineKind::Microbatch.takes("--trigger"));
        assert!(EngineKind::Microbatch.takes("--workers"));
        assert!(!EngineKind::Microbatch.takes("--watermark-interval"));
        assert!(EngineKind::Record.takes("--watermark-interval"));
        assert!(EngineKind::Record.takes("--processes"));
        assert!(EngineKind::Microbatch.takes("--processes"));
        assert!(EngineKind::Microbatch.takes("--hostfile"));
        assert!(!EngineKind::Record.takes("--trigger"));
        assert!(EngineKind::Baseline.takes("--checkpoint"));
        assert!(!EngineKind::Baseline.takes("--workers"));
        assert!(!EngineKind::Oracle.takes("--checkpoint"));
    }

    #[test]
    fn engines_are_built_from_their_own_knobs() {
        let configs = EngineConfigs {
            record: streamlab_record_engine::Config {
                cluster: streamlab_record_engine::ClusterArgs {
                    processes: Some(3),
                    process: Some(1),
                    hostfile: None,
                },
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(
            EngineKind::Record.configured(&configs).cluster_process(),
            Some((1, 3))
        );
        assert_eq!(
            EngineKind::Microbatch
                .configured(&configs)
                .cluster_process(),
            Some((1, 3)),
            "the cluster flags are shared by both timely engines"
        );
        assert_eq!(
            EngineKind::Baseline.configured(&configs).cluster_process(),
            None
        );
        assert_eq!(EngineKind::Record.build().cluster_process(), None);
    }
}
