#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The answer does not depend on how many workers read the source. Every worker of
//! process 0 reads the one input in turns; on 1, 2 and 4 workers a run must give the same
//! rows (every row of a key, in the same order, with the same values and emission
//! points), the same late drops and the same counts, on input with disorder, late events,
//! many keys, several source partitions and filters, in chunks of every size from 1 event
//! to a full source chunk, at watermark intervals 1, 3 and 1024, in every output mode and
//! window kind. Float sums make any change in the order records are applied visible.

use proptest::prelude::*;
use std::collections::BTreeMap;
use streamlab_core::engine::{CollectSink, Engine, EngineError, Poll, RunOptions, Source};
use streamlab_core::model::duration::DurationMs;
use streamlab_core::model::key_hash::worker_of;
use streamlab_core::{Event, KeyId, OutRow, OutputMode, Part, Plan};
use streamlab_io::json_lines::Decoder;
use streamlab_record_engine::{Config, RecordEngine};

const WINDOWS: [&str; 3] = [
    "kind = \"tumbling\"\nsize = 20",
    "kind = \"sliding\"\nsize = 30\nslide = 10",
    "kind = \"session\"\ngap = 7",
];
const MODES: [&str; 3] = ["append", "update", "complete"];

fn plan(window: &str, mode: &str, filter: bool) -> Plan {
    let filter = if filter {
        "[[filter]]\nfield = \"v\"\nop = \"ge\"\nvalue = 0.2\n"
    } else {
        ""
    };
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = 5\n[window]\n{window}\n{filter}[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"total\"\n"
    ))
    .unwrap()
}

/// One input event: (event time, key, partition, value).
type Item = (i64, u8, u8, f64);

fn events(plan: &Plan, items: &[Item]) -> Vec<Event> {
    let mut decoder = Decoder::new(plan);
    items
        .iter()
        .enumerate()
        .map(|(seq, &(t, k, part, v))| {
            let line = format!("{{\"ts\":{t},\"key\":\"k{k}\",\"v\":{v}}}");
            let mut e = decoder.decode(&line, seq as u64).unwrap();
            e.part = Part::from(part);
            e
        })
        .collect()
}

/// Hands its events out a few at a time, the sizes taken in turn from `sizes`, so a short
/// input makes many chunks and the readers take turns on it.
struct Dribble {
    events: std::vec::IntoIter<Event>,
    partitions: Part,
    sizes: Vec<usize>,
    polls: usize,
}

impl Source for Dribble {
    fn partitions(&self) -> Part {
        self.partitions
    }

    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let n = self.sizes[self.polls % self.sizes.len()].min(max);
        self.polls += 1;
        if n == 0 {
            return Ok(Poll::Pending);
        }
        let before = buf.len();
        buf.extend(self.events.by_ref().take(n));
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }
}

/// What a run answered: every key's rows in the order the sink got them, and the counts
/// (late drops, events in, filtered, rows out).
#[derive(Debug, PartialEq)]
struct Answer {
    rows: BTreeMap<KeyId, Vec<OutRow>>,
    counts: (u64, u64, u64, u64),
}

fn run(
    plan: &Plan,
    events: &[Event],
    partitions: Part,
    sizes: &[usize],
    workers: usize,
    interval: u64,
) -> Answer {
    let sink = CollectSink::default();
    let engine = RecordEngine::new(Config {
        watermark_interval: Some(interval),
        // One complete-mode table, at the end: the intermediate ones follow the clock.
        complete_interval: Some(DurationMs(3_600_000)),
        ..Default::default()
    });
    #[allow(clippy::unnecessary_to_owned)] // the source owns its events (`vec::IntoIter`)
    let source = Dribble {
        events: events.to_vec().into_iter(),
        partitions,
        sizes: sizes.to_vec(),
        polls: 0,
    };
    let options = RunOptions {
        workers: Some(workers),
        ..Default::default()
    };
    let summary = engine
        .run(plan, &options, Box::new(source), Box::new(sink.clone()))
        .unwrap();
    let mut rows: BTreeMap<KeyId, Vec<OutRow>> = BTreeMap::new();
    for mut r in sink.rows() {
        if plan.mode == OutputMode::Complete {
            // A table's trigger is the last record its worker applied: the last record of
            // the worker's keys (checked here, then left out of the comparison).
            let mine = events
                .iter()
                .filter(|e| worker_of(e.key, workers as u64) == worker_of(r.key, workers as u64))
                .filter(|e| plan.filters.iter().all(|p| p.holds(e.fields[p.slot])))
                .map(|e| e.seq)
                .max();
            assert_eq!(r.trigger, mine, "the table's trigger on {workers} workers");
            r.trigger = None;
        }
        rows.entry(r.key).or_default().push(r);
    }
    Answer {
        rows,
        counts: (
            summary.late_dropped,
            summary.events_in,
            summary.filtered,
            summary.rows_out,
        ),
    }
}

/// A stream of `n` events over `keys` keys and `partitions` partitions, event time
/// growing about 3 ms an event, `disorder` of them moved back by up to 12 ms (within the
/// delay of 5 and the windows' reach: some late) and `late` of them by 200 ms (late).
fn stream(n: usize, keys: u8, partitions: u8, seed: u64) -> Vec<Item> {
    let mut x = seed | 1;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    (0..n)
        .map(|i| {
            let mut t = 3 * i as i64;
            match next(100) {
                0..=14 => t -= next(12) as i64,
                15..=17 => t -= 200,
                _ => {}
            }
            let key = next(u64::from(keys)) as u8;
            let part = next(u64::from(partitions)) as u8;
            let v = next(1000) as f64 / 997.0;
            (t, key, part, v)
        })
        .collect()
}

/// The chunk sizes the tests read in: single events, odd sizes, larger ones.
const SIZES: [usize; 10] = [1, 3, 7, 2, 30, 5, 64, 1, 11, 300];

#[test]
fn one_two_and_four_workers_answer_alike_on_every_window_and_mode() {
    let items = stream(3_000, 40, 1, 17);
    for window in WINDOWS {
        for mode in MODES {
            for filter in [false, true] {
                let p = plan(window, mode, filter);
                let input = events(&p, &items);
                for interval in [1, 3, 1024] {
                    let one = run(&p, &input, 1, &SIZES, 1, interval);
                    assert!(
                        one.counts.0 > 0 || mode == "complete",
                        "the stream has late events"
                    );
                    for workers in [2, 4] {
                        let many = run(&p, &input, 1, &SIZES, workers, interval);
                        assert_eq!(
                            many, one,
                            "{window} {mode} filter {filter} interval {interval}: {workers} workers"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn partitions_hold_the_watermark_back_alike_on_any_number_of_readers() {
    // Three partitions, one of which starts late: the watermark is the minimum over them.
    let mut items = stream(4_000, 25, 3, 5);
    for item in items.iter_mut().take(600) {
        if item.2 == 2 {
            item.2 = 1;
        }
    }
    let p = plan(WINDOWS[0], "update", false);
    let input = events(&p, &items);
    for interval in [1, 1024] {
        let one = run(&p, &input, 3, &SIZES, 1, interval);
        for workers in [2, 4] {
            assert_eq!(run(&p, &input, 3, &SIZES, workers, interval), one);
        }
    }
}

#[test]
fn a_long_stream_through_the_flow_control_answers_alike() {
    // More records than may be in flight, in full chunks: the readers wait for the window
    // operators and the frontier moves on the flow control's sub-steps.
    let items = stream(600_000, 200, 2, 23);
    let p = plan(WINDOWS[0], "append", false);
    let input = events(&p, &items);
    let one = run(&p, &input, 2, &[1024], 1, 1024);
    assert!(one.counts.0 > 0);
    assert_eq!(run(&p, &input, 2, &[1024], 2, 1024), one);
    assert_eq!(run(&p, &input, 2, &[1000, 24, 1024], 4, 64), {
        run(&p, &input, 2, &[1000, 24, 1024], 1, 64)
    });
}

#[test]
fn an_input_that_pauses_answers_alike() {
    // Polls that find nothing now and then (a live input between arrivals): the readers
    // flush and move the watermark to what they have read.
    let items = stream(2_000, 30, 1, 41);
    let p = plan(WINDOWS[2], "update", false);
    let input = events(&p, &items);
    let sizes = [5, 0, 17, 0, 0, 64];
    let one = run(&p, &input, 1, &sizes, 1, 1);
    for workers in [2, 4] {
        assert_eq!(run(&p, &input, 1, &sizes, workers, 1), one);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_stream_any_chunking_same_answer_on_one_two_and_four_workers(
        seed in any::<u64>(), n in 1..1_500usize, keys in 1..30u8, partitions in 1..4u8,
        w in 0..3usize, m in 0..3usize, filter in any::<bool>(),
        interval in prop::sample::select(vec![1u64, 2, 5, 64, 1024]),
        sizes in prop::collection::vec(0..40usize, 1..6),
    ) {
        let mut sizes = sizes;
        if sizes.iter().all(|&s| s == 0) {
            sizes.push(1);
        }
        let items = stream(n, keys, partitions, seed);
        let p = plan(WINDOWS[w], MODES[m], filter);
        let input = events(&p, &items);
        let parts = Part::from(partitions);
        let one = run(&p, &input, parts, &sizes, 1, interval);
        prop_assert_eq!(&run(&p, &input, parts, &sizes, 2, interval), &one);
        prop_assert_eq!(&run(&p, &input, parts, &sizes, 4, interval), &one);
    }
}
