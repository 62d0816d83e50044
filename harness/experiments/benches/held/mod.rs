//! What the end-to-end engine benches share: W1, its pre-decoded input, a source that
//! moves events out like `VecSource` without timing the free, and a sink that only counts.
#![allow(dead_code)] // each bench uses its own subset

use std::sync::{Arc, Mutex};
use streamlab_core::engine::{EngineError, Poll, Sink, Source};
use streamlab_core::{Event, OutRow, Plan};
use streamlab_io::decode::decode_all;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// Counts rows (printing is the sink's cost, not the engine's).
pub struct CountingSink(pub u64);

impl Sink for CountingSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.0 += rows.len() as u64;
        Ok(())
    }
}

/// Moves events out like `VecSource` (the harness's path), but the vector stays owned
/// by the benchmark's handle, so freeing hundreds of MB is not timed.
pub struct HeldSource(pub Held);

impl Source for HeldSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let mut events = self.0.lock().unwrap();
        let before = buf.len();
        buf.extend(events.by_ref().take(max));
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }
}

/// Events behind a handle the benchmark keeps.
pub type Held = Arc<Mutex<std::vec::IntoIter<Event>>>;

/// Holds `events` for one run.
pub fn hold(events: Vec<Event>) -> Held {
    Arc::new(Mutex::new(events.into_iter()))
}

/// W1: 10 s tumbling count + sum per key, watermark 5 s.
pub fn w1() -> Plan {
    Plan::from_toml(streamlab_workloads::W1_QUERY).unwrap()
}

/// W1's input: clicks over 10k keys, `rate` events per second of event time, 5 % moved
/// back by up to 3 s (within the 5 s watermark).
pub fn events_at(plan: &Plan, n: u64, rate: f64) -> Vec<Event> {
    let mut cfg = GenConfig::new(Workload::Clicks, n, 7);
    cfg.rate = rate;
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 3_000;
    let (bytes, _) = generate_to_vec(&cfg).unwrap();
    decode_all(
        bytes.as_slice(),
        "<bench>",
        plan,
        true,
        &mut std::io::sink(),
    )
    .unwrap()
    .events
}

/// W1's input at 20k events per second of event time.
pub fn events(plan: &Plan, n: u64) -> Vec<Event> {
    events_at(plan, n, 20_000.0)
}
