//! The DStream front end: Spark Streaming's original API, a stream of batches in
//! processing time, each transformed as a whole.
//!
//! Where the structured front end ([`crate::MicrobatchEngine`]) answers a declarative
//! query by event time with a watermark, a [`DStream`] knows only batches: `window`
//! groups *batches* (processing time), so an event counts in the window during which it
//! arrived, not the one its event time names. The `dstream_vs_event_time` example shows
//! how far apart the two answers drift when events arrive out of order.
//!
//! Both front ends share the driver's parts: batches fire on the same
//! [`TriggerClock`] and are cut by the same [`BatchPlanner`]. DStream operators run on
//! the driver thread, one batch at a time.
//!
//! ```
//! use streamlab_microbatch_engine::dstream::{BatchClock, StreamingContext};
//! use streamlab_core::engine::VecSource;
//! use streamlab_core::Event;
//! use std::sync::{Arc, Mutex};
//!
//! let events: Vec<Event> = (0..6)
//!     .map(|i| Event { seq: i, time: 0, key: (i % 2) as u32, part: 0, fields: Default::default() })
//!     .collect();
//! // Batches of 2 events, one per simulated second.
//! let ssc = StreamingContext::new(BatchClock::Simulated { interval_ms: 1_000, events_per_batch: 2, start_ms: 0 });
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let out = seen.clone();
//! let counts = ssc
//!     .stream()
//!     .map(|e| (e.key, 1u64))
//!     .window(2_000, 2_000)
//!     .unwrap()
//!     .reduce_by_key(|a, b| a + b)
//!     .foreach_batch(move |batch, rows| {
//!         let mut rows = rows.to_vec();
//!         rows.sort();
//!         out.lock().unwrap().push((batch.time_ms, rows));
//!     });
//! ssc.run(Box::new(VecSource::new(events)), vec![counts], 0).unwrap();
//! // Windows of two batches end at 2 s (events 0..4) and 4 s (events 4..6).
//! let seen = seen.lock().unwrap();
//! assert_eq!(seen[0], (2_000, vec![(0, 2), (1, 2)]));
//! assert_eq!(seen[1], (4_000, vec![(0, 1), (1, 1)]));
//! ```

use crate::planner::{Availability, BatchPlanner};
use crate::trigger::{Trigger, TriggerClock};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::hash::Hash;
use streamlab_core::engine::{processing_time_ms, EngineError, Source};
use streamlab_core::model::duration::DurationMs;
use streamlab_core::Event;

/// When a DStream batch fires and which events it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchClock {
    /// A batch every `interval_ms` of wall-clock time over what the source has then
    /// (at most `max_events`); the batch time is the processing time at the trigger.
    Wall {
        /// Batch interval.
        interval_ms: i64,
        /// Most events one batch takes.
        max_events: usize,
    },
    /// A replay: batch k holds the next `events_per_batch` events (those that arrived
    /// during its interval at a steady rate) and has time `start_ms + (k + 1) *
    /// interval_ms`, the end of that interval, as in Spark Streaming.
    Simulated {
        /// Batch interval.
        interval_ms: i64,
        /// Events arriving per interval.
        events_per_batch: usize,
        /// Processing time when the replay starts.
        start_ms: i64,
    },
}

impl BatchClock {
    fn interval_ms(&self) -> i64 {
        match *self {
            BatchClock::Wall { interval_ms, .. } | BatchClock::Simulated { interval_ms, .. } => {
                interval_ms.max(1)
            }
        }
    }
}

/// The batch a DStream operator is looking at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchTime {
    /// Batch number, from 0.
    pub id: u64,
    /// Batch time in ms (processing time).
    pub time_ms: i64,
}

/// Why a DStream cannot be built.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DStreamError {
    /// Window length and slide must be positive multiples of the batch interval.
    #[error("window length {length_ms} ms and slide {slide_ms} ms must be positive multiples of the batch interval {interval_ms} ms")]
    NotMultiple {
        /// Window length.
        length_ms: i64,
        /// Window slide.
        slide_ms: i64,
        /// Batch interval.
        interval_ms: i64,
    },
}

type Step<T> = Box<dyn FnMut(BatchTime, &[Event]) -> Option<Vec<T>> + Send>;
type Sink = Box<dyn FnMut(BatchTime, &[Event]) + Send>;

/// A stream of batches of `T`. A batch is `None` when the stream has no batch at that
/// time (a window between two slides).
pub struct DStream<T> {
    interval_ms: i64,
    step: Step<T>,
}

/// A sink at the end of a DStream: what [`StreamingContext::run`] drives.
pub struct OutputOp {
    step: Sink,
}

/// Entry point: the batch clock and the source stream.
#[derive(Clone, Copy, Debug)]
pub struct StreamingContext {
    clock: BatchClock,
}

impl StreamingContext {
    /// A context cutting batches with `clock`.
    pub fn new(clock: BatchClock) -> Self {
        StreamingContext { clock }
    }

    /// The input: each batch's events.
    pub fn stream(&self) -> DStream<Event> {
        DStream {
            interval_ms: self.clock.interval_ms(),
            step: Box::new(|_, events| Some(events.to_vec())),
        }
    }

    /// Runs `outputs` over `source` until it ends, then `drain` more empty batches (so
    /// that windows still holding the last batches are emitted). Returns the number of
    /// batches run.
    pub fn run(
        &self,
        mut source: Box<dyn Source>,
        mut outputs: Vec<OutputOp>,
        drain: u64,
    ) -> Result<u64, EngineError> {
        let interval = self.clock.interval_ms();
        let (bound, mut clock) = match self.clock {
            BatchClock::Wall { max_events, .. } => (
                max_events.max(1),
                Some(TriggerClock::new(Trigger::Interval(DurationMs(interval)))),
            ),
            BatchClock::Simulated {
                events_per_batch, ..
            } => (events_per_batch.max(1), None),
        };
        let mut planner = BatchPlanner::default();
        let mut batch: Vec<Event> = Vec::new();
        let mut id = 0u64;
        let mut left = drain;
        loop {
            if let Some(clock) = clock.as_mut() {
                clock.wait();
            }
            batch.clear();
            // A stopped source ends the stream as its end would (its windows are closed by
            // the wall clock, so what the drain emits is final).
            let ended = planner.ended() || planner.stopped();
            if !ended {
                // A simulated interval holds exactly its events: wait for them all.
                while planner.plan(source.as_mut(), &mut batch, bound)? == Availability::Drained
                    && clock.is_none()
                {}
            }
            let time_ms = match self.clock {
                BatchClock::Wall { .. } => processing_time_ms(),
                BatchClock::Simulated { start_ms, .. } => {
                    start_ms.saturating_add((id as i64 + 1).saturating_mul(interval))
                }
            };
            let at = BatchTime { id, time_ms };
            for op in outputs.iter_mut() {
                (op.step)(at, &batch);
            }
            id += 1;
            if ended && batch.is_empty() {
                if left == 0 {
                    break;
                }
                left -= 1;
            }
        }
        Ok(id)
    }
}

impl<T: 'static> DStream<T> {
    fn then<U: 'static>(
        self,
        mut g: impl FnMut(BatchTime, Vec<T>) -> Vec<U> + Send + 'static,
    ) -> DStream<U> {
        let mut step = self.step;
        DStream {
            interval_ms: self.interval_ms,
            step: Box::new(move |at, events| step(at, events).map(|batch| g(at, batch))),
        }
    }

    /// Applies `f` to every element.
    pub fn map<U: 'static>(self, mut f: impl FnMut(T) -> U + Send + 'static) -> DStream<U> {
        self.then(move |_, batch| batch.into_iter().map(&mut f).collect())
    }

    /// Keeps the elements for which `p` holds.
    pub fn filter(self, mut p: impl FnMut(&T) -> bool + Send + 'static) -> DStream<T> {
        self.then(move |_, mut batch| {
            batch.retain(|x| p(x));
            batch
        })
    }

    /// Replaces every element by the elements `f` gives.
    pub fn flat_map<U: 'static, I: IntoIterator<Item = U>>(
        self,
        mut f: impl FnMut(T) -> I + Send + 'static,
    ) -> DStream<U> {
        self.then(move |_, batch| batch.into_iter().flat_map(&mut f).collect())
    }

    /// Both streams' elements, batch by batch.
    pub fn union(self, other: DStream<T>) -> DStream<T> {
        let (mut a, mut b) = (self.step, other.step);
        DStream {
            interval_ms: self.interval_ms,
            step: Box::new(move |at, events| match (a(at, events), b(at, events)) {
                (None, None) => None,
                (x, y) => {
                    let mut out = x.unwrap_or_default();
                    out.extend(y.unwrap_or_default());
                    Some(out)
                }
            }),
        }
    }

    /// The elements of the last `length_ms` of batches, every `slide_ms` (both multiples
    /// of the batch interval): windows over batch (processing) time, as Spark's
    /// `window(windowLength, slideInterval)`.
    pub fn window(self, length_ms: i64, slide_ms: i64) -> Result<DStream<T>, DStreamError>
    where
        T: Clone + Send,
    {
        let interval = self.interval_ms;
        if length_ms <= 0 || slide_ms <= 0 || length_ms % interval != 0 || slide_ms % interval != 0
        {
            return Err(DStreamError::NotMultiple {
                length_ms,
                slide_ms,
                interval_ms: interval,
            });
        }
        let (length, slide) = (
            (length_ms / interval) as usize,
            (slide_ms / interval) as u64,
        );
        let mut step = self.step;
        let mut kept: VecDeque<Vec<T>> = VecDeque::with_capacity(length);
        Ok(DStream {
            interval_ms: interval,
            step: Box::new(move |at, events| {
                kept.push_back(step(at, events).unwrap_or_default());
                if kept.len() > length {
                    kept.pop_front();
                }
                ((at.id + 1) % slide == 0).then(|| kept.iter().flatten().cloned().collect())
            }),
        })
    }

    /// Runs `f` on every batch (Spark's `foreachRDD`): the end of a stream.
    pub fn foreach_batch(self, mut f: impl FnMut(BatchTime, &[T]) + Send + 'static) -> OutputOp {
        let mut step = self.step;
        OutputOp {
            step: Box::new(move |at, events| {
                if let Some(batch) = step(at, events) {
                    f(at, &batch)
                }
            }),
        }
    }
}

impl<K: Hash + Eq + 'static, V: 'static> DStream<(K, V)> {
    /// Combines the values of each key within each batch.
    pub fn reduce_by_key(self, mut r: impl FnMut(V, V) -> V + Send + 'static) -> DStream<(K, V)> {
        self.then(move |_, batch| {
            let mut acc: FxHashMap<K, V> = FxHashMap::default();
            for (k, v) in batch {
                match acc.remove(&k) {
                    Some(a) => acc.insert(k, r(a, v)),
                    None => acc.insert(k, v),
                };
            }
            acc.into_iter().collect()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::{Arc, Mutex};
    use streamlab_core::engine::VecSource;

    fn events(keys: &[u32]) -> Vec<Event> {
        keys.iter()
            .enumerate()
            .map(|(i, &key)| Event {
                seq: i as u64,
                time: i as i64,
                key,
                part: 0,
                fields: Default::default(),
            })
            .collect()
    }

    type Seen<T> = Arc<Mutex<Vec<(BatchTime, Vec<T>)>>>;

    fn collect<T: Clone + Send + 'static>(ds: DStream<T>) -> (OutputOp, Seen<T>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let out = seen.clone();
        let op = ds.foreach_batch(move |at, b| out.lock().unwrap().push((at, b.to_vec())));
        (op, seen)
    }

    fn simulated(per_batch: usize) -> StreamingContext {
        StreamingContext::new(BatchClock::Simulated {
            interval_ms: 100,
            events_per_batch: per_batch,
            start_ms: 1_000,
        })
    }

    #[test]
    fn map_filter_flat_map_and_union_work_batch_by_batch() {
        let ssc = simulated(3);
        let keys = ssc.stream().map(|e| e.key);
        let odd = ssc.stream().map(|e| e.key).filter(|k| k % 2 == 1);
        let doubled = odd.flat_map(|k| [k, k]);
        let (op, seen) = collect(keys.union(doubled));
        let batches = ssc
            .run(
                Box::new(VecSource::new(events(&[1, 2, 3, 4, 5]))),
                vec![op],
                0,
            )
            .unwrap();
        assert_eq!(batches, 3, "two batches with input, one that sees the end");
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].0.time_ms, 1_100);
        assert_eq!(seen[0].1, vec![1, 2, 3, 1, 1, 3, 3]);
        assert_eq!(seen[1].1, vec![4, 5, 5, 5]);
        assert!(seen[2].1.is_empty());
    }

    #[test]
    fn windows_group_batches_and_reduce_by_key_sums_per_batch() {
        // Batches of 2: {a,b} {a,a} {b,_}; windows of 2 batches sliding by 1.
        let ssc = simulated(2);
        let counts = ssc
            .stream()
            .map(|e| (e.key, 1u32))
            .window(200, 100)
            .unwrap()
            .reduce_by_key(|a, b| a + b);
        let (op, seen) = collect(counts);
        ssc.run(
            Box::new(VecSource::new(events(&[0, 1, 0, 0, 1]))),
            vec![op],
            1,
        )
        .unwrap();
        let seen = seen.lock().unwrap();
        let sorted = |i: usize| {
            let mut v = seen[i].1.clone();
            v.sort();
            v
        };
        assert_eq!(sorted(0), vec![(0, 1), (1, 1)]);
        assert_eq!(sorted(1), vec![(0, 3), (1, 1)]);
        assert_eq!(sorted(2), vec![(0, 2), (1, 1)]);
        assert_eq!(
            sorted(3),
            vec![(1, 1)],
            "the batch after the end: only {{b}}"
        );
        assert!(sorted(4).is_empty(), "drained");
    }

    #[test]
    fn a_wall_clock_fires_batches_on_the_interval_with_processing_times() {
        // Batches of at most 2 every 20 ms: {0,1} {2} then the end; batch times are the
        // processing times at the triggers, about 20 ms apart.
        let ssc = StreamingContext::new(BatchClock::Wall {
            interval_ms: 20,
            max_events: 2,
        });
        let (op, seen) = collect(ssc.stream().map(|e| e.key));
        let started = std::time::Instant::now();
        let before = processing_time_ms();
        ssc.run(Box::new(VecSource::new(events(&[5, 6, 7]))), vec![op], 0)
            .unwrap();
        assert!(started.elapsed() >= std::time::Duration::from_millis(20));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].1, vec![5, 6]);
        assert_eq!(seen[1].1, vec![7]);
        assert!(seen[0].0.time_ms >= before);
        assert!(seen[1].0.time_ms - seen[0].0.time_ms >= 15, "{seen:?}");
    }

    #[test]
    fn windows_must_be_multiples_of_the_interval() {
        let ssc = simulated(2);
        assert!(ssc.stream().window(150, 100).is_err());
        assert!(ssc.stream().window(200, 0).is_err());
        // A slide of 2 batches: no batch in between. Batches 0-3 hold the 8 events, batch
        // 4 finds the end, batch 5 is the last: its window (batches 4-5) is empty.
        let (op, seen) = collect(ssc.stream().map(|e| e.key).window(200, 200).unwrap());
        ssc.run(Box::new(VecSource::new(events(&[7; 8]))), vec![op], 0)
            .unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(
            seen.iter()
                .map(|(at, b)| (at.id, b.len()))
                .collect::<Vec<_>>(),
            vec![(1, 4), (3, 4), (5, 0)]
        );
    }
}
