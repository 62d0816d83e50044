//! Engine-level tests on small hand-checked inputs (the golden cases, the oracle proptests
//! and the cluster test in `harness/cli/tests` cover the rest on every engine).

use crate::state::WindowState;
use crate::{Config, RecordEngine};
use std::time::Duration;
use streamlab_core::engine::{
    CollectSink, Engine, EngineError, Poll, RunOptions, RunSummary, Sink, Source, VecSource,
};
use streamlab_core::model::duration::DurationMs;
use streamlab_core::{Event, OutRow, Plan};
use streamlab_io::json_lines::Decoder;

fn plan(mode: &str, window: &str) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = 0\n[window]\n{window}\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n"
    ))
    .expect("valid plan")
}

fn decode(plan: &Plan, lines: &[String]) -> Vec<Event> {
    let mut decoder = Decoder::new(plan);
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| decoder.decode(l, i as u64).expect("valid test line"))
        .collect()
}

fn lines(items: &[(i64, &str)]) -> Vec<String> {
    items
        .iter()
        .map(|(t, k)| format!("{{\"ts\":{t},\"key\":\"{k}\"}}"))
        .collect()
}

/// Runs `engine` (with `workers`) over `events`.
fn run(
    plan: &Plan,
    events: Vec<Event>,
    (engine, options): &(RecordEngine, RunOptions),
) -> (Vec<OutRow>, RunSummary) {
    let sink = CollectSink::default();
    let summary = engine
        .run(
            plan,
            options,
            Box::new(VecSource::new(events)),
            Box::new(sink.clone()),
        )
        .expect("run succeeds");
    (sink.rows(), summary)
}

/// The engine with a watermark after every record, on `workers` workers.
fn per_record(workers: usize) -> (RecordEngine, RunOptions) {
    let engine = RecordEngine::new(Config {
        watermark_interval: Some(1),
        ..Default::default()
    });
    let options = RunOptions {
        workers: Some(workers),
        ..Default::default()
    };
    (engine, options)
}

#[test]
fn tumbling_append_closes_windows_and_drops_late_records() {
    let p = plan("append", "kind = \"tumbling\"\nsize = 10");
    let events = decode(&p, &lines(&[(1, "a"), (12, "a"), (5, "a"), (13, "a")]));
    for workers in [1, 2] {
        let (rows, summary) = run(&p, events.clone(), &per_record(workers));
        assert_eq!(
            summary.late_dropped, 1,
            "ts 5 arrives after the watermark reached 12"
        );
        assert_eq!(summary.events_in, 4);
        let mut got: Vec<(i64, String)> = rows
            .iter()
            .map(|r| (r.window.start, format!("{:?}", r.values[0])))
            .collect();
        got.sort();
        assert_eq!(got, vec![(0, "Int(1)".into()), (10, "Int(2)".into())]);
    }
}

#[test]
fn update_rows_carry_the_changing_record_as_emission_point() {
    let p = plan("update", "kind = \"sliding\"\nsize = 10\nslide = 5");
    let events = decode(&p, &lines(&[(7, "a"), (8, "b"), (9, "a")]));
    let (rows, _) = run(&p, events, &per_record(1));
    // Each record changes its two sliding windows: two rows, emitted at its seq.
    let emits: Vec<Option<u64>> = rows.iter().map(|r| r.emit).collect();
    assert_eq!(
        emits,
        vec![Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]
    );
    assert!(rows.iter().all(|r| r.trigger == r.emit));
}

#[test]
fn closed_windows_are_evicted_so_state_stays_flat() {
    let p = plan("append", "kind = \"tumbling\"\nsize = 10");
    let mut state = WindowState::new(&p);
    let events = decode(
        &p,
        &(0..10_000)
            .map(|i| format!("{{\"ts\":{i},\"key\":\"k{}\"}}", i % 7))
            .collect::<Vec<_>>(),
    );
    let mut rows = Vec::new();
    let mut most = 0;
    for e in &events {
        state.close(e.time - 1, &mut rows);
        state.apply(e, e.time - 1, &mut rows);
        most = most.max(state.open_rows());
    }
    assert!(most <= 14, "at most two windows of 7 keys open, saw {most}");
    assert_eq!(rows.len(), 999 * 7, "every closed window emitted once");

    let sessions = plan("update", "kind = \"session\"\ngap = 3");
    let mut state = WindowState::new(&sessions);
    for e in &events {
        state.close(e.time - 1, &mut rows);
        state.apply(e, e.time - 1, &mut rows);
        assert!(state.open_rows() <= 7);
    }
}

/// A source that gives its first events, then finds nothing (`Pending`) until the sink
/// holds a complete-mode table, then gives the rest: a table is emitted on the interval
/// before the input ends, however slowly a loaded machine runs the workers (no assertion
/// on how many intervals passed).
struct Gated {
    first: std::vec::IntoIter<Event>,
    rest: std::vec::IntoIter<Event>,
    sink: CollectSink,
    /// A hang guard only: past it the rest is given anyway and the test fails on counts.
    give_up: std::time::Instant,
}

impl Source for Gated {
    fn poll(&mut self, buf: &mut Vec<Event>, _max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        buf.extend(self.first.by_ref().take(5));
        if buf.len() > before {
            return Ok(Poll::Ready);
        }
        if self.sink.rows().is_empty() && std::time::Instant::now() < self.give_up {
            std::thread::sleep(Duration::from_millis(1));
            return Ok(Poll::Pending);
        }
        buf.extend(self.rest.by_ref().take(5));
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }
}

#[test]
fn complete_mode_emits_whole_tables_on_its_interval_and_a_final_one() {
    let p = plan("complete", "kind = \"tumbling\"\nsize = 10");
    let mut events = decode(
        &p,
        &(0..200)
            .map(|i| format!("{{\"ts\":{},\"key\":\"k{}\"}}", i / 4, i % 5))
            .collect::<Vec<_>>(),
    );
    let rest = events.split_off(100);
    let sink = CollectSink::default();
    let options = RunOptions {
        workers: Some(2),
        ..Default::default()
    };
    RecordEngine::new(Config {
        complete_interval: Some(DurationMs(10)),
        ..Default::default()
    })
    .run(
        &p,
        &options,
        Box::new(Gated {
            first: events.into_iter(),
            rest: rest.into_iter(),
            sink: sink.clone(),
            give_up: std::time::Instant::now() + Duration::from_secs(60),
        }),
        Box::new(sink.clone()),
    )
    .expect("run succeeds");
    let rows = sink.rows();
    let mut tables: std::collections::BTreeMap<u64, Vec<&OutRow>> = Default::default();
    for r in &rows {
        tables
            .entry(r.emit.expect("complete rows carry emit"))
            .or_default()
            .push(r);
    }
    // Tables only grow (nothing is evicted): a table missing one worker's part (the 5
    // keys are spread over both) would count less than the one before it.
    let mut totals = Vec::new();
    for (emit, table) in &tables {
        let total: i64 = table
            .iter()
            .map(|r| match r.values[0] {
                streamlab_core::model::value::AggValue::Int(n) => n,
                _ => 0,
            })
            .sum();
        assert!(
            totals.last().is_none_or(|&last| total >= last),
            "table {emit} shrank"
        );
        totals.push(total);
    }
    assert!(
        totals.first().is_some_and(|&t| t <= 100),
        "a table on the interval while the input waited: {totals:?}"
    );
    assert_eq!(
        totals.last(),
        Some(&200),
        "the final table counts every event"
    );
}

/// A sink that fails on its first rows.
struct Broken;

impl Sink for Broken {
    fn emit(&mut self, _: &[OutRow]) -> Result<(), EngineError> {
        Err(EngineError::Sink("disk full".into()))
    }
}

#[test]
fn a_failing_sink_fails_the_run_without_hanging() {
    let p = plan("update", "kind = \"tumbling\"\nsize = 10");
    let events = decode(
        &p,
        &(0..50_000)
            .map(|i| format!("{{\"ts\":{i},\"key\":\"k\"}}"))
            .collect::<Vec<_>>(),
    );
    for workers in [1, 2] {
        let err = RecordEngine::default()
            .run(
                &p,
                &RunOptions {
                    workers: Some(workers),
                    ..Default::default()
                },
                Box::new(VecSource::new(events.clone())),
                Box::new(Broken),
            )
            .expect_err("the sink fails");
        assert_eq!(err.to_string(), "sink: disk full");
    }
}

/// A source that fails after its first poll (a malformed line under `--strict`).
struct Failing(bool);

impl Source for Failing {
    fn poll(&mut self, buf: &mut Vec<Event>, _max: usize) -> Result<Poll, EngineError> {
        if std::mem::replace(&mut self.0, true) {
            return Err(EngineError::Source("input.jsonl:3: not JSON".into()));
        }
        buf.push(Event {
            seq: 0,
            time: 1,
            key: 0,
            part: 0,
            fields: Default::default(),
        });
        Ok(Poll::Ready)
    }
}

#[test]
fn a_failing_source_fails_the_run() {
    let p = plan("append", "kind = \"tumbling\"\nsize = 10");
    let err = RecordEngine::default()
        .run(
            &p,
            &RunOptions::default(),
            Box::new(Failing(false)),
            Box::new(CollectSink::default()),
        )
        .expect_err("the source fails");
    assert_eq!(err.to_string(), "source: input.jsonl:3: not JSON");
}

#[test]
fn processing_time_windows_follow_the_wall_clock() {
    let p = Plan::builder()
        .group_by(["key"])
        .tumbling_ms(60_000)
        .processing_time()
        .count("n")
        .build()
        .expect("valid plan");
    // Event times far in the past: a processing-time plan ignores them.
    let events = decode(&p, &lines(&[(5, "a"), (6, "b"), (7, "a")]));
    let before = streamlab_core::engine::processing_time_ms();
    let (rows, summary) = run(&p, events, &per_record(2));
    let after = streamlab_core::engine::processing_time_ms();
    assert_eq!(summary.late_dropped, 0);
    let total: i64 = rows
        .iter()
        .map(|r| match r.values[0] {
            streamlab_core::model::value::AggValue::Int(n) => n,
            _ => 0,
        })
        .sum();
    assert_eq!(total, 3);
    for r in &rows {
        assert!(
            r.window.end > before && r.window.start <= after,
            "{:?}",
            r.window
        );
    }
}
