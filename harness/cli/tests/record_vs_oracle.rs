#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The record engine against the oracle, the baseline and a plain model of its watermark
//! rule, on random streams (disorder, lateness, duplicates, negative times), watermark
//! intervals and worker counts:
//! - with disorder bounded by the watermark delay nothing is late, and every mode equals
//!   the oracle on 1-3 workers at any interval;
//! - with `--watermark-interval 1` it answers as the baseline (semantics.md's per-record
//!   rule, Flink's) on any input, any window kind and mode, on 1 or 2 workers: same rows,
//!   same `late_dropped`;
//! - at interval N the answer is the oracle over the assignments the rule keeps (record i
//!   is judged against the watermark of the records before the last multiple of N below
//!   i), computed naively here for fixed windows; the drops are the counted `late_dropped`;
//! - complete mode always equals the oracle.

use crate::fixtures::{
    answer, default_of, plan, stream, text, Answer, Configuration, Item, MODES, WINDOWS,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::{Plan, ResultRow, Window, WindowSpec};
use streamlab_engines::EngineKind;

fn record(interval: u64, workers: usize) -> Configuration {
    Configuration::parse(
        "record",
        &format!("--engine record --watermark-interval {interval} --workers {workers}"),
    )
}

/// The interval rule for fixed windows, naively: record i is judged against
/// W_i = max(times of records 0..N*floor(i/N)) - delay (-inf before any); an assignment
/// is late iff its window ends at or below W_i. Returns the final rows (count, sum, max)
/// and the number of events with a dropped assignment.
fn model(items: &[Item], spec: WindowSpec, delay: i64, interval: usize) -> (Answer, u64) {
    let mut kept: BTreeMap<(Window, u8), (i64, i64, i64)> = BTreeMap::new();
    let mut late = 0;
    for (i, &(key, t, v)) in items.iter().enumerate() {
        let seen = &items[..interval * (i / interval)];
        let w = seen
            .iter()
            .map(|x| x.1)
            .max()
            .map_or(i64::MIN, |m| m - delay);
        let mut dropped = false;
        for win in spec.windows_of(t) {
            if win.end <= w {
                dropped = true;
                continue;
            }
            let e = kept.entry((win, key)).or_insert((0, 0, i64::MIN));
            e.0 += 1;
            e.1 += v;
            e.2 = e.2.max(v);
        }
        late += u64::from(dropped);
    }
    let rows = kept
        .into_iter()
        .map(|((win, key), (n, s, hi))| {
            (
                win,
                vec![FieldValue::Str(format!("k{key}").into())],
                vec![AggValue::Int(n), AggValue::Int(s), AggValue::Int(hi)],
            )
        })
        .collect();
    (rows, late)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn bounded_disorder_gives_the_exact_answer(
        items in stream(200, 15, 7), w in 0..3usize, m in 0..3usize,
        interval in prop::sample::select(vec![1u64, 3, 64]), workers in 1..=3usize,
    ) {
        let plan = plan(WINDOWS[w], MODES[m], 15);
        let input = text(&items);
        let (exact_summary, exact) = default_of(EngineKind::Oracle).run_text(&plan, &input).unwrap();
        let (summary, rows) = record(interval, workers).run_text(&plan, &input).unwrap();
        prop_assert_eq!(summary.late_dropped, 0);
        prop_assert_eq!(summary.events_in, exact_summary.events_in);
        prop_assert_eq!(answer(&rows, plan.mode), answer(&exact, plan.mode));
    }

    #[test]
    fn per_record_watermark_answers_as_the_baseline(
        items in stream(200, 60, 5), w in 0..3usize, m in 0..3usize, workers in 1..=2usize,
    ) {
        let plan = plan(WINDOWS[w], MODES[m], 5);
        let input = text(&items);
        let (base_summary, base) = default_of(EngineKind::Baseline).run_text(&plan, &input).unwrap();
        let (summary, rows) = record(1, workers).run_text(&plan, &input).unwrap();
        prop_assert_eq!(summary.late_dropped, base_summary.late_dropped);
        prop_assert_eq!(answer(&rows, plan.mode), answer(&base, plan.mode));
    }

    #[test]
    fn interval_rule_keeps_exactly_what_the_model_keeps(
        items in stream(300, 60, 5), w in 0..2usize, m in 0..2usize,
        interval in 1..20usize, workers in 1..=3usize,
    ) {
        let plan = plan(WINDOWS[w], MODES[m], 5);
        let (want, want_late) = model(&items, plan.window, 5, interval);
        let (summary, rows) = record(interval as u64, workers).run_text(&plan, &text(&items)).unwrap();
        prop_assert_eq!(summary.late_dropped, want_late);
        prop_assert_eq!(answer(&rows, plan.mode), want);
    }

    #[test]
    fn complete_mode_is_always_the_exact_answer(
        items in stream(200, 80, 5), w in 0..3usize, workers in 1..=3usize,
    ) {
        let plan = plan(WINDOWS[w], "complete", 0);
        let input = text(&items);
        let (_, exact) = default_of(EngineKind::Oracle).run_text(&plan, &input).unwrap();
        let (summary, rows) = record(1, workers).run_text(&plan, &input).unwrap();
        prop_assert_eq!(summary.late_dropped, 0);
        prop_assert_eq!(answer(&rows, plan.mode), answer(&exact, plan.mode));
    }
}

/// A generated W1 stream long enough for many source chunks, the flow control (more
/// records than may be in flight) and frontier-driven closing across workers.
fn long_clicks(events: u64) -> String {
    let mut cfg = streamlab_workloads::gen::GenConfig::new(
        streamlab_workloads::gen::Workload::Clicks,
        events,
        11,
    );
    cfg.keys = 500;
    cfg.rate = 50_000.0;
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 3_000;
    cfg.late = 0.002;
    cfg.late_by_ms = 30_000;
    String::from_utf8(streamlab_workloads::gen::generate_to_vec(&cfg).unwrap().0).unwrap()
}

#[test]
fn long_stream_on_two_workers_answers_as_the_baseline_and_counts_its_drops() {
    let input = long_clicks(400_000);
    let w1 = Plan::from_toml(include_str!("../../../queries/w1.toml")).unwrap();
    let (exact_summary, exact) = default_of(EngineKind::Oracle)
        .run_text(&w1, &input)
        .unwrap();
    let (base_summary, base) = default_of(EngineKind::Baseline)
        .run_text(&w1, &input)
        .unwrap();
    assert!(base_summary.late_dropped > 0, "the stream has late events");
    let (summary, rows) = record(1, 2).run_text(&w1, &input).unwrap();
    assert_eq!(summary.events_in, exact_summary.events_in);
    assert_eq!(summary.late_dropped, base_summary.late_dropped);
    assert_eq!(answer(&rows, w1.mode), answer(&base, w1.mode));
    // At the default interval every dropped event is a count missing from the exact answer.
    let (summary, rows) = Configuration::parse("record-w2", "--engine record --workers 2")
        .run_text(&w1, &input)
        .unwrap();
    let count = |rows: &[ResultRow]| -> i64 {
        rows.iter()
            .map(|r| match r.values[0] {
                AggValue::Int(n) => n,
                AggValue::Float(f) => f as i64,
            })
            .sum()
    };
    assert_eq!(count(&exact) - count(&rows), summary.late_dropped as i64);
    // A watermark that moves every 64 records trails the per-record one: never more drops.
    assert!(summary.late_dropped > 0 && summary.late_dropped <= base_summary.late_dropped);
}
