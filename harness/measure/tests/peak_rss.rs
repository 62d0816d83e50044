#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The run's own peak RSS (`metrics::reset_peak_rss`, Linux `clear_refs`): a test file of
//! its own, so no other test's threads allocate or free while it reads the process's
//! resident size.

use streamlab_measure::metrics;

#[test]
fn the_peak_after_a_reset_leaves_out_what_was_freed_before() {
    let Some(start) = metrics::reset_peak_rss() else {
        return; // not Linux: the run's peak is then the process's
    };
    // Touch 200 MB, free it, reset: the peak is back near the current size; touch
    // 50 MB more and the peak shows those, not the 200.
    let big = vec![1u8; 200 << 20];
    assert_eq!(std::hint::black_box(&big)[12345], 1);
    drop(big);
    let hwm = metrics::peak_rss_since_reset().unwrap();
    assert!(hwm >= start + (190 << 20), "{start} {hwm}");
    let now = metrics::reset_peak_rss().unwrap();
    let small = vec![1u8; 50 << 20];
    assert_eq!(std::hint::black_box(&small)[12345], 1);
    let peak = metrics::peak_rss_since_reset().unwrap();
    assert!(peak >= now + (45 << 20) && peak < hwm, "{now} {peak} {hwm}");
}
