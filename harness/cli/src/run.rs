//! `streamlab run` and `streamlab oracle`: one engine over an input, decoded while the
//! engine runs (a file, stdin: the parallel pipeline; a live input: as it arrives) or
//! before it (the query's named inputs, merged into one stream), into the output; a checkpointed run resumes a file where its checkpoint left it. The engine
//! checks the run's options before the input or the output is opened.

use crate::args::IoArgs;
use crate::distinct_paths::{refuse_output_among, refuse_written_inside, Named};
use crate::stop::{signal_name, StopRequest, StoppableSink, StoppableSource, Stopped};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use streamlab_core::engine::{CheckedRun, RunOptions, RunSummary, Source, VecSource};
use streamlab_core::query::InputFormat;
use streamlab_core::{Engine, Plan};
use streamlab_engines::runner::run_checked;
use streamlab_io::address::LiveInput;
use streamlab_io::decode::decode_inputs;
use streamlab_io::decode::DecodedInput;
use streamlab_io::file_position::{seek_resumed, FilePosition};
use streamlab_io::file_prefix::FilePrefix;
use streamlab_io::json_lines::Decoder;
use streamlab_io::pipeline::source::StreamSource;
use streamlab_io::pipeline::LineStream;
use streamlab_io::sink::{open_sink, DiscardSink, TransactionalFileSink};
use streamlab_measure::results::write_json;

/// Everything a run reports: the engine's summary plus where the numbers came from.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The engine's summary.
    #[serde(flatten)]
    pub summary: RunSummary,
    /// Reading and decoding time before the run, excluded from `elapsed_ms` (the query's
    /// named inputs, merged beforehand); 0 for a file or stdin, decoded while the engine
    /// runs (its time is in `elapsed_ms`).
    pub decode_ms: f64,
    /// The process's peak resident size at the end of the run (bytes): with a file
    /// decoded while the engine runs, the engine's state and the window of chunks in
    /// flight, not the input.
    pub peak_rss_bytes: u64,
    /// Input file.
    pub input: String,
    /// Query file.
    pub query: String,
    /// The signal that stopped the run before its input ended (`SIGINT`, `SIGTERM`);
    /// null for a run that read its input to the end. A stopped run's rows are those
    /// final at the stop; with a checkpoint its output file is not written (resume it).
    pub stopped: Option<String>,
    /// The stopping signal's number.
    #[serde(skip)]
    pub stop_signal: Option<i32>,
}

impl RunReport {
    /// The process's exit status: 0, or for a stopped run 128 + the signal's number (130
    /// for SIGINT, 143 for SIGTERM), as a shell reports a job a signal ended.
    pub fn exit_status(&self) -> i32 {
        self.stop_signal.map_or(0, crate::stop::exit_status)
    }
}

/// Runs `streamlab run` (and `oracle`): the query over the input into the output.
pub fn run_command(engine: &dyn Engine, io: &IoArgs, options: &RunOptions) -> Result<RunReport> {
    let mut others = vec![
        Named {
            option: "--input".into(),
            path: std::path::Path::new(&io.input),
        },
        Named {
            option: "--query".into(),
            path: io.query.path(),
        },
    ];
    if let Some(summary) = &io.summary {
        others.push(Named {
            option: "--summary".into(),
            path: summary,
        });
    }
    if let Some(c) = &options.checkpoint {
        others.push(Named {
            option: "--checkpoint".into(),
            path: &c.dir,
        });
    }
    refuse_output_among(&io.output, &others)?;
    if let Ok(Some(LiveInput::Dir { path, .. })) = LiveInput::parse(&io.input) {
        let summary = io.summary.as_deref().and_then(std::path::Path::to_str);
        let mut written = vec![("--output", io.output.as_str())];
        written.extend(summary.map(|s| ("--summary", s)));
        refuse_written_inside(&path, &written)?;
    }
    if let Some(summary) = &io.summary {
        // Written after the run: a directory that is not there would fail it only then,
        // after all its work.
        let dir = match summary.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        if !dir.is_dir() {
            anyhow::bail!(
                "cannot write --summary {}: directory {} does not exist",
                summary.display(),
                dir.display()
            );
        }
    }
    let mut plan = io.query.load()?;
    let base = io.query.base();
    let io = &with_default_input(io, &plan);
    if plan.default_input.is_some() {
        let named = Named {
            option: "the table's 'path'".into(),
            path: std::path::Path::new(&io.input),
        };
        refuse_output_among(&io.output, &[named])?;
    }
    let named: Vec<(String, std::path::PathBuf)> = plan
        .inputs
        .iter()
        .map(|i| (format!("[[input]] {}", i.name), base.join(&i.path)))
        .collect();
    let named: Vec<Named<'_>> = named
        .iter()
        .map(|(option, path)| Named {
            option: option.clone(),
            path,
        })
        .collect();
    refuse_output_among(&io.output, &named)?;
    if plan.query.format.is_none() && io.input.ends_with(".csv") {
        // A `.csv` file is CSV unless the query says otherwise (format = "json").
        plan.query.format = Some(InputFormat::Csv);
    }
    let run = engine.check(&plan, options)?;
    // One run at a time on a checkpoint directory, for the run's whole life; each process
    // of a cluster locks its own index (they share the directory).
    let _lock = match &options.checkpoint {
        Some(c) => {
            let process = engine.cluster_process().map_or(0, |(p, _)| p);
            Some(streamlab_checkpoint::lock_dir(&c.dir, process)?)
        }
        None => None,
    };
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
        let summary = run_checked(run, input, Box::new(DiscardSink))?;
        return finish_run(summary, None, io, None);
    }
    match (plan.inputs.is_empty(), io.input.is_empty()) {
        (false, false) => bail!(
            "{} names its inputs ([[input]]): leave out --input",
            io.query.shown()
        ),
        (true, true) => {
            bail!("--input is required (or name the inputs in the query file with [[input]], or a SQL table's 'path')")
        }
        _ => {}
    }
    if let Some(live) = LiveInput::parse(&io.input)? {
        if plan.query.format == Some(InputFormat::Csv) && plan.query.columns.is_none() {
            bail!(
                "{} reads CSV from {}: a live input has no header line, declare its columns in the query (columns = [...])",
                io.query.shown(),
                io.input
            );
        }
        return run_live(run, io, live, stop_request()?);
    }
    if plan.inputs.is_empty() {
        return run_stream(run, io, stop_request()?);
    }
    let input = decode_inputs(&plan, io.query.base(), io.strict, &mut std::io::stderr())?;
    let decode_ms = input.decode_time.as_secs_f64() * 1e3;
    let sink = checkpointed_sink(&plan, input.keys.clone(), io, options)?;
    let (malformed, unmatched) = (input.malformed, input.unmatched);
    let source = VecSource::with_partitions(input.events, input.partitions);
    let (mut summary, stopped) = run_stoppable(run, Box::new(source), sink, stop_request()?, "")?;
    summary.malformed = malformed;
    summary.filtered += unmatched;
    finish_run(summary, Some(decode_ms), io, stopped)
}

/// SIGINT and SIGTERM stop the run from now on (before, they end the process).
fn stop_request() -> Result<StopRequest> {
    StopRequest::on_signals().context("cannot install the SIGINT/SIGTERM handlers")
}

/// Runs the checked run over `source` into `sink`, stopped by `stop`: returns the
/// engine's summary and the signal that stopped it before its input ended, if one did.
/// `on`: what the input is, for the error's message (empty: not said).
fn run_stoppable(
    run: CheckedRun<'_>,
    source: Box<dyn Source>,
    sink: Box<dyn streamlab_core::Sink>,
    stop: StopRequest,
    on: &str,
) -> Result<(RunSummary, Option<Stopped>)> {
    let name = run.engine().name();
    let checkpointed = run.options().checkpoint.is_some();
    // The live view's taps (`--serve`); without it the source and sink are these.
    let observed = streamlab_measure::tap::observe(name, run.plan().delay_ms, source, sink);
    let source = StoppableSource::new(observed.source, stop.clone());
    let delivered = source.delivered();
    let sink = StoppableSink::new(observed.sink, delivered.clone());
    let summary = run
        .run(Box::new(source), Box::new(sink))
        .with_context(|| match on {
            "" => format!("engine `{name}` failed"),
            on => format!("engine `{name}` failed on {on}"),
        })?;
    if let Some(tap) = observed.tap {
        tap.finish(streamlab_measure::tap::FinalNumbers::of(&summary));
    }
    let stopped = delivered
        .load(std::sync::atomic::Ordering::SeqCst)
        .then(|| stop.signal())
        .flatten()
        .map(|signal| Stopped {
            signal,
            checkpointed,
        });
    Ok((summary, stopped))
}

/// The run's arguments with the input the query names for itself (a SQL table's `'path'`,
/// relative to the script's folder, or its Kafka address) when `--input` is left out.
fn with_default_input(io: &IoArgs, plan: &Plan) -> IoArgs {
    let mut io = io.clone();
    if let (true, Some(input)) = (io.input.is_empty(), &plan.default_input) {
        io.input = if input.contains("://") {
            input.clone()
        } else {
            io.query.base().join(input).display().to_string()
        };
    }
    io
}

/// A restart mid-file of a CSV input whose header names its columns: the plan with the
/// header's columns declared (read again from the file's line 0), as the reader starts
/// past it.
fn resume_csv_columns(
    plan: &Plan,
    io: &IoArgs,
    resume: Option<&FilePosition>,
) -> Result<Option<Plan>> {
    let csv_header = plan.query.format == Some(InputFormat::Csv) && plan.query.columns.is_none();
    if !csv_header || resume.is_none_or(|at| at.byte == 0) {
        return Ok(None);
    }
    use std::io::BufRead;
    let file = std::fs::File::open(&io.input)
        .with_context(|| format!("cannot open input file {}", io.input))?;
    let mut header = String::new();
    std::io::BufReader::new(file)
        .read_line(&mut header)
        .with_context(|| format!("reading the CSV header of {}", io.input))?;
    let header = header.strip_suffix('\n').unwrap_or(&header);
    let columns = Decoder::csv_columns(header)
        .map_err(|e| anyhow::anyhow!("{}:1: bad CSV header: {e}", io.input))?;
    let mut plan = plan.clone();
    plan.query.columns = Some(columns);
    Ok(Some(plan))
}

/// Runs over a file or stdin, decoded by the pipeline while the engine runs. With
/// `--checkpoint` the source records its line and byte offset in every checkpoint, and a
/// restart reads the file only from the checkpoint's line on.
fn run_stream(run: CheckedRun<'_>, io: &IoArgs, stop: StopRequest) -> Result<RunReport> {
    let (plan, options) = (run.plan(), run.options());
    let reading = std::time::Instant::now();
    // stdin cannot seek: a restart reads it again from the start and the engine skips
    // what its checkpoint had (by `seq`).
    let track = options.checkpoint.is_some() && io.input != "-";
    let (reader, resume, prefix): (Box<dyn std::io::Read + Send>, _, _) = if io.input == "-" {
        (Box::new(std::io::stdin()), None, None)
    } else {
        let mut file = std::fs::File::open(&io.input)
            .with_context(|| format!("cannot open input file {}", io.input))?;
        let resumed = seek_resumed(&mut file, &io.input, options.checkpoint.as_ref())?;
        let (resume, prefix) = resumed.map_or((None, FilePrefix::default()), |(at, prefix)| {
            (Some(at), prefix)
        });
        // Checkpoints keep the checksum of the file before their line: read back through
        // a handle of its own.
        let reread = if track {
            Some((
                std::fs::File::open(&io.input)
                    .with_context(|| format!("cannot open input file {}", io.input))?,
                prefix,
            ))
        } else {
            None
        };
        (Box::new(file), resume, reread)
    };
    let name = if io.input == "-" {
        "<stdin>"
    } else {
        &io.input
    };
    let position_read = reading.elapsed();
    let header_columns = resume_csv_columns(plan, io, resume.as_ref())?;
    let stream = LineStream::start(
        reader,
        name,
        header_columns.as_ref().unwrap_or(plan),
        io.decode_options(),
        resume.as_ref(),
        track,
    )?;
    if let Some(at) = &resume {
        // A restart says what of its time was the checkpoint's: `experiment recovery`
        // reads this line. The rest of the file is decoded while the engine runs.
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        eprintln!(
            "streamlab {}: resuming {} at line {} (byte {}): position read and the file before it checked in {:.0} ms, dictionary restored in {:.0} ms; the rest is decoded while the engine runs",
            run.engine().name(),
            io.input,
            at.line + 1,
            at.byte,
            ms(position_read),
            ms(reading.elapsed() - position_read),
        );
    }
    let mut source = StreamSource::new(
        stream,
        Box::new(std::io::stderr()),
        io.strict,
        resume.as_ref(),
        track,
    );
    if let Some((file, prefix)) = prefix {
        source = source.checksum_prefix(file, prefix);
    }
    let (stats, keys) = (source.stats(), source.keys());
    let sink = checkpointed_sink(plan, keys, io, options)?;
    let (mut summary, stopped) = run_stoppable(run, Box::new(source), sink, stop, "")?;
    summary.malformed = stats.malformed.load(std::sync::atomic::Ordering::Relaxed);
    summary.filtered += stats.unmatched.load(std::sync::atomic::Ordering::Relaxed);
    finish_run(summary, None, io, stopped)
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
fn run_live(
    run: CheckedRun<'_>,
    io: &IoArgs,
    live: LiveInput,
    stop: StopRequest,
) -> Result<RunReport> {
    let (plan, options) = (run.plan(), run.options());
    if options.checkpoint.is_some() && matches!(live, LiveInput::Tcp { .. }) {
        bail!("--checkpoint cannot resume a tcp:// input (a socket cannot be read again): use a file, dir:// or kafka:// input");
    }
    #[cfg(feature = "kafka")]
    if let (Some(c), LiveInput::Kafka(addr)) = (&options.checkpoint, &live) {
        let on_corrupt = streamlab_checkpoint::OnCorrupt::previous_if(c.fall_back_on_corrupt);
        streamlab_io::kafka_position::check_resume(&c.dir, on_corrupt, &addr.topic)?;
    }
    let keys = std::sync::Arc::new(streamlab_core::KeyTable::default());
    let source = live.start(plan, keys.clone(), io.strict)?;
    let stats = source.stats();
    let sink = checkpointed_sink(plan, keys, io, options)?;
    let (mut summary, stopped) = run_stoppable(run, Box::new(source), sink, stop, &io.input)?;
    summary.malformed = stats.malformed.load(std::sync::atomic::Ordering::Relaxed);
    summary.filtered += stats.unmatched.load(std::sync::atomic::Ordering::Relaxed);
    finish_run(summary, None, io, stopped)
}

/// Prints the run's line and writes its summary. `decode_ms`: the time decoding took
/// before the run, for an input decoded beforehand (`None`: decoded while it ran).
/// `stopped`: the signal that stopped the run before its input ended.
fn finish_run(
    summary: RunSummary,
    decode_ms: Option<f64>,
    io: &IoArgs,
    stopped: Option<Stopped>,
) -> Result<RunReport> {
    let decoding = match decode_ms {
        Some(ms) => format!("decoding {ms:.1} ms not included"),
        None => "decoded while running".to_owned(),
    };
    eprintln!(
        "streamlab {}: {} events in, {} malformed, {} filtered, {} late dropped, {} rows out, {:.1} ms ({:.2}M events/s; {decoding})",
        summary.engine,
        summary.events_in,
        summary.malformed,
        summary.filtered,
        summary.late_dropped,
        summary.rows_out,
        summary.elapsed_ms,
        summary.throughput_eps / 1e6,
    );
    for note in &summary.notes {
        eprintln!("streamlab {}: note: {note}", summary.engine);
    }
    if let Some(stop) = &stopped {
        eprintln!(
            "streamlab {}: stopped by {} before the input ended: {}",
            summary.engine,
            signal_name(stop.signal),
            stopped_output(io, stop.checkpointed)
        );
    }
    let report = RunReport {
        summary,
        decode_ms: decode_ms.unwrap_or(0.0),
        // VmHWM: this process's own peak (getrusage's counts, across exec, the peak of the
        // process that started it).
        peak_rss_bytes: streamlab_measure::metrics::peak_rss_since_reset()
            .unwrap_or_else(|| streamlab_measure::metrics::Usage::now().peak_rss_bytes),
        input: io.input.clone(),
        query: io.query.shown(),
        stopped: stopped.as_ref().map(|s| signal_name(s.signal)),
        stop_signal: stopped.map(|s| s.signal),
    };
    if let Some(path) = &io.summary {
        write_json(path, &report)?;
    }
    Ok(report)
}

/// What a stopped run left, for its message.
fn stopped_output(io: &IoArgs, checkpointed: bool) -> String {
    if checkpointed {
        format!(
            "{out} was not written (its rows so far are committed in {out}.parts); the last checkpoint is the one to resume from: run the same command again to go on",
            out = io.output
        )
    } else {
        let out = if io.output == "-" {
            "the output"
        } else {
            &io.output
        };
        format!(
            "{out} holds the rows that were final at the stop, not the answer over the whole input"
        )
    }
}
