//! Deterministic workload generator (`streamlab gen`): the same seed gives the same bytes.
//!
//! Workloads:
//! - `clicks`: `ts, key, value, kind, user` (W1's input: count+sum per key).
//! - `logs`: web-server access logs `ts, service, path, status, latency_ms, level`
//!   (the Kafka log-aggregation practice).
//! - `likes`: `ts, video, user` (the likes-counting example).
//! - `nexmark`: the NEXMark online auction (issue 7), one stream of `person`, `auction`
//!   and `bid` lines told apart by `kind`.
//! - `ysb`: Yahoo Streaming Benchmark ad events, plus its campaign table
//!   ([`write_campaigns`]).
//!
//! Event time advances at `rate` events per second of event time from a fixed start;
//! `disorder` moves a fraction of events up to `max_delay` into the past (within the
//! watermark if `max_delay` <= the delay), `late` moves a fraction `late_by` into the past
//! (beyond it), `malformed` replaces a fraction of lines with broken ones.
//!
//! # NEXMark
//! Follows the reference generator (nexmark-flink's `NexmarkGenerator`, itself Beam's):
//! - event `i` is a person, an auction or a bid by `i % 50`: 0 a person, 1..=3 auctions,
//!   the other 46 bids (proportions 1:3:46, in that order within every 50 events);
//! - person ids are `1000 + i / 50`, auction ids `1000 + 3 * (i / 50) + (i % 50 - 1)`: both
//!   grow with the stream, so they are known from the event index alone;
//! - a bid is for the "hot" auction (the first of the current block of 100) with
//!   probability 1/2, else for one of the last `keys` auctions (`numInFlightAuctions`,
//!   100 by default); bidders and sellers are the hot person of the block of 100 people
//!   with probability 3/4, else one of the last 1000 (`numActivePeople`);
//! - price in cents `round(10^(6u) * 100)`, reserve = initial bid + another price,
//!   categories 10..=14, the reference's states, cities and names, auctions expiring
//!   within twice the time `keys` auctions take to arrive, half the bids from the four hot
//!   channels.
//!
//! Simplified: ids never run ahead of the stream (the reference picks up to 10 ids past
//! the newest person or auction, so a few of its bids name auctions not yet created; here
//! every bid and auction refers to an earlier line, which joins need); the reference adds
//! the person-id offset to bidders twice, here once; no `extra` padding, no description,
//! no `date_time` (the event time is `ts`); item names, e-mails and URLs are random
//! letters seeded from `seed`. `--zipf` does not apply (the hot ids are the skew).
//! With `--malformed`, a broken line takes the place of its event, so a bid may name a
//! person or auction whose line was replaced.
//!
//! # YSB
//! Follows the YSB data generator: `user_id, page_id, ad_id` UUIDs (100 users, 100 pages,
//! `keys` ads, 1000 by default), `ad_type` and `event_type` uniform over the benchmark's
//! lists, `ip_address` the constant `1.2.3.4`, ads assigned 10 per campaign in order.
//! Simplified: ids are UUID-shaped strings drawn from `seed` (not random UUIDs), and the
//! time is an integer `ts` field rather than the string `event_time`.

use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// Which stream to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Clicks on keyed items.
    Clicks,
    /// Web-server access logs.
    Logs,
    /// Likes of videos.
    Likes,
    /// NEXMark persons, auctions and bids, interleaved 1:3:46.
    Nexmark,
    /// Yahoo Streaming Benchmark ad events.
    Ysb,
}

impl Workload {
    /// Default number of distinct keys (items, services, videos, ads). For `nexmark` it
    /// is the number of auctions in flight that a non-hot bid picks among (the
    /// reference's `numInFlightAuctions`), since its ids grow with the stream.
    pub fn default_keys(self) -> u64 {
        match self {
            Workload::Clicks => 10_000,
            Workload::Logs => 20,
            Workload::Likes => 1_000,
            Workload::Nexmark => 100,
            Workload::Ysb => 1_000,
        }
    }

    /// The name on the command line (`--workload NAME`), for messages.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Clicks => "clicks",
            Workload::Logs => "logs",
            Workload::Likes => "likes",
            Workload::Nexmark => "nexmark",
            Workload::Ysb => "ysb",
        }
    }
}

/// The three NEXMark event kinds (`--kind`): the query model reads one input, so a
/// query over bids runs over the bid lines alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum NexmarkKind {
    /// A new user (seller or bidder).
    Person,
    /// A new item for sale.
    Auction,
    /// A bid on an auction.
    Bid,
}

/// Events per NEXMark proportion block: 1 person, 3 auctions, 46 bids.
const NEXMARK_BLOCK: u64 = 50;

impl NexmarkKind {
    /// The kind of event `index` (0-based) in the reference's pattern: in every block of
    /// 50, the first is a person, the next 3 auctions, the other 46 bids.
    pub fn of_event(index: u64) -> NexmarkKind {
        match index % NEXMARK_BLOCK {
            0 => NexmarkKind::Person,
            1..=3 => NexmarkKind::Auction,
            _ => NexmarkKind::Bid,
        }
    }

    /// The value of the `kind` field.
    pub fn name(self) -> &'static str {
        match self {
            NexmarkKind::Person => "person",
            NexmarkKind::Auction => "auction",
            NexmarkKind::Bid => "bid",
        }
    }
}

/// Generator settings; all of them go into results folders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenConfig {
    /// Workload.
    pub workload: Workload,
    /// Number of lines.
    pub events: u64,
    /// Random seed.
    pub seed: u64,
    /// Events per second of event time.
    pub rate: f64,
    /// Distinct keys.
    pub keys: u64,
    /// Zipf exponent of key popularity (0: uniform).
    pub zipf: f64,
    /// Fraction of events moved into the past by up to `max_delay_ms`.
    pub disorder: f64,
    /// Largest disorder delay in ms.
    pub max_delay_ms: i64,
    /// Fraction of events moved `late_by_ms` into the past.
    pub late: f64,
    /// How far late events are moved.
    pub late_by_ms: i64,
    /// Fraction of lines replaced by malformed ones.
    pub malformed: f64,
    /// Event time of the first event, ms since the epoch.
    pub start_ms: i64,
    /// NEXMark only: write just the lines of these kinds from the same `events`-line
    /// stream (empty: every line).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<NexmarkKind>,
}

impl GenConfig {
    /// A clean, in-order stream of `events` events.
    pub fn new(workload: Workload, events: u64, seed: u64) -> GenConfig {
        GenConfig {
            workload,
            events,
            seed,
            rate: 1_000.0,
            keys: workload.default_keys(),
            zipf: 0.0,
            disorder: 0.0,
            max_delay_ms: 0,
            late: 0.0,
            late_by_ms: 0,
            malformed: 0.0,
            start_ms: 1_700_000_000_000,
            kinds: Vec::new(),
        }
    }

    /// Checks ranges, naming the option at fault.
    pub fn validate(&self) -> Result<(), String> {
        let frac = |name: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(format!(
                    "--{name} must be a fraction between 0 and 1, got {v}"
                ))
            }
        };
        frac("disorder", self.disorder)?;
        frac("late", self.late)?;
        frac("malformed", self.malformed)?;
        if self.disorder + self.late > 1.0 {
            return Err("--disorder plus --late must not exceed 1".into());
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(format!("--rate must be positive, got {}", self.rate));
        }
        if self.keys == 0 {
            return Err("--keys must be at least 1".into());
        }
        if !(self.zipf.is_finite() && self.zipf >= 0.0) {
            return Err(format!("--zipf must be 0 or more, got {}", self.zipf));
        }
        if self.disorder > 0.0 && self.max_delay_ms <= 0 {
            return Err("--disorder needs --max-delay greater than zero".into());
        }
        if self.late > 0.0 && self.late_by_ms <= 0 {
            return Err("--late needs --late-by greater than zero".into());
        }
        if !self.kinds.is_empty() && self.workload != Workload::Nexmark {
            return Err(format!(
                "--kind is only for --workload nexmark, not {}",
                self.workload.name()
            ));
        }
        if self.workload == Workload::Nexmark && self.zipf > 0.0 {
            return Err(
                "--zipf does not apply to --workload nexmark: its skew is the reference's hot auctions and people"
                    .into(),
            );
        }
        if self.workload == Workload::Ysb && self.keys % YSB_ADS_PER_CAMPAIGN != 0 {
            return Err(format!(
                "--keys of --workload ysb is the number of ads, {YSB_ADS_PER_CAMPAIGN} per campaign: it must be a multiple of {YSB_ADS_PER_CAMPAIGN}, got {}",
                self.keys
            ));
        }
        Ok(())
    }

    /// Checks that a campaign table (`--campaigns`) exists for this workload.
    pub fn validate_campaigns(&self) -> Result<(), String> {
        if self.workload == Workload::Ysb {
            Ok(())
        } else {
            Err(format!(
                "--campaigns is only for --workload ysb, not {}",
                self.workload.name()
            ))
        }
    }
}

/// What was generated.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GenStats {
    /// Lines written.
    pub lines: u64,
    /// Of which malformed.
    pub malformed: u64,
    /// Of which moved within `max_delay`.
    pub disordered: u64,
    /// Of which moved `late_by` back.
    pub late: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Picks keys uniformly or by a Zipf law (inverse CDF over a precomputed table).
struct KeyPicker {
    cdf: Vec<f64>,
    keys: u64,
}

impl KeyPicker {
    fn new(keys: u64, zipf: f64) -> KeyPicker {
        let cdf = if zipf > 0.0 {
            let mut acc = 0.0;
            let mut cdf: Vec<f64> = (1..=keys)
                .map(|k| {
                    acc += 1.0 / (k as f64).powf(zipf);
                    acc
                })
                .collect();
            for c in &mut cdf {
                *c /= acc;
            }
            cdf
        } else {
            Vec::new()
        };
        KeyPicker { cdf, keys }
    }

    fn pick(&self, rng: &mut Pcg64Mcg) -> u64 {
        if self.cdf.is_empty() {
            rng.gen_range(0..self.keys)
        } else {
            let u: f64 = rng.gen();
            (self.cdf.partition_point(|&c| c < u) as u64).min(self.keys - 1)
        }
    }
}

const PATHS: [&str; 8] = [
    "/",
    "/login",
    "/search",
    "/cart",
    "/checkout",
    "/api/items",
    "/api/users",
    "/static/app.js",
];

/// Writes `cfg.events` lines of JSON to `out` (with `kind`, only that kind's lines).
pub fn generate(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<GenStats> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut rng = Pcg64Mcg::seed_from_u64(cfg.seed);
    let keys = KeyPicker::new(cfg.keys, cfg.zipf);
    let lines = LineWriter::new(cfg);
    let mut stats = GenStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let ms_per_event = 1_000.0 / cfg.rate;
    for i in 0..cfg.events {
        // Every event is drawn, kept or not, so that `--kind` selects lines of the very
        // stream written without it.
        let keep = cfg.kinds.is_empty() || cfg.kinds.contains(&NexmarkKind::of_event(i));
        let line_start = buf.len();
        let nominal = cfg.start_ms + (i as f64 * ms_per_event) as i64;
        let roll: f64 = rng.gen();
        let ts = if roll < cfg.late {
            stats.late += u64::from(keep);
            nominal - cfg.late_by_ms
        } else if roll < cfg.late + cfg.disorder {
            stats.disordered += u64::from(keep);
            nominal - rng.gen_range(1..=cfg.max_delay_ms)
        } else {
            nominal
        };
        let key = keys.pick(&mut rng);
        if cfg.malformed > 0.0 && rng.gen::<f64>() < cfg.malformed {
            stats.malformed += u64::from(keep);
            write_malformed(&mut buf, rng.gen_range(0..5u8), ts);
        } else {
            lines.write(&mut buf, i, ts, key, &mut rng);
        }
        if !keep {
            buf.truncate(line_start);
            continue;
        }
        stats.lines += 1;
        if buf.len() >= (1 << 20) - 512 {
            out.write_all(&buf)?;
            stats.bytes += buf.len() as u64;
            buf.clear();
        }
    }
    out.write_all(&buf)?;
    stats.bytes += buf.len() as u64;
    out.flush()?;
    Ok(stats)
}

/// Writes the YSB campaign table for `cfg` as CSV, `ad_id,campaign_id` after a header
/// line: every ad the stream can name, 10 per campaign. Returns the number of ads.
pub fn write_campaigns(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<u64> {
    cfg.validate()
        .and_then(|()| cfg.validate_campaigns())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let ids = YsbIds::new(cfg.seed, cfg.keys);
    let mut buf = Vec::with_capacity(ids.ads.len() * 74 + 20);
    buf.extend_from_slice(b"ad_id,campaign_id\n");
    for (ad, id) in ids.ads.iter().enumerate() {
        buf.extend_from_slice(id);
        buf.push(b',');
        buf.extend_from_slice(&ids.campaigns[ad / YSB_ADS_PER_CAMPAIGN as usize]);
        buf.push(b'\n');
    }
    out.write_all(&buf)?;
    out.flush()?;
    Ok(ids.ads.len() as u64)
}

/// Generates into memory.
pub fn generate_to_vec(cfg: &GenConfig) -> io::Result<(Vec<u8>, GenStats)> {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out)?;
    Ok((out, stats))
}

fn num(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// What one run writes per event: the plain workloads need nothing but the RNG, NEXMark
/// and YSB carry tables built once per run (no per-event allocation).
enum LineWriter {
    Clicks,
    Logs,
    Likes,
    Nexmark(NexmarkModel),
    Ysb(YsbIds),
}

impl LineWriter {
    fn new(cfg: &GenConfig) -> LineWriter {
        match cfg.workload {
            Workload::Clicks => LineWriter::Clicks,
            Workload::Logs => LineWriter::Logs,
            Workload::Likes => LineWriter::Likes,
            Workload::Nexmark => LineWriter::Nexmark(NexmarkModel::new(cfg)),
            Workload::Ysb => LineWriter::Ysb(YsbIds::new(cfg.seed, cfg.keys)),
        }
    }

    /// Writes event `index` (time `ts`, key `key`) as one JSON line.
    fn write(&self, buf: &mut Vec<u8>, index: u64, ts: i64, key: u64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b"{\"ts\":");
        num(buf, ts);
        match self {
            LineWriter::Clicks => write_click(buf, key, rng),
            LineWriter::Logs => write_log(buf, key, rng),
            LineWriter::Likes => write_like(buf, key, rng),
            LineWriter::Nexmark(model) => model.write(buf, index, ts, rng),
            LineWriter::Ysb(ids) => ids.write(buf, key, rng),
        }
    }
}

fn write_click(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"key\":\"k");
    num(buf, key);
    buf.extend_from_slice(b"\",\"value\":");
    num(buf, rng.gen_range(1..=100u32));
    let kind: u32 = rng.gen_range(0..100);
    buf.extend_from_slice(match kind {
        0..=69 => b",\"kind\":\"view\"".as_slice(),
        70..=94 => b",\"kind\":\"click\"".as_slice(),
        _ => b",\"kind\":\"purchase\"".as_slice(),
    });
    buf.extend_from_slice(b",\"user\":\"u");
    num(buf, rng.gen_range(0..100_000u32));
    buf.extend_from_slice(b"\"}\n");
}

fn write_log(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"service\":\"svc-");
    num(buf, key);
    buf.extend_from_slice(b"\",\"path\":\"");
    buf.extend_from_slice(PATHS[rng.gen_range(0..PATHS.len())].as_bytes());
    let roll: u32 = rng.gen_range(0..100);
    let (status, level): (u32, &[u8]) = match roll {
        0..=87 => (200, b"INFO"),
        88..=92 => (404, b"WARN"),
        93..=96 => (500, b"ERROR"),
        _ => (503, b"ERROR"),
    };
    buf.extend_from_slice(b"\",\"status\":");
    num(buf, status);
    buf.extend_from_slice(b",\"latency_ms\":");
    let slow = rng.gen_range(0..100u32) < 2;
    num(
        buf,
        if slow {
            rng.gen_range(500..5_000u32)
        } else {
            rng.gen_range(1..80u32)
        },
    );
    buf.extend_from_slice(b",\"level\":\"");
    buf.extend_from_slice(level);
    buf.extend_from_slice(b"\"}\n");
}

fn write_like(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"video\":\"v");
    num(buf, key);
    buf.extend_from_slice(b"\",\"user\":\"u");
    num(buf, rng.gen_range(0..1_000_000u32));
    buf.extend_from_slice(b"\"}\n");
}

/// First ids, as the reference: small streams still find matches in id ranges.
const FIRST_PERSON_ID: u64 = 1_000;
const FIRST_AUCTION_ID: u64 = 1_000;
const FIRST_CATEGORY_ID: u64 = 10;
const CATEGORIES: u64 = 5;
/// Auctions per NEXMark block (after the one person; the rest are bids).
const AUCTIONS_PER_BLOCK: u64 = 3;
/// Hot ids are the first of each block of this many people or auctions.
const HOT_BLOCK: u64 = 100;
/// People a non-hot seller or bidder is drawn from (`numActivePeople`).
const ACTIVE_PEOPLE: u64 = 1_000;
/// Plain channels besides the hot ones.
const CHANNELS: u64 = 10_000;

const US_STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
const US_CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const HOT_CHANNELS: [&str; 4] = ["Google", "Facebook", "Baidu", "Apple"];

/// The NEXMark auction model: ids follow from the event index, the rest from the RNG.
struct NexmarkModel {
    /// Auctions a non-hot bid picks among (`keys`).
    in_flight: u64,
    /// Mean auction length: the event time `in_flight` auctions take to arrive.
    horizon_ms: i64,
    /// Seeds the channel URLs, so they are fixed per run without a table.
    seed: u64,
}

/// Base-0 id of the newest person at event `index` (its own id for a person).
fn last_person(index: u64) -> u64 {
    index / NEXMARK_BLOCK
}

/// Base-0 id of the newest auction at event `index`, an auction or a bid (its own id for
/// an auction): every block's 3 auctions precede its bids.
fn last_auction(index: u64) -> u64 {
    let offset = index % NEXMARK_BLOCK;
    debug_assert!(
        offset >= 1,
        "persons open a block, before any auction of it"
    );
    (index / NEXMARK_BLOCK) * AUCTIONS_PER_BLOCK + (offset - 1).min(AUCTIONS_PER_BLOCK - 1)
}

/// A NEXMark price in cents: log-uniform from $1 to $1,000,000, as the reference.
fn price(rng: &mut Pcg64Mcg) -> u64 {
    (10f64.powf(rng.gen::<f64>() * 6.0) * 100.0).round() as u64
}

/// `len` random lowercase letters.
fn letters(buf: &mut Vec<u8>, len: usize, rng: &mut Pcg64Mcg) {
    for _ in 0..len {
        buf.push(b'a' + rng.gen_range(0..26u8));
    }
}

/// SplitMix64's finalizer: a fixed, well-spread hash for ids derived without the RNG.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl NexmarkModel {
    fn new(cfg: &GenConfig) -> NexmarkModel {
        let events_for_in_flight = cfg.keys as f64 * NEXMARK_BLOCK as f64 / 3.0;
        NexmarkModel {
            in_flight: cfg.keys,
            horizon_ms: (events_for_in_flight * 1_000.0 / cfg.rate) as i64,
            seed: cfg.seed,
        }
    }

    fn write(&self, buf: &mut Vec<u8>, index: u64, ts: i64, rng: &mut Pcg64Mcg) {
        match NexmarkKind::of_event(index) {
            NexmarkKind::Person => self.write_person(buf, index, rng),
            NexmarkKind::Auction => self.write_auction(buf, index, ts, rng),
            NexmarkKind::Bid => self.write_bid(buf, index, rng),
        }
    }

    /// A person among the last 1000 (base 0), never one not yet created.
    fn active_person(index: u64, rng: &mut Pcg64Mcg) -> u64 {
        let people = last_person(index) + 1;
        let active = people.min(ACTIVE_PEOPLE);
        people - active + rng.gen_range(0..active)
    }

    fn write_person(&self, buf: &mut Vec<u8>, index: u64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"kind\":\"person\",\"id\":");
        num(buf, FIRST_PERSON_ID + last_person(index));
        buf.extend_from_slice(b",\"name\":\"");
        buf.extend_from_slice(FIRST_NAMES[rng.gen_range(0..FIRST_NAMES.len())].as_bytes());
        buf.push(b' ');
        buf.extend_from_slice(LAST_NAMES[rng.gen_range(0..LAST_NAMES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"email\":\"");
        let user = rng.gen_range(3..7);
        letters(buf, user, rng);
        buf.push(b'@');
        let domain = rng.gen_range(3..5);
        letters(buf, domain, rng);
        buf.extend_from_slice(b".com\",\"credit_card\":\"");
        for group in 0..4 {
            if group > 0 {
                buf.push(b' ');
            }
            let digits: u16 = rng.gen_range(0..10_000);
            for div in [1_000, 100, 10, 1] {
                buf.push(b'0' + (digits / div % 10) as u8);
            }
        }
        buf.extend_from_slice(b"\",\"city\":\"");
        buf.extend_from_slice(US_CITIES[rng.gen_range(0..US_CITIES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"state\":\"");
        buf.extend_from_slice(US_STATES[rng.gen_range(0..US_STATES.len())].as_bytes());
        buf.extend_from_slice(b"\"}\n");
    }

    fn write_auction(&self, buf: &mut Vec<u8>, index: u64, ts: i64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"kind\":\"auction\",\"id\":");
        num(buf, FIRST_AUCTION_ID + last_auction(index));
        // The reference's name: 3 to 19 letters with a space now and then (never at the
        // ends here, where it trims them).
        buf.extend_from_slice(b",\"item_name\":\"");
        let len = rng.gen_range(3..20);
        for at in 0..len {
            if at > 0 && at + 1 < len && rng.gen_range(0..13) == 0 {
                buf.push(b' ');
            } else {
                buf.push(b'a' + rng.gen_range(0..26u8));
            }
        }
        let initial_bid = price(rng);
        buf.extend_from_slice(b"\",\"initial_bid\":");
        num(buf, initial_bid);
        buf.extend_from_slice(b",\"reserve\":");
        num(buf, initial_bid + price(rng));
        buf.extend_from_slice(b",\"expires\":");
        let length = 1 + rng.gen_range(0..self.horizon_ms.saturating_mul(2).max(1));
        num(buf, ts.saturating_add(length));
        // P(hot seller) = 3/4 (hotSellersRatio 4).
        let seller = if rng.gen_range(0..4) > 0 {
            (last_person(index) / HOT_BLOCK) * HOT_BLOCK
        } else {
            Self::active_person(index, rng)
        };
        buf.extend_from_slice(b",\"seller\":");
        num(buf, FIRST_PERSON_ID + seller);
        buf.extend_from_slice(b",\"category\":");
        num(buf, FIRST_CATEGORY_ID + rng.gen_range(0..CATEGORIES));
        buf.extend_from_slice(b"}\n");
    }

    fn write_bid(&self, buf: &mut Vec<u8>, index: u64, rng: &mut Pcg64Mcg) {
        let newest = last_auction(index);
        // P(hot auction) = 1/2 (hotAuctionRatio 2), else one still in flight.
        let auction = if rng.gen_range(0..2) > 0 {
            (newest / HOT_BLOCK) * HOT_BLOCK
        } else {
            rng.gen_range(newest.saturating_sub(self.in_flight)..=newest)
        };
        // P(hot bidder) = 3/4 (hotBiddersRatio 4): the second person of the block, so hot
        // bidders are not hot sellers; the first until that person exists.
        let bidder = if rng.gen_range(0..4) > 0 {
            ((last_person(index) / HOT_BLOCK) * HOT_BLOCK + 1).min(last_person(index))
        } else {
            Self::active_person(index, rng)
        };
        buf.extend_from_slice(b",\"kind\":\"bid\",\"auction\":");
        num(buf, FIRST_AUCTION_ID + auction);
        buf.extend_from_slice(b",\"bidder\":");
        num(buf, FIRST_PERSON_ID + bidder);
        buf.extend_from_slice(b",\"price\":");
        num(buf, price(rng));
        // Half the bids come through the four hot channels (HOT_CHANNELS_RATIO 2).
        let (channel, plain) = if rng.gen_range(0..2) > 0 {
            (rng.gen_range(0..HOT_CHANNELS.len() as u64), false)
        } else {
            (rng.gen_range(0..CHANNELS), true)
        };
        buf.extend_from_slice(b",\"channel\":\"");
        if plain {
            buf.extend_from_slice(b"channel-");
            num(buf, channel);
        } else {
            buf.extend_from_slice(HOT_CHANNELS[channel as usize].as_bytes());
        }
        buf.extend_from_slice(b"\",\"url\":\"https://www.nexmark.com/");
        // Each channel has one URL: three 5-letter path segments hashed from the seed
        // and the channel, and 9 in 10 plain channels name themselves in the query.
        // One hash per segment: 15 base-26 letters would need more than its 64 bits.
        let url = mix(self.seed ^ mix(channel + u64::from(plain) * CHANNELS));
        for segment in 0..3 {
            let mut h = mix(url ^ segment);
            for _ in 0..5 {
                buf.push(b'a' + (h % 26) as u8);
                h /= 26;
            }
            buf.push(b'/');
        }
        buf.extend_from_slice(b"item.htm?query=1");
        if plain && mix(url ^ 3) % 10 > 0 {
            buf.extend_from_slice(b"&channel_id=");
            num(buf, channel);
        }
        buf.extend_from_slice(b"\"}\n");
    }
}

/// Ads per YSB campaign.
const YSB_ADS_PER_CAMPAIGN: u64 = 10;
/// YSB's user and page pools.
const YSB_USERS: usize = 100;
const YSB_PAGES: usize = 100;
const YSB_AD_TYPES: [&str; 5] = ["banner", "modal", "sponsored-search", "mail", "mobile"];
const YSB_EVENT_TYPES: [&str; 3] = ["view", "click", "purchase"];
/// Keeps the id stream apart from the event stream of the same seed.
const YSB_ID_SALT: u64 = 0x5953_425f_6964_7321;

/// A UUID-shaped id, as YSB's `UUID/randomUUID` strings.
type Uuid = [u8; 36];

/// The YSB id tables: campaigns, ads (ad `a` belongs to campaign `a / 10`), users, pages;
/// drawn from the seed alone, so the campaign table does not depend on `--events`.
struct YsbIds {
    campaigns: Vec<Uuid>,
    ads: Vec<Uuid>,
    users: Vec<Uuid>,
    pages: Vec<Uuid>,
}

impl YsbIds {
    fn new(seed: u64, ads: u64) -> YsbIds {
        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ YSB_ID_SALT);
        let mut ids = |n: usize| -> Vec<Uuid> { (0..n).map(|_| uuid(&mut rng)).collect() };
        let campaigns = ids((ads / YSB_ADS_PER_CAMPAIGN) as usize);
        let ads = ids(ads as usize);
        let users = ids(YSB_USERS);
        let pages = ids(YSB_PAGES);
        YsbIds {
            campaigns,
            ads,
            users,
            pages,
        }
    }

    fn write(&self, buf: &mut Vec<u8>, ad: u64, rng: &mut Pcg64Mcg) {
        buf.extend_from_slice(b",\"user_id\":\"");
        buf.extend_from_slice(&self.users[rng.gen_range(0..self.users.len())]);
        buf.extend_from_slice(b"\",\"page_id\":\"");
        buf.extend_from_slice(&self.pages[rng.gen_range(0..self.pages.len())]);
        buf.extend_from_slice(b"\",\"ad_id\":\"");
        buf.extend_from_slice(&self.ads[ad as usize]);
        buf.extend_from_slice(b"\",\"ad_type\":\"");
        buf.extend_from_slice(YSB_AD_TYPES[rng.gen_range(0..YSB_AD_TYPES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"event_type\":\"");
        buf.extend_from_slice(YSB_EVENT_TYPES[rng.gen_range(0..YSB_EVENT_TYPES.len())].as_bytes());
        buf.extend_from_slice(b"\",\"ip_address\":\"1.2.3.4\"}\n");
    }
}

/// A random version-4 UUID in its 8-4-4-4-12 hex form.
fn uuid(rng: &mut Pcg64Mcg) -> Uuid {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits: u128 = rng.gen();
    // Version 4, variant 10xx, as `java.util.UUID.randomUUID`.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let mut out = [b'-'; 36];
    let mut nibble = 0;
    for (at, byte) in out.iter_mut().enumerate() {
        if matches!(at, 8 | 13 | 18 | 23) {
            continue;
        }
        *byte = HEX[((bits >> (124 - 4 * nibble)) & 0xf) as usize];
        nibble += 1;
    }
    out
}

fn write_malformed(buf: &mut Vec<u8>, variant: u8, ts: i64) {
    match variant {
        0 => buf.extend_from_slice(b"{\"ts\":"), // truncated JSON
        1 => buf.extend_from_slice(b"[1,2,3]"),  // not an object
        2 => buf.extend_from_slice(b"{\"note\":\"no fields\"}"),
        3 => {
            buf.extend_from_slice(b"{\"ts\":\"");
            num(buf, ts);
            buf.extend_from_slice(b"\"}"); // time as a string
        }
        _ => {} // empty line
    }
    buf.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamlab_core::value::FieldValue;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        for w in [Workload::Clicks, Workload::Nexmark, Workload::Ysb] {
            let mut cfg = GenConfig::new(w, 2_000, 7);
            cfg.disorder = 0.1;
            cfg.max_delay_ms = 3_000;
            cfg.malformed = 0.01;
            let (a, _) = generate_to_vec(&cfg).unwrap();
            let (b, _) = generate_to_vec(&cfg).unwrap();
            assert_eq!(a, b, "{w:?}");
            cfg.seed = 8;
            let (c, _) = generate_to_vec(&cfg).unwrap();
            assert_ne!(a, c, "{w:?}");
        }
        let ysb = GenConfig::new(Workload::Ysb, 10, 7);
        let table = |cfg: &GenConfig| {
            let mut out = Vec::new();
            write_campaigns(cfg, &mut out).unwrap();
            out
        };
        assert_eq!(table(&ysb), table(&ysb));
        assert_ne!(
            table(&ysb),
            table(&GenConfig {
                seed: 8,
                ..ysb.clone()
            })
        );
    }

    #[test]
    fn fractions_and_counts_hold() {
        for w in [
            Workload::Clicks,
            Workload::Logs,
            Workload::Likes,
            Workload::Nexmark,
            Workload::Ysb,
        ] {
            let mut cfg = GenConfig::new(w, 20_000, 1);
            cfg.late = 0.05;
            cfg.late_by_ms = 60_000;
            cfg.malformed = 0.02;
            let (bytes, stats) = generate_to_vec(&cfg).unwrap();
            let lines = bytes.split(|&b| b == b'\n').count() - 1;
            assert_eq!(lines as u64, cfg.events);
            assert!((800..1_200).contains(&stats.late), "{stats:?}");
            assert!((300..500).contains(&stats.malformed), "{stats:?}");
            let valid = bytes
                .split(|&b| b == b'\n')
                .filter(|l| {
                    serde_json::from_slice::<serde_json::Value>(l)
                        .map(|v| v.get("ts").is_some_and(|t| t.is_i64()))
                        .unwrap_or(false)
                })
                .count() as u64;
            assert_eq!(valid, cfg.events - stats.malformed);
        }
    }

    #[test]
    fn zipf_makes_the_first_key_hottest() {
        let picker = KeyPicker::new(100, 1.2);
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let mut hits = [0u32; 100];
        for _ in 0..10_000 {
            hits[picker.pick(&mut rng) as usize] += 1;
        }
        assert!(hits[0] > hits[10] * 5, "{:?}", &hits[..12]);
    }

    #[test]
    fn bad_settings_name_the_option() {
        let mut cfg = GenConfig::new(Workload::Logs, 10, 1);
        cfg.disorder = 0.2;
        assert!(cfg.validate().unwrap_err().contains("--max-delay"));
        cfg.disorder = 1.5;
        assert!(cfg.validate().unwrap_err().contains("--disorder"));
    }

    /// The JSON objects of the well-formed lines.
    fn objects(bytes: &[u8]) -> Vec<serde_json::Map<String, serde_json::Value>> {
        bytes
            .split(|&b| b == b'\n')
            .filter_map(|l| match serde_json::from_slice(l) {
                Ok(serde_json::Value::Object(o)) => Some(o),
                _ => None,
            })
            .collect()
    }

    fn int(o: &serde_json::Map<String, serde_json::Value>, field: &str) -> i64 {
        o.get(field)
            .and_then(|v| v.as_i64())
            .unwrap_or_else(|| panic!("no integer `{field}` in {o:?}"))
    }

    fn text<'a>(o: &'a serde_json::Map<String, serde_json::Value>, field: &str) -> &'a str {
        o.get(field)
            .and_then(|v| v.as_str())
            .unwrap_or_else(|| panic!("no string `{field}` in {o:?}"))
    }

    #[test]
    fn nexmark_kinds_come_1_3_46_in_every_block_of_50() {
        let (bytes, stats) = generate_to_vec(&GenConfig::new(Workload::Nexmark, 5_000, 3)).unwrap();
        let lines = objects(&bytes);
        assert_eq!(lines.len() as u64, stats.lines);
        assert_eq!(lines.len(), 5_000);
        for (block, events) in lines.chunks(50).enumerate() {
            let kinds: Vec<&str> = events.iter().map(|o| text(o, "kind")).collect();
            assert_eq!(kinds[0], "person", "block {block}");
            assert_eq!(kinds[1..4], ["auction"; 3], "block {block}");
            assert!(kinds[4..].iter().all(|k| *k == "bid"), "block {block}");
            assert_eq!(kinds.len(), 50);
        }
        for (i, o) in lines.iter().enumerate() {
            assert_eq!(text(o, "kind"), NexmarkKind::of_event(i as u64).name());
        }
    }

    #[test]
    fn nexmark_ids_grow_and_every_reference_is_to_an_earlier_line() {
        let mut cfg = GenConfig::new(Workload::Nexmark, 200_000, 5);
        cfg.keys = 50;
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut persons = 0i64; // ids 1000.. seen so far, in order
        let mut auctions = 0i64;
        let (mut bids, mut hot_bids, mut plain_bids, mut channel_ids) = (0u32, 0u32, 0u32, 0u32);
        for o in objects(&bytes) {
            match text(&o, "kind") {
                "person" => {
                    assert_eq!(int(&o, "id"), 1_000 + persons, "{o:?}");
                    persons += 1;
                    assert!(US_STATES.contains(&text(&o, "state")), "{o:?}");
                    assert_eq!(text(&o, "credit_card").len(), 19, "{o:?}");
                    assert!(text(&o, "email").ends_with(".com"), "{o:?}");
                }
                "auction" => {
                    assert_eq!(int(&o, "id"), 1_000 + auctions, "{o:?}");
                    auctions += 1;
                    assert!(
                        (1_000..1_000 + persons).contains(&int(&o, "seller")),
                        "{o:?}"
                    );
                    assert!((10..15).contains(&int(&o, "category")), "{o:?}");
                    assert!(int(&o, "reserve") > int(&o, "initial_bid"), "{o:?}");
                    assert!(int(&o, "expires") > int(&o, "ts"), "{o:?}");
                }
                "bid" => {
                    let auction = int(&o, "auction") - 1_000;
                    assert!(auction < auctions, "bid for a future auction: {o:?}");
                    assert!(auction >= auctions - 1 - cfg.keys as i64 || auction % 100 == 0);
                    assert!(
                        (1_000..1_000 + persons).contains(&int(&o, "bidder")),
                        "{o:?}"
                    );
                    assert!((100..=100_000_000).contains(&int(&o, "price")), "{o:?}");
                    let url = text(&o, "url");
                    assert!(url.starts_with("https://www.nexmark.com/"), "{o:?}");
                    let plain = text(&o, "channel").starts_with("channel-");
                    channel_ids += u32::from(url.contains("&channel_id="));
                    plain_bids += u32::from(plain);
                    assert!(plain || !url.contains("&channel_id="), "{o:?}");
                    bids += 1;
                    hot_bids += u32::from(auction == (auctions - 1) / 100 * 100);
                }
                other => panic!("kind {other}"),
            }
        }
        assert_eq!((persons, auctions, bids), (4_000, 12_000, 184_000));
        // Half the bids are for the hot auction by rule, a few more by the in-flight draw.
        let hot = f64::from(hot_bids) / f64::from(bids);
        assert!((0.49..0.53).contains(&hot), "hot share {hot}");
        // Half the bids come through plain channels, 9 in 10 of whose URLs name them.
        let plain = f64::from(plain_bids) / f64::from(bids);
        let named = f64::from(channel_ids) / f64::from(plain_bids);
        assert!(
            (0.48..0.52).contains(&plain) && (0.85..0.95).contains(&named),
            "{plain} {named}"
        );
    }

    #[test]
    fn kind_selects_the_lines_of_the_full_stream() {
        let mut cfg = GenConfig::new(Workload::Nexmark, 20_000, 9);
        cfg.disorder = 0.1;
        cfg.max_delay_ms = 2_000;
        cfg.late = 0.01;
        cfg.late_by_ms = 30_000;
        let (full, full_stats) = generate_to_vec(&cfg).unwrap();
        let mut total = 0;
        for kind in [NexmarkKind::Person, NexmarkKind::Auction, NexmarkKind::Bid] {
            let expected: Vec<u8> = full
                .split_inclusive(|&b| b == b'\n')
                .filter(|l| {
                    objects(l)
                        .first()
                        .is_some_and(|o| text(o, "kind") == kind.name())
                })
                .flatten()
                .copied()
                .collect();
            let (only, stats) = generate_to_vec(&GenConfig {
                kinds: vec![kind],
                ..cfg.clone()
            })
            .unwrap();
            assert!(!only.is_empty());
            assert_eq!(only, expected, "{kind:?}");
            assert_eq!(stats.bytes, only.len() as u64);
            total += stats.lines;
        }
        assert_eq!(total, full_stats.lines);
    }

    #[test]
    fn ysb_campaign_table_covers_every_ad_10_per_campaign() {
        let cfg = GenConfig::new(Workload::Ysb, 30_000, 4);
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut csv = Vec::new();
        assert_eq!(write_campaigns(&cfg, &mut csv).unwrap(), 1_000);
        let csv = String::from_utf8(csv).unwrap();
        let mut rows = csv.lines();
        assert_eq!(rows.next(), Some("ad_id,campaign_id"));
        let mut campaign_of = std::collections::HashMap::new();
        let mut ads_of = std::collections::HashMap::<&str, u32>::new();
        for row in rows {
            let (ad, campaign) = row.split_once(',').unwrap();
            assert_eq!((ad.len(), campaign.len()), (36, 36), "{row}");
            assert!(
                campaign_of.insert(ad, campaign).is_none(),
                "ad twice: {row}"
            );
            *ads_of.entry(campaign).or_default() += 1;
        }
        assert_eq!(ads_of.len(), 100);
        assert!(ads_of.values().all(|&n| n == 10), "{ads_of:?}");
        let mut types = std::collections::HashMap::<String, u32>::new();
        let mut ads_seen = std::collections::HashSet::new();
        for o in objects(&bytes) {
            assert!(campaign_of.contains_key(text(&o, "ad_id")), "{o:?}");
            ads_seen.insert(text(&o, "ad_id").to_owned());
            assert!(YSB_AD_TYPES.contains(&text(&o, "ad_type")), "{o:?}");
            assert_eq!(text(&o, "ip_address"), "1.2.3.4");
            assert_eq!(text(&o, "user_id").len(), 36);
            *types.entry(text(&o, "event_type").to_owned()).or_default() += 1;
        }
        assert_eq!(ads_seen.len(), 1_000, "30k uniform events name every ad");
        assert_eq!(types.len(), 3);
        assert!(
            types.values().all(|&n| (9_400..10_600).contains(&n)),
            "{types:?}"
        );
        // The table depends on the seed and the number of ads only.
        let mut short = Vec::new();
        write_campaigns(&GenConfig::new(Workload::Ysb, 1, 4), &mut short).unwrap();
        assert_eq!(short, csv.as_bytes());
        let mut few = Vec::new();
        let cfg = GenConfig {
            keys: 30,
            ..GenConfig::new(Workload::Ysb, 1, 4)
        };
        assert_eq!(write_campaigns(&cfg, &mut few).unwrap(), 30);
    }

    #[test]
    fn ysb_zipf_makes_the_first_ad_of_the_table_hottest() {
        let cfg = GenConfig {
            zipf: 1.2,
            ..GenConfig::new(Workload::Ysb, 20_000, 6)
        };
        let (bytes, _) = generate_to_vec(&cfg).unwrap();
        let mut csv = Vec::new();
        write_campaigns(&cfg, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let ad = |row: usize| csv.lines().nth(1 + row).unwrap().split(',').next().unwrap();
        let views = |id: &str| {
            objects(&bytes)
                .iter()
                .filter(|o| text(o, "ad_id") == id)
                .count()
        };
        let (first, tenth) = (views(ad(0)), views(ad(9)));
        assert!(first > tenth * 5, "{first} vs {tenth}");
    }

    #[test]
    fn kind_campaigns_zipf_and_keys_name_the_workload_they_need() {
        let clicks = GenConfig {
            kinds: vec![NexmarkKind::Bid],
            ..GenConfig::new(Workload::Clicks, 10, 1)
        };
        let err = clicks.validate().unwrap_err();
        assert!(err.contains("--kind") && err.contains("clicks"), "{err}");
        assert!(generate_to_vec(&clicks).is_err());
        let nexmark = GenConfig::new(Workload::Nexmark, 10, 1);
        let err = nexmark.validate_campaigns().unwrap_err();
        assert!(
            err.contains("--campaigns") && err.contains("nexmark"),
            "{err}"
        );
        let err = write_campaigns(&nexmark, &mut Vec::new()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("--campaigns"), "{err}");
        let skewed = GenConfig {
            zipf: 1.1,
            ..nexmark.clone()
        };
        assert!(skewed.validate().unwrap_err().contains("--zipf"));
        let odd = GenConfig {
            keys: 15,
            ..GenConfig::new(Workload::Ysb, 10, 1)
        };
        assert!(odd.validate().unwrap_err().contains("--keys"));
        assert!(GenConfig::new(Workload::Ysb, 10, 1)
            .validate_campaigns()
            .is_ok());
    }

    /// The generated bid lines with the given query's answer computed by the oracle.
    fn oracle_over(cfg: &GenConfig, query: &str) -> (Vec<u8>, Vec<streamlab_core::ResultRow>) {
        use crate::engines::EngineKind;
        let plan = streamlab_core::Plan::from_toml(query).unwrap();
        let (bytes, _) = generate_to_vec(cfg).unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        let (summary, rows) = crate::runner::run_text(
            EngineKind::Oracle,
            &plan,
            &streamlab_core::engine::RunOptions::default(),
            text,
        )
        .unwrap();
        assert_eq!(
            summary.malformed, 0,
            "every line carries the query's fields"
        );
        (bytes, rows)
    }

    fn bids(events: u64) -> GenConfig {
        GenConfig {
            kinds: vec![NexmarkKind::Bid],
            disorder: 0.05,
            max_delay_ms: 1_500,
            ..GenConfig::new(Workload::Nexmark, events, 12)
        }
    }

    fn count(v: &streamlab_core::value::AggValue) -> i64 {
        match v {
            streamlab_core::value::AggValue::Int(n) => *n,
            other => panic!("not an integer: {other:?}"),
        }
    }

    #[test]
    fn q7_max_price_per_window_is_the_largest_generated_bid() {
        let cfg = bids(45_000);
        let (bytes, rows) = oracle_over(
            &cfg,
            include_str!("../../queries/nexmark_q7_max_price.toml"),
        );
        let mut expected = std::collections::BTreeMap::<i64, (i64, i64)>::new();
        for o in objects(&bytes) {
            let start = int(&o, "ts").div_euclid(10_000) * 10_000;
            let (max, n) = expected.entry(start).or_insert((i64::MIN, 0));
            *max = (*max).max(int(&o, "price"));
            *n += 1;
        }
        let got: std::collections::BTreeMap<i64, (i64, i64)> = rows
            .iter()
            .map(|r| {
                assert!(r.group.is_empty());
                assert_eq!(r.window.end - r.window.start, 10_000);
                (r.window.start, (count(&r.values[0]), count(&r.values[1])))
            })
            .collect();
        assert!(expected.len() >= 5, "{expected:?}");
        assert_eq!(got, expected);
    }

    #[test]
    fn q5_counts_every_bid_in_its_five_sliding_windows() {
        let cfg = bids(20_000);
        let (bytes, rows) = oracle_over(
            &cfg,
            include_str!("../../queries/nexmark_q5_hot_items.toml"),
        );
        let mut expected = std::collections::BTreeMap::<(i64, i64), i64>::new();
        for o in objects(&bytes) {
            let last = int(&o, "ts").div_euclid(2_000) * 2_000;
            for back in 0..5 {
                *expected
                    .entry((last - back * 2_000, int(&o, "auction")))
                    .or_default() += 1;
            }
        }
        let got: std::collections::BTreeMap<(i64, i64), i64> = rows
            .iter()
            .map(|r| {
                let auction = match &r.group[..] {
                    [FieldValue::Int(a)] => *a,
                    other => panic!("group {other:?}"),
                };
                ((r.window.start, auction), count(&r.values[0]))
            })
            .collect();
        assert_eq!(got, expected);
        // A hot auction takes half the bids while it is hot (100 auctions, about 1.7 s at
        // 1000 events/s); one in flight otherwise gets a handful.
        let top = got.values().max().copied().unwrap_or(0);
        assert!(top > 500, "top auction has {top} bids in 10 s");
    }

    #[test]
    fn ysb_views_per_ad_counts_the_view_lines() {
        let cfg = GenConfig {
            disorder: 0.05,
            max_delay_ms: 1_500,
            ..GenConfig::new(Workload::Ysb, 30_000, 2)
        };
        let (bytes, rows) = oracle_over(&cfg, include_str!("../../queries/ysb_views_per_ad.toml"));
        let mut expected = std::collections::BTreeMap::<(i64, String), i64>::new();
        for o in objects(&bytes)
            .iter()
            .filter(|o| text(o, "event_type") == "view")
        {
            let start = int(o, "ts").div_euclid(10_000) * 10_000;
            *expected
                .entry((start, text(o, "ad_id").to_owned()))
                .or_default() += 1;
        }
        let got: std::collections::BTreeMap<(i64, String), i64> = rows
            .iter()
            .map(|r| {
                let ad = match &r.group[..] {
                    [FieldValue::Str(a)] => a.to_string(),
                    other => panic!("group {other:?}"),
                };
                ((r.window.start, ad), count(&r.values[0]))
            })
            .collect();
        assert!(got.len() > 1_000, "{} rows", got.len());
        assert_eq!(got, expected);
    }
}
