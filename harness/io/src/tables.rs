//! Loading the table of a stream-static join (`[[join]] kind = "static"`): a CSV file with
//! a header line, or JSON Lines (one object per row; the first row's keys are the
//! columns). CSV cells are read as integers, floats or booleans when they are written as
//! such, else as strings; JSON values keep their types.

use anyhow::{bail, Context, Result};
use std::path::Path;
use streamlab_core::model::value::FieldValue;
use streamlab_core::ops::joins::static_table::StaticTable;
use streamlab_core::Plan;

/// Reads and compiles a query file and loads its join table (relative to the file).
pub fn load_plan(query: &Path) -> Result<Plan> {
    let plan = Plan::from_file(query)?;
    with_join_table(plan, query.parent().unwrap_or(Path::new(".")))
}

/// Loads the join table of `plan`, if it has a join; `base` resolves a relative path.
pub fn with_join_table(plan: Plan, base: &Path) -> Result<Plan> {
    let Some((table, on)) = plan
        .static_join()
        .map(|(t, o)| (t.to_owned(), o.to_owned()))
    else {
        return Ok(plan);
    };
    let path = base.join(&table);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the join table {}", path.display()))?;
    let (columns, rows) = if path
        .extension()
        .is_some_and(|e| e == "jsonl" || e == "json")
    {
        jsonl_rows(&text)
    } else {
        csv_rows(&text)
    }
    .with_context(|| format!("join table {}", path.display()))?;
    indexed(
        plan,
        &on,
        columns,
        rows,
        &format!("join table {}", path.display()),
    )
}

/// The plan with the table of `rows` indexed by `on`; errors name the table as `what`.
fn indexed(
    plan: Plan,
    on: &str,
    columns: Vec<String>,
    rows: Vec<Vec<FieldValue>>,
    what: &str,
) -> Result<Plan> {
    let table = StaticTable::new(on, columns, rows).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
    Ok(plan.with_table(table)?)
}

/// The plan with a join table given as CSV text (a header line, then rows), named `what`
/// in errors: a table made in memory, as the YSB generator makes its campaigns.
pub fn with_csv_table(plan: Plan, csv: &str, what: &str) -> Result<Plan> {
    let Some(on) = plan.static_join().map(|(_, on)| on.to_owned()) else {
        return Ok(plan);
    };
    let (columns, rows) = csv_rows(csv)?;
    indexed(plan, &on, columns, rows, what)
}

fn csv_cell(cell: &str) -> FieldValue {
    if let Ok(v) = cell.parse::<i64>() {
        FieldValue::Int(v)
    } else if let Ok(v) =
        cell.parse::<f64>()
            .map_err(drop)
            .and_then(|v| if v.is_finite() { Ok(v) } else { Err(()) })
    {
        FieldValue::Float(v)
    } else if cell == "true" || cell == "false" {
        FieldValue::Bool(cell == "true")
    } else {
        FieldValue::Str(cell.into())
    }
}

fn csv_rows(text: &str) -> Result<(Vec<String>, Vec<Vec<FieldValue>>)> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .context("reading the header line")?
        .iter()
        .map(String::from)
        .collect();
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {}", i + 1))?;
        rows.push(record.iter().map(csv_cell).collect());
    }
    Ok((columns, rows))
}

fn jsonl_rows(text: &str) -> Result<(Vec<String>, Vec<Vec<FieldValue>>)> {
    let mut columns: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
            .with_context(|| format!("line {}: not a JSON object", i + 1))?;
        let cols = columns.get_or_insert_with(|| value.keys().cloned().collect());
        let mut row = Vec::with_capacity(cols.len());
        for c in cols.iter() {
            row.push(match value.get(c) {
                Some(serde_json::Value::String(s)) => FieldValue::Str(s.as_str().into()),
                Some(serde_json::Value::Bool(b)) => FieldValue::Bool(*b),
                Some(serde_json::Value::Number(n)) => match n.as_i64() {
                    Some(v) => FieldValue::Int(v),
                    None => FieldValue::Float(n.as_f64().unwrap_or(f64::NAN)),
                },
                _ => bail!("line {}: `{c}` must be a string, number or boolean", i + 1),
            });
        }
        if value.len() != cols.len() {
            bail!(
                "line {}: every row must have the columns of the first",
                i + 1
            );
        }
        rows.push(row);
    }
    Ok((columns.unwrap_or_default(), rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_and_jsonl_tables_load_with_their_types() {
        let (cols, rows) = csv_rows("ad_id,campaign_id,bid\na1,c1,3\na2,c1,2.5\n").unwrap();
        assert_eq!(cols, ["ad_id", "campaign_id", "bid"]);
        assert!(matches!(rows[0][2], FieldValue::Int(3)));
        assert!(matches!(rows[1][2], FieldValue::Float(v) if v == 2.5));
        let (cols, rows) = jsonl_rows("{\"ad\":7,\"c\":\"x\"}\n{\"ad\":8,\"c\":\"y\"}\n").unwrap();
        assert_eq!(cols, ["ad", "c"]);
        assert!(matches!(rows[1][0], FieldValue::Int(8)));
        assert!(jsonl_rows("{\"ad\":7}\n{\"ad\":8,\"c\":1}\n").is_err());
        assert!(csv_rows("a,b\n1\n").is_err(), "a short row");
    }

    #[test]
    fn a_missing_or_unfit_table_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("streamlab-tables-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let q =
            "event_time = \"ts\"\ngroup_by = [\"c\"]\n[window]\nkind = \"tumbling\"\nsize = 5\n\
                 [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
                 [[join]]\nkind = \"static\"\ntable = \"t.csv\"\non = \"ad\"\n";
        let plan = || Plan::from_toml(q).unwrap();
        let err = with_join_table(plan(), &dir).unwrap_err().to_string();
        assert!(
            err.contains("cannot read the join table") && err.contains("t.csv"),
            "{err}"
        );
        std::fs::write(dir.join("t.csv"), "id,c\n1,x\n").unwrap();
        let err = format!("{:#}", with_join_table(plan(), &dir).unwrap_err());
        assert!(err.contains("no column `ad`"), "{err}");
        std::fs::write(dir.join("t.csv"), "ad,c\n1,x\n2,y\n").unwrap();
        let loaded = with_join_table(plan(), &dir).unwrap();
        assert_eq!(loaded.table.as_ref().map(|t| t.0.len()), Some(2));
        std::fs::remove_dir_all(&dir).ok();
    }
}
