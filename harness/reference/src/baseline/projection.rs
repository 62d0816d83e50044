//! The baseline's loop for a query without windows: filter, map, emit, nothing kept; a
//! regular join keeps every event in one [`JoinState`] and emits each pair as it forms.

use streamlab_core::engine::{EngineError, Poll, RunSummary, Sink, Source};
use streamlab_core::ops::joins::regular::JoinState;
use streamlab_core::ops::projection::Projection;
use streamlab_core::{Event, OutRow, Plan};

/// Events read per poll, and so the most rows per emission.
const CHUNK: usize = 4096;

/// Runs projection `p` of `plan`: each polled chunk's rows go to the sink together.
pub(super) fn run(
    plan: &Plan,
    p: &Projection,
    mut source: Box<dyn Source>,
    mut sink: Box<dyn Sink>,
) -> Result<RunSummary, EngineError> {
    let started = std::time::Instant::now();
    let mut summary = RunSummary {
        engine: "baseline".into(),
        workers: 1,
        ..Default::default()
    };
    let mut buf: Vec<Event> = Vec::with_capacity(CHUNK);
    let mut rows: Vec<OutRow> = Vec::with_capacity(CHUNK);
    let mut join = p.join().map(|j| (j, JoinState::default()));
    loop {
        buf.clear();
        let status = source.poll(&mut buf, CHUNK)?;
        let mut kept = 0;
        for e in &buf {
            if p.keeps(&plan.filters, e) {
                kept += 1;
                match &mut join {
                    Some((columns, state)) => state.arrive(columns, e, &mut rows),
                    None => rows.push(p.row(e)),
                }
            }
        }
        summary.events_in += buf.len() as u64;
        summary.filtered += (buf.len() - kept) as u64;
        if !rows.is_empty() {
            summary.rows_out += rows.len() as u64;
            summary.emissions += 1;
            sink.emit(&rows)?;
            rows.clear();
        }
        // Stopped: every row of a projection is final when it is emitted.
        if matches!(status, Poll::End | Poll::Stopped) {
            break;
        }
    }
    sink.finish()?;
    if let Some((_, state)) = &join {
        summary.notes.push(join_state_note(state));
    }
    Ok(summary.timed(started.elapsed()))
}

/// What a regular join kept at the end (it keeps everything: the state is the input).
pub(crate) fn join_state_note(state: &JoinState) -> String {
    let [a, b] = state.kept();
    format!(
        "regular join state: {a} + {b} events kept under {} keys (a regular join evicts nothing)",
        state.keys()
    )
}
