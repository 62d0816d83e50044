//! Result rows: what engines emit ([`OutRow`]), how they are printed as JSON Lines
//! ([`RowFormat`]), read back ([`ResultRow`]) and reduced to the final answer a run
//! stands for ([`final_rows`]), following semantics.md "Result rows" and "Output modes".

use crate::aggregate::AggValues;
use crate::event::{KeyId, KeyTable};
use crate::query::{OutputMode, Plan};
use crate::value::{AggValue, FieldValue};
use crate::window::Window;
use std::collections::BTreeMap;

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
    /// it (measurement.md, "Latency"): update, the last event that changed the row;
    /// complete, the last event before the emission point. Append rows leave it `None`:
    /// the harness derives their trigger from the input, independently of the engine.
    pub trigger: Option<u64>,
}

/// Prints [`OutRow`]s as JSON objects: `window_start`, `window_end`, group fields,
/// aggregates, then `emit` for update and complete modes.
pub struct RowFormat {
    /// A projection prints its own columns.
    projection: Option<crate::projection::Projection>,
    prefixes_group: Vec<Vec<u8>>,
    prefixes_agg: Vec<Vec<u8>>,
    with_emit: bool,
}

pub(crate) fn json_key(name: &str, first: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if !first {
        out.push(b',');
    }
    serde_json::to_writer(&mut out, name).expect("writing to a Vec cannot fail");
    out.push(b':');
    out
}

impl RowFormat {
    /// The format for a plan's rows.
    pub fn new(plan: &Plan) -> RowFormat {
        RowFormat {
            projection: plan.projection.clone(),
            prefixes_group: plan.group_by().iter().map(|g| json_key(g, false)).collect(),
            prefixes_agg: plan
                .aggregates
                .iter()
                .map(|a| json_key(&a.name, false))
                .collect(),
            with_emit: plan.mode.has_emit(),
        }
    }

    /// Appends one row and a newline to `out`; `strings` are the decoder's interned
    /// strings (only the rows of a regular join refer to them).
    pub fn write(&self, row: &OutRow, key: &[FieldValue], strings: &[Box<str>], out: &mut Vec<u8>) {
        if let Some(p) = &self.projection {
            return p.write(row, key, strings, out);
        }
        out.extend_from_slice(b"{\"window_start\":");
        out.extend_from_slice(itoa::Buffer::new().format(row.window.start).as_bytes());
        out.extend_from_slice(b",\"window_end\":");
        out.extend_from_slice(itoa::Buffer::new().format(row.window.end).as_bytes());
        for (prefix, v) in self.prefixes_group.iter().zip(key) {
            out.extend_from_slice(prefix);
            write_field(v, out);
        }
        for (prefix, v) in self.prefixes_agg.iter().zip(&row.values) {
            out.extend_from_slice(prefix);
            v.write_json(out);
        }
        if self.with_emit {
            out.extend_from_slice(b",\"emit\":");
            out.extend_from_slice(itoa::Buffer::new().format(row.emit.unwrap_or(0)).as_bytes());
        }
        out.extend_from_slice(b"}\n");
    }

    /// Appends many rows, looking keys up under one lock.
    pub fn write_all(&self, rows: &[OutRow], keys: &KeyTable, out: &mut Vec<u8>) {
        keys.read_all(|table, strings| {
            for row in rows {
                self.write(row, &table[row.key as usize], strings, out);
            }
        })
    }
}

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

    /// Reads one JSON result line for `plan`; the error says which column is wrong.
    pub fn parse(line: &str, plan: &Plan) -> Result<ResultRow, String> {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v.as_object().ok_or("not a JSON object")?;
        if let Some(p) = &plan.projection {
            return p.parse_row(obj);
        }
        let int = |name: &str| -> Result<i64, String> {
            obj.get(name)
                .and_then(|v| v.as_i64())
                .ok_or_else(|| format!("`{name}` missing or not an integer"))
        };
        let window = Window {
            start: int("window_start")?,
            end: int("window_end")?,
        };
        let group = plan
            .group_by()
            .iter()
            .map(|g| {
                obj.get(g)
                    .and_then(FieldValue::from_json)
                    .ok_or_else(|| format!("group field `{g}` missing or not a scalar"))
            })
            .collect::<Result<_, _>>()?;
        let values = plan
            .aggregates
            .iter()
            .map(|a| match obj.get(&a.name) {
                Some(serde_json::Value::Number(n)) => Ok(match n.as_i64() {
                    Some(i) => AggValue::Int(i),
                    None => AggValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                }),
                Some(serde_json::Value::Null) => Ok(AggValue::Float(f64::NAN)),
                _ => Err(format!("aggregate `{}` missing or not a number", a.name)),
            })
            .collect::<Result<_, _>>()?;
        let emit = match obj.get("emit") {
            None => None,
            Some(e) => Some(e.as_u64().ok_or("`emit` is not a non-negative integer")?),
        };
        Ok(ResultRow {
            window,
            group,
            values,
            emit,
        })
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
    use smallvec::smallvec;

    fn plan(mode: &str) -> Plan {
        Plan::from_toml(&format!(
            r#"
event_time = "ts"
group_by = ["key"]
output_mode = "{mode}"
[window]
kind = "tumbling"
size = 10
[[aggregate]]
fn = "count"
as = "n"
[[aggregate]]
fn = "avg"
field = "v"
as = "mean"
"#
        ))
        .unwrap()
    }

    #[test]
    fn rows_print_in_the_documented_shape_and_read_back() {
        let plan = plan("update");
        let row = OutRow {
            window: Window { start: -10, end: 0 },
            key: 0,
            values: smallvec![AggValue::Int(2), AggValue::Float(1.5)],
            emit: Some(3),
            trigger: None,
        };
        let mut out = Vec::new();
        RowFormat::new(&plan).write(&row, &[FieldValue::Str("a\"b".into())], &[], &mut out);
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "{\"window_start\":-10,\"window_end\":0,\"key\":\"a\\\"b\",\"n\":2,\"mean\":1.5,\"emit\":3}\n"
        );
        let back = ResultRow::parse(line.trim_end(), &plan).unwrap();
        assert_eq!(back.group, vec![FieldValue::Str("a\"b".into())]);
        assert_eq!(back.emit, Some(3));
        assert!(ResultRow::parse("{\"window_start\":1}", &plan)
            .unwrap_err()
            .contains("window_end"));
    }

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
