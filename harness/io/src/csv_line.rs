//! Reading one CSV line (`format = "csv"`, docs/semantics.md "Input formats"): its columns
//! that a layout names, each typed as the JSON reader's value would be, as Spark's and
//! Flink's file sources read the same events.
//!
//! A column's text is read as: empty: the field is absent; `true` / `false`: a boolean;
//! a JSON number (`-12`, `2.5`, `1e3`; no `+`, no leading zero, no spaces): the number JSON
//! gives it (an integer, or a float for `-0`, fractions, exponents and integers past
//! `u64`); anything else: a string, as written. A quoted field (RFC 4180: `"a,b"`,
//! `"say ""hi"""`) is always a string, `""` the empty one. One trailing `\r` is dropped.
//! A line whose column count differs from the header's (or the declared list's), a quote
//! inside an unquoted field, text after a closing quote or an unclosed quote make the
//! line malformed ([`Malformed::NotCsv`]).
//!
//! Unquoted lines are split by a byte scan; a line with a quote goes through the RFC 4180
//! state machine below (csv-core cannot tell a quoted `"12"`, a string, from `12`).

use crate::json_lines::{json_number, Found, Raw};
use std::borrow::Cow;
use streamlab_core::model::event::Malformed;

/// Which of a layout's fields each column is (`None`: a column the query does not read).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Columns {
    of_column: Vec<Option<usize>>,
}

impl Columns {
    /// The columns named `header`, for a layout reading `names`. Fails on an empty or a
    /// repeated column name.
    pub(crate) fn new(header: &[impl AsRef<str>], names: &[Box<str>]) -> Result<Columns, String> {
        for (i, h) in header.iter().enumerate() {
            let h = h.as_ref();
            if h.is_empty() {
                return Err(format!("CSV column {} has no name", i + 1));
            }
            if header[..i].iter().any(|o| o.as_ref() == h) {
                return Err(format!("CSV column `{h}` is named twice"));
            }
        }
        Ok(Columns {
            of_column: header
                .iter()
                .map(|h| names.iter().position(|n| **n == *h.as_ref()))
                .collect(),
        })
    }

    /// Reads into `found` (the caller's, so that nothing is moved on the way back) the
    /// fields of `line` that `names` lists (`None` where absent or empty), or says why the
    /// line is not a CSV record of these columns.
    pub(crate) fn read_fields<'l>(
        &self,
        names: usize,
        line: &'l str,
        found: &mut Found<'l>,
    ) -> Result<(), Malformed> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        found.clear();
        found.extend((0..names).map(|_| None));
        let mut column = 0;
        let mut put = |text: Field<'l>| {
            if let Some(Some(at)) = self.of_column.get(column) {
                found[*at] = text.value();
            }
            column += 1;
        };
        let bytes = line.as_bytes();
        if memchr::memchr(b'"', bytes).is_none() {
            let mut start = 0;
            for comma in memchr::memchr_iter(b',', bytes) {
                put(Field::Plain(&line[start..comma]));
                start = comma + 1;
            }
            put(Field::Plain(&line[start..]));
        } else {
            split_quoted(line, &mut put)?;
        }
        if column != self.of_column.len() {
            return Err(Malformed::NotCsv(format!(
                "{column} columns, not the {} of the header",
                self.of_column.len()
            )));
        }
        Ok(())
    }
}

/// A header line's column names.
pub(crate) fn header(line: &str) -> Result<Vec<String>, String> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut names = Vec::new();
    let mut put = |f: Field<'_>| {
        names.push(match f {
            Field::Plain(t) => t.to_owned(),
            Field::Quoted(t) => t.into_owned(),
        })
    };
    if memchr::memchr(b'"', line.as_bytes()).is_none() {
        line.split(',').for_each(|t| put(Field::Plain(t)));
    } else {
        split_quoted(line, &mut put).map_err(|e| format!("the CSV header is {e}"))?;
    }
    Ok(names)
}

/// One column's text: as written, or the content of a quoted field.
enum Field<'l> {
    Plain(&'l str),
    Quoted(Cow<'l, str>),
}

impl<'l> Field<'l> {
    /// The value the column gives its field (`None`: absent).
    fn value(self) -> Option<Raw<'l>> {
        match self {
            Field::Quoted(s) => Some(Raw::Str(s)),
            Field::Plain("") => None,
            Field::Plain("true") => Some(Raw::Bool(true)),
            Field::Plain("false") => Some(Raw::Bool(false)),
            Field::Plain(t) => Some(
                match t.as_bytes()[0] {
                    b'-' | b'0'..=b'9' => json_number(t),
                    _ => None,
                }
                .unwrap_or(Raw::Str(Cow::Borrowed(t))),
            ),
        }
    }
}

/// Splits a line with quotes into its fields (RFC 4180, within one line).
fn split_quoted<'l>(line: &'l str, put: &mut impl FnMut(Field<'l>)) -> Result<(), Malformed> {
    let bad = |why: String| Err(Malformed::NotCsv(why));
    let bytes = line.as_bytes();
    let (mut at, mut column) = (0, 1);
    loop {
        if bytes.get(at) == Some(&b'"') {
            // A quoted field: up to the quote not doubled.
            let start = at + 1;
            let mut owned: Option<String> = None;
            let mut from = start;
            at = start;
            loop {
                match memchr::memchr(b'"', &bytes[at..]) {
                    None => return bad(format!("column {column} has an unclosed quote")),
                    Some(q) if bytes.get(at + q + 1) == Some(&b'"') => {
                        owned
                            .get_or_insert_with(String::new)
                            .push_str(&line[from..at + q + 1]);
                        at += q + 2;
                        from = at;
                    }
                    Some(q) => {
                        at += q;
                        break;
                    }
                }
            }
            put(Field::Quoted(match owned {
                None => Cow::Borrowed(&line[start..at]),
                Some(mut s) => {
                    s.push_str(&line[from..at]);
                    Cow::Owned(s)
                }
            }));
            at += 1;
            match bytes.get(at) {
                None => return Ok(()),
                Some(b',') => at += 1,
                Some(_) => return bad(format!("column {column} has text after its closing quote")),
            }
        } else {
            let end = memchr::memchr(b',', &bytes[at..]).map_or(bytes.len(), |e| at + e);
            if memchr::memchr(b'"', &bytes[at..end]).is_some() {
                return bad(format!(
                    "column {column} has a quote inside an unquoted field"
                ));
            }
            put(Field::Plain(&line[at..end]));
            if end == bytes.len() {
                return Ok(());
            }
            at = end + 1;
        }
        column += 1;
    }
}
