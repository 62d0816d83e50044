#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Kafka against a real Kafka-protocol broker (`.ci/run` starts one and sets
//! `STREAMLAB_KAFKA=HOST:PORT`). Outside CI, without a broker, these tests pass after a
//! `SKIPPED: <test>: STREAMLAB_KAFKA not set` line in `cargo test`'s output; in CI a
//! missing broker is a failure.

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use streamlab_engines::EngineKind;

/// The broker of `STREAMLAB_KAFKA`, or `None` after saying that `test` is skipped. The
/// line is written to stderr directly, not with `eprintln!`, which `cargo test` captures
/// and shows only for failed tests: a skipped test must not read as a silent pass.
fn broker(test: &str) -> Option<String> {
    match std::env::var("STREAMLAB_KAFKA") {
        Ok(b) if !b.is_empty() => Some(b),
        _ if std::env::var("CI").is_ok() => {
            panic!("CI must start a broker and set STREAMLAB_KAFKA")
        }
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: kafka::{test}: STREAMLAB_KAFKA not set (a Kafka broker is needed: \
                 STREAMLAB_KAFKA=HOST:PORT)"
            );
            None
        }
    }
}

/// The skip line is in `cargo test`'s own output, without `--nocapture`.
#[test]
fn a_kafka_test_without_a_broker_says_skipped_in_the_test_output() {
    let test = "rows_written_to_a_topic_are_the_rows_written_to_a_file";
    let out = Command::new(std::env::current_exe().unwrap())
        .args([&format!("kafka::{test}"), "--exact", "--test-threads=1"])
        .env_remove("STREAMLAB_KAFKA")
        .env_remove("CI")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("SKIPPED: kafka::{test}: STREAMLAB_KAFKA not set")),
        "{all}"
    );
}

fn streamlab(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .output()
        .unwrap()
}

fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    v.sort();
    v
}

const ERRORS_COMPLETE: &str = "event_time = \"ts\"\ngroup_by = [\"service\"]\noutput_mode = \"complete\"\n\
[window]\nkind = \"tumbling\"\nsize = \"10s\"\n[[filter]]\nfield = \"level\"\nop = \"eq\"\nvalue = \"ERROR\"\n\
[[aggregate]]\nfn = \"count\"\nas = \"errors\"\n[[aggregate]]\nfn = \"max\"\nfield = \"latency_ms\"\nas = \"worst\"\n";

/// Final rows of a complete-mode output: the rows of the last emission, without `emit`.
fn last_table(text: &str) -> Vec<String> {
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = rows.iter().filter_map(|r| r["emit"].as_u64()).max();
    let mut out: Vec<String> = rows
        .into_iter()
        .filter(|r| r["emit"].as_u64() == last)
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("emit");
            r.to_string()
        })
        .collect();
    out.sort();
    out
}

/// A generated logs stream produced to a fresh 3-partition topic, with the oracle's output
/// for `query` over the same lines: what every test that reads a topic starts from.
struct LogsTopic {
    dir: std::path::PathBuf,
    query: std::path::PathBuf,
    url: String,
    /// The oracle's stdout over the generated lines.
    exact: String,
}

impl LogsTopic {
    /// `streamlab run --engine kind` over the whole topic (from the start, with a group of
    /// its own): its stdout and its summary.
    fn run(&self, kind: EngineKind) -> (String, serde_json::Value) {
        let input = format!("{}?group={}&start=earliest", self.url, unique(&kind.name()));
        let summary = self.dir.join(format!("{}.json", kind.name()));
        let out = streamlab(&[
            "run",
            "--engine",
            &kind.name(),
            "--query",
            self.query.to_str().unwrap(),
            "--input",
            &input,
            "--summary",
            summary.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}: {}",
            kind.name(),
            String::from_utf8_lossy(&out.stderr)
        );
        let s = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
        (String::from_utf8_lossy(&out.stdout).to_string(), s)
    }
}

fn logs_topic(broker: &str, name: &str, query: &str, gen: &[&str]) -> LogsTopic {
    let dir = std::env::temp_dir().join(unique(&format!("streamlab-{name}")));
    std::fs::create_dir_all(&dir).unwrap();
    let (events, query_path) = (dir.join("logs.jsonl"), dir.join("q.toml"));
    std::fs::write(&query_path, query).unwrap();
    let mut args = vec!["gen", "--workload", "logs"];
    args.extend_from_slice(gen);
    args.extend_from_slice(&["--output", events.to_str().unwrap()]);
    assert!(streamlab(&args).status.success());
    let url = format!("kafka://{broker}/{}", unique(name));
    let out = streamlab(&[
        "produce",
        "--input",
        events.to_str().unwrap(),
        "--to",
        &url,
        "--partitions",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exact = streamlab(&[
        "oracle",
        "--query",
        query_path.to_str().unwrap(),
        "--input",
        events.to_str().unwrap(),
    ]);
    LogsTopic {
        dir,
        query: query_path,
        url,
        exact: String::from_utf8_lossy(&exact.stdout).to_string(),
    }
}

#[test]
fn every_engine_reading_a_three_partition_topic_gives_the_exact_answer() {
    let Some(broker) =
        broker("every_engine_reading_a_three_partition_topic_gives_the_exact_answer")
    else {
        return;
    };
    let t = logs_topic(
        &broker,
        "logs",
        ERRORS_COMPLETE,
        &["--events", "30000", "--seed", "5", "--malformed", "0.01"],
    );
    let dir = &t.dir;
    let exact = last_table(&t.exact);
    assert!(!exact.is_empty());
    for kind in EngineKind::all()
        .into_iter()
        .filter(|k| *k != EngineKind::Oracle)
    {
        let (stdout, s) = t.run(kind);
        assert_eq!(
            last_table(&stdout),
            exact,
            "{} differs from the oracle",
            kind.name()
        );
        assert!(
            s["malformed"].as_u64().unwrap() > 100,
            "malformed lines must be counted: {s}"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

const ERRORS_APPEND_NO_DELAY: &str =
    "event_time = \"ts\"\ngroup_by = [\"service\"]\noutput_mode = \"append\"\n\
[window]\nkind = \"tumbling\"\nsize = \"1s\"\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
[[aggregate]]\nfn = \"max\"\nfield = \"latency_ms\"\nas = \"worst\"\n";

/// Each partition of a topic is in event-time order, but a consumer fetches partitions in
/// turn, so the merged stream is not: with one watermark over it, a partition fetched
/// after another would be late. With per-partition watermarks (the minimum over the
/// partitions) nothing is late even with watermark delay 0.
#[test]
fn per_partition_watermarks_make_an_ordered_topic_exact_with_delay_zero() {
    let Some(broker) =
        broker("per_partition_watermarks_make_an_ordered_topic_exact_with_delay_zero")
    else {
        return;
    };
    let t = logs_topic(
        &broker,
        "ordered",
        ERRORS_APPEND_NO_DELAY,
        &["--events", "60000", "--rate", "2000", "--seed", "9"],
    );
    let dir = &t.dir;
    let exact = sorted(&t.exact);
    assert!(exact.len() > 100);
    for kind in EngineKind::all()
        .into_iter()
        .filter(|k| *k != EngineKind::Oracle)
    {
        let (stdout, s) = t.run(kind);
        assert_eq!(s["late_dropped"], 0, "{}: {s}", kind.name());
        assert_eq!(
            sorted(&stdout),
            exact,
            "{} differs from the oracle",
            kind.name()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Kafka offsets in checkpoints: each engine reading a 3-partition topic with
/// `--checkpoint` is killed with SIGKILL three times and restarted; a restart seeks every
/// partition to the offsets of the last checkpoint (and gives keys their old ids), so the
/// output equals the oracle's, nothing lost, nothing twice.
#[test]
fn killed_while_reading_a_topic_every_engine_resumes_from_the_checkpointed_offsets() {
    let Some(broker) =
        broker("killed_while_reading_a_topic_every_engine_resumes_from_the_checkpointed_offsets")
    else {
        return;
    };
    let t = logs_topic(
        &broker,
        "kill",
        ERRORS_APPEND_NO_DELAY,
        &[
            "--events",
            "100000",
            "--rate",
            "2000",
            "--seed",
            "3",
            "--malformed",
            "0.001",
        ],
    );
    let (dir, query, url) = (&t.dir, &t.query, &t.url);
    let exact = sorted(&t.exact);
    for (engine, extra) in [
        ("baseline", vec![]),
        ("microbatch", vec!["--max-records-per-batch", "1000"]),
        ("record", vec!["--workers", "2"]),
    ] {
        let output = dir.join(format!("{engine}.jsonl"));
        let ck = dir.join(format!("{engine}-checkpoints"));
        let mut args: Vec<String> = [
            "run",
            "--engine",
            engine,
            "--query",
            query.to_str().unwrap(),
            "--input",
            &format!("{url}?group={}", unique(engine)),
            "--output",
            output.to_str().unwrap(),
            "--checkpoint",
            ck.to_str().unwrap(),
            "--checkpoint-every",
            "2000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut landed = 0;
        for kill in 0..3u64 {
            landed += u32::from(crate::fixtures::run_and_kill(
                &args,
                &ck,
                1 + kill % 2,
                Duration::from_millis(kill),
            ));
        }
        assert!(landed > 0, "{engine}: every run finished before its kill");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = streamlab(&args);
        assert!(
            out.status.success(),
            "{engine}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            sorted(&std::fs::read_to_string(&output).unwrap()),
            exact,
            "{engine} after {landed} kills differs from the oracle"
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn rows_written_to_a_topic_are_the_rows_written_to_a_file() {
    let Some(broker) = broker("rows_written_to_a_topic_are_the_rows_written_to_a_file") else {
        return;
    };
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/all_aggregates");
    let (q, e) = (golden.join("query.toml"), golden.join("events.jsonl"));
    let topic = unique("rows");
    let out = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        q.to_str().unwrap(),
        "--input",
        e.to_str().unwrap(),
        "--output",
        &format!("kafka://{broker}/{topic}"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let consumer: BaseConsumer = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", &broker)
        .set("group.id", unique("reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in streamlab_io::kafka::partitions(&broker, &topic).unwrap() {
        tpl.add_partition_offset(&topic, p, rdkafka::Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut rows = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < deadline, "no end marker; got {rows}");
        let Some(msg) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        let msg = msg.unwrap();
        if msg
            .headers()
            .is_some_and(|h| h.iter().any(|h| h.key == streamlab_io::kafka::END_HEADER))
        {
            break;
        }
        rows.push_str(std::str::from_utf8(msg.payload().unwrap()).unwrap());
        rows.push('\n');
    }
    let file = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        q.to_str().unwrap(),
        "--input",
        e.to_str().unwrap(),
    ]);
    assert_eq!(
        sorted(&rows),
        sorted(&String::from_utf8_lossy(&file.stdout))
    );
}

#[test]
fn an_unreachable_broker_is_a_clear_error_within_ten_seconds() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/tumbling_append");
    let started = Instant::now();
    let out = streamlab(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        golden.join("query.toml").to_str().unwrap(),
        "--input",
        &format!("kafka://127.0.0.1:{port}/logs"),
    ]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot reach the Kafka broker at 127.0.0.1:{port}"
        )),
        "{err}"
    );
}
