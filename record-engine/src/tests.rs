//! Engine-level tests on small hand-checked inputs (the golden cases and the oracle
//! proptests in `harness/tests` cover the rest on every engine).

use crate::RecordEngine;
use streamlab_core::engine::{CollectSink, Engine, RunOptions, VecSource};
use streamlab_core::{Decoder, OutRow, Plan};

fn run(
    plan: &Plan,
    lines: &[&str],
    options: &RunOptions,
) -> (Vec<OutRow>, streamlab_core::RunSummary) {
    let mut decoder = Decoder::new(plan);
    let events = lines
        .iter()
        .enumerate()
        .map(|(i, l)| decoder.decode(l, i as u64).expect("valid test line"))
        .collect();
    let sink = CollectSink::default();
    let summary = RecordEngine
        .run(
            plan,
            options,
            Box::new(VecSource::new(events)),
            Box::new(sink.clone()),
        )
        .expect("run succeeds");
    (sink.rows(), summary)
}

#[test]
fn tumbling_append_closes_windows_and_drops_late_records() {
    let plan = Plan::builder()
        .event_time("ts")
        .group_by(["key"])
        .tumbling_ms(10)
        .count("n")
        .build()
        .expect("valid plan");
    let lines = [
        r#"{"ts":1,"key":"a"}"#,
        r#"{"ts":12,"key":"a"}"#,
        r#"{"ts":5,"key":"a"}"#,
        r#"{"ts":13,"key":"a"}"#,
    ];
    let options = RunOptions {
        watermark_interval: Some(1),
        ..Default::default()
    };
    let (rows, summary) = run(&plan, &lines, &options);
    assert_eq!(
        summary.late_dropped, 1,
        "ts 5 arrives after the watermark reached 12"
    );
    assert_eq!(rows.len(), 2);
}
