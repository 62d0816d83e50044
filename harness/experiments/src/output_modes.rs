//! `experiment output-modes`: rows emitted and latency per output mode and engine.

use crate::checked::{decode_with_exact, run_checked};
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Outcome};
use crate::w1::query;
use anyhow::Result;
use serde_json::json;
use streamlab_measure::results::RawCsv;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let events = if cfg.quick { 100_000 } else { 2_000_000 };
    let rate = if cfg.quick { 200_000.0 } else { 500_000.0 };
    let gen = GenConfig {
        rate: events as f64 / 30.0,
        disorder: 0.05,
        max_delay_ms: 3_000,
        keys: 1_000,
        ..GenConfig::new(Workload::Clicks, events, cfg.seed)
    };
    let (bytes, _) = generate_to_vec(&gen)?;
    let mut points = Vec::new();
    crate::runs::expect("output-modes", Some(3 * engines().len() * cfg.reps));
    for mode in ["append", "update", "complete"] {
        let (_, plan) = query("kind = \"tumbling\"\nsize = \"10s\"", mode, 5_000, "event")?;
        let (input, exact) = decode_with_exact(&bytes, &plan)?;
        let setting = format!("mode={mode}");
        interleaved(&engines(), cfg.reps, &setting, raw, |kind, rep| {
            let (m, acc) = run_checked(kind, &plan, &input, rate, &exact)?;
            points.push(
                json!({"engine": kind.name(), "rep": rep, "mode": mode, "rows_out": m.rows_out,
                               "final_rows": acc.rows_actual, "exact": acc.is_exact(),
                               "latency_us": m.latency_us, "late_dropped": m.late_dropped}),
            );
            Ok(m.into())
        })?;
    }
    Ok((
        json!({"events": events, "rate": rate, "points": points}),
        format!(
            "30 s of clicks, 10 s tumbling count+sum per key (1k keys, 5 % disorder within the 5 s watermark) at \
             {rate:.0} events/s in each output mode: how many rows each engine emits for the same \
             final answer, and how soon (append waits for the watermark; update emits every change; \
             complete re-emits the whole table)."
        ),
    ))
}
