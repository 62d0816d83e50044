//! The exchange of a batch run on several partitions (Spark's shuffle, in memory): the
//! map side splits the batch into ranges, decides for each event of a range whether it
//! passes the filters and which partition owns it, and leaves the range's events in one
//! bucket per owner; the reduce side of partition `r` then reads bucket `r` of range 0,
//! 1, 2, ... in order, so every key sees its events in arrival order, exactly as when
//! each partition scanned the whole batch for its keys.
//!
//! - **Ranges are claimed, not assigned.** Every partition's thread, the driver's
//!   included, takes the next unmapped range (an atomic counter) until none is left,
//!   then waits until every range is mapped, then reduces its own partition. A helper
//!   that starts while the driver is still planning the next batch maps most ranges;
//!   which thread maps a range does not matter, only the range's place in the batch.
//! - **Buckets hold positions, not events.** The batch is shared by every partition
//!   (behind an `Arc`), so a bucket is a list of `u32` offsets into its range: the
//!   exchange writes 4 bytes per event and copies no event. The reduce side reads each
//!   of its events from the shared batch once more (the map side read its key, time and
//!   filtered fields first), in ascending order within a range.
//! - **No map-side combine.** Partial aggregates per (window, key) would cost a hash
//!   lookup per event on the map side, the lookup the reduce side's fold does anyway,
//!   and they are exact only for some aggregates (a float sum depends on the order of its
//!   additions); shipping positions is cheaper and exact for every query.
//!
//! Who owns an event and whether it passes ([`Owners`], [`admits`]) is the same rule a
//! partition scanning the whole batch applies ([`crate::exec::Partition::run`]): a
//! windowed query or a regular join by the key's
//! [`partition_of`](streamlab_core::model::key_hash::partition_of), a projection (no
//! state) by arrival `seq` modulo the partitions.

use crate::exec::PartOutput;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use streamlab_core::model::key_hash::partition_of;
use streamlab_core::{Event, Plan};

/// Most events in one map range, so a range's offsets fit in a `u32` and large batches
/// still split into many ranges.
const MAX_RANGE: usize = 1 << 16;

/// Fewest events in one map range (but a smaller batch is one range): claiming a range
/// and its buckets cost about as much as bucketing a few hundred events. The crate's own
/// tests use ranges of a few events, so that their small batches cross many ranges.
const MIN_RANGE: usize = if cfg!(test) { 4 } else { 2_048 };

/// Ranges per partition in a large batch: enough for the threads to even out when one
/// starts late (the driver plans the next batch first), few enough to cost nothing.
const RANGES_PER_PARTITION: usize = 4;

/// How long a partition waiting for the last ranges spins (yielding) before it sleeps.
const SPIN: Duration = Duration::from_micros(200);

/// Which of `n` partitions owns an event: by key for state kept per key (windows,
/// sessions, a regular join's sides), by arrival `seq` for a projection, which keeps none
/// (its events spread evenly whatever their keys).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owners {
    n: usize,
    by_seq: bool,
}

impl Owners {
    /// The owners of `plan`'s events among `n` partitions.
    pub fn of(plan: &Plan, n: usize) -> Self {
        Owners {
            n: n.max(1),
            by_seq: plan.projection.as_ref().is_some_and(|p| p.join().is_none()),
        }
    }

    /// The partition that owns `e`.
    #[inline]
    pub fn owner(&self, e: &Event) -> usize {
        if self.n == 1 {
            0
        } else if self.by_seq {
            (e.seq % self.n as u64) as usize
        } else {
            partition_of(e.key, self.n)
        }
    }
}

/// Whether `e` passes the plan's filters; counts it in `out.filtered` if not. An
/// aggregated event that passes feeds the next watermark (`out.maxima`); a projection's
/// or a join's does not (their watermark never moves).
#[inline]
pub fn admits(plan: &Plan, e: &Event, out: &mut PartOutput) -> bool {
    let keeps = match &plan.projection {
        Some(p) => p.keeps(&plan.filters, e),
        None => plan.filters.iter().all(|p| p.holds(e.fields[p.slot])),
    };
    if !keeps {
        out.filtered += 1;
    } else if plan.projection.is_none() {
        out.maxima.observe(e.part, e.time);
    }
    keeps
}

/// One batch's exchange between `n` partitions.
#[derive(Debug)]
pub struct Exchange {
    n: usize,
    len: usize,
    range: usize,
    /// The next range to claim.
    next: AtomicUsize,
    /// Ranges mapped so far.
    mapped: AtomicUsize,
    /// A partition failed while mapping: the ranges will never all be mapped.
    failed: AtomicBool,
    /// Per range, one bucket of offsets per partition, once mapped.
    buckets: Vec<OnceLock<Vec<Vec<u32>>>>,
}

/// The map side stopped: a partition failed while mapping its ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("another partition failed while mapping the batch")]
pub struct MapFailed;

impl Exchange {
    /// The exchange of a batch of `len` events between `n` partitions.
    pub fn new(n: usize, len: usize) -> Self {
        let n = n.max(1);
        let range = len
            .div_ceil(n * RANGES_PER_PARTITION)
            .clamp(MIN_RANGE, MAX_RANGE);
        let ranges = len.div_ceil(range);
        Exchange {
            n,
            len,
            range,
            next: AtomicUsize::new(0),
            mapped: AtomicUsize::new(0),
            failed: AtomicBool::new(false),
            buckets: (0..ranges).map(|_| OnceLock::new()).collect(),
        }
    }

    /// Number of map ranges.
    pub fn ranges(&self) -> usize {
        self.buckets.len()
    }

    /// The map side: maps ranges of `events` until none is left unclaimed, counting what
    /// the filters remove and the event-time maxima in `out`.
    pub fn map(&self, plan: &Plan, events: &[Event], out: &mut PartOutput) {
        debug_assert_eq!(
            events.len(),
            self.len,
            "the batch the exchange was made for"
        );
        // Should mapping panic, the others must stop waiting for this range.
        struct Failing<'a>(&'a AtomicBool);
        impl Drop for Failing<'_> {
            fn drop(&mut self) {
                if std::thread::panicking() {
                    self.0.store(true, Ordering::Release);
                }
            }
        }
        let _failing = Failing(&self.failed);
        let owners = Owners::of(plan, self.n);
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = self.buckets.get(i) else {
                return;
            };
            let start = i * self.range;
            let share = &events[start..(start + self.range).min(events.len())];
            let expected = share.len() / self.n;
            let mut buckets: Vec<Vec<u32>> = (0..self.n)
                .map(|_| Vec::with_capacity(expected + expected / 2 + 8))
                .collect();
            for (offset, e) in share.iter().enumerate() {
                let to = owners.owner(e);
                if admits(plan, e, out) {
                    buckets[to].push(offset as u32);
                }
            }
            slot.set(buckets).expect("a range is claimed once");
            self.mapped.fetch_add(1, Ordering::Release);
        }
    }

    /// Waits until every range is mapped (by any partition).
    pub fn wait(&self) -> Result<(), MapFailed> {
        let started = Instant::now();
        while self.mapped.load(Ordering::Acquire) < self.ranges() {
            if self.failed.load(Ordering::Acquire) {
                return Err(MapFailed);
            }
            if started.elapsed() < SPIN {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
        Ok(())
    }

    /// The reduce side's input: partition `me`'s events of `events`, range by range, each
    /// in arrival order (after [`Self::wait`]).
    pub fn share<'e>(&'e self, me: usize, events: &'e [Event]) -> impl Iterator<Item = &'e Event> {
        self.buckets.iter().enumerate().flat_map(move |(i, slot)| {
            let base = i * self.range;
            let bucket: &[u32] = slot.get().map_or(&[], |b| &b[me]);
            bucket
                .iter()
                .map(move |&offset| &events[base + offset as usize])
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_splits_into_ranges_of_bounded_size() {
        assert_eq!(Exchange::new(2, 0).ranges(), 0);
        assert_eq!(Exchange::new(2, 1).ranges(), 1);
        assert_eq!(Exchange::new(2, MIN_RANGE + 1).ranges(), 2);
        assert_eq!(Exchange::new(2, 100_000).ranges(), 8, "4 per partition");
        let huge = Exchange::new(2, 10_000_000);
        assert_eq!(huge.range, MAX_RANGE);
        assert!(u32::try_from(huge.range).is_ok());
    }
}
