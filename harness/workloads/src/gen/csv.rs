//! `streamlab gen --format csv`: the same events as CSV, as Spark's and Flink's file
//! sources read them: a header line naming the columns (the fields of the workload's
//! events, in their order), then one row per line, each value written so that the lab's CSV reader
//! (docs/semantics.md, "Input formats") gives it back with its JSON type: numbers and
//! booleans bare, strings bare unless they would read as something else (a number, a
//! boolean, empty) or hold a comma, a quote or a line break, then quoted.
//!
//! A malformed line (`--malformed`) stays malformed: a blank one blank, any other one
//! (not an object, or with a field that is not a column) a single quoted column (the
//! wrong column count), and one that lacks fields or has one of the wrong type gives
//! the same row with those columns empty or typed alike.

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::io::{self, Write};

/// A writer of JSON Lines that writes them as CSV rows of `columns` to `out` (the header
/// line first).
pub struct CsvLines<W: Write> {
    out: W,
    pending: Vec<u8>,
    columns: Vec<String>,
    header_written: bool,
    row: Vec<u8>,
}

impl<W: Write> CsvLines<W> {
    /// Converts the lines written to it into CSV rows of `columns` on `out`.
    pub fn new(out: W, columns: Vec<String>) -> CsvLines<W> {
        CsvLines {
            out,
            pending: Vec::new(),
            columns,
            header_written: false,
            row: Vec::new(),
        }
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            let mut header = Vec::new();
            for (i, n) in self.columns.iter().enumerate() {
                if i > 0 {
                    header.push(b',');
                }
                text(&mut header, n);
            }
            header.push(b'\n');
            self.out.write_all(&header)?;
        }
        Ok(())
    }

    /// Writes one JSON line as a CSV row.
    fn line(&mut self, line: &[u8]) -> io::Result<()> {
        self.header()?;
        self.row.clear();
        match fields(line) {
            None if line.iter().all(u8::is_ascii_whitespace) => {}
            // Not an object of these columns (a malformed line): one column, still
            // malformed.
            Some(fields) if fields.iter().all(|(n, _)| self.columns.contains(n)) => {
                for (i, c) in self.columns.iter().enumerate() {
                    if i > 0 {
                        self.row.push(b',');
                    }
                    if let Some((_, v)) = fields.iter().rev().find(|(n, _)| n == c) {
                        value(&mut self.row, v);
                    }
                }
            }
            _ => quoted(&mut self.row, &String::from_utf8_lossy(line)),
        }
        self.row.push(b'\n');
        self.out.write_all(&self.row)
    }
}

/// The fields of a JSON line in the order written (a flat object), for the header.
pub fn field_names(line: &[u8]) -> Option<Vec<String>> {
    Some(fields(line)?.into_iter().map(|(n, _)| n).collect())
}

impl<W: Write> Write for CsvLines<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        let mut start = 0;
        while let Some(end) = memchr_newline(&self.pending[start..]) {
            let line = self.pending[start..start + end].to_vec();
            self.line(&line)?;
            start += end + 1;
        }
        self.pending.drain(..start);
        Ok(buf.len())
    }

    /// Writes a last line without a newline too (and the header of an empty file).
    fn flush(&mut self) -> io::Result<()> {
        self.header()?;
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(&line)?;
        }
        self.out.flush()
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

/// A flat JSON object's fields in the order written, or `None` for anything else.
fn fields(line: &[u8]) -> Option<Vec<(String, Value)>> {
    struct Ordered;
    impl<'de> Visitor<'de> for Ordered {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(line);
    let fields = de.deserialize_map(Ordered).ok()?;
    de.end().ok()?;
    Some(fields)
}

/// A JSON value as a CSV column.
fn value(row: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => {}
        Value::Bool(b) => row.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => row.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => text(row, s),
        nested => quoted(row, &nested.to_string()),
    }
}

/// A string column: bare when the reader gives it back as this string, else quoted.
fn text(row: &mut Vec<u8>, s: &str) {
    let special = s.is_empty()
        || s == "true"
        || s == "false"
        || s.starts_with(|c: char| c == '-' || c.is_ascii_digit())
        || s.contains([',', '"', '\n', '\r'])
        || s.ends_with('\r');
    if special {
        quoted(row, s);
    } else {
        row.extend_from_slice(s.as_bytes());
    }
}

/// `s` quoted (RFC 4180: a quote doubled).
fn quoted(row: &mut Vec<u8>, s: &str) {
    row.push(b'"');
    for b in s.bytes() {
        if b == b'"' {
            row.push(b'"');
        }
        row.push(b);
    }
    row.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(json: &str) -> String {
        let columns = ["ts", "key", "v", "ok"].map(String::from).to_vec();
        let mut w = CsvLines::new(Vec::new(), columns);
        w.write_all(json.as_bytes()).expect("in memory");
        w.flush().expect("in memory");
        String::from_utf8(w.out).expect("UTF-8")
    }

    #[test]
    fn rows_give_each_column_its_value_typed_as_in_json() {
        assert_eq!(
            csv("{\"ts\":1,\"key\":\"k1\",\"v\":2.5,\"ok\":true}\n\n{\"key\":\"1\",\"ts\":2,\"v\":-3,\"ok\":false}\nnot json\n{\"note\":1}\n{\"ts\":3,\"key\":\"a,\\\"b\\\"\"}"),
            "ts,key,v,ok\n1,k1,2.5,true\n\n2,\"1\",-3,false\n\"not json\"\n\"{\"\"note\"\":1}\"\n3,\"a,\"\"b\"\"\",,\n"
        );
        assert_eq!(csv(""), "ts,key,v,ok\n");
    }
}
