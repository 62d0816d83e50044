//! Hand-computed runs of the engine, batch by batch (semantics.md, micro-batch rule).
//! Each test's comment works the expected answer out from the rule; nothing is copied
//! from the engine's own output.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::*;
use streamlab_core::engine::{CollectSink, VecSource};
use streamlab_core::model::duration::DurationMs;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::{Event, OutRow, Plan};
use streamlab_io::json_lines::Decoder;

const NEG: i64 = i64::MIN;
const POS: i64 = i64::MAX;

fn plan(window: &str, mode: &str, delay: i64) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
         [watermark]\ndelay = {delay}\n[window]\n{window}\n\
         [[aggregate]]\nfn = \"count\"\nas = \"n\"\n"
    ))
    .unwrap()
}

const TUMBLING: &str = "kind = \"tumbling\"\nsize = 10";
const SLIDING: &str = "kind = \"sliding\"\nsize = 10\nslide = 5";
const SESSION: &str = "kind = \"session\"\ngap = 10";

/// `(key, ts)` pairs in arrival order; `seq` is the position.
fn decode(plan: &Plan, events: &[(&str, i64)]) -> (Decoder, Vec<Event>) {
    let mut d = Decoder::new(plan);
    let evs = events
        .iter()
        .enumerate()
        .map(|(i, (k, t))| {
            d.decode(
                &format!("{{\"ts\":{t},\"key\":\"{k}\",\"v\":{i}}}"),
                i as u64,
            )
            .unwrap()
        })
        .collect();
    (d, evs)
}

struct Ran {
    rows: Vec<String>,
    summary: RunSummary,
    log: Vec<BatchInfo>,
}

/// Runs the engine built from `config` and prints each row as `start..end key n` (plus
/// ` @emit #trigger` when set).
fn run(plan: &Plan, events: &[(&str, i64)], config: Config) -> Ran {
    run_with(plan, events, config, RunOptions::default())
}

/// [`run`] with run options.
fn run_with(plan: &Plan, events: &[(&str, i64)], config: Config, options: RunOptions) -> Ran {
    let (decoder, evs) = decode(plan, events);
    run_events(plan, &decoder, evs, config, options)
}

fn run_events(
    plan: &Plan,
    decoder: &Decoder,
    evs: Vec<Event>,
    config: Config,
    options: RunOptions,
) -> Ran {
    let log = BatchLog::default();
    let sink = CollectSink::default();
    let summary = MicrobatchEngine::new(config)
        .with_batch_log(log.clone())
        .run(
            plan,
            &options,
            Box::new(VecSource::new(evs)),
            Box::new(sink.clone()),
        )
        .unwrap();
    let rows = sink.rows().iter().map(|r| show(decoder, r)).collect();
    Ran {
        rows,
        summary,
        log: log.batches(),
    }
}

fn show(decoder: &Decoder, r: &OutRow) -> String {
    let key = decoder.key_table().with(r.key, |k| match &k[0] {
        FieldValue::Str(s) => s.to_string(),
        other => format!("{other:?}"),
    });
    let values: Vec<String> = r
        .values
        .iter()
        .map(|v| match v {
            AggValue::Int(i) => i.to_string(),
            AggValue::Float(f) => f.to_string(),
        })
        .collect();
    let mut s = format!(
        "{}..{} {key} {}",
        r.window.start,
        r.window.end,
        values.join("/")
    );
    if let Some(e) = r.emit {
        s.push_str(&format!(" @{e}"));
    }
    if let Some(t) = r.trigger {
        s.push_str(&format!(" #{t}"));
    }
    s
}

fn batch(n: usize) -> Config {
    Config {
        max_records_per_batch: Some(n),
        ..Default::default()
    }
}

fn watermarks(log: &[BatchInfo]) -> Vec<(i64, i64)> {
    log.iter().map(|b| (b.late_bound, b.watermark)).collect()
}

#[test]
fn tumbling_append_cuts_late_data_at_the_previous_batchs_watermark() {
    // Delay 0, batches of 2: {1, 12} {5, 25} {3, 30}.
    // B0: late below W_-1 = -inf, closes at W_0 = -inf. W_1 = 12.
    // B1: late below -inf: 5 joins [0,10); closes at W_1 = 12: [0,10) n=2. W_2 = 25.
    // B2: late below W_1 = 12: 3 -> [0,10) ends at 10 <= 12, late; closes at 25: [10,20).
    // Final: W = +inf: [20,30), [30,40).
    let p = plan(TUMBLING, "append", 0);
    let ran = run(
        &p,
        &[
            ("a", 1),
            ("a", 12),
            ("a", 5),
            ("a", 25),
            ("a", 3),
            ("a", 30),
        ],
        batch(2),
    );
    assert_eq!(
        ran.rows,
        ["0..10 a 2", "10..20 a 1", "20..30 a 1", "30..40 a 1"]
    );
    assert_eq!(
        watermarks(&ran.log),
        [(NEG, NEG), (NEG, 12), (12, 25), (25, POS)]
    );
    assert_eq!(
        ran.log.iter().map(|b| b.kind).collect::<Vec<_>>(),
        [
            BatchKind::Data,
            BatchKind::Data,
            BatchKind::Data,
            BatchKind::Final
        ]
    );
    assert_eq!(ran.log[2].offsets, Some((4, 5)));
    assert_eq!(ran.log[2].late, 1);
    assert_eq!(ran.summary.late_dropped, 1);
    assert_eq!(ran.summary.events_in, 6);
    assert_eq!(ran.summary.emissions, 4);
    assert_eq!(ran.summary.rows_out, 4);
}

#[test]
fn an_event_whose_window_ends_between_the_two_watermarks_is_counted_and_closes_at_once() {
    // Delay 0, batches of 1: 1, 15, 8, 30.
    // B0 {1}: W_1 = 1. B1 {15}: closes at 1, nothing. W_2 = 15.
    // B2 {8}: late below W_1 = 1: [0,10) ends at 10 in (1, 15]: counted, and it closes in
    // this same batch (at W_2 = 15) with n = 2. (The per-record rule would drop it: W was
    // already 15 when it arrived.)
    // B3 {30}: late below 15, closes at 15: nothing new. Final: [10,20) and [30,40).
    let p = plan(TUMBLING, "append", 0);
    let ran = run(&p, &[("a", 1), ("a", 15), ("a", 8), ("a", 30)], batch(1));
    assert_eq!(ran.rows, ["0..10 a 2", "10..20 a 1", "30..40 a 1"]);
    assert_eq!(ran.summary.late_dropped, 0);
    assert_eq!(
        watermarks(&ran.log),
        [(NEG, NEG), (NEG, 1), (1, 15), (15, 15), (15, POS)]
    );
    assert_eq!(ran.log[2].output_rows, 1, "batch 2 emits [0,10)");
}

#[test]
fn a_huge_batch_drops_nothing() {
    // The golden late_data stream, in one batch: W does not move within a batch, so
    // nothing is late and the answer is the exact one.
    let p = plan(TUMBLING, "append", 0);
    let events = [("a", 1), ("a", 12), ("a", 5), ("a", 13)];
    let ran = run(&p, &events, batch(1_000_000));
    assert_eq!(ran.rows, ["0..10 a 2", "10..20 a 2"]);
    assert_eq!(ran.summary.late_dropped, 0);
    assert_eq!(ran.log.len(), 2, "one batch with input, one final");
    // Batches of 1: 5 arrives in batch 2, late below W_1 = 1: still counted.
    // Batches of 1 with a later straggler: 1, 12, 13, 5: 5 is in batch 3, late below
    // W_2 = 12 >= 10: dropped.
    let ran = run(&p, &[("a", 1), ("a", 12), ("a", 13), ("a", 5)], batch(1));
    assert_eq!(ran.rows, ["0..10 a 1", "10..20 a 2"]);
    assert_eq!(ran.summary.late_dropped, 1);
}

#[test]
fn update_mode_emits_changed_rows_with_the_batch_id_and_the_last_changing_event() {
    // Delay 0, batches of 2: {1a, 3b} {7a, 11a} {23b}.
    // B0: [0,10) a=1 (#0), b=1 (#1). W_1 = 3.
    // B1: [0,10) a=2 (#2), [10,20) a=1 (#3). Closes at 3: nothing. W_2 = 11.
    // B2: [20,30) b=1 (#4); closes at 11: [0,10) evicted, nothing emitted. W_3 = 23.
    // Final batch 3 changes nothing: no rows.
    let p = plan(TUMBLING, "update", 0);
    let ran = run(
        &p,
        &[("a", 1), ("b", 3), ("a", 7), ("a", 11), ("b", 23)],
        batch(2),
    );
    let mut b0 = ran.rows[..2].to_vec();
    b0.sort();
    assert_eq!(b0, ["0..10 a 1 @0 #0", "0..10 b 1 @0 #1"]);
    let mut b1 = ran.rows[2..4].to_vec();
    b1.sort();
    assert_eq!(b1, ["0..10 a 2 @1 #2", "10..20 a 1 @1 #3"]);
    assert_eq!(ran.rows[4..], ["20..30 b 1 @2 #4"]);
    assert_eq!(ran.summary.emissions, 4);
    // A late event after eviction: batches of 1, 1 then 12 then 13 then 2:
    // B3 {2}: late below W_2 = 12 -> [0,10) is gone, dropped; nothing emitted.
    let ran = run(&p, &[("a", 1), ("a", 12), ("a", 13), ("a", 2)], batch(1));
    assert_eq!(
        ran.rows,
        ["0..10 a 1 @0 #0", "10..20 a 1 @1 #1", "10..20 a 2 @2 #2"]
    );
    assert_eq!(ran.summary.late_dropped, 1);
}

#[test]
fn complete_mode_emits_the_whole_table_every_batch_and_drops_nothing() {
    // Batches of 2: {1, 12} {5, 25} {3}; delay 0. Complete keeps every window, so 3 is
    // counted although [0,10) would have closed. No final batch: the last table stands.
    let p = plan(TUMBLING, "complete", 0);
    let ran = run(
        &p,
        &[("a", 1), ("a", 12), ("a", 5), ("a", 25), ("a", 3)],
        batch(2),
    );
    let mut rows = ran.rows.clone();
    rows.sort();
    assert_eq!(
        rows,
        [
            "0..10 a 1 @0 #1",
            "0..10 a 2 @1 #3",
            "0..10 a 3 @2 #4",
            "10..20 a 1 @0 #1",
            "10..20 a 1 @1 #3",
            "10..20 a 1 @2 #4",
            "20..30 a 1 @1 #3",
            "20..30 a 1 @2 #4",
        ]
    );
    assert_eq!(ran.summary.late_dropped, 0);
    assert_eq!(ran.summary.emissions, 3);
}

#[test]
fn sliding_windows_drop_only_the_late_assignment_and_count_the_event_once() {
    // Size 10, slide 5, delay 0, batches of 1: 2, 12, 20, 6.
    // B0 {2}: [-5,5), [0,10). W_1 = 2. B1 {12}: [5,15), [10,20); closes at 2. W_2 = 12.
    // B2 {20}: [15,25), [20,30); closes at 12: [-5,5) n=1, [0,10) n=1. W_3 = 20.
    // B3 {6}: late below W_2 = 12: [0,10) late (dropped), [5,15) counted -> n=2;
    // closes at 20: [5,15) n=2, [10,20) n=1. Final: [15,25), [20,30).
    let p = plan(SLIDING, "append", 0);
    let ran = run(&p, &[("a", 2), ("a", 12), ("a", 20), ("a", 6)], batch(1));
    assert_eq!(
        ran.rows,
        [
            "-5..5 a 1",
            "0..10 a 1",
            "5..15 a 2",
            "10..20 a 1",
            "15..25 a 1",
            "20..30 a 1"
        ]
    );
    assert_eq!(ran.summary.late_dropped, 1, "one event, counted once");
}

#[test]
fn sessions_merge_across_batches_and_lateness_looks_at_open_sessions() {
    // Gap 10, delay 0, batches of 2: {a0, a16} {a8, a40} {a33, z30} {a5, a27} {a25, a45}
    // (z only fills batch 2; its session [30,40) stays apart from a's).
    // B0: [0,10), [16,26). W_1 = 16.
    // B1: 8 bridges both -> [0,26) n=3; 40 -> [40,50). Closes at 16: nothing. W_2 = 40.
    // B2: late below W_1 = 16? a33's session [33,43) ends at 43: no. It joins [40,50)
    // -> [33,50) n=2. Closes at 40: a [0,26) n=3 and z [30,40). W_3 = 40.
    // B3: late below W_2 = 40: a5 -> [5,15) ends <= 40 and touches no open session: late.
    // a27 -> [27,37) ends <= 40 but touches [33,50), and 27 is past the closed a session
    // (ended 26): joins -> [27,50) n=3.
    // B4: late below W_3 = 40: a25's own session [25,35) ends <= 40 but touches [27,50):
    // it joins -> [25,50) n=4, overlapping the emitted [0,26), which append mode has
    // forgotten (as Spark). a45 joins -> [25,55) n=5.
    // Final: a [25,55) n=5.
    let p = plan(SESSION, "append", 0);
    let ran = run(
        &p,
        &[
            ("a", 0),
            ("a", 16),
            ("a", 8),
            ("a", 40),
            ("a", 33),
            ("z", 30),
            ("a", 5),
            ("a", 27),
            ("a", 25),
            ("a", 45),
        ],
        batch(2),
    );
    assert_eq!(ran.rows, ["0..26 a 3", "30..40 z 1", "25..55 a 5"]);
    assert_eq!(ran.summary.late_dropped, 1);
    assert_eq!(
        watermarks(&ran.log),
        [
            (NEG, NEG),
            (NEG, 16),
            (16, 40),
            (40, 40),
            (40, 40),
            (40, POS)
        ]
    );
}

#[test]
fn sessions_in_update_mode_emit_the_merged_session() {
    // Gap 10, delay 100 (nothing closes before the end), batches of 1: 0, 16, 8.
    // B0: [0,10) n=1. B1: [16,26) n=1. B2: 8 bridges them: [0,26) n=3, only that row.
    let p = plan(SESSION, "update", 100);
    let ran = run(&p, &[("a", 0), ("a", 16), ("a", 8)], batch(1));
    assert_eq!(
        ran.rows,
        ["0..10 a 1 @0 #0", "16..26 a 1 @1 #1", "0..26 a 3 @2 #2"]
    );
}

#[test]
fn batch_size_one_on_ordered_input_is_the_exact_answer() {
    let p = plan(TUMBLING, "append", 0);
    let events: Vec<(&str, i64)> = (0..50)
        .map(|i| (if i % 3 == 0 { "a" } else { "b" }, i * 2))
        .collect();
    let ran = run(&p, &events, batch(1));
    // Times 0, 2, ..., 98: five events per 10 ms window; keys a (every third) and b.
    let mut want = vec![];
    for w in 0..10 {
        let ids: Vec<i64> = (w * 5..w * 5 + 5).collect();
        let a = ids.iter().filter(|i| *i % 3 == 0).count();
        if a > 0 {
            want.push(format!("{}..{} a {a}", w * 10, w * 10 + 10));
        }
        want.push(format!("{}..{} b {}", w * 10, w * 10 + 10, 5 - a));
    }
    assert_eq!(ran.rows, want);
    assert_eq!(ran.summary.emissions, 51, "50 batches and the final one");
}

#[test]
fn two_workers_give_the_rows_of_one() {
    let p = plan(SLIDING, "update", 7);
    let events: Vec<(String, i64)> = (0..3000i64)
        .map(|i| {
            let back = if i % 50 == 0 { 300 } else { (i * 31) % 17 };
            (format!("k{}", (i * 7919) % 37), i - back)
        })
        .collect();
    let events: Vec<(&str, i64)> = events.iter().map(|(k, t)| (k.as_str(), *t)).collect();
    let one = run(&p, &events, batch(64));
    let two = run_with(
        &p,
        &events,
        batch(64),
        RunOptions {
            workers: Some(2),
            ..Default::default()
        },
    );
    assert!(one.summary.late_dropped > 0, "the stream has late data");
    assert_eq!(one.summary.late_dropped, two.summary.late_dropped);
    assert_eq!(two.summary.workers, 2);
    let (mut a, mut b) = (one.rows, two.rows);
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

#[test]
fn filters_are_counted_and_do_not_move_the_watermark() {
    // Keep v < 2 (positions 0, 1): ts 1 and 5; position 2 (ts 100) is filtered, so the
    // watermark stays at 5 and nothing closes before the end.
    let p = Plan::from_toml(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\n[window]\nkind = \"tumbling\"\nsize = 10\n\
         [[filter]]\nfield = \"v\"\nop = \"lt\"\nvalue = 2\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n",
    )
    .unwrap();
    let ran = run(&p, &[("a", 1), ("a", 15), ("a", 100)], batch(1));
    assert_eq!(ran.rows, ["0..10 a 1", "10..20 a 1"]);
    assert_eq!(ran.summary.filtered, 1);
    assert_eq!(ran.log[2].watermark, 15, "W_2 from ts 1 and 15 only");
    assert_eq!(ran.log[3].late_bound, 15);
}

#[test]
fn processing_time_windows_use_one_timestamp_per_batch() {
    let p = Plan::from_toml(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\n[window]\nkind = \"tumbling\"\nsize = \"1h\"\n\
         time = \"processing\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n",
    )
    .unwrap();
    let before = streamlab_core::engine::processing_time_ms();
    let (decoder, evs) = decode(&p, &[("a", -5_000_000), ("a", 7), ("b", 1)]);
    let sink = CollectSink::default();
    MicrobatchEngine::default()
        .run(
            &p,
            &RunOptions::default(),
            Box::new(VecSource::new(evs)),
            Box::new(sink.clone()),
        )
        .unwrap();
    let after = streamlab_core::engine::processing_time_ms();
    let rows = sink.rows();
    // One batch, one timestamp: both `a` events in the same hour window, whatever their
    // event times; the window holds the processing time of the run.
    assert_eq!(rows.len(), 2);
    for r in &rows {
        assert_eq!(r.window.end - r.window.start, 3_600_000);
        assert!(r.window.start <= after && r.window.end > before);
    }
    let a = rows
        .iter()
        .find(|r| show(&decoder, r).contains(" a "))
        .unwrap();
    assert_eq!(a.values[0], AggValue::Int(2));
}

#[test]
fn empty_input_runs_no_batch() {
    let p = plan(TUMBLING, "append", 0);
    let ran = run(&p, &[], Config::default());
    assert!(ran.rows.is_empty());
    assert_eq!(ran.summary.emissions, 0);
    assert!(ran.log.is_empty());
}

#[test]
fn trigger_once_takes_everything_in_one_batch_whatever_the_bound() {
    let p = plan(TUMBLING, "append", 0);
    let ran = run(
        &p,
        &[("a", 1), ("a", 12), ("a", 5), ("a", 13)],
        Config {
            trigger: Some(Trigger::Once),
            max_records_per_batch: Some(1),
        },
    );
    assert_eq!(ran.rows, ["0..10 a 2", "10..20 a 2"]);
    assert_eq!(ran.log.len(), 2);
    assert_eq!(ran.log[0].input_rows, 4);
}

#[test]
fn interval_trigger_paces_batches() {
    let p = plan(TUMBLING, "append", 0);
    let started = std::time::Instant::now();
    let ran = run(
        &p,
        &[("a", 1), ("a", 2), ("a", 3), ("a", 4), ("a", 5), ("a", 6)],
        Config {
            trigger: Some(Trigger::Interval(DurationMs(25))),
            max_records_per_batch: Some(2),
        },
    );
    // Three batches of two fire at 0, 25 and 50 ms; the final one follows at once.
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
    assert_eq!(ran.log.len(), 4);
    assert_eq!(ran.rows, ["0..10 a 6"]);
}

/// A live source: each step is a chunk of events (served in one poll) or `None` for a
/// poll that finds nothing (`Pending`); then it ends.
struct ScriptedSource(std::collections::VecDeque<Option<Vec<Event>>>);

impl streamlab_core::Source for ScriptedSource {
    fn poll(
        &mut self,
        buf: &mut Vec<Event>,
        _max: usize,
    ) -> Result<streamlab_core::engine::Poll, EngineError> {
        use streamlab_core::engine::Poll;
        Ok(match self.0.pop_front() {
            Some(Some(events)) => {
                buf.extend(events);
                Poll::Ready
            }
            Some(None) => Poll::Pending,
            None => Poll::End,
        })
    }
}

fn scripted(
    plan: &Plan,
    steps: &[Option<&[(&str, i64)]>],
    config: Config,
) -> (Vec<String>, RunSummary, Vec<BatchInfo>) {
    let mut decoder = Decoder::new(plan);
    let mut seq = 0u64;
    let script = steps
        .iter()
        .map(|step| {
            step.map(|evs| {
                evs.iter()
                    .map(|(k, t)| {
                        seq += 1;
                        decoder
                            .decode(&format!("{{\"ts\":{t},\"key\":\"{k}\"}}"), seq - 1)
                            .unwrap()
                    })
                    .collect()
            })
        })
        .collect();
    let log = BatchLog::default();
    let sink = CollectSink::default();
    let summary = MicrobatchEngine::new(config)
        .with_batch_log(log.clone())
        .run(
            plan,
            &RunOptions::default(),
            Box::new(ScriptedSource(script)),
            Box::new(sink.clone()),
        )
        .unwrap();
    let rows = sink.rows().iter().map(|r| show(&decoder, r)).collect();
    (rows, summary, log.batches())
}

#[test]
fn an_idle_source_gets_a_no_data_batch_when_the_watermark_moved() {
    // Delay 0. {1, 12}, then nothing (twice), then {5}, then the end.
    // B0 {1, 12}: W_1 = 12. Next trigger finds nothing but W_1 > W_0: no-data batch B1
    // closes at 12: [0,10) n=1. After it W_2 = 12 = W_1: the second idle trigger runs no
    // batch. B2 {5}: late below W_1 = 12: [0,10) is closed, 5 is dropped. Final: [10,20).
    let p = plan(TUMBLING, "append", 0);
    let (rows, summary, log) = scripted(
        &p,
        &[Some(&[("a", 1), ("a", 12)]), None, None, Some(&[("a", 5)])],
        Config::default(),
    );
    assert_eq!(rows, ["0..10 a 1", "10..20 a 1"]);
    assert_eq!(summary.late_dropped, 1);
    assert_eq!(
        log.iter().map(|b| b.kind).collect::<Vec<_>>(),
        [
            BatchKind::Data,
            BatchKind::NoData,
            BatchKind::Data,
            BatchKind::Final
        ]
    );
    assert_eq!(
        watermarks(&log),
        [(NEG, NEG), (NEG, 12), (12, 12), (12, POS)]
    );
}

#[test]
fn available_now_stops_when_the_source_has_nothing_more_right_now() {
    // {1, 2} are available, then the source is idle: one batch, then the final one; the
    // event after the idle poll is never read.
    let p = plan(TUMBLING, "append", 0);
    let (rows, summary, log) = scripted(
        &p,
        &[Some(&[("a", 1), ("a", 2)]), None, Some(&[("a", 3)])],
        Config {
            trigger: Some(Trigger::AvailableNow),
            ..Default::default()
        },
    );
    assert_eq!(rows, ["0..10 a 2"]);
    assert_eq!(summary.events_in, 2);
    assert_eq!(log.len(), 2);
}

#[test]
fn the_default_batch_bound_applies_only_when_batches_run_back_to_back() {
    let with = |trigger| {
        MicrobatchEngine::new(Config {
            trigger,
            ..Default::default()
        })
        .settings(&RunOptions::default())
        .max_records_per_batch
    };
    assert_eq!(with(None), DEFAULT_MAX_RECORDS_PER_BATCH);
    assert_eq!(
        with(Some(Trigger::AvailableNow)),
        DEFAULT_MAX_RECORDS_PER_BATCH
    );
    assert_eq!(with(Some(Trigger::Interval(DurationMs(100)))), usize::MAX);
    let given = MicrobatchEngine::new(Config {
        trigger: Some(Trigger::Interval(DurationMs(100))),
        max_records_per_batch: Some(7),
    })
    .settings(&RunOptions::default());
    assert_eq!(given.max_records_per_batch, 7);
    assert_eq!(given.workers, RunOptions::DEFAULT_WORKERS);
}

mod workers;
