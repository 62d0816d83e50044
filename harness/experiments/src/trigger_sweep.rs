//! `experiment trigger-sweep`: the micro-batch trigger interval against latency and
//! throughput.

use crate::child::run_in_child;
use crate::config::ExperimentConfig;
use crate::sweep::{engines, interleaved, Outcome};
use crate::w1::{spec, w1_gen};
use anyhow::Result;
use serde_json::json;
use streamlab_measure::results::RawCsv;

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let kind = engines()
        .into_iter()
        .find(|k| k.takes("--trigger"))
        .ok_or_else(|| anyhow::anyhow!("trigger-sweep needs an engine with --trigger (the micro-batch engine); none is registered"))?;
    let (events, rate, triggers): (u64, f64, Vec<&str>) = if cfg.quick {
        (200_000, 200_000.0, vec!["10ms", "100ms", "500ms"])
    } else {
        (
            5_000_000,
            500_000.0,
            vec!["10ms", "50ms", "100ms", "250ms", "500ms", "1s", "2s", "5s"],
        )
    };
    let gen = w1_gen(events, cfg.seed);
    let mut points = Vec::new();
    crate::runs::expect("trigger-sweep", Some(triggers.len() * cfg.reps));
    for trigger in &triggers {
        let setting = format!("trigger={trigger}");
        interleaved(&[kind], cfg.reps, &setting, raw, |kind, rep| {
            let mut s = spec(kind, &gen, Some(rate));
            s.flags.trigger = Some((*trigger).to_owned());
            let m = run_in_child(&s)?;
            points.push(
                json!({"trigger": trigger, "rep": rep, "throughput_eps": m.throughput_eps,
                               "latency_us": m.latency_us, "cpu_s": m.cpu_s}),
            );
            Ok(m.into())
        })?;
    }
    Ok((
        json!({"engine": kind.name(), "rate": rate, "events": events, "points": points}),
        format!(
            "The micro-batch engine on W1 at {rate:.0} events/s with processing-time triggers from \
             {} to {}: a batch cannot emit before its trigger fires, so latency grows with the \
             interval while per-batch overhead shrinks.",
            triggers[0],
            triggers[triggers.len() - 1]
        ),
    ))
}
