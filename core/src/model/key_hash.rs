//! The key hash: which worker or partition owns a group key. One hash of the interned
//! [`KeyId`], with the two reductions to a worker index the engines use; both engines
//! shard their keyed state by it, so a key's rows are always computed in one place.
//!
//! Key ids are dense (`0, 1, 2, ...` in first-seen order), so the hash multiplies by a
//! 64-bit odd constant (Fibonacci hashing) and keeps the high 32 bits: consecutive ids
//! spread evenly over any number of workers.
//!
//! - [`worker_of`]: `key_hash % n`, the reduction timely's `Exchange` applies to a hash
//!   (it masks with `n - 1` when `n` is a power of two, which is the same). The record
//!   engine exchanges events by [`key_hash`] and must route and restore rows the same way.
//! - [`partition_of`]: `key_hash * n >> 32`, a multiply-shift over the 32-bit hash (no
//!   division). The micro-batch engine's partitions own keys by it.
//!
//! The two give different owners for one key: each engine must keep to its own, since
//! its checkpoints store state per worker or partition. Changing either changes which
//! worker holds which key (and the order of rows from several workers), not the answer.

use crate::model::event::KeyId;

/// The hash of an interned key: a multiplicative hash of the id, in `0..2^32`.
#[inline]
pub fn key_hash(key: KeyId) -> u64 {
    u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

/// The worker among `workers` that owns `key` by the modulo reduction (the record
/// engine's: the worker timely's `Exchange` sends [`key_hash`] to).
#[inline]
pub fn worker_of(key: KeyId, workers: u64) -> u64 {
    key_hash(key) % workers
}

/// The partition among `n` that owns `key` by the multiply-shift reduction (the
/// micro-batch engine's), so that keys interned in any pattern spread evenly.
#[inline]
pub fn partition_of(key: KeyId, n: usize) -> usize {
    ((key_hash(key) * n as u64) >> 32) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_reduction_is_the_one_the_engines_had() {
        for key in (0..5_000u32).chain([u32::MAX - 1, u32::MAX]) {
            let record_engine = u64::from(key).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
            assert_eq!(key_hash(key), record_engine);
            for n in 1..=8usize {
                assert_eq!(worker_of(key, n as u64), record_engine % n as u64);
                let h = (key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
                assert_eq!(partition_of(key, n), ((h * n as u64) >> 32) as usize);
            }
        }
    }

    #[test]
    fn partitions_spread_dense_keys_evenly() {
        for n in [1, 2, 3, 4] {
            let mut count = vec![0usize; n];
            for k in 0..10_000u32 {
                let p = partition_of(k, n);
                assert!(p < n);
                count[p] += 1;
            }
            let (lo, hi) = (
                *count.iter().min().expect("n > 0"),
                *count.iter().max().expect("n > 0"),
            );
            assert!(hi - lo < 10_000 / n / 10, "{n} partitions: {count:?}");
        }
    }
}
