//! `streamlab produce`: sends a workload or a file to a Kafka topic at a controlled rate,
//! open loop, then ends every partition with an end marker. Generated events get event
//! times that follow the send clock (event i happens when it is scheduled to be sent), so
//! end-to-end latency and processing-time windows mean what they say.

use crate::gen::Workload;
use anyhow::Result;
use std::path::PathBuf;
use streamlab_measure::replay::Rate;

/// `streamlab produce`: its arguments, beside the command they configure.
#[derive(Debug, Clone, clap::Args)]
pub struct ProduceArgs {
    /// Topic: `kafka://HOST:PORT/TOPIC` (created when missing).
    #[arg(long)]
    pub to: String,
    /// Workload to generate (event times follow the send clock).
    #[arg(long, short, value_enum, conflicts_with = "input")]
    pub workload: Option<Workload>,
    /// Or: send the lines of this file, in order.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Events to generate.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    pub events: u64,
    /// Random seed.
    #[arg(long, short, default_value_t = 42)]
    pub seed: u64,
    /// Send rate: events per second (`50k`) or `max`.
    #[arg(long, default_value = "max")]
    pub rate: Rate,
    /// Partitions of the topic (when it is created).
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
}

/// Runs `streamlab produce`; a build without Kafka says so.
#[cfg(not(feature = "kafka"))]
pub fn produce(args: &ProduceArgs) -> Result<()> {
    Err(streamlab_io::address::without_kafka(&args.to))
}

/// Runs `streamlab produce`.
#[cfg(feature = "kafka")]
pub fn produce(args: &ProduceArgs) -> Result<()> {
    use crate::gen::{generate_to_vec, GenConfig};
    use anyhow::{bail, Context};
    use std::time::Instant;
    use streamlab_io::kafka::{ensure_topic, KafkaAddr, LineProducer};
    use streamlab_measure::replay::{Profile, Schedule};

    let addr = KafkaAddr::parse(&args.to)?;
    if args.partitions < 1 {
        bail!("--partitions must be at least 1");
    }
    let lines: Vec<u8> = match (&args.workload, &args.input) {
        (Some(w), None) => {
            let rate = match args.rate {
                Rate::PerSecond(r) => r,
                Rate::Max => 1_000.0,
            };
            let cfg = GenConfig {
                rate,
                start_ms: streamlab_core::engine::processing_time_ms(),
                ..GenConfig::new(*w, args.events, args.seed)
            };
            generate_to_vec(&cfg)?.0
        }
        (None, Some(path)) => {
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?
        }
        _ => bail!("give --workload or --input"),
    };
    ensure_topic(&addr.brokers, &addr.topic, args.partitions)?;
    let parts = streamlab_io::kafka::partitions(&addr.brokers, &addr.topic)?.len() as i32;
    let mut producer = LineProducer::new(&addr.brokers, &addr.topic, parts)?;
    let schedule = match args.rate {
        Rate::PerSecond(r) => Some(Schedule::new(r, &Profile::Constant)),
        Rate::Max => None,
    };
    let started = Instant::now();
    for (i, line) in lines
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if let Some(s) = &schedule {
            let due = started + s.arrival(i as u64);
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
        producer.send(line, None, None)?;
    }
    producer.finish()?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "streamlab produce: {} events to kafka://{}/{} ({parts} partitions) in {secs:.2} s ({:.0} events/s), end markers sent",
        producer.sent,
        addr.brokers,
        addr.topic,
        producer.sent as f64 / secs.max(1e-9)
    );
    Ok(())
}
