//! The JSON Lines text of result rows: [`RowFormat`] prints a plan's rows (`window_start`,
//! `window_end`, group fields, aggregates, then `emit` in update and complete modes; a
//! projection's own columns), and [`ResultRow::parse`] reads them back. Both need the
//! plan's column names, so they sit above the query layer; the rows themselves are
//! [`crate::semantics::row`]'s.

use crate::model::event::KeyTable;
use crate::model::value::{AggValue, FieldValue};
use crate::model::window::Window;
use crate::ops::projection::Projection;
use crate::query::Plan;
use crate::semantics::row::{json_key, write_field, OutRow, ResultRow};

/// Prints [`OutRow`]s as JSON objects: `window_start`, `window_end`, group fields,
/// aggregates, then `emit` for update and complete modes.
pub struct RowFormat {
    /// A multi-stage query prints its last stage's columns and each row's `op`.
    stages: Option<crate::ops::stages::schema::Schema>,
    /// A projection prints its own columns.
    projection: Option<Projection>,
    prefixes_group: Vec<Vec<u8>>,
    prefixes_agg: Vec<Vec<u8>>,
    with_emit: bool,
}

impl RowFormat {
    /// The format for a plan's rows.
    pub fn new(plan: &Plan) -> RowFormat {
        RowFormat {
            stages: plan.stages.as_ref().map(|s| s.output().clone()),
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
        if let Some(s) = &self.stages {
            return s.write(&row.values, key, strings, out);
        }
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
                // A later stage's row without text columns has no key of its own.
                let key = table.get(row.key as usize).map_or(&[][..], |k| &k[..]);
                self.write(row, key, strings, out);
            }
        })
    }
}

impl ResultRow {
    /// Reads one JSON result line for `plan`; the error says which column is wrong.
    pub fn parse(line: &str, plan: &Plan) -> Result<ResultRow, String> {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
        let obj = v.as_object().ok_or("not a JSON object")?;
        if let Some(s) = &plan.stages {
            return s.output().parse_row(obj);
        }
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
}
