//! Running one engine over decoded input: the glue the CLI, the demo and the test suites
//! share, so every path through streamlab runs engines the same way.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;
use streamlab_core::engine::{CheckedRun, RunOptions, RunSummary, Source, VecSource};
use streamlab_core::{Engine, Plan, ResultRow};
use streamlab_io::decode::{decode_all, DecodedInput};
use streamlab_io::sink::{JsonLinesSink, SharedBuffer};

/// Runs `engine` over pre-decoded input, writing JSON Lines rows to `out`.
/// The summary's `malformed` comes from decoding.
pub fn run_decoded(
    engine: &dyn Engine,
    plan: &Plan,
    options: &RunOptions,
    input: DecodedInput,
    out: Box<dyn Write + Send>,
    out_name: &str,
) -> Result<RunSummary> {
    let sink = JsonLinesSink::new(plan, input.keys.clone(), out, out_name);
    run_with_sink(engine, plan, options, input, Box::new(sink))
}

/// Runs `engine` over pre-decoded input into any sink.
pub fn run_with_sink(
    engine: &dyn Engine,
    plan: &Plan,
    options: &RunOptions,
    input: DecodedInput,
    sink: Box<dyn streamlab_core::Sink>,
) -> Result<RunSummary> {
    run_checked(engine.check(plan, options)?, input, sink)
}

/// Runs a checked run (its engine has accepted its options) over pre-decoded input.
pub fn run_checked(
    run: CheckedRun<'_>,
    input: DecodedInput,
    sink: Box<dyn streamlab_core::Sink>,
) -> Result<RunSummary> {
    let name = run.engine().name();
    let (malformed, unmatched) = (input.malformed, input.unmatched);
    let source: Box<dyn Source> =
        Box::new(VecSource::with_partitions(input.events, input.partitions));
    // The live view's taps (`--serve`); without it the source and sink are these.
    let observed = streamlab_measure::tap::observe(name, run.plan().delay_ms, source, sink);
    let mut summary = run
        .run(observed.source, observed.sink)
        .with_context(|| format!("engine `{name}` failed"))?;
    if let Some(tap) = observed.tap {
        tap.finish(streamlab_measure::tap::FinalNumbers::of(&summary));
    }
    summary.malformed = malformed;
    summary.filtered += unmatched;
    Ok(summary)
}

/// Runs `engine` over JSON Lines `text` and reads its output rows back: the same path as
/// `streamlab run`, in memory. Malformed lines are skipped silently (counted).
pub fn run_text(
    engine: &dyn Engine,
    plan: &Plan,
    options: &RunOptions,
    text: &str,
) -> Result<(RunSummary, Vec<ResultRow>)> {
    let input = decode_all(
        text.as_bytes(),
        "<input>",
        plan,
        false,
        &mut std::io::sink(),
    )?;
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        engine,
        plan,
        options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )?;
    let output = String::from_utf8(buffer.contents()).context("engine output is not UTF-8")?;
    Ok((summary, parse_rows(&output, plan, "<output>")?))
}

/// Turns emitted rows into comparable rows, resolving keys (no JSON round trip).
pub fn to_result_rows(
    rows: &[streamlab_core::OutRow],
    keys: &streamlab_core::KeyTable,
) -> Vec<ResultRow> {
    keys.read(|table| {
        rows.iter()
            .map(|r| ResultRow {
                window: r.window,
                group: table[r.key as usize].to_vec(),
                values: r.values.to_vec(),
                emit: r.emit,
            })
            .collect()
    })
}

/// Rows as [`to_result_rows`] reads them, except a multi-stage query's, which are
/// printed and read back as its output is (its last stage's columns and `op`; its rows'
/// key is the first stage's, and may be no key at all).
pub fn to_plan_rows(
    rows: &[streamlab_core::OutRow],
    keys: &streamlab_core::KeyTable,
    plan: &Plan,
) -> Result<Vec<ResultRow>> {
    if plan.stages.is_none() {
        return Ok(to_result_rows(rows, keys));
    }
    let mut text = Vec::new();
    streamlab_core::row_format::RowFormat::new(plan).write_all(rows, keys, &mut text);
    parse_rows(&String::from_utf8_lossy(&text), plan, "<rows>")
}

/// Reads result rows (JSON Lines) for `plan`; errors name the source and line.
pub fn parse_rows(text: &str, plan: &Plan, source: &str) -> Result<Vec<ResultRow>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            ResultRow::parse(l, plan)
                .map_err(|e| anyhow::anyhow!("{source}:{}: not a result row: {e}", i + 1))
        })
        .collect()
}

/// Reads a result file.
pub fn read_rows(path: &Path, plan: &Plan) -> Result<Vec<ResultRow>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read result file {}", path.display()))?;
    parse_rows(&text, plan, &path.display().to_string())
}
