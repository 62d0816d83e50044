//! The JSON Lines decoder: one input line becomes an [`Event`] for one plan, following
//! docs/semantics.md's malformed rules and reading only the fields the plan needs.
//!
//! Decoding is the harness's side of the [`Source`](streamlab_core::Source) contract
//! (engines only pull events), so it lives with the inputs, apart from the model it
//! produces.
//!
//! - `line`: reading a line's needed fields as borrowed raw values (serde_json's reader,
//!   the rule); `scan`: the fast path of it for the usual flat lines (first by the last
//!   line's shape, `scan::shape`, then by the grammar).
//! - `layout`: which fields each input reads and what each is used as.
//! - `key_value`: a group key's value borrowed from the line, and the bytes keys are
//!   interned by.
//! - `adopt`: taking another decoder's new keys and strings in file order (the pipeline).
//! - [`Decoder`] (here): checking types, joining the static table, interning keys and
//!   strings into the shared [`KeyTable`]. It reads CSV lines too (`format = "csv"`):
//!   `crate::csv_line` reads their columns into the same raw values, and the rest is
//!   shared, so both formats follow the same malformed rules.

mod adopt;
mod key_value;
mod layout;
mod line;
mod scan;
#[cfg(test)]
mod tests;

use crate::csv_line::Columns;
use key_value::KeyValue;
use layout::{Layout, Use};
pub(crate) use line::{Found, Raw};
pub(crate) use scan::json_number;

/// A key's encoded bytes; W1's (`"k1333"`) take 14.
type KeyBytes = SmallVec<[u8; 16]>;
use rustc_hash::FxHashMap;
use smallvec::SmallVec;
use std::sync::Arc;
use streamlab_core::model::event::{
    Dictionary, Event, Fields, KeyId, KeyTable, Malformed, Part, SlotType,
};
use streamlab_core::model::value::{FieldValue, Scalar, StrId};
use streamlab_core::ops::computed_text::ComputedText;
use streamlab_core::ops::joins::static_table::StaticTable;
use streamlab_core::query::{InputFormat, Plan};
use streamlab_core::WindowSpec;

/// Turns JSON lines into [`Event`]s for one plan.
///
/// ```
/// use streamlab_core::query::{InputFormat, Plan};
/// use streamlab_io::json_lines::Decoder;
/// let plan = Plan::builder().event_time("ts").group_by(["key"]).tumbling_ms(10)
///     .sum("value", "total").build().unwrap();
/// let mut decoder = Decoder::new(&plan);
/// let e = decoder.decode(r#"{"ts": 12, "key": "a", "value": 3}"#, 0).unwrap();
/// assert_eq!(e.time, 12);
/// assert!(decoder.decode(r#"{"ts": 12, "key": "a"}"#, 1).is_err());
/// ```
pub struct Decoder {
    /// Per input of the plan (one when it names none): the fields read and their uses,
    /// which differ only in the event-time field.
    layouts: Vec<Layout>,
    /// The stream-static join's table, if the plan has one.
    table: Option<Arc<StaticTable>>,
    group_len: usize,
    slot_len: usize,
    /// Keys by their encoded bytes, held inline up to [`KeyBytes`]' size: looking a key
    /// up then reads no second cache line (a fifth of decoding W1 went to that lookup).
    keys: FxHashMap<KeyBytes, KeyId>,
    key_table: Arc<KeyTable>,
    strings: FxHashMap<Box<str>, StrId>,
    key_buf: Vec<u8>,
    group_buf: Vec<Option<FieldValue>>,
    /// Whether lines go through the fast scanner first (else serde_json reads them all).
    scanner: bool,
    /// Per layout, the shape of the last line the scanner read (`scan::Shape`).
    shapes: Vec<scan::Shape>,
    /// How lines are written.
    format: Format,
    /// A projection's string columns and `where`, computed once per new key (`None`
    /// without any), and the keys that `where` excludes.
    computed: Option<Arc<ComputedText>>,
    excluded: rustc_hash::FxHashSet<KeyId>,
    /// The windows event times are checked against (a query with `[window]`): an event
    /// whose windows would not fit in `i64` is malformed (`WindowSpec::check_time`).
    window: Option<WindowSpec>,
}

/// How a decoder reads lines: JSON objects, or CSV records of known columns.
enum Format {
    Json,
    /// CSV; the columns are `None` until the header line is given
    /// ([`Decoder::set_header`]).
    Csv(Option<Columns>),
}

impl Decoder {
    /// A decoder with a fresh key table.
    pub fn new(plan: &Plan) -> Decoder {
        Decoder::with_key_table(plan, Arc::new(KeyTable::default()))
    }

    /// A decoder writing into an existing (empty) key table.
    pub fn with_key_table(plan: &Plan, key_table: Arc<KeyTable>) -> Decoder {
        // (CSV: one layout, as a CSV query has no `[[input]]`s.)
        let layouts = if plan.inputs.is_empty() {
            vec![Layout::new(plan, None)]
        } else {
            Layout::unified(
                (0..plan.inputs.len())
                    .map(|i| Layout::new(plan, Some(i)))
                    .collect(),
            )
        };
        let strings = plan
            .string_constants
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str().into(), i as StrId))
            .collect();
        key_table.seed_strings(plan.string_constants.iter().map(String::as_str));
        let mut decoder = Decoder {
            layouts,
            table: plan.table.as_ref().map(|t| t.0.clone()),
            // Inputs of a regular join key their events by their `on` field, without a
            // query-level group_by.
            group_len: plan
                .inputs
                .iter()
                .map(|i| i.group_by.len())
                .fold(plan.group_by().len(), usize::max)
                + plan.projection.as_ref().map_or(0, |p| p.text.len()),
            slot_len: plan.slots.len(),
            keys: FxHashMap::default(),
            key_table,
            strings,
            key_buf: Vec::new(),
            group_buf: Vec::new(),
            scanner: true,
            shapes: Vec::new(),
            computed: plan
                .projection
                .as_ref()
                .filter(|p| !p.computed.is_empty())
                .map(|p| Arc::new(p.computed.clone())),
            excluded: Default::default(),
            format: Format::Json,
            window: plan.query.window.is_some().then_some(plan.window),
        };
        decoder
            .shapes
            .resize_with(decoder.layouts.len(), Default::default);
        if plan.query.format == Some(InputFormat::Csv) {
            // A declared list was checked when the query was compiled.
            let columns = plan
                .query
                .columns
                .as_ref()
                .and_then(|c| Columns::new(c, &decoder.layouts[0].names).ok());
            decoder.format = Format::Csv(columns);
        }
        decoder
    }

    /// Whether the decoder reads CSV and waits for its header line (the input's line 0;
    /// give it with [`Decoder::set_header`] before any other line).
    pub fn needs_header(&self) -> bool {
        matches!(self.format, Format::Csv(None))
    }

    /// Why a line that is not UTF-8 is malformed, in the input's format's words.
    pub fn not_utf8(&self, e: std::str::Utf8Error) -> Malformed {
        match self.format {
            Format::Json => Malformed::NotJson(format!("not UTF-8: {e}")),
            Format::Csv(_) => Malformed::NotCsv(format!("not UTF-8: {e}")),
        }
    }

    /// The column names a CSV header line gives (for a restart, which declares them
    /// rather than reading the header again), or why it is not a header.
    pub fn csv_columns(header: &str) -> Result<Vec<String>, String> {
        crate::csv_line::header(header)
    }

    /// Reads a CSV input's header line (its column names), for an input whose query
    /// declares no `columns`. Fails on a malformed header, an unnamed or a repeated
    /// column, or when the decoder does not read CSV.
    pub fn set_header(&mut self, line: &str) -> Result<(), String> {
        if !matches!(self.format, Format::Csv(_)) {
            return Err("a header line is only read for CSV input".into());
        }
        let names = crate::csv_line::header(line)?;
        let columns = Columns::new(&names, &self.layouts[0].names)?;
        self.format = Format::Csv(Some(columns));
        Ok(())
    }

    /// The table group keys are interned into.
    pub fn key_table(&self) -> &Arc<KeyTable> {
        &self.key_table
    }

    /// Goes on with a dictionary a checkpoint kept (before decoding anything): every key
    /// and string it lists gets its old id, new ones follow. Fails when it was made for
    /// a query with other string constants.
    pub fn restore(&mut self, dictionary: Dictionary) -> Result<(), String> {
        let n = self.strings.len();
        if dictionary.strings.len() < n
            || (0..n).any(|i| self.strings.get(&dictionary.strings[i]) != Some(&(i as StrId)))
        {
            return Err(
                "the checkpoint's dictionary was made for a query with other string constants"
                    .into(),
            );
        }
        self.strings = dictionary
            .strings
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as StrId))
            .collect();
        // Sized once: a dictionary can hold millions of keys, and a restart waits for it.
        self.keys = FxHashMap::with_capacity_and_hasher(dictionary.keys.len(), Default::default());
        for (id, values) in dictionary.keys.iter().enumerate() {
            self.key_buf.clear();
            match &self.computed {
                Some(c) => {
                    encode_values(c.read_values(values), &mut self.key_buf);
                    if !c.keeps(values) {
                        self.excluded.insert(id as KeyId);
                    }
                }
                None => encode_values(values, &mut self.key_buf),
            }
            self.keys
                .insert(self.key_buf.as_slice().into(), id as KeyId);
        }
        self.key_table.replace(dictionary);
        Ok(())
    }

    /// Whether lines go through the fast scanner before serde_json's reader (the default);
    /// off, serde_json reads every line, as before the scanner: the same events and
    /// errors, for the decode bench and the tests that compare the two.
    #[doc(hidden)]
    pub fn use_scanner(&mut self, on: bool) {
        self.scanner = on;
    }

    /// Decodes one line (without its newline) arriving as number `seq`.
    pub fn decode(&mut self, line: &str, seq: u64) -> Result<Event, Malformed> {
        self.decode_input(0, line, seq)
    }

    /// Decodes a line of the plan's input number `input` (its own event-time field); the
    /// event's [`Event::part`] is `input`, so each input keeps its own watermark.
    pub fn decode_input(&mut self, input: Part, line: &str, seq: u64) -> Result<Event, Malformed> {
        // (A line opening its object is not blank: no Unicode trim on the usual line.)
        if !line.starts_with('{') && line.trim().is_empty() {
            return Err(Malformed::Empty);
        }
        let layout = usize::from(input).min(self.layouts.len() - 1);
        // Taken out and put back rather than cloned: no atomic count on every line.
        let table = self.table.take();
        let event = {
            let mut found = Found::new();
            self.parse(layout, line, &mut found)
                .and_then(|()| self.build(layout, &mut found, table.as_deref(), input, seq))
        };
        self.table = table;
        event
    }

    /// Decodes a line of a file that every input of the plan reads (NEXMark's persons and
    /// auctions): parsed once, then offered to each input in turn. `out` gets one result
    /// per input, input `i`'s as [`Decoder::decode_input`]`(i, line, first_seq + i)`.
    pub fn decode_shared(
        &mut self,
        line: &str,
        first_seq: u64,
        out: &mut Vec<Result<Event, Malformed>>,
    ) {
        out.clear();
        let n = self.layouts.len();
        if line.trim().is_empty() {
            out.extend((0..n).map(|_| Err(Malformed::Empty)));
            return;
        }
        let table = self.table.clone();
        let mut found = Found::new();
        match self.parse(0, line, &mut found) {
            Err(e) => out.extend((0..n).map(|_| Err(e.clone()))),
            Ok(()) => {
                for i in 0..n {
                    let seq = first_seq + i as u64;
                    let event = match table.as_deref() {
                        // Only a stream-static join's columns overwrite the parsed fields.
                        None => self.build(i, &mut found, None, i as Part, seq),
                        Some(t) => self.build(i, &mut found.clone(), Some(t), i as Part, seq),
                    };
                    out.push(event);
                }
            }
        };
    }

    /// The fields of `line` that layout `layout`'s names list, or why it is not an object.
    fn parse<'l>(
        &mut self,
        layout: usize,
        line: &'l str,
        found: &mut Found<'l>,
    ) -> Result<(), Malformed> {
        let names = &self.layouts[layout].names;
        match &self.format {
            Format::Json => {
                let shape = self.scanner.then(|| &mut self.shapes[layout]);
                line::read_fields(names, line, shape, found)
            }
            Format::Csv(Some(columns)) => columns.read_fields(names.len(), line, found),
            Format::Csv(None) => Err(Malformed::NotCsv("no header line was read".into())),
        }
    }

    /// The event of input `input` (layout `layout`) from a parsed line; with a
    /// stream-static join, `table`'s row replaces the fields it has (in `found`).
    fn build<'t>(
        &mut self,
        layout: usize,
        found: &mut [Option<Raw<'t>>],
        table: Option<&'t StaticTable>,
        input: Part,
        seq: u64,
    ) -> Result<Event, Malformed> {
        let mut time = 0i64;
        let mut fields: Fields = smallvec::smallvec![Scalar::Bool(false); self.slot_len];
        // The key's values borrow from the line: a key seen before costs no allocation.
        let mut group: SmallVec<[Option<KeyValue<'_>>; 4]> =
            smallvec::smallvec![None; self.group_len];
        let Decoder {
            layouts,
            strings,
            key_table,
            window,
            ..
        } = self;
        let Layout {
            names,
            required,
            uses,
            from_table,
            on,
            filters,
            name: input_name,
        } = &layouts[layout];
        // First whether the line is the input's at all: a line of another kind need not
        // have the input's other fields.
        for (at, p, ty) in filters {
            let raw = found[*at]
                .as_ref()
                .ok_or_else(|| Malformed::Missing(names[*at].to_string()))?;
            if !p.holds(scalar(strings, key_table, &names[*at], *ty, raw)?) {
                return Err(Malformed::OtherInput {
                    input: input_name.to_string(),
                });
            }
        }
        if let (Some(table), Some(on)) = (table, *on) {
            // The joined row's columns stand in for fields of the line.
            let row = match &found[on] {
                None => return Err(Malformed::Missing(names[on].to_string())),
                Some(Raw::Str(s)) => table.row_for_str(s),
                Some(Raw::Int(v)) => table.row_for_int(*v),
                Some(other) => return Err(wrong(&names[on], "a string or an integer", other)),
            };
            let row = row.ok_or_else(|| Malformed::Unmatched {
                field: names[on].to_string(),
                value: match &found[on] {
                    Some(Raw::Str(s)) => format!("{s:?}"),
                    Some(Raw::Int(v)) => v.to_string(),
                    _ => String::new(),
                },
            })?;
            for (i, col) in from_table.iter().enumerate() {
                if let Some(c) = *col {
                    found[i] = Some(match &row[c] {
                        FieldValue::Str(s) => Raw::Str(std::borrow::Cow::Borrowed(&**s)),
                        FieldValue::Int(v) => Raw::Int(*v),
                        FieldValue::Float(v) => Raw::Float(*v),
                        FieldValue::Bool(v) => Raw::Bool(*v),
                    });
                }
            }
        }
        let found = &*found;
        for &i in required {
            let name = &names[i];
            let raw = found[i]
                .as_ref()
                .ok_or_else(|| Malformed::Missing(name.to_string()))?;
            for u in &uses[i] {
                match *u {
                    Use::Time => {
                        time = match raw {
                            Raw::Int(t) => *t,
                            other => return Err(wrong(name, "an integer (ms)", other)),
                        };
                        if let Some(Err(why)) = window.map(|w| w.check_time(time)) {
                            return Err(Malformed::TimeOutOfRange {
                                field: name.to_string(),
                                why,
                            });
                        }
                    }
                    Use::Group(g) => {
                        group[g] = Some(match raw {
                            Raw::Str(s) => KeyValue::Str(s),
                            Raw::Int(v) => KeyValue::Int(*v),
                            Raw::BigUint(v) => KeyValue::Float(*v as f64),
                            Raw::Float(v) => KeyValue::Float(*v),
                            Raw::Bool(v) => KeyValue::Bool(*v),
                            other => return Err(wrong(name, "a string, number or boolean", other)),
                        })
                    }
                    Use::Text(g, ty) => {
                        group[g] = Some(match (ty, raw) {
                            (SlotType::String, Raw::Str(s)) => KeyValue::Str(s),
                            (SlotType::Bool, Raw::Bool(b)) => KeyValue::Bool(*b),
                            // A number a string expression reads (`ComputedText`).
                            (SlotType::Number, Raw::Int(v)) => KeyValue::Int(*v),
                            (SlotType::Number, Raw::Float(v)) => KeyValue::Float(*v),
                            (SlotType::Number, Raw::BigUint(v)) => KeyValue::Float(*v as f64),
                            (SlotType::Number, other) => {
                                return Err(wrong(name, "a number", other))
                            }
                            (SlotType::Bool, other) => return Err(wrong(name, "a boolean", other)),
                            (_, other) => return Err(wrong(name, "a string", other)),
                        })
                    }
                    Use::Slot(s, ty) => fields[s] = scalar(strings, key_table, name, ty, raw)?,
                }
            }
        }
        let key = self.intern_key(&group);
        if !self.excluded.is_empty() && self.excluded.contains(&key) {
            return Err(Malformed::Excluded);
        }
        Ok(Event {
            seq,
            time,
            key,
            part: input,
            fields,
        })
    }

    /// The id of the key of `group`'s values (in order, absent ones skipped): an old one,
    /// or the next one for a new key (whose values are then copied into the table).
    fn intern_key(&mut self, group: &[Option<KeyValue<'_>>]) -> KeyId {
        self.key_buf.clear();
        for v in group.iter().flatten() {
            v.encode(&mut self.key_buf);
        }
        if let Some(&id) = self.keys.get(self.key_buf.as_slice()) {
            return id;
        }
        self.group_buf.clear();
        self.group_buf
            .extend(group.iter().map(|v| v.map(KeyValue::to_owned)));
        debug_assert!({
            let mut b = Vec::new();
            encode_key(&self.group_buf, &mut b);
            b == self.key_buf
        });
        let mut values: Vec<FieldValue> = self.group_buf.iter().flatten().cloned().collect();
        let keep = match &self.computed {
            Some(c) => {
                let keep = c.keeps(&values);
                c.complete(&mut values);
                keep
            }
            None => true,
        };
        let id = self.key_table.push(values.into());
        if !keep {
            self.excluded.insert(id);
        }
        self.keys.insert(self.key_buf.as_slice().into(), id);
        id
    }
}

/// The bytes a group key is interned by (type-tagged, so `1` and `"1"` differ).
fn encode_key(values: &[Option<FieldValue>], buf: &mut Vec<u8>) {
    for v in values.iter().flatten() {
        encode_value(v, buf);
    }
}

/// [`encode_key`] of a key's values as the key table holds them.
fn encode_values(values: &[FieldValue], buf: &mut Vec<u8>) {
    for v in values {
        encode_value(v, buf);
    }
}

fn encode_value(v: &FieldValue, buf: &mut Vec<u8>) {
    KeyValue::of(v).encode(buf);
}

/// Reads a slot field, checking its type.
#[inline(always)]
fn scalar(
    strings: &mut FxHashMap<Box<str>, StrId>,
    table: &KeyTable,
    name: &str,
    ty: SlotType,
    raw: &Raw<'_>,
) -> Result<Scalar, Malformed> {
    let number = match raw {
        Raw::Int(v) => Some(Scalar::Int(*v)),
        Raw::BigUint(v) => Some(Scalar::Float(*v as f64)),
        Raw::Float(v) => Some(Scalar::Float(*v)),
        _ => None,
    };
    match (ty, raw) {
        (SlotType::Number | SlotType::Any, _) if number.is_some() => Ok(number.expect("checked")),
        (SlotType::String | SlotType::Any, Raw::Str(s)) => {
            Ok(Scalar::Str(intern_str(strings, table, s)))
        }
        (SlotType::Bool | SlotType::Any, Raw::Bool(b)) => Ok(Scalar::Bool(*b)),
        (SlotType::Number, other) => Err(wrong(name, "a number", other)),
        (SlotType::String, other) => Err(wrong(name, "a string", other)),
        (SlotType::Bool, other) => Err(wrong(name, "a boolean", other)),
        (SlotType::Any, other) => Err(wrong(name, "a string, number or boolean", other)),
    }
}

/// Interns a string of a slot field (ids are dense, in first-seen order after the plan's
/// constants). New strings also go to the shared table, for a checkpoint's [`Dictionary`].
fn intern_str(strings: &mut FxHashMap<Box<str>, StrId>, table: &KeyTable, s: &str) -> StrId {
    if let Some(&id) = strings.get(s) {
        return id;
    }
    let id = strings.len() as StrId;
    strings.insert(s.into(), id);
    table.push_str(s);
    id
}

fn wrong(field: &str, expected: &'static str, found: &Raw<'_>) -> Malformed {
    Malformed::WrongType {
        field: field.to_owned(),
        expected,
        found: found.kind(),
    }
}
