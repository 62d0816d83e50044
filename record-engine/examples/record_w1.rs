//! The smallest program on the record engine: a 10 s tumbling count + sum per key with a
//! 5 s watermark over a dozen clicks, one of them late, run with the watermark stepping
//! after every record (Flink's per-record rule) and at the default interval.
//!
//! ```text
//! cargo run --release -p streamlab-record-engine --example record_w1 -- [workers]
//! ```
#![allow(clippy::unwrap_used)] // an example: a failure should stop it loudly

use streamlab_core::engine::{CollectSink, RunOptions, VecSource};
use streamlab_core::{Engine, Plan};
use streamlab_io::json_lines::Decoder;
use streamlab_record_engine::{Config, RecordEngine};

const CLICKS: &str = r#"{"ts": 1000, "key": "home", "value": 1}
{"ts": 2500, "key": "cart", "value": 5}
{"ts": 9000, "key": "home", "value": 2}
{"ts": 11000, "key": "home", "value": 1}
{"ts": 12500, "key": "cart", "value": 3}
{"ts": 8000, "key": "cart", "value": 7}
{"ts": 16000, "key": "home", "value": 4}
{"ts": 21000, "key": "cart", "value": 2}
{"ts": 9500, "key": "home", "value": 9}
{"ts": 23000, "key": "home", "value": 1}"#;

fn main() {
    let workers = std::env::args()
        .nth(1)
        .map_or(1, |w| w.parse().expect("workers is a number"));
    let plan = Plan::builder()
        .event_time("ts")
        .group_by(["key"])
        .watermark_ms(5_000)
        .tumbling_ms(10_000)
        .count("n")
        .sum("value", "total")
        .build()
        .unwrap();
    let mut decoder = Decoder::new(&plan);
    let events: Vec<_> = CLICKS
        .lines()
        .enumerate()
        .map(|(i, line)| decoder.decode(line, i as u64).unwrap())
        .collect();
    let keys = std::sync::Arc::clone(decoder.key_table());

    for (label, interval) in [("per record", Some(1)), ("default interval", None)] {
        let sink = CollectSink::default();
        let options = RunOptions {
            workers: Some(workers),
            ..Default::default()
        };
        let engine = RecordEngine::new(Config {
            watermark_interval: interval,
            ..Default::default()
        });
        let summary = engine
            .run(
                &plan,
                &options,
                Box::new(VecSource::new(events.clone())),
                Box::new(sink.clone()),
            )
            .unwrap();
        println!(
            "watermark {label}: {} rows, {} late dropped",
            summary.rows_out, summary.late_dropped
        );
        let mut rows = sink.rows();
        rows.sort_by_key(|r| (r.window, r.key));
        for r in rows {
            let key = keys.with(r.key, |k| format!("{:?}", k[0]));
            println!(
                "  [{}, {}) {key}: {:?}",
                r.window.start, r.window.end, r.values
            );
        }
    }
    // With the watermark stepping after every record, ts 8000 arrives when the watermark
    // is 12500 - 5000 = 7500: its window [0, 10000) is still open, it counts. ts 9500
    // arrives at watermark 21000 - 5000 = 16000: [0, 10000) has closed, it is dropped.
    // At the default interval the watermark moves only when the source is drained, after
    // the last record: nothing is late.
}
