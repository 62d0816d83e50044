//! Building the dataflow on every worker and running it: timely's `execute` over threads
//! (`--workers`) or processes (`--processes/--process/--hostfile`, timely's cluster mode).
//!
//! The workers of process 0 read the one source in turns (worker 0 alone for a query
//! without windows, whose operators apply records as they arrive); every other worker
//! drops its inputs at once (else the frontier would never move) and only steps the
//! dataflow.

use crate::checkpoint::{Coordinator, Restored};
use crate::config::Cluster;
use crate::operators::join::RegularJoin;
use crate::operators::project::Project;
use crate::operators::reader::{read, Inputs, ReaderReport};
use crate::operators::sink::{EmitRows, SharedSink, SinkState};
use crate::operators::source::{CheckpointSchedule, Restart, SharedSource};
use crate::operators::stages::LaterStages;
use crate::operators::window::WindowAggregate;
use crate::stamp::Stamp;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamlab_core::engine::{CheckpointOptions, EngineError, RunSummary, Sink, Source};
use streamlab_core::Plan;
use timely::dataflow::operators::{Input, Probe};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

/// The settings of one run, after defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Worker threads per process.
    pub workers: usize,
    /// Records between watermark advances.
    pub watermark_interval: u64,
    /// Processing time between complete-mode tables.
    pub complete_interval: Duration,
    /// Timely cluster membership, if any.
    pub cluster: Option<Cluster>,
    /// Checkpoints, if asked for.
    pub checkpoint: Option<CheckpointOptions>,
}

/// The first port of the default cluster addresses (`localhost:2101`, `2102`, ...).
pub const DEFAULT_CLUSTER_PORT: u16 = 2101;

impl Settings {
    fn timely(&self) -> Result<timely::Config, EngineError> {
        let communication = match &self.cluster {
            None if self.workers == 1 => timely::CommunicationConfig::Thread,
            None => timely::CommunicationConfig::Process(self.workers),
            Some(c) => timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: c.process,
                addresses: cluster_addresses(c)?,
                report: false,
                zerocopy: false,
            },
        };
        Ok(timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        })
    }
}

/// `host:port` of every process: the host file's lines, or localhost ports from 2101
/// (shared with the micro-batch engine's cluster mode).
pub fn cluster_addresses(c: &Cluster) -> Result<Vec<String>, EngineError> {
    let Some(path) = &c.hostfile else {
        return Ok((0..c.processes)
            .map(|i| format!("localhost:{}", usize::from(DEFAULT_CLUSTER_PORT) + i))
            .collect());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        EngineError::Internal(format!("cannot read host file {}: {e}", path.display()))
    })?;
    let hosts: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect();
    if hosts.len() != c.processes {
        return Err(EngineError::Internal(format!(
            "host file {} lists {} processes, --processes says {}",
            path.display(),
            hosts.len(),
            c.processes
        )));
    }
    if let Some(bad) = hosts.iter().find(|h| h.rsplit_once(':').is_none()) {
        return Err(EngineError::Internal(format!(
            "host file {}: `{bad}` is not host:port",
            path.display()
        )));
    }
    Ok(hosts)
}

/// How long a process waits for the other processes of its cluster, unless the
/// environment variable `STREAMLAB_CLUSTER_TIMEOUT` gives another number of seconds.
pub const CLUSTER_FORM_TIMEOUT: Duration = Duration::from_secs(60);

/// Timely waits for every process of a cluster without a time limit, and nothing can
/// cancel that wait; so that a missing peer (or a wrong host file) never hangs a run, a
/// process whose cluster has not formed within [`CLUSTER_FORM_TIMEOUT`] says so and exits
/// (`engine` names the engine in the message; the micro-batch engine's cluster mode
/// watches its cluster the same way).
pub fn watch_cluster_forming(
    engine: &'static str,
    c: &Cluster,
    formed: Arc<std::sync::atomic::AtomicBool>,
) {
    let (process, processes) = (c.process, c.processes);
    let limit = std::env::var("STREAMLAB_CLUSTER_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(CLUSTER_FORM_TIMEOUT, Duration::from_secs);
    std::thread::spawn(move || {
        std::thread::sleep(limit);
        if !formed.load(std::sync::atomic::Ordering::Relaxed) {
            eprintln!(
                "streamlab {engine}: error: process {process} of {processes}: the timely cluster did not form within {} s (are all {processes} processes started, with the same host file?)",
                limit.as_secs()
            );
            std::process::exit(2);
        }
    });
}

/// What the harness hands over, shared by the workers of this process.
struct Shared {
    /// The input, read in turns by workers `0..readers` (process 0's).
    source: SharedSource,
    readers: usize,
    sink: SharedSink,
    restored: Option<Arc<Restored>>,
}

/// How many workers read the source: every worker of process 0 for a windowed query
/// (its window operators put their records back in the input's order); worker 0 alone for
/// a query without windows, whose projection and join apply records as they arrive.
pub fn readers(settings: &Settings, plan: &Plan) -> usize {
    if plan.projection.is_some() {
        1
    } else {
        settings.workers.max(1)
    }
}

/// The shared source of a run: the driver's clock and schedules, resumed from `restored`.
fn shared_source(
    settings: &Settings,
    plan: &Plan,
    source: Box<dyn Source>,
    restored: Option<&Restored>,
    started: std::time::Instant,
) -> SharedSource {
    let complete_every =
        (plan.mode == streamlab_core::OutputMode::Complete).then_some(settings.complete_interval);
    let mut shared = SharedSource::new(
        plan,
        source,
        readers(settings, plan),
        settings.watermark_interval,
        complete_every,
    );
    if let Some(c) = &settings.checkpoint {
        shared = shared.with_checkpoints(CheckpointSchedule::new(
            c.every_events,
            c.interval
                .map(|d| Duration::from_millis(d.ms().max(1) as u64)),
        ));
    }
    if let Some(r) = restored {
        shared = shared.resume(
            &r.source,
            Restart {
                epoch: r.epoch,
                next_seq: r.source.next_seq,
                position: r.source.position.clone(),
                started,
            },
        );
    }
    shared
}

/// With `--checkpoint`: the coordinator, and the checkpoint to resume from (the sink is
/// told to keep what that checkpoint committed and drop the rest).
fn open_checkpoints(
    settings: &Settings,
    plan: &Plan,
    peers: usize,
    sink: &mut dyn Sink,
) -> Result<(Option<Coordinator>, Option<Restored>), EngineError> {
    let Some(options) = &settings.checkpoint else {
        return Ok((None, None));
    };
    // In a timely cluster every process restores its workers' share of the same
    // checkpoint, so DIR must be storage all processes see (as Flink's checkpoint storage
    // must be); process 0, which has the source and the output, writes the checkpoints.
    if settings.cluster.as_ref().is_some_and(|c| c.process != 0) {
        let (_, restored) = Coordinator::open(options, plan, peers)?;
        return Ok((None, restored));
    }
    if !sink.transactional() {
        return Err(EngineError::Internal(
            "--checkpoint needs a transactional sink (an output file)".into(),
        ));
    }
    let (coordinator, restored) = Coordinator::open(options, plan, peers)?;
    sink.recover(restored.as_ref().map(|r| r.epoch))?;
    Ok((Some(coordinator), restored))
}

/// Runs `plan` over `source` into `sink` on `settings.workers` timely workers.
pub fn run(
    settings: &Settings,
    plan: &Plan,
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
) -> Result<RunSummary, EngineError> {
    let started = std::time::Instant::now();
    let timely_config = settings.timely()?;
    let mut summary = RunSummary {
        engine: "record".into(),
        workers: settings.workers * settings.cluster.as_ref().map_or(1, |c| c.processes),
        ..Default::default()
    };
    let mut sink = sink;
    let (checkpoints, restored) = open_checkpoints(settings, plan, summary.workers, sink.as_mut())?;
    if let Some(r) = &restored {
        summary.notes.push(format!(
            "resumed from checkpoint {} ({})",
            r.epoch,
            streamlab_core::engine::resume_point(r.source.next_seq)
        ));
        if r.done {
            sink.finish()?;
            summary.events_in = r.source.events_in;
            summary.filtered = r.source.filtered;
            return Ok(summary.timed(started.elapsed()));
        }
    }
    let restored = restored.map(Arc::new);
    let shared = Arc::new(Shared {
        source: shared_source(settings, plan, source, restored.as_deref(), started),
        readers: readers(settings, plan),
        sink: Arc::new(Mutex::new(SinkState {
            sink: Some(sink),
            checkpoints,
            ..Default::default()
        })),
        restored,
    });
    let plan = Arc::new(plan.clone());
    let worker_shared = Arc::clone(&shared);
    let worker_settings = settings.clone();
    let formed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(c) = &settings.cluster {
        watch_cluster_forming("record", c, Arc::clone(&formed));
    }
    let guards = crate::cluster_net::execute(timely_config, move |worker| {
        formed.store(true, std::sync::atomic::Ordering::Relaxed);
        worker_main(worker, &worker_settings, &plan, &worker_shared)
    })
    .map_err(|e| EngineError::Internal(format!("starting timely: {e}")))?;

    let mut first_error = None;
    for report in guards.join() {
        match report {
            Ok(r) => {
                if let Some(s) = r.source {
                    summary.events_in = s.events_in;
                    summary.filtered = s.filtered;
                }
                if let Some(e) = r.error {
                    first_error.get_or_insert(e);
                }
            }
            Err(panic) => {
                first_error
                    .get_or_insert(EngineError::Internal(format!("a worker failed: {panic}")));
            }
        }
    }
    let mut state = shared.sink.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = state.error.take().or(first_error) {
        return Err(e);
    }
    state.finish_checkpoints()?;
    if let Some(mut sink) = state.sink.take() {
        sink.finish()?;
    }
    summary.rows_out = state.rows_out;
    summary.late_dropped = state.stats.late_dropped;
    summary.emissions = state.stats.emissions;
    if let Some(c) = &state.checkpoints {
        c.describe(&mut summary);
    }
    if let Some(c) = &settings.cluster {
        summary.notes.push(format!(
            "process {} of {} in a timely cluster; the source, the output and the counts are process 0's",
            c.process, c.processes
        ));
    }
    Ok(summary.timed(started.elapsed()))
}

fn worker_main(
    worker: &mut Worker,
    settings: &Settings,
    plan: &Plan,
    shared: &Shared,
) -> ReaderReport {
    let mut inputs = Inputs::new();
    let probe: ProbeHandle<Stamp> = ProbeHandle::new();
    let sink = Arc::clone(&shared.sink);
    let local_workers = settings.workers;
    worker.dataflow::<Stamp, _, _>(|scope| {
        let control = scope.input_from(&mut inputs.control);
        let first = if let Some(columns) = plan.projection.as_ref().and_then(|p| p.join()) {
            // No window: pair the inputs' records by key as they come.
            scope.input_from(&mut inputs.events).regular_join(columns)
        } else if let Some(p) = &plan.projection {
            // No window, no state: map every record to its row (control is not needed).
            scope.input_from(&mut inputs.events).project(p)
        } else {
            scope.input_from(&mut inputs.events).window_aggregate(
                control,
                plan,
                settings.checkpoint.is_some(),
                shared.restored.clone(),
                shared.readers,
            )
        };
        // A multi-stage query's later stages, in the same dataflow.
        let last = match &plan.stages {
            Some(stages) => first.later_stages(stages),
            None => first,
        };
        last.probe_with(&probe).emit_rows(sink, local_workers);
    });

    // Process 0's workers have the indices 0..workers.
    let report = if worker.index() < shared.readers {
        read(worker, &shared.source, &mut inputs, &probe, &shared.sink)
    } else {
        ReaderReport::default()
    };
    drop(inputs);
    while worker.step_or_park(None) {}
    report
}
