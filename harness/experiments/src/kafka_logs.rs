//! `experiment kafka-logs`: web logs produced to Kafka at a fixed rate, errors per service
//! per 10 s window, end-to-end latency through the broker (cargo feature `kafka`).

use crate::config::ExperimentConfig;
use crate::sweep::{engines, Outcome};
use anyhow::Result;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use streamlab_core::engine::{CollectSink, RunOptions};
use streamlab_core::Plan;
use streamlab_engines::runner::to_result_rows;
use streamlab_io::decode::decode_all;
use streamlab_io::kafka::{
    ensure_topic, kafka_source, partitions, Broker, KafkaAddr, LineProducer, Start,
};
use streamlab_measure::accuracy::compare;
use streamlab_measure::metrics::{trigger_in, LatencyRecorder, MeasuringSink, Percentiles};
use streamlab_measure::replay::{Profile, Schedule};
use streamlab_measure::results::RawCsv;
use streamlab_reference::Oracle;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, Workload};

/// Runs the experiment (see the module doc).
pub fn run(cfg: &ExperimentConfig, raw: &mut RawCsv) -> Result<Outcome> {
    let broker = Broker::find_or_start()?;
    let (rate, secs) = if cfg.quick {
        (5_000.0, 4.0)
    } else {
        (20_000.0, 60.0)
    };
    let events = (rate * secs) as u64;
    let query = include_str!("../../../queries/logs_errors.toml");
    let plan = Plan::from_toml(query)?;
    let mut points = Vec::new();
    for kind in engines() {
        let topic = format!("logs-{}-{}-{}", kind.name(), std::process::id(), cfg.seed);
        ensure_topic(&broker.addr, &topic, 3)?;
        let addr = KafkaAddr {
            brokers: broker.addr.clone(),
            topic: topic.clone(),
            group: topic.clone(),
            start: Start::Earliest,
            // The count is known: the run does not depend on the end markers arriving.
            events: Some(events),
        };
        let keys = Arc::new(streamlab_core::KeyTable::default());
        let parts = partitions(&broker.addr, &topic)?;
        let source = kafka_source(&plan, keys.clone(), false, addr, parts);
        let stats = source.stats();
        // Latency runs from each line's scheduled send time (its Kafka timestamp, ms since
        // the epoch) to the emission; append rows are charged to the line that raised the
        // watermark past the window end, as the reader saw them arrive.
        let (base_instant, base_ms) = (
            Instant::now(),
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64,
        );
        let due = {
            let stats = stats.clone();
            move |seq: u64| {
                let produced = stats.produced_ms.lock().unwrap_or_else(|e| e.into_inner());
                let ms = produced.get(seq as usize).copied().unwrap_or(base_ms);
                Some(base_instant + Duration::from_millis(ms.saturating_sub(base_ms).max(0) as u64))
            }
        };
        let append = {
            let stats = stats.clone();
            let delay = plan.delay_ms;
            move |end: i64| {
                let steps = stats.max_steps.lock().unwrap_or_else(|e| e.into_inner());
                trigger_in(&steps, delay, end).or(steps.last().map(|&(_, q)| q))
            }
        };
        let recorder = Arc::new(Mutex::new(LatencyRecorder::with_lookup(
            due,
            append,
            events / 10,
        )));
        let collect = CollectSink::default();
        let sink = MeasuringSink::new(recorder.clone(), Some(Box::new(collect.clone())));
        // Producer: generated logs whose event times are their scheduled send times.
        let start_ms = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as i64 + 100;
        let gen = GenConfig {
            rate,
            start_ms,
            ..GenConfig::new(Workload::Logs, events, cfg.seed)
        };
        let (bytes, _) = generate_to_vec(&gen)?;
        let lines: Vec<Vec<u8>> = bytes
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let brokers = broker.addr.clone();
        let producer_topic = topic.clone();
        let produce_paced = move || -> Result<Instant> {
            let mut p = LineProducer::new(&brokers, &producer_topic, 3)?;
            let schedule = Schedule::new(rate, &Profile::Constant);
            let t0 = base_instant + Duration::from_millis((start_ms - base_ms).max(0) as u64);
            for (i, line) in lines.iter().enumerate() {
                let at = schedule.arrival(i as u64);
                let due = t0 + at;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                p.send_at(line, None, None, Some(start_ms + at.as_millis() as i64))?;
            }
            p.finish()?;
            Ok(Instant::now())
        };
        // A failed producer ends the run at once (the engine would wait for lines that
        // never come).
        let producer_failed = Arc::new(Mutex::new(None::<String>));
        let failed = producer_failed.clone();
        let producer = std::thread::spawn(move || -> Result<Instant> {
            let r = produce_paced();
            if let Err(e) = &r {
                *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(format!("{e:#}"));
            }
            r
        });
        tracing::info!(
            "kafka-logs: {} reading {topic} while {events} logs are produced at {rate:.0}/s",
            kind.name()
        );
        let started = Instant::now();
        // A stalled broker or consumer must end the experiment with an error, not hang
        // it: the engine runs on its own thread, waited for up to the produce time + 60 s.
        let (tx, rx) = std::sync::mpsc::channel();
        let engine_plan = plan.clone();
        std::thread::spawn(move || {
            let r = kind.build().run(
                &engine_plan,
                &RunOptions::default(),
                Box::new(source),
                Box::new(sink),
            );
            let _ = tx.send(r);
        });
        let deadline = Instant::now() + Duration::from_secs_f64(secs + 60.0);
        let summary = loop {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(r) => break r?,
                Err(_) if producer_failed.lock().unwrap_or_else(|e| e.into_inner()).is_some() => {
                    let why = producer_failed.lock().unwrap_or_else(|e| e.into_inner()).take();
                    anyhow::bail!(
                        "kafka-logs: producing to {topic} failed: {}",
                        why.unwrap_or_default()
                    )
                }
                Err(_) if Instant::now() > deadline => anyhow::bail!(
                    "kafka-logs: {} had read {} of {events} logs from {topic} {:.0} s after the producer \
                     started sending them (over {secs:.0} s): the broker or the consumer stalled",
                    kind.name(),
                    stats.events.load(std::sync::atomic::Ordering::Relaxed)
                        + stats.malformed.load(std::sync::atomic::Ordering::Relaxed),
                    started.elapsed().as_secs_f64()
                ),
                Err(_) => {}
            }
        };
        let done = Instant::now();
        let elapsed = (done - started).as_secs_f64();
        let produced_at = producer
            .join()
            .map_err(|_| anyhow::anyhow!("the producer thread panicked"))??;
        let drain_s = done.saturating_duration_since(produced_at).as_secs_f64();
        tracing::info!(
            "kafka-logs: {} finished {drain_s:.3} s after the producer delivered its last line",
            kind.name()
        );
        let rows = to_result_rows(&collect.rows(), &keys);
        let input = decode_all(
            bytes.as_slice(),
            "<generated>",
            &plan,
            false,
            &mut std::io::sink(),
        )?;
        let (exact, _) = Oracle::answer(&plan, &input.events)?;
        let acc = compare(&rows, &to_result_rows(&exact, &input.keys), &plan);
        let lat = Percentiles::of(
            recorder
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .histogram(),
        );
        let setting = format!("rate={rate}");
        let mut put = |metric: &str, v: f64| raw.row(&kind.name(), &setting, 0, metric, v);
        put("throughput_eps", summary.events_in as f64 / elapsed);
        put("latency_p50_us", lat.p50 as f64);
        put("latency_p99_us", lat.p99 as f64);
        put("latency_max_us", lat.max as f64);
        put("late_dropped", summary.late_dropped as f64);
        put("drain_s", drain_s);
        put("rows_exact", acc.exact as f64);
        put("relative_error_errors", acc.relative_error["errors"]);
        points.push(json!({"engine": kind.name(), "events_in": summary.events_in, "elapsed_s": elapsed, "drain_s": drain_s,
                           "latency_us": lat, "late_dropped": summary.late_dropped, "accuracy": acc}));
    }
    Ok((
        json!({"events": events, "rate": rate, "partitions": 3, "broker": "tansu (Kafka protocol, in memory)", "points": points}),
        format!(
            "The seed's practice: web logs produced to a 3-partition Kafka topic at {rate:.0} events/s for \
             {secs:.0} s (event time = scheduled send time), every engine reading the topic and counting \
             errors per service per 10 s window (queries/logs_errors.toml). Latency is end to end: from \
             the scheduled send of the triggering log line, through the broker, to the result row. \
             Answers are compared with the oracle over the same lines."
        ),
    ))
}
