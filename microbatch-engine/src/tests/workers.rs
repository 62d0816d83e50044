//! The answer does not depend on the number of partitions or on how they share out a
//! batch: random streams with disorder, late events, several keys, a filter and a float
//! sum, in every window kind and output mode, on 1 to 4 partitions.
//! - Through the exchange (map ranges, buckets by owner, reduce) each partition gives
//!   exactly the rows, in the order, of the same partition scanning the whole batch for
//!   its keys (the engine's way before the exchange), with every summary figure and every
//!   batch's watermarks and late count equal; float values are compared bit for bit.
//! - On 1, 2 and 4 partitions each batch emits the same rows (in partition order, so
//!   compared sorted within the batch), drops the same late events and moves the
//!   watermarks the same way.
//!
//! Under test, a map range is a few events (see `exchange`), so small batches already
//! cross many ranges.

use super::*;
use crate::pool::Split;
use proptest::prelude::*;

/// count, float sum and int max per (window, key), with a filter on `v`.
fn float_plan(window: &str, mode: &str, delay: i64) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
         [watermark]\ndelay = {delay}\n[window]\n{window}\n\
         [[filter]]\nfield = \"v\"\nop = \"lt\"\nvalue = 90\n\
         [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
         [[aggregate]]\nfn = \"sum\"\nfield = \"x\"\nas = \"total\"\n\
         [[aggregate]]\nfn = \"max\"\nfield = \"v\"\nas = \"top\"\n"
    ))
    .unwrap()
}

/// One event: key index, event time, `v` (filtered at 90 and above), `x` (summed).
type Item = (u8, i64, i64, f64);

fn decode_items(plan: &Plan, items: &[Item]) -> Vec<Event> {
    let mut d = Decoder::new(plan);
    items
        .iter()
        .enumerate()
        .map(|(i, (k, t, v, x))| {
            d.decode(
                &format!("{{\"ts\":{t},\"key\":\"k{k}\",\"v\":{v},\"x\":{x:?}}}"),
                i as u64,
            )
            .unwrap()
        })
        .collect()
}

/// One batch as the log has it: id, offsets, rows, late count and watermarks.
type LoggedBatch = (u64, Option<(u64, u64)>, usize, u64, i64, i64);

/// What a run gives, in full: every row as emitted (floats by their bits, through
/// `Debug`), the summary's figures, and per batch its id, offsets, rows, late count and
/// watermarks.
#[derive(Debug, PartialEq)]
struct Answer {
    rows: Vec<String>,
    figures: (u64, u64, u64, u64, u64),
    batches: Vec<LoggedBatch>,
}

fn answer(plan: &Plan, events: &[Event], batch: usize, workers: usize, split: Split) -> Answer {
    let log = BatchLog::default();
    let sink = CollectSink::default();
    let summary = MicrobatchEngine::new(super::batch(batch))
        .with_batch_log(log.clone())
        .with_split(split)
        .run(
            plan,
            &RunOptions {
                workers: Some(workers),
                ..Default::default()
            },
            Box::new(VecSource::new(events.to_vec())),
            Box::new(sink.clone()),
        )
        .unwrap();
    Answer {
        rows: sink.rows().iter().map(|r| format!("{r:?}")).collect(),
        figures: (
            summary.events_in,
            summary.late_dropped,
            summary.filtered,
            summary.rows_out,
            summary.emissions,
        ),
        batches: log
            .batches()
            .iter()
            .map(|b| {
                (
                    b.id,
                    b.offsets,
                    b.output_rows,
                    b.late,
                    b.late_bound,
                    b.watermark,
                )
            })
            .collect(),
    }
}

/// The rows of each batch, sorted within it (partitions emit one after another).
fn rows_by_batch(a: &Answer) -> Vec<Vec<String>> {
    let mut rows = a.rows.iter();
    a.batches
        .iter()
        .map(|b| {
            let mut batch: Vec<String> = rows.by_ref().take(b.2).cloned().collect();
            batch.sort();
            batch
        })
        .collect()
}

/// Streams over up to `keys` keys, time mostly rising by 0..3 per event; one event in
/// about eight goes back up to 400 (late unless batches are long), floats of any sign.
fn items(len: usize) -> impl Strategy<Value = Vec<Item>> {
    (
        1u8..12,
        prop::collection::vec(
            (
                any::<u8>(),
                0i64..4,
                0u8..8,
                0i64..400,
                0i64..100,
                -1e6f64..1e6,
            ),
            0..len,
        ),
    )
        .prop_map(|(keys, raw)| {
            let mut t = 1_000i64;
            raw.into_iter()
                .map(|(k, step, dice, back, v, x)| {
                    t += step;
                    let time = if dice == 0 { t - back } else { t };
                    (k % keys, time, v, x)
                })
                .collect()
        })
}

const WINDOWS: [&str; 3] = [TUMBLING, SLIDING, SESSION];
const MODES: [&str; 3] = ["append", "update", "complete"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_exchange_answers_as_every_partition_scanning_the_batch(
        items in items(400),
        window in 0usize..3,
        mode in 0usize..3,
        delay in 0i64..20,
        batch in 1usize..120,
    ) {
        let plan = float_plan(WINDOWS[window], MODES[mode], delay);
        let events = decode_items(&plan, &items);
        for workers in [2usize, 3, 4] {
            let scanned = answer(&plan, &events, batch, workers, Split::ScanWholeBatch);
            let exchanged = answer(&plan, &events, batch, workers, Split::Exchange);
            prop_assert_eq!(exchanged, scanned, "{} workers", workers);
        }
    }

    #[test]
    fn one_two_and_four_workers_give_each_batch_the_same_rows(
        items in items(400),
        window in 0usize..3,
        mode in 0usize..3,
        delay in 0i64..20,
        batch in 1usize..120,
    ) {
        let plan = float_plan(WINDOWS[window], MODES[mode], delay);
        let events = decode_items(&plan, &items);
        let one = answer(&plan, &events, batch, 1, Split::Exchange);
        for workers in [2usize, 4] {
            let more = answer(&plan, &events, batch, workers, Split::Exchange);
            prop_assert_eq!(&more.figures, &one.figures, "{} workers", workers);
            prop_assert_eq!(&more.batches, &one.batches, "{} workers", workers);
            prop_assert_eq!(rows_by_batch(&more), rows_by_batch(&one), "{} workers", workers);
        }
    }
}

#[test]
fn the_streams_have_late_and_filtered_events_and_several_ranges_per_batch() {
    // The generator's streams exercise what the properties are about: a fixed one of
    // them drops late events, filters some and spans several map ranges per batch.
    let plan = float_plan(TUMBLING, "append", 0);
    let items: Vec<Item> = (0..300i64)
        .map(|i| {
            let back = if i % 8 == 0 { 250 } else { 0 };
            (
                (i % 7) as u8,
                1_000 + 2 * i - back,
                (i * 37) % 100,
                i as f64 * 0.1,
            )
        })
        .collect();
    let events = decode_items(&plan, &items);
    let a = answer(&plan, &events, 50, 2, Split::Exchange);
    let (_, late, filtered, _, _) = a.figures;
    assert!(late > 0, "late events: {:?}", a.figures);
    assert!(filtered > 0, "filtered events: {:?}", a.figures);
    assert!(crate::exchange::Exchange::new(2, 50).ranges() > 1);
    assert_eq!(a, answer(&plan, &events, 50, 2, Split::ScanWholeBatch));
}
