//! `streamlab run` and `streamlab oracle`: one engine over an input, decoded before the run
//! (a file, stdin, the query's named inputs) or as it arrives (a live input), into the
//! output; a checkpointed run resumes a file where its checkpoint left it. The engine
//! checks the run's options before the input or the output is opened.

use crate::args::IoArgs;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::BufReader;
use streamlab_core::engine::{CheckedRun, RunOptions, RunSummary};
use streamlab_core::{Engine, Plan};
use streamlab_engines::runner::run_checked;
use streamlab_io::address::LiveInput;
use streamlab_io::decode::{decode_all, decode_from, decode_inputs, DecodedInput};
use streamlab_io::file_position::seek_resumed;
use streamlab_io::sink::{open_sink, DiscardSink, TransactionalFileSink};
use streamlab_io::tables::load_plan;
use streamlab_measure::results::write_json;

/// Everything a run reports: the engine's summary plus where the numbers came from.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The engine's summary.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Reading and decoding time, excluded from `elapsed_ms`.
    pub decode_ms: f64,
    /// Input file.
    pub input: String,
    /// Query file.
    pub query: String,
}

/// Runs `streamlab run` (and `oracle`): the query over the input into the output.
pub fn run_command(engine: &dyn Engine, io: &IoArgs, options: &RunOptions) -> Result<RunReport> {
    let plan = load_plan(&io.query)?;
    let run = engine.check(&plan, options)?;
    if let Some((process, processes)) = engine.cluster_process().filter(|(p, _)| *p != 0) {
        // In a timely cluster process 0 reads the input and writes the output; the others
        // only run workers. They must not touch the output (it may be the same file).
        eprintln!(
            "streamlab {}: process {process} of {processes}: input and output are process 0's",
            engine.name(),
        );
        let input = DecodedInput {
            events: Vec::new(),
            malformed: 0,
            keys: Default::default(),
            decode_time: Default::default(),
            partitions: 1,
            unmatched: 0,
            restore_time: Default::default(),
        };
        let summary = run_checked(run, input, None, Box::new(DiscardSink))?;
        return finish_run(summary, 0.0, io);
    }
    match (plan.inputs.is_empty(), io.input.is_empty()) {
        (false, false) => bail!(
            "{} names its inputs ([[input]]): leave out --input",
            io.query.display()
        ),
        (true, true) => {
            bail!("--input is required (or name the inputs in the query file with [[input]])")
        }
        _ => {}
    }
    if let Some(live) = LiveInput::parse(&io.input)? {
        return run_live(run, io, live);
    }
    let input = if !plan.inputs.is_empty() {
        decode_inputs(
            &plan,
            io.query.parent().unwrap_or(std::path::Path::new(".")),
            io.strict,
            &mut std::io::stderr(),
        )?
    } else if io.input == "-" {
        decode_all(
            std::io::stdin().lock(),
            "<stdin>",
            &plan,
            io.strict,
            &mut std::io::stderr(),
        )?
    } else {
        return run_file(run, io);
    };
    let decode_ms = input.decode_time.as_secs_f64() * 1e3;
    let sink = checkpointed_sink(&plan, input.keys.clone(), io, options)?;
    let summary = run_checked(run, input, None, sink)?;
    finish_run(summary, decode_ms, io)
}

/// Runs over an input file. With `--checkpoint` the source records its line and byte
/// offset in every checkpoint, and a restart decodes only from the checkpoint's line on.
fn run_file(run: CheckedRun<'_>, io: &IoArgs) -> Result<RunReport> {
    let (plan, options) = (run.plan(), run.options());
    let mut file = std::fs::File::open(&io.input)
        .with_context(|| format!("cannot open input file {}", io.input))?;
    let reading = std::time::Instant::now();
    let resume = seek_resumed(&mut file, &io.input, options.checkpoint.as_ref())?;
    let position_read = reading.elapsed();
    let resumed_at = resume.as_ref().map(|at| (at.line, at.byte));
    let (input, lines) = decode_from(
        BufReader::with_capacity(1 << 20, file),
        &io.input,
        plan,
        io.strict,
        &mut std::io::stderr(),
        resume,
        options.checkpoint.is_some(),
    )?;
    let decode_ms = input.decode_time.as_secs_f64() * 1e3;
    if let Some((line, byte)) = resumed_at {
        // The harness decodes a file before the engine runs (decoding is never part of
        // a measurement); a restart shows what of its time was the checkpoint's and what
        // was decoding the rest of the input. `experiment recovery` reads this line.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "streamlab {}: resuming {} at line {} (byte {byte}): position read in {:.0} ms, dictionary restored in {:.0} ms, the remaining {} lines decoded in {:.0} ms",
            run.engine().name(),
            io.input,
            line + 1,
            ms(position_read),
            ms(input.restore_time),
            input.events.len(),
            ms(input.decode_time - input.restore_time)
        );
    }
    let sink = checkpointed_sink(plan, input.keys.clone(), io, options)?;
    let summary = run_checked(run, input, lines, sink)?;
    finish_run(summary, decode_ms, io)
}

/// The output: with `--checkpoint` a transactional file (rows appear once, in committed
/// parts), else whatever `--output` names.
fn checkpointed_sink(
    plan: &Plan,
    keys: std::sync::Arc<streamlab_core::KeyTable>,
    io: &IoArgs,
    options: &RunOptions,
) -> Result<Box<dyn streamlab_core::Sink>> {
    if options.checkpoint.is_none() {
        return open_sink(plan, keys, &io.output);
    }
    if io.output == "-" || io.output.contains("://") {
        bail!("--checkpoint needs --output to be a file: it is written exactly once, in committed parts");
    }
    Ok(Box::new(TransactionalFileSink::new(
        plan,
        keys,
        std::path::Path::new(&io.output),
    )?))
}

/// Runs over a live input: lines are decoded as they arrive, while the engine runs.
fn run_live(run: CheckedRun<'_>, io: &IoArgs, live: LiveInput) -> Result<RunReport> {
    let (plan, options, name) = (run.plan(), run.options(), run.engine().name());
    if options.checkpoint.is_some() && matches!(live, LiveInput::Tcp { .. }) {
        bail!("--checkpoint cannot resume a tcp:// input (a socket cannot be read again): use a file, dir:// or kafka:// input");
    }
    let keys = std::sync::Arc::new(streamlab_core::KeyTable::default());
    let source = live.start(plan, keys.clone(), io.strict)?;
    let stats = source.stats();
    let sink = checkpointed_sink(plan, keys, io, options)?;
    let mut summary = run
        .run(Box::new(source), sink)
        .with_context(|| format!("engine `{name}` failed on {}", io.input))?;
    summary.malformed = stats.malformed.load(std::sync::atomic::Ordering::Relaxed);
    summary.filtered += stats.unmatched.load(std::sync::atomic::Ordering::Relaxed);
    finish_run(summary, 0.0, io)
}

fn finish_run(summary: RunSummary, decode_ms: f64, io: &IoArgs) -> Result<RunReport> {
    eprintln!(
        "streamlab {}: {} events in, {} malformed, {} filtered, {} late dropped, {} rows out, {:.1} ms ({:.2}M events/s; decoding {:.1} ms not included)",
        summary.engine,
        summary.events_in,
        summary.malformed,
        summary.filtered,
        summary.late_dropped,
        summary.rows_out,
        summary.elapsed_ms,
        summary.throughput_eps / 1e6,
        decode_ms
    );
    for note in &summary.notes {
        eprintln!("streamlab {}: note: {note}", summary.engine);
    }
    let report = RunReport {
        summary,
        decode_ms,
        input: io.input.clone(),
        query: io.query.display().to_string(),
    };
    if let Some(path) = &io.summary {
        write_json(path, &report)?;
    }
    Ok(report)
}
