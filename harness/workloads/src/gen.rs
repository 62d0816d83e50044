//! Deterministic workload generator (`streamlab gen`): the same seed gives the same bytes.
//!
//! Workloads:
//! - `clicks`: `ts, key, value, kind, user` (W1's input: count+sum per key).
//! - `logs`: web-server access logs `ts, service, path, status, latency_ms, level`
//!   (the Kafka log-aggregation practice).
//! - `likes`: `ts, video, user` (the likes-counting example).
//! - `nexmark`: the NEXMark online auction (issue 7), one stream of `person`, `auction`
//!   and `bid` lines told apart by `kind` ([`nexmark`]).
//! - `ysb`: Yahoo Streaming Benchmark ad events, plus its campaign table
//!   ([`write_campaigns`], [`ysb`]).
//!
//! Event time advances at `rate` events per second of event time from a fixed start;
//! `disorder` moves a fraction of events up to `max_delay` into the past (within the
//! watermark if `max_delay` <= the delay), `late` moves a fraction `late_by` into the past
//! (beyond it), `malformed` replaces a fraction of lines with broken ones.
//!
//!
//! One file per workload: `clicks`, `logs`, `likes`, [`nexmark`], [`ysb`], and `malformed`
//! for the broken lines that take the place of events; `csv`: the same lines as CSV
//! ([`CsvLines`], `--format csv`).

mod clicks;
mod csv;
mod likes;
mod logs;
mod malformed;
pub mod nexmark;
#[cfg(test)]
mod parsed;
pub mod ysb;

pub use nexmark::NexmarkKind;
pub use ysb::{with_generated_table, write_campaigns};

use nexmark::NexmarkModel;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use ysb::{YsbIds, YSB_ADS_PER_CAMPAIGN};

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
            malformed::write_malformed(&mut buf, rng.gen_range(0..5u8), ts);
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

pub use csv::CsvLines;

/// Generates the same events as CSV (a header line, then one row per line; see
/// [`CsvLines`]). The stats' `bytes` are those of the JSON lines converted. NEXMark needs
/// one `kinds` (CSV has one record shape).
pub fn generate_csv(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<GenStats> {
    if cfg.workload == Workload::Nexmark && cfg.kinds.len() != 1 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--format csv writes one record shape: choose one NEXMark --kind",
        ));
    }
    // The columns: the fields of a clean event of the same workload, in their order.
    let mut clean = GenConfig::new(cfg.workload, 1_000, cfg.seed);
    clean.kinds.clone_from(&cfg.kinds);
    let (sample, _) = generate_to_vec(&clean)?;
    let first = sample.split(|&b| b == b'\n').next().unwrap_or_default();
    let columns = csv::field_names(first).unwrap_or_default();
    let mut csv = CsvLines::new(out, columns);
    let stats = generate(cfg, &mut csv)?;
    csv.flush()?;
    Ok(stats)
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
            LineWriter::Clicks => clicks::write_click(buf, key, rng),
            LineWriter::Logs => logs::write_log(buf, key, rng),
            LineWriter::Likes => likes::write_like(buf, key, rng),
            LineWriter::Nexmark(model) => model.write(buf, index, ts, rng),
            LineWriter::Ysb(ids) => ids.write(buf, key, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parsed::{objects, text};
    use super::*;

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
}
