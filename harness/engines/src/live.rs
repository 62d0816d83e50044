//! The micro-batch engine's batch log as the live view reads it (`--serve`): each call
//! hands over the batches logged since the last one.

use streamlab_measure::tap::{BatchFeed, BatchMark};
use streamlab_microbatch_engine::{BatchInfo, BatchLog};

/// A feed of `log`'s new batches.
pub fn batch_feed(log: BatchLog) -> BatchFeed {
    let mut seen = 0;
    Box::new(move || {
        let batches = log.since(seen);
        seen += batches.len();
        batches.iter().map(mark).collect()
    })
}

fn mark(b: &BatchInfo) -> BatchMark {
    BatchMark {
        id: b.id,
        events: b.input_rows as u64,
        late: b.late,
        rows: b.output_rows as u64,
        duration_ms: b.duration.as_secs_f64() * 1e3,
        watermark_ms: (b.watermark != i64::MIN && b.watermark != i64::MAX).then_some(b.watermark),
    }
}
