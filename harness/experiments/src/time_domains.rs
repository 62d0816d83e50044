//! `experiment time-domains`: processing-time against event-time windows under disorder,
//! against the exact answer.

use crate::checked::run_collect;
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Measured, Outcome};
use anyhow::Result;
use serde_json::json;
use streamlab_core::engine::RunOptions;
use streamlab_core::Plan;
use streamlab_engines::runner::to_result_rows;
use streamlab_io::decode::decode_all;
use streamlab_measure::accuracy::compare;
use streamlab_measure::replay::Rate;
use streamlab_measure::results::RawCsv;
use streamlab_reference::Oracle;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    // Event times follow the replay clock (event i happens at its scheduled arrival), so a
    // processing-time window holds the events handled in it; out-of-order events are handled
    // after their event time and may land in a later processing-time window.
    let (events, rate, disorders): (u64, f64, Vec<f64>) = if cfg.quick {
        (150_000, 50_000.0, vec![0.0, 0.2])
    } else {
        (1_500_000, 100_000.0, vec![0.0, 0.05, 0.2, 0.5])
    };
    let max_delay = 800;
    let mut points = Vec::new();
    crate::runs::expect(
        "time-domains",
        Some(disorders.len() * 2 * engines().len() * cfg.reps),
    );
    for &disorder in &disorders {
        let gen = GenConfig {
            rate,
            disorder,
            max_delay_ms: max_delay,
            keys: 100,
            ..GenConfig::new(Workload::Likes, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        for time in ["processing", "event"] {
            let text = format!(
                "event_time = \"ts\"\ngroup_by = [\"video\"]\noutput_mode = \"append\"\n[watermark]\ndelay = {max_delay}\n\
                 [window]\nkind = \"tumbling\"\nsize = \"1s\"\ntime = \"{time}\"\n[[aggregate]]\nfn = \"count\"\nas = \"likes\"\n"
            );
            let plan = Plan::from_toml(&text)?;
            let setting = format!("disorder={disorder};time={time}");
            interleaved(&engines(), cfg.reps, &setting, raw, |kind, rep| {
                let mut input = decode_all(
                    bytes.as_slice(),
                    "<generated>",
                    &plan,
                    false,
                    &mut std::io::sink(),
                )?;
                // Align event time with the replay clock just before the replay starts:
                // event 0 happens now, event i at its scheduled arrival.
                let shift = streamlab_core::engine::processing_time_ms() - gen.start_ms;
                for e in &mut input.events {
                    e.time += shift;
                }
                let (m, rows) = run_collect(
                    kind,
                    &plan,
                    &input,
                    Rate::PerSecond(rate),
                    &RunOptions::default(),
                )?;
                let (exact, _) = Oracle::answer(&plan, &input.events)?;
                let exact = to_result_rows(&exact, &input.keys);
                let acc = compare(&rows, &exact, &plan);
                points.push(
                    json!({"engine": kind.name(), "rep": rep, "disorder": disorder, "time": time,
                                   "accuracy": acc, "late_dropped": m.late_dropped}),
                );
                Ok(Measured {
                    metrics: m,
                    rows: vec![
                        ("relative_error_likes", acc.relative_error["likes"]),
                        ("rows_exact", acc.exact as f64),
                    ],
                })
            })?;
        }
    }
    Ok((
        json!({"events": events, "rate": rate, "max_delay_ms": max_delay, "points": points}),
        format!(
            "The likes example: likes per video per 1 s window, replayed at {rate:.0} events/s with \
             event times following the replay clock; a fraction of events is handled up to \
             {max_delay} ms after it happened. Processing-time windows count each like in the window \
             it was handled in; event-time windows (watermark {max_delay} ms) in the window it \
             happened in. Both are compared with the exact event-time answer. Processing-time \
             results depend on the run by nature."
        ),
    ))
}
