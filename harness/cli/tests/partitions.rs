#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Per-partition watermarks (semantics.md: "with several parallel sources the watermark
//! is the minimum over them"): a source of two partitions, each in event-time order, whose
//! deliveries alternate in bursts so that one partition is always up to a burst behind the
//! other, as Kafka partitions are when a consumer fetches them in turn. With the watermark
//! the minimum over the partitions, no record is late even with delay 0, and every engine
//! gives the oracle's exact answer; with one watermark over the merged stream (the same
//! events as one partition, as Spark's Kafka source has it) the lagging partition's
//! records are dropped as late.

use crate::fixtures::{default_of, Configuration};
use streamlab_core::engine::{CollectSink, VecSource};
use streamlab_core::semantics::row::final_rows;
use streamlab_core::{Event, OutputMode, Part, Plan, RunSummary};
use streamlab_engines::runner::to_result_rows;
use streamlab_engines::EngineKind;
use streamlab_io::decode::decode_all;

const BURST: usize = 100;

fn plan(mode: &str) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[window]\nkind = \"tumbling\"\nsize = 10\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"s\"\n"
    ))
    .unwrap()
}

/// Two partitions with times 0, 1, 2, ... each, delivered in alternating bursts of
/// `BURST`: partition 0's burst first, so partition 1 trails it by up to a burst.
fn lines_and_parts(events_per_part: usize) -> (String, Vec<Part>) {
    let (mut text, mut parts) = (String::new(), Vec::new());
    for burst in 0..events_per_part / BURST {
        for part in 0..2u16 {
            for i in 0..BURST {
                let t = burst * BURST + i;
                let key = (t * 7 + usize::from(part)) % 5;
                text.push_str(&format!(
                    "{{\"ts\":{t},\"key\":\"k{key}\",\"v\":{}}}\n",
                    t % 13
                ));
                parts.push(part);
            }
        }
    }
    (text, parts)
}

fn run(
    config: &Configuration,
    plan: &Plan,
    partitioned: bool,
) -> (RunSummary, Vec<streamlab_core::ResultRow>) {
    let (text, parts) = lines_and_parts(2_000);
    let input = decode_all(text.as_bytes(), "<input>", plan, true, &mut std::io::sink()).unwrap();
    let events: Vec<Event> = input
        .events
        .into_iter()
        .zip(&parts)
        .map(|(e, &part)| Event {
            part: if partitioned { part } else { 0 },
            ..e
        })
        .collect();
    let sink = CollectSink::default();
    let summary = config
        .engine()
        .run(
            plan,
            &config.options,
            Box::new(VecSource::with_partitions(
                events,
                1 + Part::from(partitioned),
            )),
            Box::new(sink.clone()),
        )
        .unwrap();
    (summary, to_result_rows(&sink.rows(), &input.keys))
}

fn answer(rows: &[streamlab_core::ResultRow], mode: OutputMode) -> Vec<String> {
    let mut v: Vec<String> = final_rows(rows, mode)
        .into_iter()
        .map(|r| format!("{:?}", (r.window, r.group, r.values)))
        .collect();
    v.sort();
    v
}

/// Every engine configuration that drops late data. (Batches are kept below the lag: a
/// micro-batch judges lateness against the watermark of the batch before, so a lag
/// shorter than a batch drops nothing even on one watermark.)
fn engines() -> Vec<Configuration> {
    [
        ("baseline", "--engine baseline"),
        (
            "microbatch b50",
            "--engine microbatch --max-records-per-batch 50",
        ),
        (
            "microbatch b60 w2",
            "--engine microbatch --max-records-per-batch 60 --workers 2",
        ),
        ("record i1", "--engine record --watermark-interval 1"),
        ("record w2", "--engine record --workers 2"),
        (
            "record i7 w2",
            "--engine record --watermark-interval 7 --workers 2",
        ),
    ]
    .into_iter()
    .map(|(label, flags)| Configuration::parse(label, flags))
    .collect()
}

#[test]
fn the_slowest_partition_holds_the_watermark_so_nothing_is_late() {
    for mode in ["append", "update"] {
        let plan = plan(mode);
        let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, true);
        let exact = answer(&exact, plan.mode);
        for config in engines() {
            let name = &config.label;
            let (summary, rows) = run(&config, &plan, true);
            assert_eq!(summary.late_dropped, 0, "{name} {mode}");
            assert_eq!(answer(&rows, plan.mode), exact, "{name} {mode}");
        }
    }
}

#[test]
fn one_watermark_over_the_merged_partitions_drops_the_lagging_records() {
    let plan = plan("append");
    let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, false);
    let exact = answer(&exact, plan.mode);
    for config in engines() {
        let name = &config.label;
        let (summary, rows) = run(&config, &plan, false);
        assert!(summary.late_dropped > 0, "{name}: {summary:?}");
        assert_ne!(answer(&rows, plan.mode), exact, "{name}");
    }
}
