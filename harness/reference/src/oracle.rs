//! The oracle: the exact answer, computed over the whole input at once.
//!
//! It assigns every valid, unfiltered event to its windows by **event time**, drops
//! nothing and aggregates. Fixed windows are folded into core's
//! [`FixedWindows`](streamlab_core::semantics::window_state::FixedWindows), as every
//! engine folds them, with nothing late and everything closed at the end (that store is
//! checked against a plain table by its own proptest). Sessions deliberately are not: the
//! oracle finds them by sorting each key's events and sweeping, not with the engines'
//! incremental merging (core's `SessionSet`), so that a bug in merging shows up as a
//! difference instead of being shared.

use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use streamlab_core::engine::{Engine, EngineError, Job, Poll, RunSummary};
use streamlab_core::semantics::watermark::{MAX_WATERMARK, MIN_WATERMARK};
use streamlab_core::semantics::window_state::FixedWindows;
use streamlab_core::{Accs, Event, KeyId, OutRow, Plan, Window, WindowSpec};

/// The reference engine (`--engine oracle`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Oracle;

impl Oracle {
    /// The exact final rows for `events` (already decoded), sorted by window then key id;
    /// for a multi-stage query, the last stage's table as inserts (each later stage
    /// evaluated over its whole input: [`crate::stages`]). Events removed by the plan's
    /// filters are skipped; the count of those is returned.
    pub fn answer(plan: &Plan, events: &[Event]) -> Result<(Vec<OutRow>, u64), EngineError> {
        let (rows, filtered) = Oracle::first_stage(plan, events)?;
        match &plan.stages {
            Some(stages) => Ok((crate::stages::answer(stages, rows), filtered)),
            None => Ok((rows, filtered)),
        }
    }

    /// The first stage's exact final rows.
    fn first_stage(plan: &Plan, events: &[Event]) -> Result<(Vec<OutRow>, u64), EngineError> {
        if let Some(join) = plan.projection.as_ref().and_then(|p| p.join()) {
            // A regular join: all of each input, grouped by key, then every pair of each
            // key (not the engines' probe-as-they-arrive state).
            let p = plan.projection.as_ref().expect("a join is a projection");
            let mut by_key: BTreeMap<KeyId, [Vec<&Event>; 2]> = BTreeMap::new();
            let mut filtered = 0u64;
            for e in events {
                if p.keeps(&plan.filters, e) {
                    by_key.entry(e.key).or_default()[usize::from(e.part.min(1))].push(e);
                } else {
                    filtered += 1;
                }
            }
            let mut rows = Vec::new();
            for (key, [first, second]) in &by_key {
                for a in first {
                    for b in second {
                        rows.push(join.pair(&join.half(a), &join.half(b), *key));
                    }
                }
            }
            return Ok((rows, filtered));
        }
        if let Some(p) = &plan.projection {
            // No window: every kept event is a row of its own, in arrival order.
            let rows: Vec<OutRow> = events
                .iter()
                .filter(|e| p.keeps(&plan.filters, e))
                .map(|e| p.row(e))
                .collect();
            let filtered = (events.len() - rows.len()) as u64;
            return Ok((rows, filtered));
        }
        if plan.event_time_field().is_none() {
            return Err(EngineError::Internal(
                "the oracle computes the exact event-time answer and needs `event_time` in the query"
                    .into(),
            ));
        }
        let mut filtered = 0u64;
        let kept: Vec<&Event> = events
            .iter()
            .filter(|e| {
                let pass = plan.filters.iter().all(|p| p.holds(e.fields[p.slot]));
                filtered += u64::from(!pass);
                pass
            })
            .collect();
        let last_seq = kept.iter().map(|e| e.seq).max();
        let mut table: BTreeMap<(Window, KeyId), Accs> = BTreeMap::new();
        match plan.window {
            WindowSpec::Session { gap } => {
                let mut by_key: FxHashMap<KeyId, Vec<&Event>> = FxHashMap::default();
                for e in &kept {
                    by_key.entry(e.key).or_default().push(e);
                }
                for (key, mut evs) in by_key {
                    evs.sort_by_key(|e| (e.time, e.seq));
                    let mut current: Option<(Window, Accs)> = None;
                    for e in evs {
                        match current.as_mut() {
                            Some((w, accs)) if e.time < w.end => {
                                w.end = w.end.max(e.time.saturating_add(gap));
                                accs.update(&plan.accumulators, e);
                            }
                            _ => {
                                if let Some((w, accs)) = current.take() {
                                    table.insert((w, key), accs);
                                }
                                let w = Window {
                                    start: e.time,
                                    end: e.time.saturating_add(gap),
                                };
                                current = Some((w, Accs::of(&plan.accumulators, e)));
                            }
                        }
                    }
                    if let Some((w, accs)) = current {
                        table.insert((w, key), accs);
                    }
                }
            }
            spec => {
                let aggs = &plan.accumulators;
                let mut fixed = FixedWindows::new();
                for e in &kept {
                    let new = || Accs::new(aggs);
                    fixed.fold(spec, e.time, e.key, MIN_WATERMARK, new, |_, accs| {
                        accs.update(aggs, e)
                    });
                }
                for closed in fixed.drain_closed(MAX_WATERMARK) {
                    let window = closed.window;
                    table.extend(closed.rows.into_iter().map(|(k, a)| ((window, k), a)));
                }
            }
        }
        let emit = plan.mode.has_emit().then_some(0);
        // A (window, key) makes a row as core's rule says (a window join: only where
        // every input has an event).
        let rows = table
            .into_iter()
            .filter_map(|((window, key), accs)| {
                Some(OutRow {
                    window,
                    key,
                    values: plan.row_rule.values(&accs)?,
                    emit,
                    trigger: last_seq,
                })
            })
            .collect();
        Ok((rows, filtered))
    }
}

impl Engine for Oracle {
    fn name(&self) -> &'static str {
        "oracle"
    }

    fn runs_stages(&self) -> bool {
        true
    }

    fn execute(&self, job: Job<'_>) -> Result<RunSummary, EngineError> {
        let Job {
            plan,
            mut source,
            mut sink,
            ..
        } = job;
        let started = std::time::Instant::now();
        let mut events = Vec::new();
        let status = loop {
            match source.poll(&mut events, 1 << 16)? {
                s @ (Poll::End | Poll::Stopped) => break s,
                Poll::Ready | Poll::Pending => {}
            }
        };
        if status == Poll::Stopped {
            // The oracle's answer is over the whole input: stopped before its end, it has
            // no row it could call final.
            sink.finish()?;
            return Ok(RunSummary {
                engine: self.name().into(),
                events_in: events.len() as u64,
                workers: 1,
                notes: vec!["stopped before the input ended: the oracle answers over a whole input, so it wrote no rows".into()],
                ..Default::default()
            }
            .timed(started.elapsed()));
        }
        let (rows, filtered) = Oracle::answer(plan, &events)?;
        sink.emit(&rows)?;
        sink.finish()?;
        Ok(RunSummary {
            engine: self.name().into(),
            events_in: events.len() as u64,
            filtered,
            rows_out: rows.len() as u64,
            workers: 1,
            emissions: 1,
            ..Default::default()
        }
        .timed(started.elapsed()))
    }
}
