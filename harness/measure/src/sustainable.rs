//! The sustainable-throughput search of measurement.md: whether a run held its rate, and
//! the doubling-then-bisecting search for the highest rate an engine holds.

use crate::measured::RunMetrics;
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Outcome of one probe of the sustainable-throughput search.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Probe {
    /// Rate tried (events/s).
    pub rate: f64,
    /// Whether the engine held it.
    pub sustained: bool,
    /// Why not, when it did not.
    pub reason: String,
    /// p99 latency (µs).
    pub p99_us: u64,
    /// Queue length when the driver had sent everything.
    pub backlog_at_end: u64,
    /// Backlog growth over the run (events).
    pub backlog_growth: f64,
}

/// A run shorter than this many latency bounds cannot show a backlog that grows: a
/// deficit of a fraction f of the rate grows the backlog by f·rate·2T/3 between the first
/// and the last third of a run of T s, against an allowance of rate·bound/10, so at 4
/// bounds a deficit above 4 % shows (and the delivered-rate check catches 5 % anyway).
pub const MIN_RUN_BOUNDS: f64 = 4.0;

/// The delivered rate must be at least this share of the offered one.
pub const MIN_DELIVERED_SHARE: f64 = 0.95;

/// Whether a run held its rate `rate` (measurement.md, "Sustainable throughput"):
/// sustained means the backlog stays bounded over a run long enough to show it. In order:
/// the run's schedule lasted at least [`MIN_RUN_BOUNDS`] × the bound; p99 under the
/// bound; the engine delivered at least [`MIN_DELIVERED_SHARE`] of the offered rate; the
/// backlog grew by at most a tenth of the bound's worth of input; the engine was done
/// within the bound of the last scheduled arrival.
pub fn sustained(m: &RunMetrics, rate: f64, p99_bound: Duration) -> (bool, String) {
    let bound_s = p99_bound.as_secs_f64();
    if m.schedule_s < MIN_RUN_BOUNDS * bound_s {
        return (
            false,
            format!(
                "run too short to show a growing backlog: {:.2} s of input < {MIN_RUN_BOUNDS} × the {} ms bound",
                m.schedule_s,
                p99_bound.as_millis()
            ),
        );
    }
    let p99 = m.latency_us.map(|l| l.p99).unwrap_or(u64::MAX);
    if p99 > p99_bound.as_micros() as u64 {
        return (
            false,
            format!("p99 {} ms > bound {} ms", p99 / 1000, p99_bound.as_millis()),
        );
    }
    if m.throughput_eps < MIN_DELIVERED_SHARE * rate {
        return (
            false,
            format!(
                "delivered {:.0} events/s, under {:.0} % of the {rate:.0} offered",
                m.throughput_eps,
                MIN_DELIVERED_SHARE * 100.0
            ),
        );
    }
    let allowed = rate * bound_s / 10.0;
    if m.backlog_growth > allowed {
        return (
            false,
            format!(
                "backlog grew by {:.0} events over the run (allowed {allowed:.0})",
                m.backlog_growth
            ),
        );
    }
    if m.finish_lag_s > bound_s {
        return (
            false,
            format!(
                "finished {:.2} s after the last arrival (backlog {} at end)",
                m.finish_lag_s, m.backlog_at_end
            ),
        );
    }
    (true, String::new())
}

/// The search of measurement.md: from `start`, double until the engine no longer holds the
/// rate, then bisect between the last good and the first bad rate until they are within
/// `precision` (0.05). `probe(rate)` runs one measurement.
pub fn find_sustainable(
    start: f64,
    max_rate: f64,
    precision: f64,
    p99_bound: Duration,
    mut probe: impl FnMut(f64) -> Result<RunMetrics>,
) -> Result<(Option<f64>, Vec<Probe>)> {
    let mut walked = Vec::new();
    let mut try_rate = |rate: f64, walked: &mut Vec<Probe>| -> Result<bool> {
        let m = probe(rate)?;
        let (ok, reason) = sustained(&m, rate, p99_bound);
        walked.push(Probe {
            rate,
            sustained: ok,
            reason,
            p99_us: m.latency_us.map(|l| l.p99).unwrap_or(0),
            backlog_at_end: m.backlog_at_end,
            backlog_growth: m.backlog_growth,
        });
        Ok(ok)
    };
    let mut good: Option<f64> = None;
    let mut rate = start;
    let mut bad = loop {
        if try_rate(rate, &mut walked)? {
            good = Some(rate);
            if rate * 2.0 > max_rate {
                return Ok((good, walked));
            }
            rate *= 2.0;
        } else {
            break rate;
        }
    };
    let Some(mut lo) = good else {
        return Ok((None, walked));
    };
    while (bad - lo) / lo > precision {
        let mid = (lo + bad) / 2.0;
        if try_rate(mid, &mut walked)? {
            lo = mid;
        } else {
            bad = mid;
        }
    }
    Ok((Some(lo), walked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Percentiles;

    /// A fake engine that holds any rate up to `capacity` (a model of a throttled engine).
    fn fake(capacity: f64) -> impl FnMut(f64) -> Result<RunMetrics> {
        move |rate| {
            let over = rate > capacity;
            Ok(RunMetrics {
                latency_us: Some(Percentiles {
                    p99: if over { 5_000_000 } else { 2_000 },
                    ..Default::default()
                }),
                finish_lag_s: if over { 3.0 } else { 0.001 },
                throughput_eps: rate.min(capacity),
                schedule_s: 10.0,
                ..Default::default()
            })
        }
    }

    #[test]
    fn the_search_brackets_the_capacity_within_five_percent() {
        for capacity in [37_000.0, 250_000.0, 1_300_000.0] {
            let (found, walked) =
                find_sustainable(10_000.0, 1e9, 0.05, Duration::from_secs(1), fake(capacity))
                    .unwrap();
            let found = found.unwrap();
            assert!(
                found <= capacity && found >= capacity * 0.95,
                "{capacity}: {found} {walked:?}"
            );
            assert!(walked.iter().any(|p| !p.sustained));
        }
        let (none, _) =
            find_sustainable(10_000.0, 1e9, 0.05, Duration::from_secs(1), fake(5_000.0)).unwrap();
        assert_eq!(none, None);
    }

    /// The metrics of a run at `rate` of an engine that takes `capacity` events/s, whose
    /// schedule lasts `seconds`: the backlog sampled every 10 ms as a queue fed at `rate`
    /// and drained at `capacity`, the engine 1 ms behind each event when it keeps up.
    fn trace(rate: f64, capacity: f64, seconds: f64) -> RunMetrics {
        let deficit = (rate - capacity).max(0.0);
        let samples: Vec<u64> = (0..(seconds * 100.0) as u64)
            .map(|i| (deficit * i as f64 / 100.0) as u64)
            .collect();
        let events = rate * seconds;
        let lag = events / capacity.min(rate) - seconds;
        let backlog_end = (deficit * seconds) as u64;
        RunMetrics {
            events: events as u64,
            schedule_s: seconds,
            throughput_eps: capacity.min(rate),
            latency_us: Some(Percentiles {
                // The last event waits behind the whole backlog.
                p99: ((lag * 0.98).max(0.001) * 1e6) as u64,
                ..Default::default()
            }),
            backlog_growth: crate::measured::backlog_growth(&samples),
            max_backlog: backlog_end,
            backlog_at_end: backlog_end,
            finish_lag_s: lag.max(0.001),
            ..Default::default()
        }
    }

    #[test]
    fn a_rate_is_sustained_when_the_backlog_stays_bounded_over_a_long_enough_run() {
        let bound = Duration::from_secs(1);
        // Once accepted: 32M offered for 0.3 s to an engine delivering 24M. The backlog had
        // no time to show (p99 under the bound, finished within it, growth under the
        // allowance); the run is too short, and the engine delivered 75 % of the rate.
        let short = trace(32e6, 24e6, 0.3);
        assert!(short.latency_us.unwrap().p99 < 1_000_000);
        assert!(short.finish_lag_s < 1.0);
        assert!(short.backlog_growth < 32e6 * 0.1);
        let (ok, why) = sustained(&short, 32e6, bound);
        assert!(!ok && why.contains("too short"), "{why}");
        // Long enough, 3 % short of the rate: the backlog grows, not sustained.
        let (ok, why) = sustained(&trace(1e6, 0.97e6, 10.0), 1e6, bound);
        assert!(!ok, "a 3 % deficit over 10 s passed");
        assert!(why.contains("p99") || why.contains("backlog"), "{why}");
        // Long enough, 20 % short: not sustained either way.
        let (ok, _) = sustained(&trace(1e6, 0.8e6, 10.0), 1e6, bound);
        assert!(!ok);
        // Long enough and kept up: sustained.
        let (ok, why) = sustained(&trace(1e6, 1.5e6, 10.0), 1e6, bound);
        assert!(ok, "{why}");
        // The same engine at the edge of the minimum run: 4 s is enough.
        let (ok, why) = sustained(&trace(1e6, 1.5e6, 4.0), 1e6, bound);
        assert!(ok, "{why}");
    }
}
