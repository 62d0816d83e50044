use super::*;
use std::sync::Arc;
use streamlab_core::engine::VecSource;
use streamlab_core::semantics::row::OutRow;
use streamlab_core::{Event, Poll, Sink, Source, Window};

fn event(seq: u64, time: i64) -> Event {
    Event {
        seq,
        time,
        key: 0,
        part: 0,
        fields: Default::default(),
    }
}

struct Discard;
impl Sink for Discard {
    fn emit(&mut self, _: &[OutRow]) -> Result<(), streamlab_core::EngineError> {
        Ok(())
    }
}

#[test]
fn a_tapped_source_counts_events_and_the_watermark_it_delivers() {
    let tap = Arc::new(EngineTap::new("x", "x", 1_000));
    let events = (0..10).map(|i| event(i, 5_000 + i as i64)).collect();
    let mut source = TappedSource::new(Box::new(VecSource::new(events)), tap.clone());
    let mut buf = Vec::new();
    while source.poll(&mut buf, 4).expect("poll") == Poll::Ready {}
    let reading = tap.read();
    assert_eq!(reading.events_in, 10);
    assert_eq!(reading.watermark_ms, Some(5_009 - 1_000));
    assert_eq!(lock(&tap.deliveries).len(), 3);
}

fn row(trigger: Option<u64>, end: i64) -> OutRow {
    OutRow {
        window: Window { start: 0, end },
        key: 0,
        values: Default::default(),
        emit: None,
        trigger,
    }
}

#[test]
fn a_tapped_sink_counts_rows_and_charges_them_to_their_trigger_delivery() {
    let tap = Arc::new(EngineTap::new("x", "x", 0));
    let events = (0..8).map(|i| event(i, i as i64 * 10)).collect();
    let mut source = TappedSource::new(Box::new(VecSource::new(events)), tap.clone());
    let mut buf = Vec::new();
    while source.poll(&mut buf, 4).expect("poll") == Poll::Ready {}
    let mut sink = TappedSink::new(Box::new(Discard), tap.clone());
    let update = row(Some(5), 0);
    let append = row(None, 30);
    let never = row(None, 1_000);
    sink.emit(&[update, append, never]).expect("emit");
    sink.finish().expect("finish");
    let reading = tap.read();
    assert_eq!(reading.rows_out, 3);
    // The row whose window end the watermark never reached is not sampled.
    assert_eq!(reading.latency.len(), 2);
}

#[test]
fn without_a_board_a_run_is_not_tapped() {
    // No test in this binary installs the board.
    let observed = observe(
        "x",
        0,
        Box::new(VecSource::new(Vec::new())),
        Box::new(Discard),
    );
    assert!(observed.tap.is_none());
}
