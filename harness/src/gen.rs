//! Deterministic workload generator (`streamlab gen`): the same seed gives the same bytes.
//!
//! Workloads:
//! - `clicks`: `ts, key, value, kind, user` (W1's input: count+sum per key).
//! - `logs`: web-server access logs `ts, service, path, status, latency_ms, level`
//!   (the Kafka log-aggregation practice).
//! - `likes`: `ts, video, user` (the likes-counting example).
//!
//! Event time advances at `rate` events per second of event time from a fixed start;
//! `disorder` moves a fraction of events up to `max_delay` into the past (within the
//! watermark if `max_delay` <= the delay), `late` moves a fraction `late_by` into the past
//! (beyond it), `malformed` replaces a fraction of lines with broken ones.

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
}

impl Workload {
    /// Default number of distinct keys (items, services, videos).
    pub fn default_keys(self) -> u64 {
        match self {
            Workload::Clicks => 10_000,
            Workload::Logs => 20,
            Workload::Likes => 1_000,
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
        Ok(())
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

/// Writes `cfg.events` lines of JSON to `out`.
pub fn generate(cfg: &GenConfig, out: &mut dyn Write) -> io::Result<GenStats> {
    cfg.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut rng = Pcg64Mcg::seed_from_u64(cfg.seed);
    let keys = KeyPicker::new(cfg.keys, cfg.zipf);
    let mut stats = GenStats::default();
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 20);
    let ms_per_event = 1_000.0 / cfg.rate;
    for i in 0..cfg.events {
        let nominal = cfg.start_ms + (i as f64 * ms_per_event) as i64;
        let roll: f64 = rng.gen();
        let ts = if roll < cfg.late {
            stats.late += 1;
            nominal - cfg.late_by_ms
        } else if roll < cfg.late + cfg.disorder {
            stats.disordered += 1;
            nominal - rng.gen_range(1..=cfg.max_delay_ms)
        } else {
            nominal
        };
        let key = keys.pick(&mut rng);
        if cfg.malformed > 0.0 && rng.gen::<f64>() < cfg.malformed {
            stats.malformed += 1;
            write_malformed(&mut buf, rng.gen_range(0..5u8), ts);
        } else {
            write_event(&mut buf, cfg.workload, ts, key, &mut rng);
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

/// Generates into memory.
pub fn generate_to_vec(cfg: &GenConfig) -> io::Result<(Vec<u8>, GenStats)> {
    let mut out = Vec::new();
    let stats = generate(cfg, &mut out)?;
    Ok((out, stats))
}

fn num(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn write_event(buf: &mut Vec<u8>, workload: Workload, ts: i64, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b"{\"ts\":");
    num(buf, ts);
    match workload {
        Workload::Clicks => {
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
        Workload::Logs => {
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
        Workload::Likes => {
            buf.extend_from_slice(b",\"video\":\"v");
            num(buf, key);
            buf.extend_from_slice(b"\",\"user\":\"u");
            num(buf, rng.gen_range(0..1_000_000u32));
            buf.extend_from_slice(b"\"}\n");
        }
    }
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

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let mut cfg = GenConfig::new(Workload::Clicks, 2_000, 7);
        cfg.disorder = 0.1;
        cfg.max_delay_ms = 3_000;
        cfg.malformed = 0.01;
        let (a, _) = generate_to_vec(&cfg).unwrap();
        let (b, _) = generate_to_vec(&cfg).unwrap();
        assert_eq!(a, b);
        cfg.seed = 8;
        let (c, _) = generate_to_vec(&cfg).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn fractions_and_counts_hold() {
        for w in [Workload::Clicks, Workload::Logs, Workload::Likes] {
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
}
