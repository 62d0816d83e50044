//! W1, the experiments' usual workload: its generated clicks, its measured runs, and the
//! W1-shaped queries the experiments vary (window, output mode, watermark delay, time
//! domain).

use crate::child::{query_spec, RunSpec};
use anyhow::Result;
use streamlab_core::Plan;
use streamlab_engines::EngineKind;
use streamlab_workloads::gen::{GenConfig, Workload};
use streamlab_workloads::W1_QUERY;

/// W1's clicks: 100k events per second of event time, 5 % up to 3 s out of order.
pub fn w1_gen(events: u64, seed: u64) -> GenConfig {
    GenConfig {
        rate: 100_000.0,
        disorder: 0.05,
        max_delay_ms: 3_000,
        ..GenConfig::new(Workload::Clicks, events, seed)
    }
}

/// A measured run of W1 over `gen` with the engine's default options.
pub fn spec(kind: EngineKind, gen: &GenConfig, rate: Option<f64>) -> RunSpec {
    query_spec(kind, W1_QUERY, gen, rate)
}

/// count and sum of `value` per `key` over `window` (query file syntax), in `mode`, with
/// watermark `delay_ms`, in time domain `time`: the query text and its plan.
pub fn query(window: &str, mode: &str, delay_ms: i64, time: &str) -> Result<(String, Plan)> {
    let text = format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n[watermark]\ndelay = {delay_ms}\n\
         [window]\n{window}\ntime = \"{time}\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n"
    );
    let plan = Plan::from_toml(&text)?;
    Ok((text, plan))
}
