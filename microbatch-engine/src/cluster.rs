//! The micro-batch engine across processes (`--processes/--process/--hostfile`): timely's
//! cluster mode, one epoch per batch, Spark's driver and executors.
//!
//! Worker 0 of process 0 is the driver: it plans every batch exactly as in one process
//! ([`crate::driver`]: trigger, planner, bound, the watermarks between batches) and runs
//! it on [`ClusterPartitions`] instead of the thread pool. Batch k is epoch k of a small
//! dataflow that every worker of every process builds:
//!
//! ```text
//! driver ─events(k)─Exchange(owner)─► arrival (every worker) ─► Partition::run ─answers(k)─Exchange(0)─► driver
//!        ─params(k)─broadcast───────►  once both frontiers pass k   (the worker's thread)
//! ```
//!
//! - **Partitions**: worker `process * workers + thread` is partition `me` of
//!   `processes * workers`, owning events by the rule of one process ([`Owners`]): the
//!   key's hash for windows, sessions and joins, arrival `seq` for a projection. Each worker
//!   keeps its own [`Partition`] (its state store) and runs [`Partition::run`] on its
//!   events: the window, lateness and output logic is the one-process code.
//! - **Parameters** ([`BatchParams`]) are broadcast with the batch, so every partition
//!   runs every batch, one without any of its keys too (its windows close on time).
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
//! - Not in a cluster: `--checkpoint` (refused, naming both flags) and the DStream front
//!   end ([`crate::dstream`], one process only).

use crate::batch_log::BatchLog;
use crate::driver::{self, Partitions, Settings};
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

/// A partition's answer to one batch, on its way to the driver.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Answer {
    partition: usize,
    out: PartOutput,
}

/// A batch whose epoch is complete on this worker: its parameters and this partition's
/// events.
struct Arrived {
    params: BatchParams,
    events: Vec<Event>,
}

/// The inputs the driver sends batches into (every other worker closes its own at once).
struct BatchInputs {
    events: Handle<Event>,
    params: Handle<BatchParams>,
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
            params: InputHandle::new(),
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
            let params = scope.input_from(&mut inputs.params).broadcast();
            events.binary_frontier::<_, CapacityContainerBuilder<Vec<()>>, _, _, _, _>(
                params,
                Exchange::new(move |e: &Event| owners.owner(e) as u64),
                Pipeline,
                "BatchArrival",
                move |_capability, _info| {
                    let mut pending: BTreeMap<Epoch, (Option<BatchParams>, Vec<Event>)> =
                        BTreeMap::new();
                    move |(events, events_frontier), (params, params_frontier), _output| {
                        events.for_each(|time, data| {
                            pending
                                .entry(*time.least().expect("a message has a time"))
                                .or_default()
                                .1
                                .append(data);
                        });
                        params.for_each(|time, data| {
                            pending
                                .entry(*time.least().expect("a message has a time"))
                                .or_default()
                                .0 = data.pop();
                        });
                        while let Some(entry) = pending.first_entry() {
                            let epoch = *entry.key();
                            if events_frontier.less_equal(&epoch)
                                || params_frontier.less_equal(&epoch)
                            {
                                break;
                            }
                            let (params, events) = entry.remove();
                            let params =
                                params.expect("every batch's parameters reach every partition");
                            arrived.borrow_mut().push_back(Arrived { params, events });
                        }
                        if events_frontier.is_empty() && params_frontier.is_empty() {
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

    /// Runs every batch that has arrived through `partition`, in epoch order, and sends
    /// each answer towards the driver; after the last batch, closes the answers.
    fn answer(&mut self, partition: &mut Partition<'_>) {
        loop {
            let next = self.arrived.borrow_mut().pop_front();
            let Some(mut batch) = next else { break };
            if !batch.events.is_sorted_by_key(|e| e.seq) {
                batch.events.sort_by_key(|e| e.seq);
            }
            let out = partition.run(&batch.params, &batch.events);
            if let Some(answers) = self.answers.as_mut() {
                answers.send(Answer {
                    partition: self.me,
                    out,
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

impl Partitions for ClusterPartitions<'_, '_> {
    fn run_batch(
        &mut self,
        params: BatchParams,
        mut events: Vec<Event>,
        meanwhile: &mut dyn FnMut() -> Result<(), EngineError>,
    ) -> Result<(Vec<PartOutput>, Vec<Event>), EngineError> {
        self.inputs.params.send(params);
        self.inputs.events.send_batch(&mut events);
        self.epoch += 1;
        self.inputs.events.advance_to(self.epoch);
        self.inputs.params.advance_to(self.epoch);
        // One step sends the batch on its way; then the next batch is planned while the
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
                    "batch {}: the cluster stopped before every partition answered",
                    params.id
                )));
            }
        }
        planned?;
        let mut answers = std::mem::take(&mut *self.wiring.collected.borrow_mut());
        answers.sort_by_key(|a| a.partition);
        if answers.len() != peers || answers.iter().enumerate().any(|(i, a)| a.partition != i) {
            return Err(EngineError::Internal(format!(
                "batch {}: answers from partitions {:?}, expected one from each of 0..{peers}",
                params.id,
                answers.iter().map(|a| a.partition).collect::<Vec<_>>()
            )));
        }
        events.clear();
        Ok((answers.into_iter().map(|a| a.out).collect(), events))
    }

    fn snapshot(&mut self) -> Result<Vec<PartitionState>, EngineError> {
        Err(refuse_checkpoint())
    }
}

/// Why a checkpointed run cannot be a cluster, naming both flags.
pub fn refuse_checkpoint() -> EngineError {
    EngineError::Internal(
        "engine `microbatch` cannot combine --checkpoint with --processes: its cluster mode \
         does not checkpoint (run one process, or use the record engine)"
            .into(),
    )
}

/// What the driver hands back: the summary of the run and its batches.
type Driven = Result<(RunSummary, driver::Tally), EngineError>;

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
    if settings.checkpoint.is_some() {
        return Err(refuse_checkpoint());
    }
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
    let job = Arc::new(Mutex::new(Some((source, sink))));
    let formed = Arc::new(AtomicBool::new(false));
    watch_cluster_forming("microbatch", cluster, Arc::clone(&formed));
    let (worker_plan, worker_settings) = (Arc::new(plan.clone()), settings.clone());
    let worker_log = log.cloned();
    let guards = timely::execute(config, move |worker| -> Option<Driven> {
        formed.store(true, Ordering::Relaxed);
        let plan = &*worker_plan;
        let (inputs, mut wiring) = Wiring::build(worker, plan);
        let mut partition = Partition::new(plan, wiring.me, wiring.peers);
        let driving = (wiring.me == 0)
            .then(|| job.lock().unwrap_or_else(|e| e.into_inner()).take())
            .flatten();
        let Some((mut source, mut sink)) = driving else {
            drop(inputs);
            wiring.serve(worker, &mut partition);
            return None;
        };
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
        );
        // `drive` consumed the inputs: their end ends every partition's loop.
        wiring.serve(worker, &mut partition);
        Some(driven.and_then(|d| sink.finish().map(|()| d)))
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
        Some(d) => {
            let (summary, tally) = d?;
            let whole = Settings {
                workers: partitions,
                ..settings.clone()
            };
            driver::summarize(summary, &tally, &whole, plan)
        }
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

    #[test]
    fn a_checkpoint_in_a_cluster_is_refused_naming_both_flags() {
        let p = plan("kind = \"tumbling\"\nsize = 10", "append");
        let options = RunOptions {
            checkpoint: Some(streamlab_core::engine::CheckpointOptions {
                dir: std::env::temp_dir().join("streamlab-mb-cluster-refused"),
                every_events: None,
                interval: None,
                retain: 3,
                fall_back_on_corrupt: true,
            }),
            ..Default::default()
        };
        let cluster = Cluster {
            processes: 2,
            process: 1,
            hostfile: None,
        };
        let refused = engine(Some(cluster))
            .run(
                &p,
                &options,
                Box::new(VecSource::new(Vec::new())),
                Box::new(CollectSink::default()),
            )
            .expect_err("refused")
            .to_string();
        assert!(
            refused.contains("--checkpoint") && refused.contains("--processes"),
            "{refused}"
        );
    }
}
