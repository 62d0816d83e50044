//! `experiment watermark-accuracy`: watermark delay × disorder against late drops,
//! accuracy and latency.

use crate::checked::{decode_with_exact, run_checked};
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Measured, Outcome};
use crate::w1::query;
use anyhow::Result;
use serde_json::json;
use streamlab_measure::results::RawCsv;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let (events, delays, disorders): (u64, Vec<i64>, Vec<f64>) = if cfg.quick {
        (100_000, vec![0, 2_000, 8_000], vec![0.05, 0.3])
    } else {
        (
            2_000_000,
            vec![0, 500, 1_000, 2_000, 4_000, 8_000, 16_000],
            vec![0.01, 0.05, 0.2, 0.5],
        )
    };
    let rate = 1_000_000.0;
    let mut points = Vec::new();
    crate::runs::expect(
        "watermark-accuracy",
        Some(disorders.len() * delays.len() * engines().len() * cfg.reps),
    );
    for &disorder in &disorders {
        // Always 20 s of event time: two full 10 s windows whatever the event count.
        let gen = GenConfig {
            rate: events as f64 / 20.0,
            disorder,
            max_delay_ms: 8_000,
            keys: 1_000,
            ..GenConfig::new(Workload::Clicks, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        for &delay in &delays {
            let (_, plan) = query(
                "kind = \"tumbling\"\nsize = \"10s\"",
                "append",
                delay,
                "event",
            )?;
            let (input, exact) = decode_with_exact(&bytes, &plan)?;
            let setting = format!("disorder={disorder};delay_ms={delay}");
            interleaved(&engines(), cfg.reps, &setting, raw, |kind, rep| {
                let (m, acc) = run_checked(kind, &plan, &input, rate, &exact)?;
                points.push(
                    json!({"engine": kind.name(), "rep": rep, "disorder": disorder, "delay_ms": delay,
                                   "late_dropped": m.late_dropped, "accuracy": acc,
                                   "latency_us": m.latency_us}),
                );
                Ok(Measured {
                    metrics: m,
                    rows: vec![
                        ("rows_exact", acc.exact as f64),
                        ("rows_missing", acc.missing as f64),
                        ("rows_wrong", acc.wrong as f64),
                        ("relative_error_n", acc.relative_error["n"]),
                    ],
                })
            })?;
        }
    }
    Ok((
        json!({"events": events, "rate": rate, "max_disorder_delay_ms": 8000, "points": points}),
        format!(
            "Clicks (20 s of event time) with a fraction of events up to 8 s out of order, 10 s \
             tumbling count+sum per key (1k keys), append mode, replayed at {rate:.0} events/s. For each watermark delay: events \
             dropped as late, final rows against the exact answer (exact / missing / wrong, relative \
             error of the count), and latency. A longer delay drops less and waits longer."
        ),
    ))
}
