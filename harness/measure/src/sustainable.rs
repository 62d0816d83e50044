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

/// Whether a run held its rate `rate`: p99 under the bound, the backlog not growing by
/// more than a tenth of the bound's worth of input over the run, and the engine done
/// within the bound of the last scheduled arrival.
pub fn sustained(m: &RunMetrics, rate: f64, p99_bound: Duration) -> (bool, String) {
    let p99 = m.latency_us.map(|l| l.p99).unwrap_or(u64::MAX);
    if p99 > p99_bound.as_micros() as u64 {
        return (
            false,
            format!("p99 {} ms > bound {} ms", p99 / 1000, p99_bound.as_millis()),
        );
    }
    let allowed = rate * p99_bound.as_secs_f64() / 10.0;
    if m.backlog_growth > allowed {
        return (
            false,
            format!(
                "backlog grew by {:.0} events over the run (allowed {allowed:.0})",
                m.backlog_growth
            ),
        );
    }
    if m.finish_lag_s > p99_bound.as_secs_f64() {
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
}
