//! The replay driver (measurement.md, "The driver is not the engine").
//!
//! Events are held in memory before the measured part. A driver thread hands them to the
//! engine through an unbounded queue at a target rate and never waits for the engine
//! (open loop). Event `i` has a scheduled arrival time `s_i` given by the rate profile;
//! latency is measured from `s_i`, so when the engine falls behind, the queueing delay is
//! in the latency (no coordinated omission). `--rate max` skips the driver: the engine
//! reads the pre-loaded input as fast as it can (max throughput; no latency reported).

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, Poll, Source};
use streamlab_core::Event;

/// Target input rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Rate {
    /// Closed loop: as fast as the engine takes events.
    Max,
    /// Events per second of wall time.
    PerSecond(f64),
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Rate, String> {
        if s == "max" {
            return Ok(Rate::Max);
        }
        let (num, scale) = match s.chars().last() {
            Some('k' | 'K') => (&s[..s.len() - 1], 1e3),
            Some('m' | 'M') => (&s[..s.len() - 1], 1e6),
            _ => (s, 1.0),
        };
        match num.parse::<f64>() {
            Ok(r) if r.is_finite() && r > 0.0 => Ok(Rate::PerSecond(r * scale)),
            _ => Err(format!(
                "`{s}` is not a rate: use events per second (`250000`, `250k`, `2.5M`) or `max`"
            )),
        }
    }
}

/// How the rate changes over the run: a base rate times piecewise-constant factors.
#[derive(Clone, Debug, PartialEq)]
pub enum Profile {
    /// The base rate throughout.
    Constant,
    /// `step:FACTORx@T`: the base rate until T, then FACTOR times it.
    Step {
        /// Multiplier after the step.
        factor: f64,
        /// When the step happens.
        at: Duration,
    },
    /// `burst:FACTORx@T/LEN`: FACTOR times the base rate from T for LEN.
    Burst {
        /// Multiplier during the burst.
        factor: f64,
        /// When the burst starts.
        at: Duration,
        /// How long it lasts.
        len: Duration,
    },
}

fn parse_secs(s: &str) -> Result<Duration, String> {
    let ms = streamlab_core::model::duration::DurationMs::parse(s)?;
    Ok(Duration::from_millis(ms.ms() as u64))
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Profile, String> {
        let bad = || {
            format!(
                "`{s}` is not a rate profile: use `constant`, `step:2x@10s` or `burst:5x@10s/2s`"
            )
        };
        if s == "constant" {
            return Ok(Profile::Constant);
        }
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        let (factor, when) = rest.split_once("x@").ok_or_else(bad)?;
        let factor: f64 = factor.parse().map_err(|_| bad())?;
        if !(factor.is_finite() && factor > 0.0) {
            return Err(bad());
        }
        match kind {
            "step" => Ok(Profile::Step {
                factor,
                at: parse_secs(when)?,
            }),
            "burst" => {
                let (at, len) = when.split_once('/').ok_or_else(bad)?;
                Ok(Profile::Burst {
                    factor,
                    at: parse_secs(at)?,
                    len: parse_secs(len)?,
                })
            }
            _ => Err(bad()),
        }
    }
}

/// When each event is due: arrival offsets from the start of the replay.
#[derive(Clone, Debug)]
pub struct Schedule {
    /// Segments (start offset in s, first event index, rate), in time order.
    segments: Vec<(f64, f64, f64)>,
}

impl Schedule {
    /// The schedule of `rate` events/s shaped by `profile`.
    pub fn new(rate: f64, profile: &Profile) -> Schedule {
        let mut pieces: Vec<(f64, f64)> = match *profile {
            Profile::Constant => vec![(0.0, rate)],
            Profile::Step { factor, at } => vec![(0.0, rate), (at.as_secs_f64(), rate * factor)],
            Profile::Burst { factor, at, len } => vec![
                (0.0, rate),
                (at.as_secs_f64(), rate * factor),
                ((at + len).as_secs_f64(), rate),
            ],
        };
        pieces.retain(|(_, r)| *r > 0.0);
        let mut segments = Vec::with_capacity(pieces.len());
        let mut first = 0.0;
        for (i, &(start, r)) in pieces.iter().enumerate() {
            segments.push((start, first, r));
            if let Some(&(next, _)) = pieces.get(i + 1) {
                first += (next - start) * r;
            }
        }
        Schedule { segments }
    }

    /// Scheduled arrival of event `i` (0-based), as an offset from the start.
    pub fn arrival(&self, i: u64) -> Duration {
        let i = i as f64;
        let &(start, first, rate) = self
            .segments
            .iter()
            .rev()
            .find(|(_, first, _)| *first <= i)
            .expect("the first segment starts at event 0");
        Duration::from_secs_f64(start + (i - first) / rate)
    }

    /// How many events are due by `elapsed` since the start.
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        let t = elapsed.as_secs_f64();
        let &(start, first, rate) = self
            .segments
            .iter()
            .rev()
            .find(|(start, _, _)| *start <= t)
            .expect("the first segment starts at time 0");
        (first + (t - start) * rate).floor() as u64 + 1
    }
}

/// Each event's place in the replay's schedule, found from its `seq`: event `i` in arrival
/// order is due at `arrival(i)`. `seq` numbers input lines, not scheduled events: with
/// `[[input]]`s a line is counted once per input, and malformed or filtered lines take a
/// `seq` but no place, so using `seq` as the place puts due times in the future.
#[derive(Clone, Debug, Default)]
pub struct Positions {
    /// Runs of consecutive seqs: (first seq, its place, length), sorted by seq.
    runs: Vec<(u64, u64, u64)>,
}

impl Positions {
    /// The places of `events` (distinct seqs), in the order the replay sends them. Kept as
    /// runs of consecutive seqs, so a stream with few skipped lines costs a few entries.
    pub fn of(events: &[Event]) -> Positions {
        let mut runs: Vec<(u64, u64, u64)> = Vec::new();
        for (place, e) in events.iter().enumerate() {
            match runs.last_mut() {
                Some((first, _, len)) if first.checked_add(*len) == Some(e.seq) => *len += 1,
                _ => runs.push((e.seq, place as u64, 1)),
            }
        }
        runs.sort_unstable();
        Positions { runs }
    }

    /// The place in the schedule of the event numbered `seq`; None when no event has it.
    pub fn place(&self, seq: u64) -> Option<u64> {
        let i = self.runs.partition_point(|&(first, _, _)| first <= seq);
        let (first, place, len) = *self.runs.get(i.checked_sub(1)?)?;
        (seq - first < len).then(|| place + (seq - first))
    }
}

/// Shared counters between the driver, the engine's source and the metrics.
#[derive(Debug, Default)]
pub struct ReplayCounters {
    /// Events handed to the queue.
    pub sent: AtomicU64,
    /// Events taken from the queue by the engine.
    pub taken: AtomicU64,
    /// Largest backlog (sent - taken) seen by the driver.
    pub max_backlog: AtomicU64,
    /// Backlog when the driver had sent the last event.
    pub backlog_at_end: AtomicU64,
    /// CPU time of the driver thread in ns (taken out of the engine's CPU).
    pub driver_cpu_ns: AtomicU64,
    /// Backlog sampled every [`SAMPLE_EVERY`] while the driver sends.
    pub backlog_samples: std::sync::Mutex<Vec<u64>>,
}

/// How often the driver samples the backlog.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(10);

impl ReplayCounters {
    /// Events sent but not yet taken.
    pub fn backlog(&self) -> u64 {
        self.sent
            .load(Ordering::Relaxed)
            .saturating_sub(self.taken.load(Ordering::Relaxed))
    }
}

/// A started replay: the engine's source and the handle to stop or join the driver.
pub struct Replay {
    /// When event 0 was due; latency is measured from `start + schedule.arrival(i)`.
    pub start: Instant,
    /// The schedule events follow.
    pub schedule: Schedule,
    /// Shared counters.
    pub counters: Arc<ReplayCounters>,
    driver: Option<std::thread::JoinHandle<()>>,
}

impl Replay {
    /// Starts a driver thread replaying `events` at `rate` shaped by `profile`; returns the
    /// replay and the source to hand to the engine.
    pub fn start(events: Vec<Event>, rate: f64, profile: &Profile) -> (Replay, ReplaySource) {
        let schedule = Schedule::new(rate, profile);
        let counters = Arc::new(ReplayCounters::default());
        let (tx, rx) = crossbeam_channel::unbounded();
        let start = Instant::now();
        let driver = {
            let schedule = schedule.clone();
            let counters = counters.clone();
            std::thread::Builder::new()
                .name("replay-driver".into())
                .spawn(move || drive(events, &schedule, start, &counters, tx))
                .expect("spawning the replay driver thread")
        };
        let source = ReplaySource {
            rx,
            pending: Vec::new().into_iter(),
            counters: counters.clone(),
        };
        (
            Replay {
                start,
                schedule,
                counters,
                driver: Some(driver),
            },
            source,
        )
    }

    /// The instant event `i` was due.
    pub fn due(&self, i: u64) -> Instant {
        self.start + self.schedule.arrival(i)
    }

    /// Waits for the driver to have sent everything.
    pub fn join(mut self) {
        if let Some(d) = self.driver.take() {
            let _ = d.join();
        }
    }
}

/// Largest chunk the driver sends at once.
const MAX_CHUNK: usize = 4096;
/// Due events the driver gathers before sending without waiting for [`SEND_EVERY`].
const MIN_CHUNK: usize = 256;
/// Longest a due event waits in the driver for others to gather.
const SEND_EVERY: Duration = Duration::from_micros(20);

fn drive(
    events: Vec<Event>,
    schedule: &Schedule,
    start: Instant,
    counters: &ReplayCounters,
    tx: Sender<Vec<Event>>,
) {
    let total = events.len();
    let mut events = events.into_iter();
    let mut sent = 0usize;
    let mut last_send = start;
    let mut next_sample = start;
    let mut samples = Vec::new();
    while sent < total {
        let now = Instant::now();
        if now >= next_sample {
            samples.push(counters.backlog());
            next_sample += SAMPLE_EVERY;
        }
        let due = (schedule.due_by(now - start) as usize).min(total);
        // Send what is due once a batch has gathered or the oldest due event has waited
        // SEND_EVERY: per-chunk costs stay small at high rates, and the wait (counted in
        // latency, which runs from the scheduled arrival) stays in the microseconds.
        if due > sent && (due - sent >= MIN_CHUNK || now - last_send >= SEND_EVERY || due == total)
        {
            last_send = now;
            let n = (due - sent).min(MAX_CHUNK);
            let chunk: Vec<Event> = events.by_ref().take(n).collect();
            sent += chunk.len();
            counters.sent.store(sent as u64, Ordering::Relaxed);
            counters
                .max_backlog
                .fetch_max(counters.backlog(), Ordering::Relaxed);
            if tx.send(chunk).is_err() {
                return; // the engine stopped reading
            }
            continue;
        }
        let next = (start + schedule.arrival(sent as u64))
            .max(last_send + SEND_EVERY)
            .min(next_sample);
        let wait = next.saturating_duration_since(Instant::now());
        if wait > Duration::from_micros(200) {
            std::thread::sleep(wait - Duration::from_micros(100));
        } else {
            std::hint::spin_loop();
        }
    }
    counters
        .backlog_at_end
        .store(counters.backlog(), Ordering::Relaxed);
    *counters
        .backlog_samples
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = samples;
    counters
        .driver_cpu_ns
        .store(thread_cpu().as_nanos() as u64, Ordering::Relaxed);
}

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    use nix::time::{clock_gettime, ClockId};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(|t| Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
        .unwrap_or_default()
}

/// The engine's end of the replay queue.
pub struct ReplaySource {
    rx: Receiver<Vec<Event>>,
    pending: std::vec::IntoIter<Event>,
    counters: Arc<ReplayCounters>,
}

impl Source for ReplaySource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        loop {
            let room = max - (buf.len() - before);
            if room == 0 {
                break;
            }
            if self.pending.len() > 0 {
                buf.extend(self.pending.by_ref().take(room));
                continue;
            }
            match self.rx.try_recv() {
                Ok(chunk) => self.pending = chunk.into_iter(),
                Err(_) => break,
            }
        }
        let got = buf.len() - before;
        if got > 0 {
            self.counters.taken.fetch_add(got as u64, Ordering::Relaxed);
            return Ok(Poll::Ready);
        }
        match self.rx.recv_timeout(Duration::from_millis(1)) {
            Ok(chunk) => {
                self.pending = chunk.into_iter();
                self.poll(buf, max)
            }
            Err(RecvTimeoutError::Timeout) => Ok(Poll::Pending),
            Err(RecvTimeoutError::Disconnected) => Ok(Poll::End),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_profiles_parse() {
        assert_eq!("max".parse(), Ok(Rate::Max));
        assert_eq!("250k".parse(), Ok(Rate::PerSecond(250_000.0)));
        assert_eq!("2.5M".parse(), Ok(Rate::PerSecond(2_500_000.0)));
        assert!("fast".parse::<Rate>().is_err());
        assert_eq!(
            "burst:5x@10s/2s".parse(),
            Ok(Profile::Burst {
                factor: 5.0,
                at: Duration::from_secs(10),
                len: Duration::from_secs(2)
            })
        );
        assert!("burst:5x@10s".parse::<Profile>().is_err());
    }

    #[test]
    fn schedule_follows_a_burst_profile() {
        let s = Schedule::new(100.0, &"burst:5x@1s/1s".parse().unwrap());
        // 100 events in the first second, 500 in the burst second, then 100/s again.
        assert_eq!(s.arrival(0), Duration::ZERO);
        assert!((s.arrival(100).as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((s.arrival(350).as_secs_f64() - 1.5).abs() < 1e-9);
        assert!((s.arrival(600).as_secs_f64() - 2.0).abs() < 1e-9);
        assert!((s.arrival(650).as_secs_f64() - 2.5).abs() < 1e-9);
        assert_eq!(s.due_by(Duration::from_millis(1_500)), 351);
    }

    #[test]
    fn places_come_from_the_order_of_events_not_their_seqs() {
        let ev = |seq| Event {
            seq,
            time: 0,
            key: 0,
            part: 0,
            fields: Default::default(),
        };
        // Lines 1, 3 and 7-8 were malformed or another input's.
        let p = Positions::of(&[0, 2, 4, 5, 6, 9, 10].map(ev));
        let places: Vec<_> = (0..12).map(|s| p.place(s)).collect();
        assert_eq!(
            places,
            [
                Some(0),
                None,
                Some(1),
                None,
                Some(2),
                Some(3),
                Some(4),
                None,
                None,
                Some(5),
                Some(6),
                None
            ]
        );
        assert_eq!(
            p.runs.len(),
            4,
            "runs of consecutive seqs, not one entry per event"
        );
    }

    #[test]
    fn the_driver_delivers_everything_on_schedule() {
        let events: Vec<Event> = (0..2_000)
            .map(|i| Event {
                seq: i,
                time: i as i64,
                key: 0,
                part: 0,
                fields: Default::default(),
            })
            .collect();
        let (replay, mut source) = Replay::start(events, 20_000.0, &Profile::Constant);
        let mut got = Vec::new();
        while source.poll(&mut got, 100).unwrap() != Poll::End {}
        let elapsed = replay.start.elapsed();
        assert_eq!(got.len(), 2_000);
        assert!(got.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        assert!(
            elapsed >= Duration::from_millis(99),
            "{elapsed:?}: sent too early"
        );
        replay.join();
    }
}
