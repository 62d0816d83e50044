//! The micro-batch engine across processes (`--processes/--process/--hostfile`): timely's
//! cluster mode, one epoch per batch, Spark's driver and executors.
//!
//! Worker 0 of process 0 is the driver: it plans every batch exactly as in one process
//! ([`crate::driver`]: trigger, planner, bound, the watermarks between batches) and runs
//! it on the cluster's partitions instead of the thread pool. Batch k is epoch k of a small
//! dataflow that every worker of every process builds:
//!
//! ```text
//! driver ─events(k)──Exchange(owner)─► arrival (every worker) ─► Partition ─answers(k)─Exchange(0)─► driver
//!        ─command(k)─broadcast───────►  once both frontiers pass k  (the worker's thread)
//! ```
//!
//! - **Partitions**: worker `process * workers + thread` is partition `me` of
//!   `processes * workers`, owning events by the rule of one process ([`Owners`]): the
//!   key's hash for windows, sessions and joins, arrival `seq` for a projection. Each worker
//!   keeps its own [`Partition`] (its state store) and runs [`Partition::run`] on its
//!   events: the window, lateness and output logic is the one-process code.
//! - **Commands** are broadcast: a batch's [`BatchParams`] travel with it, so every
//!   partition runs every batch, one without any of its keys too (its windows close on
//!   time).
//! - **Arrival order**: the driver is the only sender and timely's channels are FIFO
//!   (within a process and over TCP), so a partition receives its events in the order they
//!   were sent; it still checks that they are in `seq` order (a linear pass) and sorts them
//!   if not, so that an exchange that reordered could never change an answer silently.
//! - **Answers** (rows, late and filtered counts, event-time maxima) go to the driver,
//!   which waits for every partition of the batch, emits their rows in partition order and
//!   advances the watermark, as with the pool: the rows are those of one process.
//! - The partition runs on the worker's thread between two steps of the dataflow, not
//!   inside a timely operator (operators own `'static` state; a partition borrows the
//!   plan): the arrival operator only holds a batch until its epoch is complete.
//! - Processes other than 0 read no input and write no output (`streamlab run` gives them
//!   an empty source and a discarding sink, as for the record engine). A cluster that does
//!   not form within `STREAMLAB_CLUSTER_TIMEOUT` (60 s) is an error, as for the record
//!   engine (the same watch).
//! - **Checkpoints** (`--checkpoint`) are taken after a batch, as in one process: the
//!   driver asks every partition for its state store in an epoch of its own
//!   (`Command::Snapshot`) and writes one checkpoint, in process 0's directory (the
//!   other processes never read it). A restart sends the checkpoint's states to every
//!   partition in a first epoch (`Command::Restore`), and each takes the keys it owns:
//!   any number of processes and workers can resume any checkpoint.
//! - The DStream front end ([`crate::dstream`]) runs in one process only.

use crate::batch_log::BatchLog;
use crate::driver::{self, Opened, Partitions, Resume, Settings};
use crate::exchange::Owners;
use crate::exec::{BatchParams, PartOutput, Partition, PartitionState};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use streamlab_core::engine::{EngineError, RunSummary, Sink, Source};
use streamlab_core::{Event, Plan};
use streamlab_record_engine::cluster_net;
use streamlab_record_engine::dataflow::{cluster_addresses, watch_cluster_forming};
use streamlab_record_engine::Cluster;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::vec::Broadcast;
use timely::dataflow::operators::{Input, Operator};
use timely::dataflow::InputHandle;
use timely::worker::Worker;

/// A batch's timely timestamp: the batches sent so far.
type Epoch = u64;

/// An input of the batch dataflow.
type Handle<D> = InputHandle<Epoch, CapacityContainerBuilder<Vec<D>>>;

/// What the driver asks every partition to do in one epoch (broadcast).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Command {
    /// Run a batch over the events of this epoch.
    Batch(BatchParams),
    /// Send back a copy of the state store (a checkpoint, between batches).
    Snapshot,
    /// Take the keys it owns from these snapshots (a restart, before the first batch).
    Restore(Vec<PartitionState>),
}

/// What a partition answers.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
enum Reply {
    Batch(PartOutput),
    Snapshot(PartitionState),
    Restored,
}

/// A partition's answer to one epoch, on its way to the driver.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Answer {
    partition: usize,
    reply: Reply,
}

/// An epoch complete on this worker: the command and this partition's events.
struct Arrived {
    command: Command,
    events: Vec<Event>,
}

/// The inputs the driver sends epochs into (every other worker closes its own at once).
struct BatchInputs {
    events: Handle<Event>,
    commands: Handle<Command>,
}

/// One worker's end of the batch dataflow.
struct Wiring {
    /// This worker's partition index among `peers`.
    me: usize,
    peers: usize,
    answers: Option<Handle<Answer>>,
    /// Batches complete on this worker, not yet run.
    arrived: Rc<RefCell<VecDeque<Arrived>>>,
    /// Both batch inputs have ended (the driver is done).
    ended: Rc<Cell<bool>>,
    /// On worker 0, the answers of the batch in flight.
    collected: Rc<RefCell<Vec<Answer>>>,
}

impl Wiring {
    /// Builds the batch dataflow on `worker` for `plan`.
    fn build(worker: &mut Worker, plan: &Plan) -> (BatchInputs, Wiring) {
        let mut inputs = BatchInputs {
            events: InputHandle::new(),
            commands: InputHandle::new(),
        };
        let mut answers: Handle<Answer> = InputHandle::new();
        let wiring = Wiring {
            me: worker.index(),
            peers: worker.peers(),
            answers: None,
            arrived: Default::default(),
            ended: Default::default(),
            collected: Default::default(),
        };
        let owners = Owners::of(plan, wiring.peers);
        let (arrived, ended) = (Rc::clone(&wiring.arrived), Rc::clone(&wiring.ended));
        let collected = Rc::clone(&wiring.collected);
        worker.dataflow::<Epoch, _, _>(|scope| {
            let events = scope.input_from(&mut inputs.events);
            let commands = scope.input_from(&mut inputs.commands).broadcast();
            events.binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
                commands,
                Exchange::new(move |e: &Event| owners.owner(e) as u64),
                Pipeline,
                "BatchArrival",
                move |_capability, _info| {
                    let mut pending: BTreeMap<Epoch, (Option<Command>, Vec<Event>)> =
                        BTreeMap::new();
                    move |(events, events_frontier), (commands, commands_frontier), _output| {
                        events.for_each(|time, data| {
                            pending
                                .entry(*time.least().expect("a message has a time"))
                                .or_default()
                                .1
                                .append(data);
                        });
                        commands.for_each(|time, data| {
                            pending
                                .entry(*time.least().expect("a message has a time"))
                                .or_default()
                                .0 = data.pop();
                        });
                        while let Some(entry) = pending.first_entry() {
                            let epoch = *entry.key();
                            if events_frontier.less_equal(&epoch)
                                || commands_frontier.less_equal(&epoch)
                            {
                                break;
                            }
                            let (command, events) = entry.remove();
                            let command =
                                command.expect("every epoch's command reaches every partition");
                            arrived.borrow_mut().push_back(Arrived { command, events });
                        }
                        if events_frontier.is_empty() && commands_frontier.is_empty() {
                            ended.set(true);
                        }
                    }
                },
            );
            scope.input_from(&mut answers).sink(
                Exchange::new(|_: &Answer| 0),
                "BatchAnswers",
                move |(input, _frontier)| {
                    input.for_each(|_, data| collected.borrow_mut().append(data));
                },
            );
        });
        (
            inputs,
            Wiring {
                answers: Some(answers),
                ..wiring
            },
        )
    }

    /// Runs every epoch that has arrived on `partition`, in order, and sends each answer
    /// towards the driver; after the last one, closes the answers.
    fn answer(&mut self, partition: &mut Partition<'_>) {
        loop {
            let next = self.arrived.borrow_mut().pop_front();
            let Some(mut arrived) = next else { break };
            let reply = match arrived.command {
                Command::Batch(params) => {
                    if !arrived.events.is_sorted_by_key(|e| e.seq) {
                        arrived.events.sort_by_key(|e| e.seq);
                    }
                    Reply::Batch(partition.run(&params, &arrived.events))
                }
                Command::Snapshot => Reply::Snapshot(partition.snapshot()),
                Command::Restore(parts) => {
                    partition.restore(&parts);
                    Reply::Restored
                }
            };
            if let Some(answers) = self.answers.as_mut() {
                answers.send(Answer {
                    partition: self.me,
                    reply,
                });
                let next = *answers.time() + 1;
                answers.advance_to(next);
            }
        }
        if self.ended.get() {
            self.answers = None;
        }
    }

    /// Steps the dataflow, running batches as they arrive, until every process is done.
    fn serve(&mut self, worker: &mut Worker, partition: &mut Partition<'_>) {
        loop {
            self.answer(partition);
            if !worker.step_or_park(None) {
                break;
            }
        }
    }
}

/// The partitions of a cluster as the driver (worker 0 of process 0) sees them: a batch is
/// sent as one epoch and the driver steps its worker, running its own partition's share,
/// until every partition has answered.
struct ClusterPartitions<'w, 'p> {
    worker: &'w mut Worker,
    wiring: &'w mut Wiring,
    partition: &'w mut Partition<'p>,
    inputs: BatchInputs,
    epoch: Epoch,
}

impl ClusterPartitions<'_, '_> {
    /// Sends `command` (and `events`) as the next epoch, runs `meanwhile` once the epoch
    /// is on its way, and steps until every partition has answered; the replies in
    /// partition order.
    fn epoch(
        &mut self,
        command: Command,
        events: &mut Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
        what: &str,
    ) -> Result<Vec<Reply>, EngineError> {
        self.inputs.commands.send(command);
        self.inputs.events.send_batch(events);
        self.epoch += 1;
        self.inputs.events.advance_to(self.epoch);
        self.inputs.commands.advance_to(self.epoch);
        // One step sends the epoch on its way; then the next batch is planned while the
        // other workers run this one.
        self.worker.step();
        let planned = meanwhile();
        let peers = self.wiring.peers;
        loop {
            self.wiring.answer(self.partition);
            if self.wiring.collected.borrow().len() >= peers {
                break;
            }
            if !self.worker.step_or_park(None) {
                return Err(EngineError::Internal(format!(
                    "{what}: the cluster stopped before every partition answered"
                )));
            }
        }
        planned?;
        let mut answers = std::mem::take(&mut *self.wiring.collected.borrow_mut());
        answers.sort_by_key(|a| a.partition);
        if answers.len() != peers || answers.iter().enumerate().any(|(i, a)| a.partition != i) {
            return Err(EngineError::Internal(format!(
                "{what}: answers from partitions {:?}, expected one from each of 0..{peers}",
                answers.iter().map(|a| a.partition).collect::<Vec<_>>()
            )));
        }
        Ok(answers.into_iter().map(|a| a.reply).collect())
    }
}

/// A reply that is not the one asked for.
fn unexpected(what: &str) -> EngineError {
    EngineError::Internal(format!("{what}: a partition answered something else"))
}

impl Partitions for ClusterPartitions<'_, '_> {
    fn run_batch(
        &mut self,
        params: BatchParams,
        mut events: Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError> {
        let what = format!("batch {}", params.id);
        let replies = self.epoch(Command::Batch(params), &mut events, meanwhile, &what)?;
        events.clear();
        let outputs = replies
            .into_iter()
            .map(|r| match r {
                Reply::Batch(out) => Ok(out),
                _ => Err(unexpected(&what)),
            })
            .collect::<Result<_, _>>()?;
        Ok((outputs, events))
    }

    fn snapshot(&mut self) -> Result<Vec<PartitionState>, EngineError> {
        let replies = self.epoch(
            Command::Snapshot,
            &mut Vec::new(),
            &mut || Ok(()),
            "a checkpoint",
        )?;
        replies
            .into_iter()
            .map(|r| match r {
                Reply::Snapshot(state) => Ok(state),
                _ => Err(unexpected("a checkpoint")),
            })
            .collect()
    }

    fn restore(&mut self, parts: Vec<PartitionState>) -> Result<(), EngineError> {
        let replies = self.epoch(
            Command::Restore(parts),
            &mut Vec::new(),
            &mut || Ok(()),
            "a restore",
        )?;
        match replies.iter().all(|r| matches!(r, Reply::Restored)) {
            true => Ok(()),
            false => Err(unexpected("a restore")),
        }
    }
}

/// What the driver hands back: the summary of the run and its batches (none when its
/// checkpoint said the run had finished).
type Driven = Result<(RunSummary, Option<driver::Tally>), EngineError>;

/// Runs `plan` as process `cluster.process` of a timely cluster with `settings.workers`
/// workers per process; process 0 reads `source` and writes `sink`, the others ignore
/// theirs.
pub fn run(
    settings: &Settings,
    cluster: &Cluster,
    plan: &Plan,
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
    log: Option<&BatchLog>,
) -> Result<RunSummary, EngineError> {
    let started = Instant::now();
    // Process 0 alone has the input, the output and the checkpoints: on a restart the
    // other processes' partitions get their state from its driver.
    let job = match cluster.process {
        0 => {
            let mut sink = sink;
            let opened = driver::open_checkpoints(settings, plan, source, sink.as_mut(), started)?;
            Some((opened, sink))
        }
        _ => None,
    };
    let config = timely::Config {
        communication: timely::CommunicationConfig::Cluster {
            threads: settings.workers.max(1),
            process: cluster.process,
            addresses: cluster_addresses(cluster)?,
            report: false,
            zerocopy: false,
        },
        worker: timely::WorkerConfig::default(),
    };
    let job = Arc::new(Mutex::new(job));
    let formed = Arc::new(AtomicBool::new(false));
    watch_cluster_forming("microbatch", cluster, Arc::clone(&formed));
    let (worker_plan, worker_settings) = (Arc::new(plan.clone()), settings.clone());
    let worker_log = log.cloned();
    let guards = cluster_net::execute(config, move |worker| -> Option<Driven> {
        formed.store(true, Ordering::Relaxed);
        let plan = &*worker_plan;
        let (inputs, mut wiring) = Wiring::build(worker, plan);
        let mut partition = Partition::new(plan, wiring.me, wiring.peers);
        let driving = (wiring.me == 0)
            .then(|| job.lock().unwrap_or_else(|e| e.into_inner()).take())
            .flatten();
        let (source, checkpoints, restored, mut sink) = match driving {
            Some((
                Opened::Run {
                    source,
                    checkpoints,
                    restored,
                },
                sink,
            )) => (source, checkpoints, restored, sink),
            finished => {
                drop(inputs);
                wiring.serve(worker, &mut partition);
                return finished.and_then(|(opened, _)| match opened {
                    Opened::Finished(summary) => Some(Ok((summary, None))),
                    Opened::Run { .. } => None,
                });
            }
        };
        let mut source = source;
        let pool = ClusterPartitions {
            worker,
            wiring: &mut wiring,
            partition: &mut partition,
            inputs,
            epoch: 0,
        };
        let driven = driver::drive(
            &worker_settings,
            plan,
            pool,
            source.as_mut(),
            sink.as_mut(),
            worker_log.as_ref(),
            Resume {
                checkpoints,
                restored,
                started,
            },
        );
        // `drive` consumed the inputs: their end ends every partition's loop.
        wiring.serve(worker, &mut partition);
        Some(driven.and_then(|(summary, tally)| sink.finish().map(|()| (summary, Some(tally)))))
    })
    .map_err(|e| EngineError::Internal(format!("starting timely: {e}")))?;

    let mut driven = None;
    for result in guards.join() {
        match result {
            Ok(Some(d)) => driven = Some(d),
            Ok(None) => {}
            Err(panic) => {
                return Err(EngineError::Internal(format!("a worker failed: {panic}")));
            }
        }
    }
    let partitions = settings.workers.max(1) * cluster.processes;
    let mut summary = match driven {
        Some(d) => match d? {
            (summary, Some(tally)) => {
                let whole = Settings {
                    workers: partitions,
                    ..settings.clone()
                };
                driver::summarize(summary, &tally, &whole, plan)
            }
            (finished, None) => finished,
        },
        None => RunSummary {
            engine: "microbatch".into(),
            ..Default::default()
        },
    };
    summary.workers = partitions;
    summary.notes.push(format!(
        "process {} of {} in a timely cluster ({} partitions: {} per process, one per \
         worker; one epoch per batch); the source, the output and the counts are process 0's",
        cluster.process,
        cluster.processes,
        partitions,
        settings.workers.max(1)
    ));
    Ok(summary.timed(started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, MicrobatchEngine};
    use streamlab_core::engine::{CollectSink, Engine, RunOptions, VecSource};
    use streamlab_io::json_lines::Decoder;

    fn plan(window: &str, mode: &str) -> Plan {
        Plan::from_toml(&format!(
            "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
             [watermark]\ndelay = 5\n[window]\n{window}\n\
             [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
             [[aggregate]]\nfn = \"sum\"\nfield = \"v\"\nas = \"total\"\n"
        ))
        .expect("a valid plan")
    }

    /// 600 events over 9 keys, time moving forward with disorder up to 8 (beyond the
    /// delay of 5, so some assignments are late) and every 50th event 40 behind.
    fn events(plan: &Plan) -> Vec<Event> {
        let mut decoder = Decoder::new(plan);
        let mut x: u64 = 7;
        (0..600u64)
            .map(|seq| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let late = if seq % 50 == 49 { 40 } else { 0 };
                let t = seq as i64 / 3 - ((x >> 33) % 9) as i64 - late;
                let line = format!("{{\"ts\":{t},\"key\":\"k{}\",\"v\":{seq}}}", (x >> 40) % 9);
                decoder.decode(&line, seq).expect("a valid line")
            })
            .collect()
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port()
    }

    fn engine(cluster: Option<Cluster>) -> MicrobatchEngine {
        MicrobatchEngine::new(Config {
            max_records_per_batch: Some(7),
            ..Default::default()
        })
        .with_cluster(cluster)
    }

    /// Runs `plan` over `events` as two processes of `workers` workers (two threads of
    /// this test, each its own timely cluster member), and as one process with as many
    /// partitions: the rows, in order, and the counts are the same.
    fn two_processes_answer_as_one(plan: &Plan, workers: usize) {
        let events = events(plan);
        let hosts = std::env::temp_dir().join(format!(
            "streamlab-mb-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::write(
            &hosts,
            format!("127.0.0.1:{}\n127.0.0.1:{}\n", free_port(), free_port()),
        )
        .expect("writes the host file");
        let options = RunOptions {
            workers: Some(workers),
            ..Default::default()
        };
        let sink = CollectSink::default();
        let summaries: Vec<RunSummary> = std::thread::scope(|scope| {
            let runs: Vec<_> = (0..2)
                .map(|process| {
                    let cluster = Cluster {
                        processes: 2,
                        process,
                        hostfile: Some(hosts.clone()),
                    };
                    let input = if process == 0 {
                        events.clone()
                    } else {
                        Vec::new()
                    };
                    let (sink, options) = (sink.clone(), &options);
                    scope.spawn(move || {
                        engine(Some(cluster))
                            .run(
                                plan,
                                options,
                                Box::new(VecSource::new(input)),
                                Box::new(sink),
                            )
                            .expect("a cluster run")
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().expect("a process thread"))
                .collect()
        });
        std::fs::remove_file(&hosts).ok();

        let one_sink = CollectSink::default();
        let one = engine(None)
            .run(
                plan,
                &RunOptions {
                    workers: Some(2 * workers),
                    ..Default::default()
                },
                Box::new(VecSource::new(events)),
                Box::new(one_sink.clone()),
            )
            .expect("a one-process run");
        assert!(!one_sink.rows().is_empty());
        assert!(one.late_dropped > 0, "the input has late events");
        assert_eq!(
            sink.rows(),
            one_sink.rows(),
            "2 processes x {workers} workers differ from one process of {} partitions",
            2 * workers
        );
        let cluster = &summaries[0];
        assert_eq!(
            (cluster.events_in, cluster.late_dropped, cluster.rows_out),
            (one.events_in, one.late_dropped, one.rows_out)
        );
        assert_eq!(cluster.workers, 2 * workers);
        assert_eq!(summaries[1].events_in, 0, "process 1 reads no input");
    }

    #[test]
    fn two_processes_answer_as_one_process_in_append_mode() {
        let p = plan("kind = \"tumbling\"\nsize = 10", "append");
        two_processes_answer_as_one(&p, 1);
        two_processes_answer_as_one(&p, 2);
    }

    #[test]
    fn two_processes_answer_as_one_process_in_update_mode_with_sessions() {
        two_processes_answer_as_one(&plan("kind = \"session\"\ngap = 4", "update"), 2);
        two_processes_answer_as_one(
            &plan("kind = \"sliding\"\nsize = 10\nslide = 5", "update"),
            1,
        );
    }
}
