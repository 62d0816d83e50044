//! Result rows: what engines emit ([`OutRow`]), what is read back from output
//! ([`ResultRow`]), and the final answer a run's rows stand for under its [`OutputMode`]
//! ([`final_rows`]), following docs/semantics.md "Result rows" and "Output modes". The
//! JSON Lines text of a row is the [`RowFormat`](crate::row_format::RowFormat)'s, which
//! needs the plan; the printing of one value (`write_field`, `json_key`) is here, as
//! projections print their own rows with it.

use crate::model::event::KeyId;
use crate::model::value::{AggValue, FieldValue};
use crate::model::window::Window;
use crate::semantics::aggregate::AggValues;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When results are emitted and what is kept (docs/semantics.md, "Output modes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// Each (window, key) once, when its window closes.
    #[default]
    Append,
    /// Every changed (window, key) at each emission point.
    Update,
    /// The whole table at each emission point; nothing evicted, nothing late.
    Complete,
}

impl OutputMode {
    /// Whether rows of this mode carry an `emit` number.
    pub fn has_emit(self) -> bool {
        !matches!(self, OutputMode::Append)
    }
}

/// The columns of a windowed result row besides its group fields and aggregates, which
/// neither may be named.
pub const RESERVED_COLUMNS: [&str; 3] = ["window_start", "window_end", "emit"];

/// A row as an engine emits it: still with an interned key. Serializable so a dataflow
/// engine can move rows between workers and processes.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OutRow {
    /// The window.
    pub window: Window,
    /// Interned group key.
    pub key: KeyId,
    /// Aggregate values in plan order.
    pub values: AggValues,
    /// Emission point number (update and complete modes).
    pub emit: Option<u64>,
    /// Arrival `seq` of the event that made the row determinable, where the engine knows
    /// it (docs/measurement.md, "Latency"): update, the last event that changed the row;
    /// complete, the last event before the emission point. Append rows leave it `None`:
    /// the harness derives their trigger from the input, independently of the engine.
    pub trigger: Option<u64>,
}

/// `"name":` as JSON, after a comma unless it is the `first` member.
pub(crate) fn json_key(name: &str, first: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(&mut out, name).expect("writing to a Vec cannot fail");
    out.push(b':');
    out
}

/// Appends a group value as the JSON it came from.
pub(crate) fn write_field(v: &FieldValue, out: &mut Vec<u8>) {
    match v {
        FieldValue::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        FieldValue::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        FieldValue::Float(f) => AggValue::Float(*f).write_json(out),
        FieldValue::Str(s) => {
            serde_json::to_writer(&mut *out, s.as_ref()).expect("writing to a Vec cannot fail")
        }
    }
}

/// A result row read back from JSON, keyed by values rather than ids.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    /// The window.
    pub window: Window,
    /// Group-by values in plan order.
    pub group: Vec<FieldValue>,
    /// Aggregate values in plan order.
    pub values: Vec<AggValue>,
    /// Emission point number, when the mode has one.
    pub emit: Option<u64>,
}

impl ResultRow {
    /// The identity of the row: window and group values.
    pub fn id(&self) -> (Window, Vec<FieldValue>) {
        (self.window, self.group.clone())
    }
}

/// The final answer a run's output stands for, sorted by window then group values:
/// append, every row (duplicates kept, so they can be counted); update, the last row of
/// each (window, key), without sessions that later merged into a larger one; complete,
/// the rows of the last emission.
pub fn final_rows(rows: &[ResultRow], mode: OutputMode) -> Vec<ResultRow> {
    let mut out: Vec<ResultRow> = match mode {
        OutputMode::Append => rows.to_vec(),
        OutputMode::Update => {
            let mut last: BTreeMap<(Window, Vec<FieldValue>), &ResultRow> = BTreeMap::new();
            for r in rows {
                last.insert(r.id(), r);
            }
            drop_superseded_sessions(last.into_values().cloned().collect())
        }
        OutputMode::Complete => {
            let last_emit = rows.iter().filter_map(|r| r.emit).max();
            rows.iter()
                .filter(|r| r.emit == last_emit)
                .cloned()
                .collect()
        }
    };
    // Values break ties: a projection's rows share their (empty) window and may share
    // their text columns.
    out.sort_by(|a, b| {
        a.window
            .cmp(&b.window)
            .then_with(|| a.group.cmp(&b.group))
            .then_with(|| {
                let order = |x: &AggValue, y: &AggValue| match (x, y) {
                    (AggValue::Int(a), AggValue::Int(b)) => a.cmp(b),
                    (AggValue::Float(a), AggValue::Float(b)) => a.total_cmp(b),
                    (AggValue::Int(_), AggValue::Float(_)) => std::cmp::Ordering::Less,
                    (AggValue::Float(_), AggValue::Int(_)) => std::cmp::Ordering::Greater,
                };
                a.values
                    .iter()
                    .zip(&b.values)
                    .map(|(x, y)| order(x, y))
                    .find(|o| o.is_ne())
                    .unwrap_or(a.values.len().cmp(&b.values.len()))
            })
    });
    out
}

/// In update mode a session that later merged into a larger one leaves its last row
/// behind. Sessions only grow by merging, so such a row's window lies strictly inside a
/// window of the same key; fixed windows of one size never do, so this drops only those.
fn drop_superseded_sessions(mut rows: Vec<ResultRow>) -> Vec<ResultRow> {
    rows.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then(a.window.start.cmp(&b.window.start))
            .then(b.window.end.cmp(&a.window.end))
    });
    let mut kept = Vec::with_capacity(rows.len());
    let mut reach: Option<(Vec<FieldValue>, i64)> = None;
    for r in rows {
        let inside = matches!(&reach, Some((g, end)) if *g == r.group && *end >= r.window.end);
        match &mut reach {
            Some((g, end)) if *g == r.group => *end = (*end).max(r.window.end),
            _ => reach = Some((r.group.clone(), r.window.end)),
        }
        if !inside {
            kept.push(r);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(start: i64, key: &str, n: i64, emit: u64) -> ResultRow {
        ResultRow {
            window: Window {
                start,
                end: start + 10,
            },
            group: vec![FieldValue::Str(key.into())],
            values: vec![AggValue::Int(n)],
            emit: Some(emit),
        }
    }

    #[test]
    fn final_rows_follow_the_output_mode() {
        let rows = vec![row(0, "a", 1, 0), row(0, "b", 1, 0), row(0, "a", 2, 1)];
        let update = final_rows(&rows, OutputMode::Update);
        assert_eq!(update, vec![row(0, "a", 2, 1), row(0, "b", 1, 0)]);
        let complete = final_rows(&rows, OutputMode::Complete);
        assert_eq!(complete, vec![row(0, "a", 2, 1)]);
        assert_eq!(final_rows(&rows, OutputMode::Append).len(), 3);
    }

    #[test]
    fn update_mode_drops_sessions_that_merged_into_a_later_one() {
        let session = |start, end, key: &str, n| ResultRow {
            window: Window { start, end },
            ..row(start, key, n, 0)
        };
        let rows = vec![
            session(0, 10, "a", 1),
            session(16, 26, "a", 1),
            session(0, 26, "a", 3),
            session(3, 13, "b", 1),
            session(30, 40, "a", 1),
        ];
        let got = final_rows(&rows, OutputMode::Update);
        assert_eq!(
            got,
            vec![
                session(0, 26, "a", 3),
                session(3, 13, "b", 1),
                session(30, 40, "a", 1)
            ]
        );
        // Sliding windows overlap but never contain one another: all kept.
        let sliding = vec![session(0, 10, "a", 1), session(5, 15, "a", 1)];
        assert_eq!(final_rows(&sliding, OutputMode::Update).len(), 2);
    }
}
