#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The measurement machinery against engines whose behaviour is known: a stalled engine
//! must show its stall in latency (no coordinated omission), and the sustainable-rate
//! search must find a throttled engine's capacity within 5 %.

use std::time::{Duration, Instant};
use streamlab_core::engine::{Engine, EngineError, Job, Poll, RunOptions, RunSummary};
use streamlab_core::{Event, OutRow, Plan, Window};
use streamlab_measure::measured::measure;
use streamlab_measure::replay::{Profile, Rate};
use streamlab_measure::sustainable::find_sustainable;

fn plan() -> Plan {
    Plan::builder()
        .event_time("ts")
        .tumbling_ms(10)
        .count("n")
        .output_mode(streamlab_core::OutputMode::Update)
        .build()
        .unwrap()
}

fn events(n: u64) -> Vec<Event> {
    (0..n)
        .map(|i| Event {
            seq: i,
            time: i as i64,
            key: 0,
            part: 0,
            fields: Default::default(),
        })
        .collect()
}

/// Emits one update row per event at once; stalls once for `stall` at event `stall_at`;
/// never handles more than `capacity` events per second.
struct Fake {
    stall_at: u64,
    stall: Duration,
    capacity: f64,
}

impl Engine for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        let Job {
            mut source,
            mut sink,
            ..
        } = job;
        let started = Instant::now();
        let mut buf = Vec::new();
        let mut n = 0u64;
        loop {
            buf.clear();
            let status = source.poll(&mut buf, 64)?;
            for e in &buf {
                if e.seq == self.stall_at {
                    std::thread::sleep(self.stall);
                }
                n += 1;
                let earliest = started + Duration::from_secs_f64(n as f64 / self.capacity);
                if let Some(wait) = earliest.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                sink.emit(&[OutRow {
                    window: Window { start: 0, end: 10 },
                    key: 0,
                    values: Default::default(),
                    emit: Some(n),
                    trigger: Some(e.seq),
                }])?;
            }
            if status == Poll::End {
                break;
            }
        }
        Ok(RunSummary {
            events_in: n,
            ..Default::default()
        })
    }
}

#[test]
fn a_stall_shows_in_latency_of_the_events_queued_behind_it() {
    // 20k events at 10k/s; a 300 ms stall at event 10k. Events arriving during the stall
    // wait behind it: their latency must include the wait (up to ~300 ms), not just the
    // engine's own per-event time, as a closed-loop measurement would report.
    let fake = Fake {
        stall_at: 10_000,
        stall: Duration::from_millis(300),
        capacity: 1e9,
    };
    let m = measure(
        &fake,
        &plan(),
        &RunOptions::default(),
        events(20_000),
        Rate::PerSecond(10_000.0),
        &Profile::Constant,
        0.1,
        None,
    )
    .unwrap();
    let lat = m.latency_us.unwrap();
    assert!(
        lat.max >= 280_000,
        "the stall is missing from latency: {lat:?}"
    );
    // About 3 000 events (300 ms at 10k/s) arrive during the stall: over 1 % of samples.
    assert!(
        lat.p99 >= 100_000,
        "queued events were not charged the wait: {lat:?}"
    );
    assert!(lat.p50 < 50_000, "unstalled events should be fast: {lat:?}");
}

#[test]
fn due_times_follow_the_schedule_not_the_line_numbers() {
    // Every other line was another input's or malformed: seqs 0, 2, 4, ... As if event i
    // were due at seq / rate, the last would be due a second after it arrives, and every
    // row would be emitted "before" its event. From its place in the schedule, no row is.
    let events: Vec<Event> = events(10_000)
        .into_iter()
        .map(|mut e| {
            e.seq *= 2;
            e
        })
        .collect();
    let fake = Fake {
        stall_at: u64::MAX,
        stall: Duration::ZERO,
        capacity: 1e9,
    };
    let m = measure(
        &fake,
        &plan(),
        &RunOptions::default(),
        events,
        Rate::PerSecond(10_000.0),
        &Profile::Constant,
        0.1,
        None,
    )
    .unwrap();
    assert_eq!(m.latency_anomalies.negative, 0, "{:?}", m.latency_anomalies);
    assert_eq!(m.latency_anomalies.unscheduled, 0);
    assert_eq!(
        m.latency_us.unwrap().count,
        9_000,
        "every row after warm-up"
    );
}

#[test]
fn the_search_finds_a_throttled_engines_capacity_within_five_percent() {
    let capacity = 40_000.0;
    let fake = Fake {
        stall_at: u64::MAX,
        stall: Duration::ZERO,
        capacity,
    };
    let (found, walked) =
        find_sustainable(5_000.0, 1e7, 0.05, Duration::from_millis(200), |rate| {
            // One second of input per probe.
            measure(
                &fake,
                &plan(),
                &RunOptions::default(),
                events(rate as u64),
                Rate::PerSecond(rate),
                &Profile::Constant,
                0.1,
                None,
            )
        })
        .unwrap();
    let found = found.unwrap();
    assert!(
        (found - capacity).abs() <= capacity * 0.05,
        "found {found} for capacity {capacity}: {walked:?}"
    );
}
