#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The engines' checkpoints in one process, for every output mode and window kind, on
//! every engine configuration that checkpoints: a run whose source fails half way (a
//! crash the engine sees) leaves committed epochs behind; a second run with the same
//! checkpoint directory, possibly on another number of workers, resumes and the output is
//! a clean run's, every row once. (The SIGKILL tests in `recovery.rs` kill real
//! processes.)

use crate::fixtures::{configurations, Configuration};
use std::path::Path;
use streamlab_core::engine::{CheckpointOptions, EngineError, Poll, RunOptions, Source};
use streamlab_core::{Event, Plan};
use streamlab_engines::runner::{run_decoded, run_with_sink};
use streamlab_io::decode::decode_all;
use streamlab_io::sink::{SharedBuffer, TransactionalFileSink};

fn plan(mode: &str, window: &str) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = \"2s\"\n[window]\n{window}\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n"
    ))
    .unwrap()
}

fn clicks() -> Vec<u8> {
    let mut cfg = streamlab_workloads::gen::GenConfig::new(
        streamlab_workloads::gen::Workload::Clicks,
        30_000,
        3,
    );
    cfg.keys = 50;
    cfg.rate = 2_000.0;
    cfg.disorder = 0.1;
    cfg.max_delay_ms = 3_000;
    cfg.late = 0.01;
    cfg.late_by_ms = 10_000;
    streamlab_workloads::gen::generate_to_vec(&cfg).unwrap().0
}

/// Serves events like `VecSource`, then fails (as a crash would) after `fail_after`.
struct Crashing {
    events: std::vec::IntoIter<Event>,
    left: usize,
}

impl Source for Crashing {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        if self.left == 0 {
            return Err(EngineError::Source("the test crashed the source".into()));
        }
        let before = buf.len();
        buf.extend(self.events.by_ref().take(max.min(self.left)));
        self.left -= buf.len() - before;
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }
}

fn sorted_lines(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(String::from).collect();
    v.sort();
    v
}

/// `config` on `workers` workers (where its engine takes `--workers`) and, where its
/// engine runs micro-batches, batches of 700 events: a checkpoint after every few batches.
fn on_workers(config: &Configuration, workers: usize) -> Configuration {
    let mut flags = String::new();
    if config.takes("--workers") {
        flags.push_str(&format!(" --workers {workers}"));
    }
    if config.takes("--max-records-per-batch") {
        flags.push_str(" --max-records-per-batch 700");
    }
    config.with(&flags)
}

/// `options` with a checkpoint every 1 500 events into `dir`.
fn checkpointed(options: &RunOptions, dir: &Path) -> RunOptions {
    RunOptions {
        checkpoint: Some(CheckpointOptions {
            dir: dir.join("checkpoints"),
            every_events: Some(1_500),
            interval: None,
            retain: 3,
            fall_back_on_corrupt: true,
            sync_writes: false,
            full_every: None,
        }),
        ..options.clone()
    }
}

/// Every configuration that checkpoints, as `(first, second)`: on `first_workers`, then on
/// `second_workers` ([`on_workers`]); one of each that runs differently.
fn checkpointing(
    first_workers: usize,
    second_workers: usize,
) -> Vec<(Configuration, Configuration)> {
    let mut pairs: Vec<(Configuration, Configuration)> = Vec::new();
    for config in configurations().iter().filter(|c| c.takes("--checkpoint")) {
        let pair = (
            on_workers(config, first_workers),
            on_workers(config, second_workers),
        );
        if !pairs
            .iter()
            .any(|(a, b)| a.runs_as(&pair.0) && b.runs_as(&pair.1))
        {
            pairs.push(pair);
        }
    }
    pairs
}

fn crash_and_resume(mode: &str, window: &str, first_workers: usize, second_workers: usize) {
    for (first, second) in checkpointing(first_workers, second_workers) {
        crash_and_resume_on(&first, &second, mode, window, first_workers, second_workers);
    }
}

fn crash_and_resume_on(
    first: &Configuration,
    second: &Configuration,
    mode: &str,
    window: &str,
    first_workers: usize,
    second_workers: usize,
) {
    let plan = plan(mode, window);
    let bytes = clicks();
    let decode =
        || decode_all(bytes.as_slice(), "<gen>", &plan, true, &mut std::io::sink()).unwrap();
    let clean = SharedBuffer::default();
    let clean_options = RunOptions {
        checkpoint: None,
        workers: None,
    };
    run_decoded(
        first.engine().as_ref(),
        &plan,
        &clean_options,
        decode(),
        Box::new(clean.clone()),
        "<memory>",
    )
    .unwrap();
    let clean = String::from_utf8(clean.contents()).unwrap();

    let dir = std::env::temp_dir().join(format!(
        "streamlab-ck-{}-{mode}-{}-{first_workers}{second_workers}-{}",
        first.label.replace(' ', ""),
        window.len(),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let output = dir.join("out.jsonl");

    // First run: crashes after 17 000 of 30 000 events.
    let input = decode();
    let sink = TransactionalFileSink::new(&plan, input.keys.clone(), &output).unwrap();
    let crashed = first.engine().run(
        &plan,
        &checkpointed(&first.options, &dir),
        Box::new(Crashing {
            events: input.events.into_iter(),
            left: 17_000,
        }),
        Box::new(sink),
    );
    assert!(crashed.is_err(), "{first}: the first run must fail");
    assert!(
        !output.exists(),
        "{first}: a crashed run publishes no output"
    );

    // A run that reads the whole input into the output file, with the checkpoints.
    let resume = || {
        let input = decode();
        let sink = TransactionalFileSink::new(&plan, input.keys.clone(), &output).unwrap();
        let options = checkpointed(&second.options, &dir);
        run_with_sink(
            second.engine().as_ref(),
            &plan,
            &options,
            input,
            Box::new(sink),
        )
        .unwrap()
    };

    // Second run: resumes and finishes.
    let summary = resume();
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.starts_with("resumed from checkpoint")),
        "{second}: {:?}",
        summary.notes
    );
    assert_eq!(summary.events_in, 30_000, "{second}");
    let got = std::fs::read_to_string(&output).unwrap();
    let (got, want) = (sorted_lines(&got), sorted_lines(&clean));
    // Complete mode emits a table at every epoch boundary, which checkpoints add: no table
    // row twice, and the final table is the clean run's.
    if mode == "complete" {
        let mut dedup = got.clone();
        dedup.dedup();
        assert_eq!(
            dedup.len(),
            got.len(),
            "{first}: a complete-mode row written twice"
        );
        let last = |rows: &[String]| -> Vec<String> {
            let parsed: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::from_str(r).unwrap())
                .collect();
            let max = parsed.iter().map(|r| r["emit"].as_u64().unwrap()).max();
            let mut v: Vec<String> = parsed
                .into_iter()
                .filter(|r| r["emit"].as_u64() == max)
                .map(|mut r| {
                    r.as_object_mut().unwrap().remove("emit");
                    r.to_string()
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(last(&got), last(&want), "{first}");
    } else {
        assert_eq!(
            got.len(),
            want.len(),
            "{first} {mode} {window}: rows lost or duplicated"
        );
        assert_eq!(
            got, want,
            "{first} {mode} {window}: rows differ from a clean run"
        );
    }

    // Third run on a finished checkpoint: nothing to do, output unchanged.
    resume();
    assert_eq!(
        sorted_lines(&std::fs::read_to_string(&output).unwrap()),
        got
    );
    std::fs::remove_dir_all(&dir).ok();
}

const TUMBLING: &str = "kind = \"tumbling\"\nsize = \"10s\"";
const SLIDING: &str = "kind = \"sliding\"\nsize = \"10s\"\nslide = \"5s\"";
const SESSION: &str = "kind = \"session\"\ngap = \"1s\"";

#[test]
fn append_resumes_exactly_once() {
    crash_and_resume("append", TUMBLING, 1, 1);
    crash_and_resume("append", SESSION, 2, 2);
}

#[test]
fn update_resumes_exactly_once() {
    crash_and_resume("update", SLIDING, 1, 1);
    crash_and_resume("update", SESSION, 2, 2);
}

#[test]
fn complete_resumes_with_the_exact_final_table() {
    crash_and_resume("complete", TUMBLING, 2, 2);
}

#[test]
fn a_checkpoint_of_two_workers_resumes_on_one_and_back() {
    crash_and_resume("update", TUMBLING, 2, 1);
    crash_and_resume("append", SESSION, 1, 2);
}
