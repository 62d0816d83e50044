//! The runs of an experiment or a bench on the terminal: an overall bar (run k of N, the
//! ETA from the mean time of the runs so far) while stderr is a terminal, and one line per
//! finished run with its result in people's digits (`247k/s`, `p99 12.5 ms`), also when
//! stderr is a file or a pipe (then without the bar). `--quiet` (no INFO level) silences
//! both. The machine-readable outputs (`raw.csv`, `summary.json`) are not touched.
//!
//! The loops call [`finished`] once per run ([`crate::sweep::interleaved`] does it for
//! the experiments built on it); an experiment that knows its number of runs says so with
//! [`expect`] first, else the bar counts without an ETA.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use streamlab_measure::human;
use streamlab_measure::measured::RunMetrics;

struct Runs {
    total: Option<usize>,
    done: usize,
    started: Instant,
    bar: Option<ProgressBar>,
}

/// The runs of the one experiment or bench this process runs.
static RUNS: Mutex<Option<Runs>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Runs) -> T) -> T {
    let mut guard = RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let runs = guard.get_or_insert_with(|| Runs {
        total: None,
        done: 0,
        started: Instant::now(),
        bar: None,
    });
    f(runs)
}

fn show() -> bool {
    tracing::enabled!(tracing::Level::INFO)
}

/// Starts counting: `total` runs are coming (`None`: not known beforehand). Draws the bar
/// when stderr is a terminal.
pub fn expect(label: &str, total: Option<usize>) {
    with(|r| {
        r.total = total;
        r.done = 0;
        r.started = Instant::now();
        if let Some(bar) = r.bar.take() {
            bar.finish_and_clear();
        }
        if show() && std::io::stderr().is_terminal() {
            let bar = match total {
                Some(n) => ProgressBar::new(n as u64),
                None => ProgressBar::new_spinner(),
            };
            let template = match total {
                Some(_) => "{prefix} [{bar:30}] run {pos}/{len}, {elapsed} so far, {msg}",
                None => "{prefix} {spinner} run {pos}, {elapsed} so far",
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_prefix(label.to_owned());
            bar.set_message("ETA after the first run");
            bar.enable_steady_tick(Duration::from_millis(200));
            r.bar = Some(bar);
        }
    });
}

/// The time left, from the mean time of the runs done so far.
fn eta(r: &Runs) -> Option<Duration> {
    let total = r.total?;
    (r.done > 0).then(|| r.started.elapsed() / r.done as u32 * total.saturating_sub(r.done) as u32)
}

/// `1h02m`, `3m20s`, `45s`.
pub fn duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The result of a measured run in one line: throughput, latency percentiles when open
/// loop, rows out, late drops.
pub fn result(m: &RunMetrics) -> String {
    let mut s = human::rate(m.throughput_eps);
    if let Some(l) = m.latency_us {
        s += &format!(
            ", p50 {}, p99 {}",
            human::micros(l.p50 as f64),
            human::micros(l.p99 as f64)
        );
    }
    s += &format!(", {} rows out", human::count(m.rows_out as f64));
    if m.late_dropped > 0 {
        s += &format!(", {} late", human::count(m.late_dropped as f64));
    }
    s
}

/// One run finished: `what` it was (engine, setting, repetition) and its `result`.
pub fn finished(what: &str, result: &str) {
    with(|r| {
        r.done += 1;
        let position = match r.total {
            Some(n) => format!("[{}/{n}]", r.done),
            None => format!("[{}]", r.done),
        };
        let line = format!("{position} {what}: {result}");
        if !show() {
            return;
        }
        match &r.bar {
            Some(bar) => {
                bar.println(line);
                bar.set_position(r.done as u64);
                if let Some(left) = eta(r) {
                    bar.set_message(format!("ETA {}", duration(left)));
                }
            }
            None => eprintln!("{line}"),
        }
    });
}

/// A run of `m` under `setting`, repetition `rep` (from 0), finished.
pub fn finished_run(m: &RunMetrics, setting: &str, rep: usize) {
    let setting = if setting.is_empty() {
        String::new()
    } else {
        format!(" {setting}")
    };
    finished(
        &format!("{}{setting} rep {}", m.engine, rep + 1),
        &result(m),
    );
}

/// The experiment ended: the bar goes; returns the runs done and the time they took.
pub fn end() -> (usize, Duration) {
    with(|r| {
        if let Some(bar) = r.bar.take() {
            bar.finish_and_clear();
        }
        (r.done, r.started.elapsed())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_clock_times() {
        assert_eq!(duration(Duration::from_secs(45)), "45s");
        assert_eq!(duration(Duration::from_secs(200)), "3m20s");
        assert_eq!(duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn the_eta_is_the_mean_run_times_the_runs_left() {
        let r = Runs {
            total: Some(10),
            done: 2,
            started: Instant::now() - Duration::from_secs(20),
            bar: None,
        };
        let left = eta(&r).map(|d| d.as_secs()).unwrap_or(0);
        assert!((80..=81).contains(&left), "{left}");
    }
}
