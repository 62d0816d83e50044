#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Open-loop latency of a query with `[[input]]`s, through the real engines: NEXMark Q3
//! reads persons and auctions from one stream, so every line has a seq per input and the
//! stream's malformed lines take seqs too. A due time computed from seq lands in the
//! future and every row reads as emitted before its event was due (the measurement once
//! said p50 = p99 = max = 1 µs). From the event's place in the schedule, none is.

use streamlab_core::engine::RunOptions;
use streamlab_core::Plan;
use streamlab_engines::EngineKind;
use streamlab_io::decode::decode_generated;
use streamlab_measure::measured::measure;
use streamlab_measure::replay::{Profile, Rate};
use streamlab_workloads::gen::{generate_to_vec, GenConfig, NexmarkKind, Workload};

#[test]
fn a_multi_input_query_with_malformed_lines_has_no_negative_latency() {
    let plan = Plan::from_toml(include_str!(
        "../../../queries/nexmark_q3_local_item_suggestion.toml"
    ))
    .unwrap();
    let gen = GenConfig {
        kinds: vec![NexmarkKind::Person, NexmarkKind::Auction],
        malformed: 0.02,
        ..GenConfig::new(Workload::Nexmark, 12_000, 7)
    };
    let (bytes, _) = generate_to_vec(&gen).unwrap();
    let input = decode_generated(&bytes, &plan, false, &mut std::io::sink()).unwrap();
    assert!(input.malformed > 0, "the stream has malformed lines");
    let last = input.events.last().unwrap();
    assert!(
        last.seq > input.events.len() as u64 * 3 / 2,
        "seq counts each line once per input: {} events, last seq {}",
        input.events.len(),
        last.seq
    );
    for kind in [
        EngineKind::Baseline,
        EngineKind::Record,
        EngineKind::Microbatch,
    ] {
        let engine = kind.build();
        // 20k events/s: well within every engine's capacity, about 0.6 s per run.
        let m = measure(
            engine.as_ref(),
            &plan,
            &RunOptions::default(),
            input.events.clone(),
            Rate::PerSecond(20_000.0),
            &Profile::Constant,
            0.1,
            None,
        )
        .unwrap();
        let lat = m.latency_us.unwrap();
        assert!(m.rows_out > 20, "{}: Q3 found pairs: {m:?}", kind.name());
        assert_eq!(
            m.latency_anomalies.negative,
            0,
            "{}: rows emitted before their event was due: {:?}",
            kind.name(),
            m.latency_anomalies
        );
        assert_eq!(m.latency_anomalies.unscheduled, 0, "{}", kind.name());
        assert!(lat.count > 0, "{}: {lat:?}", kind.name());
    }
}
