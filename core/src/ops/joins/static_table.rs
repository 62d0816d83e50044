//! The stream-static join (`[[join]] kind = "static"`): every event is enriched with the
//! row of a fixed table whose `on` column equals the event's `on` field, as the Yahoo
//! Streaming Benchmark joins ad events with the campaign table. Inner join: an event with
//! no row is dropped (counted with the filtered events).
//!
//! The join is a lookup with no state and no timing, the same work in every execution
//! model, so it runs where lines become events: the JSON Lines decoder (`streamlab_io::json_lines`) reads the
//! table's columns as if they were fields of the line (a query may group, filter and
//! aggregate by them). Its cost is in decoding, which measurements keep out of engine
//! throughput like JSON parsing; the oracle sees the same joined events.

use crate::model::value::FieldValue;
use rustc_hash::FxHashMap;

/// The table of a stream-static join, indexed by its `on` column. Two values join when
/// they are equal as written: strings with strings, integers with integers (`7` and `"7"`
/// do not). Lookups take the event's value as it is, without allocating.
#[derive(Debug, Default)]
pub struct StaticTable {
    on: String,
    columns: Vec<String>,
    rows: Vec<Vec<FieldValue>>,
    by_str: FxHashMap<Box<str>, usize>,
    by_int: FxHashMap<i64, usize>,
}

impl StaticTable {
    /// A table with `columns` (one of them `on`) and `rows` of as many values each.
    /// Fails when `on` is not a column, a row has another length, an `on` value is not a
    /// string or an integer, or two rows share one (which row would an event get?).
    pub fn new(
        on: &str,
        columns: Vec<String>,
        rows: Vec<Vec<FieldValue>>,
    ) -> Result<StaticTable, String> {
        let at = columns
            .iter()
            .position(|c| c == on)
            .ok_or_else(|| format!("the table has no column `{on}` to join on"))?;
        let (mut by_str, mut by_int) = (FxHashMap::default(), FxHashMap::default());
        for (i, row) in rows.iter().enumerate() {
            if row.len() != columns.len() {
                return Err(format!(
                    "row {} has {} values, the header {}",
                    i + 1,
                    row.len(),
                    columns.len()
                ));
            }
            let first = match &row[at] {
                FieldValue::Str(s) => by_str.insert(s.clone(), i).is_none(),
                FieldValue::Int(v) => by_int.insert(*v, i).is_none(),
                other => {
                    return Err(format!(
                        "row {}: `{on}` must be a string or an integer, found {other:?}",
                        i + 1
                    ))
                }
            };
            if !first {
                return Err(format!(
                    "row {}: a second row for the same `{on}` value",
                    i + 1
                ));
            }
        }
        Ok(StaticTable {
            on: on.to_owned(),
            columns,
            rows,
            by_str,
            by_int,
        })
    }

    /// The column joined on.
    pub fn on(&self) -> &str {
        &self.on
    }

    /// Column names, in row order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Index of column `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The row joined to an event whose `on` field is the string `key`.
    #[inline]
    pub fn row_for_str(&self, key: &str) -> Option<&[FieldValue]> {
        self.by_str.get(key).map(|&i| self.rows[i].as_slice())
    }

    /// The row joined to an event whose `on` field is the integer `key`.
    #[inline]
    pub fn row_for_int(&self, key: i64) -> Option<&[FieldValue]> {
        self.by_int.get(&key).map(|&i| self.rows[i].as_slice())
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> FieldValue {
        FieldValue::Str(v.into())
    }

    #[test]
    fn rows_are_found_by_their_on_value_and_bad_tables_say_why() {
        let cols = vec!["ad_id".to_string(), "campaign_id".to_string()];
        let t = StaticTable::new(
            "ad_id",
            cols.clone(),
            vec![vec![s("a1"), s("c1")], vec![s("a2"), s("c1")]],
        )
        .unwrap();
        assert_eq!(t.len(), 2);
        assert!(matches!(t.row_for_str("a2"), Some([_, FieldValue::Str(c)]) if &**c == "c1"));
        assert!(t.row_for_str("a3").is_none());
        assert!(t.row_for_int(1).is_none());
        let ints = StaticTable::new(
            "ad_id",
            cols.clone(),
            vec![vec![FieldValue::Int(7), s("c7")]],
        )
        .unwrap();
        assert!(
            ints.row_for_int(7).is_some() && ints.row_for_str("7").is_none(),
            "7 is not \"7\""
        );
        let no_col = StaticTable::new("ad", cols.clone(), vec![]).unwrap_err();
        assert!(no_col.contains("no column `ad`"), "{no_col}");
        let dup = StaticTable::new(
            "ad_id",
            cols.clone(),
            vec![vec![s("a"), s("c")], vec![s("a"), s("d")]],
        );
        assert!(dup.unwrap_err().contains("row 2: a second row"));
        let short = StaticTable::new("ad_id", cols, vec![vec![s("a")]]).unwrap_err();
        assert!(short.contains("row 1 has 1 values"), "{short}");
    }
}
