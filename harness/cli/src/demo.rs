//! `streamlab demo`, the main job: generate W1's input in memory, run every registered
//! engine over it, and print a side-by-side table checked against the oracle.

use crate::args::DemoArgs;
use anyhow::{Context, Result};
use serde::Serialize;
use std::io::Write;
use streamlab_core::engine::RunOptions;
use streamlab_core::Plan;
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
use streamlab_io::decode::decode_all;
use streamlab_io::sink::SharedBuffer;
use streamlab_measure::accuracy::{compare, Accuracy};
use streamlab_measure::results::write_json;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};
use streamlab_workloads::W1_QUERY;

/// One engine's line of the demo table.
#[derive(Debug, Serialize)]
pub struct DemoRow {
    /// Engine name.
    pub engine: String,
    /// Events per second of engine time (decoding excluded).
    pub throughput_eps: f64,
    /// Engine wall time.
    pub elapsed_ms: f64,
    /// Rows emitted.
    pub rows_out: u64,
    /// Events dropped as late.
    pub late_dropped: u64,
    /// Final answer against the oracle.
    pub accuracy: Accuracy,
}

/// Runs the demo, printing the table to `out`.
pub fn run_demo(args: &DemoArgs, out: &mut dyn Write) -> Result<Vec<DemoRow>> {
    let plan = Plan::from_toml(W1_QUERY)?;
    let mut cfg = GenConfig::new(Workload::Clicks, args.events, args.seed);
    cfg.rate = 20_000.0;
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 3_000;
    cfg.late = 0.001;
    cfg.late_by_ms = 60_000;
    let (bytes, stats) = generate_to_vec(&cfg)?;
    writeln!(
        out,
        "streamlab demo: W1 (10 s tumbling count+sum per key, watermark 5 s) over {} generated clicks\n\
         (seed {}, {} keys, {} events/s of event time, {} disordered within 3 s, {} late by 60 s)\n",
        stats.lines, cfg.seed, cfg.keys, cfg.rate, stats.disordered, stats.late
    )?;
    let mut reference = None;
    let mut table = Vec::new();
    for kind in EngineKind::all() {
        let input = decode_all(
            bytes.as_slice(),
            "<generated>",
            &plan,
            true,
            &mut std::io::sink(),
        )?;
        let buffer = SharedBuffer::default();
        let summary = run_decoded(
            kind.build().as_ref(),
            &plan,
            &RunOptions::default(),
            input,
            Box::new(buffer.clone()),
            "<memory>",
        )?;
        let text = String::from_utf8(buffer.contents()).context("output is not UTF-8")?;
        let rows = parse_rows(&text, &plan, &kind.name())?;
        if kind == EngineKind::Oracle {
            reference = Some(rows.clone());
        }
        let exact = reference.as_ref().context("the oracle runs first")?;
        table.push(DemoRow {
            engine: kind.name(),
            throughput_eps: summary.throughput_eps,
            elapsed_ms: summary.elapsed_ms,
            rows_out: summary.rows_out,
            late_dropped: summary.late_dropped,
            accuracy: compare(&rows, exact, &plan),
        });
    }
    writeln!(
        out,
        "{:<12} {:>12} {:>10} {:>9} {:>6}  {:>27}  {:>10}",
        "engine", "events/s", "time ms", "rows", "late", "exact/missing/wrong/extra", "rel.err n"
    )?;
    for r in &table {
        let a = &r.accuracy;
        writeln!(
            out,
            "{:<12} {:>11.2}M {:>10.1} {:>9} {:>6}  {:>27}  {:>10.2e}",
            r.engine,
            r.throughput_eps / 1e6,
            r.elapsed_ms,
            r.rows_out,
            r.late_dropped,
            format!("{}/{}/{}/{}", a.exact, a.missing, a.wrong, a.extra),
            a.relative_error.get("n").copied().unwrap_or(0.0)
        )?;
    }
    writeln!(
        out,
        "\nThe oracle is the exact answer (whole input at once, nothing dropped). Engines drop\n\
         events that arrive after their window closed; the accuracy columns show what that costs."
    )?;
    if let Some(path) = &args.json {
        write_json(path, &table)?;
    }
    Ok(table)
}
