#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! Checkpoints written before the integer sum counted its overflows still load: a sum
//! accumulator is read from the old bincode layout, and one that never wrapped is still
//! written in it.

use streamlab_core::semantics::aggregate::Acc;

/// `Acc::Sum { int: 7, float: 0.5, any_float: true }` as bincode wrote it before: variant
/// 1 (u32), int (i64), float (f64), any_float (u8), little endian.
fn old_sum_bytes() -> Vec<u8> {
    let mut b = 1u32.to_le_bytes().to_vec();
    b.extend_from_slice(&7i64.to_le_bytes());
    b.extend_from_slice(&0.5f64.to_le_bytes());
    b.push(1);
    b
}

#[test]
fn an_old_sum_accumulator_loads_and_a_sum_in_range_is_written_as_before() {
    let acc: Acc = bincode::deserialize(&old_sum_bytes()).unwrap();
    let want = Acc::Sum {
        int: 7,
        wraps: 0,
        float: 0.5,
        any_float: true,
    };
    assert_eq!(acc, want);
    assert_eq!(bincode::serialize(&want).unwrap(), old_sum_bytes());
}

#[test]
fn a_wrapped_sum_round_trips_and_other_accumulators_keep_their_layout() {
    let wrapped = Acc::Sum {
        int: i64::MIN,
        wraps: 1,
        float: 0.0,
        any_float: false,
    };
    let bytes = bincode::serialize(&wrapped).unwrap();
    // A variant after the six old ones: a build before it refuses the file, never misreads.
    assert_eq!(bytes[..4], 6u32.to_le_bytes());
    assert_eq!(bincode::deserialize::<Acc>(&bytes).unwrap(), wrapped);
    let mut count = 0u32.to_le_bytes().to_vec();
    count.extend_from_slice(&3i64.to_le_bytes());
    assert_eq!(bincode::serialize(&Acc::Count(3)).unwrap(), count);
    assert_eq!(bincode::deserialize::<Acc>(&count).unwrap(), Acc::Count(3));
}
