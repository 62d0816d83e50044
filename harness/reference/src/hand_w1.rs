//! The hand-written W1 loop as an engine (`hand` in `streamlab bench`): what one thread
//! does on a tumbling count + sum per key when the code knows the query and nothing else.
//! The baseline answers any plan through core's generic window state; this loop keeps one
//! hash map of (count, sum) per open window and closes windows from the front, as one
//! would write W1 without an engine. It is the reference COST is measured against: the
//! workers an engine needs to match it. It answers W1's shape only and refuses the rest.

use rustc_hash::FxHashMap;
use smallvec::smallvec;
use std::collections::VecDeque;
use streamlab_core::engine::{EngineError, Job, Poll, RunSummary};
use streamlab_core::model::value::{AggValue, Scalar};
use streamlab_core::query::TimeDomain;
use streamlab_core::semantics::aggregate::AggFn;
use streamlab_core::{Engine, Event, KeyId, OutRow, OutputMode, Plan, Window, WindowSpec};

/// The `hand` engine: W1's loop by hand, one thread, the watermark after every event.
pub struct HandW1;

/// What the loop needs to know of a W1-shaped plan.
#[derive(Clone, Copy, Debug)]
struct Shape {
    size: i64,
    delay: i64,
    /// The summed field's slot.
    slot: usize,
    /// Whether the count is the first aggregate (else the sum is).
    count_first: bool,
}

impl HandW1 {
    /// Whether the loop answers `plan`: a tumbling event-time window in append mode with a
    /// count and a sum of one field, no filters, joins, tables or named inputs (W1's shape).
    pub fn accepts(plan: &Plan) -> Result<(), String> {
        Self::shape(plan).map(|_| ())
    }

    fn shape(plan: &Plan) -> Result<Shape, String> {
        let refuse = |why: &str| Err(format!("the hand loop answers W1's shape only: {why}"));
        let WindowSpec::Tumbling { size } = plan.window else {
            return refuse("not a tumbling window");
        };
        if plan.time != TimeDomain::Event || plan.mode != OutputMode::Append {
            return refuse("not event time in append mode");
        }
        if !plan.filters.is_empty()
            || !plan.inputs.is_empty()
            || plan.table.is_some()
            || plan.projection.is_some()
        {
            return refuse("filters, named inputs, tables or projections");
        }
        let aggs = &plan.aggregates;
        let (count_first, sum) = match aggs.as_slice() {
            [c, s] if c.func == AggFn::Count && s.func == AggFn::Sum => (true, s),
            [s, c] if c.func == AggFn::Count && s.func == AggFn::Sum => (false, s),
            _ => return refuse("the aggregates are not a count and a sum"),
        };
        let slot = sum.slot.ok_or("a sum without a field")?;
        Ok(Shape {
            size,
            delay: plan.delay_ms,
            slot,
            count_first,
        })
    }
}

/// Open windows by start, each with (count, sum) per key.
type OpenWindows = VecDeque<(i64, FxHashMap<KeyId, (i64, i64)>)>;

/// The loop's state.
struct Loop {
    shape: Shape,
    open: OpenWindows,
    max_time: Option<i64>,
    rows: Vec<OutRow>,
    late: u64,
}

impl Loop {
    #[inline]
    fn push(&mut self, e: &Event) -> Result<(), EngineError> {
        let Shape { size, delay, .. } = self.shape;
        let start = e.time.div_euclid(size) * size;
        let watermark = self.max_time.map_or(i64::MIN, |m| m.saturating_sub(delay));
        if start.saturating_add(size) > watermark {
            let open = &mut self.open;
            let i = match open.iter().rposition(|(s, _)| *s <= start) {
                Some(i) if open[i].0 == start => i,
                found => {
                    let at = found.map_or(0, |i| i + 1);
                    open.insert(at, (start, FxHashMap::default()));
                    at
                }
            };
            let value = match e.fields[self.shape.slot] {
                Scalar::Int(v) => v,
                _ => {
                    return Err(EngineError::Internal(
                        "the hand loop sums integers only".into(),
                    ))
                }
            };
            let row = open[i].1.entry(e.key).or_insert((0, 0));
            row.0 += 1;
            row.1 = row.1.checked_add(value).ok_or_else(|| {
                EngineError::Internal("the hand loop's sum left the 64-bit range".into())
            })?;
        } else {
            self.late += 1;
        }
        let max_time = self.max_time.map_or(e.time, |m| m.max(e.time));
        self.max_time = Some(max_time);
        let watermark = max_time.saturating_sub(delay);
        while self
            .open
            .front()
            .is_some_and(|(s, _)| s.saturating_add(size) <= watermark)
        {
            self.close_front();
        }
        Ok(())
    }

    /// Emits the rows of the earliest open window, in key order.
    fn close_front(&mut self) {
        let Some((start, keys)) = self.open.pop_front() else {
            return;
        };
        let window = Window {
            start,
            end: start.saturating_add(self.shape.size),
        };
        let mut keys: Vec<_> = keys.into_iter().collect();
        keys.sort_unstable_by_key(|(k, _)| *k);
        for (key, (count, sum)) in keys {
            let (count, sum) = (AggValue::Int(count), AggValue::Int(sum));
            self.rows.push(OutRow {
                window,
                key,
                values: if self.shape.count_first {
                    smallvec![count, sum]
                } else {
                    smallvec![sum, count]
                },
                emit: None,
                trigger: None,
            });
        }
    }
}

impl Engine for HandW1 {
    fn name(&self) -> &'static str {
        "hand"
    }

    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        let Job {
            plan,
            mut source,
            mut sink,
            ..
        } = job;
        let shape = Self::shape(plan).map_err(EngineError::Internal)?;
        if source.partitions() != 1 {
            return Err(EngineError::Internal(
                "the hand loop reads one source partition".into(),
            ));
        }
        let started = std::time::Instant::now();
        let mut lp = Loop {
            shape,
            open: VecDeque::new(),
            max_time: None,
            rows: Vec::new(),
            late: 0,
        };
        let mut summary = RunSummary {
            engine: self.name().into(),
            workers: 1,
            ..Default::default()
        };
        let mut buf = Vec::with_capacity(1024);
        loop {
            buf.clear();
            let status = source.poll(&mut buf, 1024)?;
            for e in &buf {
                lp.push(e)?;
            }
            summary.events_in += buf.len() as u64;
            if !lp.rows.is_empty() {
                summary.rows_out += lp.rows.len() as u64;
                summary.emissions += 1;
                sink.emit(&lp.rows)?;
                lp.rows.clear();
            }
            if status == Poll::End {
                break;
            }
        }
        while !lp.open.is_empty() {
            lp.close_front();
        }
        summary.rows_out += lp.rows.len() as u64;
        sink.emit(&lp.rows)?;
        sink.finish()?;
        summary.late_dropped = lp.late;
        Ok(summary.timed(started.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
    use super::*;
    use crate::Oracle;
    use std::collections::BTreeMap;
    use streamlab_core::engine::{CollectSink, RunOptions, VecSource};
    use streamlab_core::semantics::aggregate::AggValues;

    fn w1_as(mode: &str, window: &str) -> Plan {
        Plan::from_toml(&format!(
            "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
             [watermark]\ndelay = \"5s\"\n[window]\n{window}\n\
             [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
             [[aggregate]]\nfn = \"sum\"\nfield = \"value\"\nas = \"total\"\n"
        ))
        .unwrap()
    }

    fn w1() -> Plan {
        w1_as("append", "kind = \"tumbling\"\nsize = \"10s\"")
    }

    fn stream(late: bool) -> Vec<Event> {
        (0..50_000u64)
            .map(|i| Event {
                seq: i,
                // 2 ms apart, up to 1.8 s out of order; every 37th event 20 s late
                // (beyond the 5 s delay) when `late`.
                time: i as i64 * 2
                    - if late && i % 37 == 0 {
                        20_000
                    } else {
                        (i % 7) as i64 * 300
                    },
                key: (i * 7_919 % 500) as KeyId,
                part: 0,
                fields: smallvec![Scalar::Int((i % 100) as i64)],
            })
            .collect()
    }

    fn run(engine: &dyn Engine, plan: &Plan, events: &[Event]) -> (Vec<OutRow>, RunSummary) {
        let sink = CollectSink::default();
        let summary = engine
            .run(
                plan,
                &RunOptions::default(),
                Box::new(VecSource::new(events.to_vec())),
                Box::new(sink.clone()),
            )
            .unwrap();
        (sink.rows(), summary)
    }

    fn by_window_and_key(rows: Vec<OutRow>) -> BTreeMap<(Window, KeyId), AggValues> {
        rows.into_iter()
            .map(|r| ((r.window, r.key), r.values))
            .collect()
    }

    /// On a disordered stream, the hand loop's rows are the oracle's; with late events,
    /// the baseline's (the same per-record watermark), late drops included.
    #[test]
    fn the_hand_loop_answers_w1_as_the_oracle_and_the_baseline() {
        let plan = w1();
        assert_eq!(plan.slots.len(), 1);
        let events = stream(false);
        let (rows, summary) = run(&HandW1, &plan, &events);
        let (exact, _) = Oracle::answer(&plan, &events).unwrap();
        assert_eq!(summary.late_dropped, 0);
        assert_eq!(rows.len(), exact.len(), "one row per (window, key)");
        assert_eq!(by_window_and_key(rows), by_window_and_key(exact));

        let events = stream(true);
        let (rows, summary) = run(&HandW1, &plan, &events);
        let (base, base_summary) = run(&crate::Baseline, &plan, &events);
        assert!(summary.late_dropped > 1_000, "{summary:?}");
        assert_eq!(summary.late_dropped, base_summary.late_dropped);
        assert_eq!(rows.len(), base.len());
        assert_eq!(by_window_and_key(rows), by_window_and_key(base));
    }

    #[test]
    fn other_shapes_are_refused() {
        let sliding = w1_as(
            "append",
            "kind = \"sliding\"\nsize = \"10s\"\nslide = \"5s\"",
        );
        let why = HandW1::accepts(&sliding).unwrap_err();
        assert!(why.contains("tumbling"), "{why}");
        let update = w1_as("update", "kind = \"tumbling\"\nsize = \"10s\"");
        assert!(HandW1::accepts(&update).is_err());
        assert!(HandW1::accepts(&w1()).is_ok());
    }
}
