//! Events and their decoding from JSON Lines.
//!
//! An [`Event`] is what engines see: arrival sequence number, time, an interned group key
//! and the plan's [`Slot`](crate::query::Slot) fields as compact [`Scalar`]s. The
//! [`Decoder`] turns one input line into an event following semantics.md's malformed
//! rules, reading only the fields the plan needs. It interns group keys into a shared
//! [`KeyTable`] so sinks can print them back exactly as they appeared.

use crate::join::StaticTable;
use crate::query::{Plan, SlotType};
use crate::value::{FieldValue, Scalar, StrId};
use rustc_hash::FxHashMap;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use smallvec::SmallVec;
use std::fmt;
use std::sync::{Arc, RwLock};

/// Id of an interned group key (the tuple of group-by values).
pub type KeyId = u32;

/// Index of the source partition an event came from (a Kafka partition; 0 for a file or
/// generator). Each partition has its own watermark; see [`crate::watermark::Watermark`].
pub type Part = u16;

/// The fields an event carries, in the plan's slot order (inline up to three).
pub type Fields = SmallVec<[Scalar; 3]>;

/// One valid input event, in the form engines process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Arrival index in the source (line number among all lines, from 0): the offset a
    /// replay resumes from and the index latency is measured against.
    pub seq: u64,
    /// Event time in ms (0 when the plan names no event-time field; engines running a
    /// processing-time plan overwrite it with the processing time).
    pub time: i64,
    /// Interned group key.
    pub key: KeyId,
    /// Source partition (0 unless the source has several).
    #[serde(default)]
    pub part: Part,
    /// Filtered and aggregated fields.
    pub fields: Fields,
}

/// Why a line is not a valid event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Blank line.
    #[error("empty line")]
    Empty,
    /// Not parseable JSON.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON, but not an object.
    #[error("not a JSON object")]
    NotObject,
    /// A field the query needs is absent.
    #[error("missing field `{0}`")]
    Missing(String),
    /// Stream-static join: no row of the table has the event's `on` value. Not a broken
    /// line: an inner join drops the event, and it is counted with the filtered ones.
    #[error("no row of the joined table has `{field}` = {value}")]
    Unmatched {
        /// The `on` field.
        field: String,
        /// Its value in the line.
        value: String,
    },
    /// A line its input's `[[input.filter]]`s exclude (another kind of record of a shared
    /// file). Not broken: dropped and counted with the filtered ones, like `Unmatched`.
    #[error("not a line of input `{input}` (its filters exclude it)")]
    OtherInput {
        /// The input's name.
        input: String,
    },
    /// A field has the wrong type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// Field name.
        field: String,
        /// What the query needs.
        expected: &'static str,
        /// What the line has.
        found: &'static str,
    },
}

/// The group keys seen so far, shared between the decoder (writer) and sinks (readers),
/// and the strings the decoder interned (so that a checkpoint can keep the whole
/// [`Dictionary`] a resumed decoder needs to give every key and string its old id).
#[derive(Debug, Default)]
pub struct KeyTable {
    keys: RwLock<Vec<Box<[FieldValue]>>>,
    strings: RwLock<Vec<Box<str>>>,
}

/// Everything a decoder has interned, in id order: what a reader that starts in the
/// middle of a stream (a Kafka input resumed from a checkpoint's offsets) must know so that
/// its events carry the ids the checkpointed state refers to.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Dictionary {
    /// Group keys by [`KeyId`].
    pub keys: Vec<Box<[FieldValue]>>,
    /// Strings by [`StrId`] (the plan's constants first).
    pub strings: Vec<Box<str>>,
}

impl KeyTable {
    /// Calls `f` with the values of `key`. Panics on an id no decoder produced.
    pub fn with<R>(&self, key: KeyId, f: impl FnOnce(&[FieldValue]) -> R) -> R {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        f(&keys[key as usize])
    }

    /// Runs `f` with read access to all keys (one lock for a whole batch of rows).
    pub fn read<R>(&self, f: impl FnOnce(&[Box<[FieldValue]>]) -> R) -> R {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        f(&keys)
    }

    /// Runs `f` with read access to all keys and all interned strings (rows of a join
    /// carry their string columns as [`StrId`]s; see [`crate::regular_join`]).
    pub fn read_all<R>(&self, f: impl FnOnce(&[Box<[FieldValue]>], &[Box<str>]) -> R) -> R {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let strings = self.strings.read().unwrap_or_else(|e| e.into_inner());
        f(&keys, &strings)
    }

    /// Number of distinct keys.
    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether no key has been seen.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many keys and strings have been interned (both only grow, so a copy of the
    /// dictionary is current while these are unchanged).
    pub fn sizes(&self) -> (usize, usize) {
        (
            self.len(),
            self.strings.read().unwrap_or_else(|e| e.into_inner()).len(),
        )
    }

    /// A copy of what has been interned so far.
    pub fn dictionary(&self) -> Dictionary {
        Dictionary {
            keys: self.keys.read().unwrap_or_else(|e| e.into_inner()).clone(),
            strings: self
                .strings
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    fn push_str(&self, s: &str) {
        self.strings
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(s.into());
    }

    fn push(&self, values: Box<[FieldValue]>) -> KeyId {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.push(values);
        (keys.len() - 1) as KeyId
    }
}

/// A JSON scalar as read from the line, borrowed where possible.
#[derive(Clone, Debug)]
enum Raw<'a> {
    Str(std::borrow::Cow<'a, str>),
    Int(i64),
    BigUint(u64),
    Float(f64),
    Bool(bool),
    Null,
    Array,
    Object,
}

impl Raw<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Raw::Str(_) => "a string",
            Raw::Int(_) | Raw::BigUint(_) => "an integer",
            Raw::Float(_) => "a float",
            Raw::Bool(_) => "a boolean",
            Raw::Null => "null",
            Raw::Array => "an array",
            Raw::Object => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Raw<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Raw<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Raw<'de>, E> {
                Ok(Raw::Str(v.into()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw<'de>, E> {
                Ok(Raw::Str(v.to_owned().into()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Raw<'de>, E> {
                Ok(Raw::Str(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw<'de>, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw<'de>, E> {
                Ok(i64::try_from(v).map(Raw::Int).unwrap_or(Raw::BigUint(v)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw<'de>, E> {
                Ok(Raw::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw<'de>, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Raw<'de>, E> {
                Ok(Raw::Null)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut s: A) -> Result<Raw<'de>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Raw::Array)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Raw<'de>, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Raw::Object)
            }
        }
        d.deserialize_any(V)
    }
}

/// How an input field is used; one field may have several uses.
#[derive(Clone, Copy, Debug)]
enum Use {
    Time,
    Group(usize),
    /// A projection's string or boolean column: part of the key, of a declared type.
    Text(usize, SlotType),
    Slot(usize, SlotType),
}

const NOT_OBJECT: &str = "\u{0}streamlab: not an object";

/// The fields a line is read for, and what each one is used as.
struct Layout {
    names: Vec<Box<str>>,
    /// The indexes in `names` of the fields this input reads (the others are other
    /// inputs' fields of a shared name list, see [`Layout::unified`]), in its order.
    required: Vec<usize>,
    uses: Vec<SmallVec<[Use; 2]>>,
    /// With a stream-static join: which names are columns of the table (taken from the
    /// joined row, not the line), and which name is the `on` field.
    from_table: Vec<Option<usize>>,
    on: Option<usize>,
    /// The input's own filters (`[[input.filter]]`), each with the index of its field in
    /// `names` and the field's type; and the input's name for the error.
    filters: Vec<(usize, crate::query::Predicate, SlotType)>,
    name: Box<str>,
}

impl Layout {
    /// The layout of the plan's input number `input` (`None`: the one input of a plan
    /// without `[[input]]`s).
    fn new(plan: &Plan, input: Option<usize>) -> Layout {
        let spec = input.map(|i| &plan.inputs[i]);
        let time_field = match spec {
            Some(spec) => spec.time_field.as_deref(),
            None => plan.event_time_field(),
        };
        let group_by = spec.map_or(plan.group_by(), |s| &s.group_by[..]);
        let mut names: Vec<Box<str>> = Vec::new();
        let mut uses: Vec<SmallVec<[Use; 2]>> = Vec::new();
        let mut add = |name: &str, u: Use| match names.iter().position(|n| **n == *name) {
            Some(i) => uses[i].push(u),
            None => {
                names.push(name.into());
                uses.push(smallvec::smallvec![u]);
            }
        };
        // Read the event time whenever the plan names it: processing-time plans still
        // need it for the exact (event-time) answer they are measured against.
        if let Some(f) = time_field {
            add(f, Use::Time);
        }
        for (i, g) in group_by.iter().enumerate() {
            add(g, Use::Group(i));
        }
        if let Some(p) = &plan.projection {
            for (i, (f, ty)) in p.text.iter().enumerate() {
                add(f, Use::Text(i, *ty));
            }
        }
        for (i, s) in plan.slots.iter().enumerate() {
            // A slot of another input stays unread (its default value is never used).
            if s.input.is_none_or(|p| Some(usize::from(p)) == input) {
                add(&s.field, Use::Slot(i, s.ty));
            }
        }
        let (mut from_table, mut on) = (vec![None; names.len()], None);
        if let Some(table) = &plan.table {
            let t = &table.0;
            on = Some(match names.iter().position(|n| **n == *t.on()) {
                Some(i) => i,
                None => {
                    names.push(t.on().into());
                    uses.push(SmallVec::new());
                    from_table.push(None);
                    names.len() - 1
                }
            });
            for (i, n) in names.iter().enumerate() {
                if **n != *t.on() {
                    from_table[i] = t.column(n);
                }
            }
        }
        let filters = spec
            .map(|s| {
                s.filters
                    .iter()
                    .map(|p| {
                        let slot = &plan.slots[p.slot];
                        let at = names
                            .iter()
                            .position(|n| **n == *slot.field)
                            .expect("an input's filter slots are in its layout");
                        (at, p.clone(), slot.ty)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Layout {
            required: (0..names.len()).collect(),
            names,
            uses,
            from_table,
            on,
            filters,
            name: spec.map_or("", |s| &s.name).into(),
        }
    }
}

impl Layout {
    /// The inputs' layouts over one list of names, the union of theirs (each input uses
    /// its own and requires only those): a line of a file several inputs read is then
    /// parsed once for all of them ([`Decoder::decode_shared`]).
    fn unified(layouts: Vec<Layout>) -> Vec<Layout> {
        let mut names: Vec<Box<str>> = Vec::new();
        for l in &layouts {
            for n in &l.names {
                if !names.contains(n) {
                    names.push(n.clone());
                }
            }
        }
        layouts
            .into_iter()
            .map(|l| {
                let at = |n: &str| names.iter().position(|u| **u == *n).expect("in the union");
                let mut uses = vec![SmallVec::new(); names.len()];
                let mut from_table = vec![None; names.len()];
                for (i, n) in l.names.iter().enumerate() {
                    uses[at(n)] = l.uses[i].clone();
                    from_table[at(n)] = l.from_table[i];
                }
                Layout {
                    on: l.on.map(|i| at(&l.names[i])),
                    filters: l
                        .filters
                        .iter()
                        .map(|(i, p, ty)| (at(&l.names[*i]), p.clone(), *ty))
                        .collect(),
                    required: l.names.iter().map(|n| at(n)).collect(),
                    names: names.clone(),
                    uses,
                    from_table,
                    name: l.name,
                }
            })
            .collect()
    }
}

/// Reads one line's top-level object, keeping only the needed fields.
struct LineSeed<'s, 'de> {
    names: &'s [Box<str>],
    found: &'s mut [Option<Raw<'de>>],
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match self.names.iter().position(|n| **n == *key) {
                Some(i) => self.found[i] = Some(map.next_value::<Raw<'de>>()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(NOT_OBJECT))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(NOT_OBJECT))
    }
}

/// Turns JSON lines into [`Event`]s for one plan.
///
/// ```
/// use streamlab_core::{event::Decoder, query::Plan};
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
    keys: FxHashMap<Box<[u8]>, KeyId>,
    key_table: Arc<KeyTable>,
    strings: FxHashMap<Box<str>, StrId>,
    key_buf: Vec<u8>,
    group_buf: Vec<Option<FieldValue>>,
}

impl Decoder {
    /// A decoder with a fresh key table.
    pub fn new(plan: &Plan) -> Decoder {
        Decoder::with_key_table(plan, Arc::new(KeyTable::default()))
    }

    /// A decoder writing into an existing (empty) key table.
    pub fn with_key_table(plan: &Plan, key_table: Arc<KeyTable>) -> Decoder {
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
        {
            let mut table = key_table.strings.write().unwrap_or_else(|e| e.into_inner());
            if table.is_empty() {
                table.extend(plan.string_constants.iter().map(|s| s.as_str().into()));
            }
        }
        Decoder {
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
        }
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
        *self
            .key_table
            .strings
            .write()
            .unwrap_or_else(|e| e.into_inner()) = dictionary.strings;
        // Sized once: a dictionary can hold millions of keys, and a restart waits for it.
        self.keys = FxHashMap::with_capacity_and_hasher(dictionary.keys.len(), Default::default());
        for (id, values) in dictionary.keys.iter().enumerate() {
            self.key_buf.clear();
            encode_values(values, &mut self.key_buf);
            self.keys
                .insert(self.key_buf.as_slice().into(), id as KeyId);
        }
        *self
            .key_table
            .keys
            .write()
            .unwrap_or_else(|e| e.into_inner()) = dictionary.keys;
        Ok(())
    }

    /// Decodes one line (without its newline) arriving as number `seq`.
    pub fn decode(&mut self, line: &str, seq: u64) -> Result<Event, Malformed> {
        self.decode_input(0, line, seq)
    }

    /// Decodes a line of the plan's input number `input` (its own event-time field); the
    /// event's [`Event::part`] is `input`, so each input keeps its own watermark.
    pub fn decode_input(&mut self, input: Part, line: &str, seq: u64) -> Result<Event, Malformed> {
        if line.trim().is_empty() {
            return Err(Malformed::Empty);
        }
        let layout = usize::from(input).min(self.layouts.len() - 1);
        let table = self.table.clone();
        let mut found = self.parse(layout, line)?;
        self.build(layout, &mut found, table.as_deref(), input, seq)
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
        let parsed = self.parse(0, line);
        match parsed {
            Err(e) => out.extend((0..n).map(|_| Err(e.clone()))),
            Ok(mut found) => {
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
        &self,
        layout: usize,
        line: &'l str,
    ) -> Result<SmallVec<[Option<Raw<'l>>; 8]>, Malformed> {
        let names = &self.layouts[layout].names;
        let mut found: SmallVec<[Option<Raw<'l>>; 8]> = (0..names.len()).map(|_| None).collect();
        let mut de = serde_json::Deserializer::from_str(line);
        LineSeed {
            names,
            found: &mut found,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end())
        .map_err(|e| {
            if e.to_string().starts_with(NOT_OBJECT) {
                Malformed::NotObject
            } else {
                Malformed::NotJson(e.to_string())
            }
        })?;
        Ok(found)
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
        self.group_buf.clear();
        self.group_buf.resize(self.group_len, None);
        let Decoder {
            layouts,
            strings,
            group_buf,
            key_table,
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
                        }
                    }
                    Use::Group(g) => {
                        group_buf[g] = Some(match raw {
                            Raw::Str(s) => FieldValue::Str(s.as_ref().into()),
                            Raw::Int(v) => FieldValue::Int(*v),
                            Raw::BigUint(v) => FieldValue::Float(*v as f64),
                            Raw::Float(v) => FieldValue::Float(*v),
                            Raw::Bool(v) => FieldValue::Bool(*v),
                            other => return Err(wrong(name, "a string, number or boolean", other)),
                        })
                    }
                    Use::Text(g, ty) => {
                        group_buf[g] = Some(match (ty, raw) {
                            (SlotType::String, Raw::Str(s)) => FieldValue::Str(s.as_ref().into()),
                            (SlotType::Bool, Raw::Bool(b)) => FieldValue::Bool(*b),
                            (SlotType::Bool, other) => return Err(wrong(name, "a boolean", other)),
                            (_, other) => return Err(wrong(name, "a string", other)),
                        })
                    }
                    Use::Slot(s, ty) => fields[s] = scalar(strings, key_table, name, ty, raw)?,
                }
            }
        }
        let key = self.intern_key();
        Ok(Event {
            seq,
            time,
            key,
            part: input,
            fields,
        })
    }

    fn intern_key(&mut self) -> KeyId {
        self.key_buf.clear();
        encode_key(&self.group_buf, &mut self.key_buf);
        if let Some(&id) = self.keys.get(self.key_buf.as_slice()) {
            return id;
        }
        let values: Box<[FieldValue]> = self.group_buf.iter().flatten().cloned().collect();
        let id = self.key_table.push(values);
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
    match v {
        FieldValue::Bool(b) => buf.extend_from_slice(&[0, *b as u8]),
        FieldValue::Int(i) => {
            buf.push(1);
            buf.extend_from_slice(&i.to_le_bytes());
        }
        FieldValue::Float(f) => {
            buf.push(2);
            buf.extend_from_slice(&f.to_bits().to_le_bytes());
        }
        FieldValue::Str(s) => {
            buf.push(3);
            buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
            buf.extend_from_slice(s.as_bytes());
        }
    }
}

/// Reads a slot field, checking its type.
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

/// Interns a string of a slot field (ids are dense, in first-seen order after the plan's constants).
/// New strings also go to the shared table, for a checkpoint's [`Dictionary`].
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Plan;

    fn plan() -> Plan {
        Plan::from_toml(
            r#"
event_time = "ts"
group_by = ["key", "region"]
[window]
kind = "tumbling"
size = "10s"
[[filter]]
field = "kind"
op = "eq"
value = "view"
[[aggregate]]
fn = "sum"
field = "value"
as = "total"
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_restored_dictionary_gives_keys_and_strings_their_old_ids() {
        let line = |key: &str, kind: &str| {
            format!(r#"{{"ts": 1, "key": "{key}", "region": 1, "kind": "{kind}", "value": 1}}"#)
        };
        let mut first = Decoder::new(&plan());
        let a = first.decode(&line("a", "click"), 0).unwrap();
        let b = first.decode(&line("b", "buy"), 1).unwrap();
        let dictionary = first.key_table().dictionary();
        assert_eq!(
            dictionary.strings.len(),
            3,
            "the constant `view`, then click and buy"
        );

        let mut resumed = Decoder::new(&plan());
        resumed.restore(dictionary.clone()).unwrap();
        let b2 = resumed.decode(&line("b", "buy"), 2).unwrap();
        assert_eq!(
            (b2.key, &b2.fields),
            (b.key, &b.fields),
            "old key and string ids"
        );
        let c = resumed.decode(&line("c", "view"), 3).unwrap();
        assert_eq!(c.key, 2, "new keys follow the restored ones");
        assert_eq!(c.fields[0], Scalar::Str(0), "the constant keeps id 0");
        let n = resumed.decode(&line("a", "new"), 4).unwrap();
        assert_eq!((n.key, n.fields[0]), (a.key, Scalar::Str(3)));
        resumed.key_table().with(b2.key, |v| {
            assert!(matches!(&v[0], FieldValue::Str(s) if &**s == "b"))
        });

        let other = Plan::from_toml(&plan().to_toml().replace("\"view\"", "\"click\"")).unwrap();
        assert!(Decoder::new(&other).restore(dictionary).is_err());
    }

    #[test]
    fn decodes_needed_fields_and_ignores_others() {
        let mut d = Decoder::new(&plan());
        let e = d
            .decode(
                r#"{"ts": -5, "key": "a", "region": 3, "kind": "view", "value": 2.5, "extra": [1, {"x": 2}]}"#,
                7,
            )
            .unwrap();
        assert_eq!(e.seq, 7);
        assert_eq!(e.time, -5);
        assert_eq!(e.fields[0], Scalar::Str(0), "`view` is filter constant 0");
        assert_eq!(e.fields[1], Scalar::Float(2.5));
        d.key_table().with(e.key, |k| {
            assert_eq!(k, &[FieldValue::Str("a".into()), FieldValue::Int(3)])
        });
    }

    #[test]
    fn equal_group_values_share_a_key() {
        let mut d = Decoder::new(&plan());
        let line = r#"{"ts": 1, "key": "a", "region": 1, "kind": "x", "value": 1}"#;
        let a = d.decode(line, 0).unwrap();
        let b = d.decode(line, 1).unwrap();
        let c = d
            .decode(
                r#"{"ts": 1, "key": "a", "region": "1", "kind": "x", "value": 1}"#,
                2,
            )
            .unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key, "the string \"1\" is not the number 1");
        assert_eq!(d.key_table().len(), 2);
    }

    #[test]
    fn an_inputs_filter_takes_its_own_lines_of_a_shared_file() {
        let plan = Plan::from_toml(
            r#"
event_time = "ts"
group_by = ["person"]
[window]
kind = "tumbling"
size = 10
[[join]]
kind = "window"
[[input]]
name = "persons"
path = "n.jsonl"
group_by = ["id"]
[[input.filter]]
field = "kind"
op = "eq"
value = "person"
[[input]]
name = "auctions"
path = "n.jsonl"
group_by = ["seller"]
[[input.filter]]
field = "kind"
op = "eq"
value = "auction"
[[aggregate]]
fn = "count"
as = "pairs"
"#,
        )
        .unwrap();
        let mut d = Decoder::new(&plan);
        let auction = r#"{"ts": 1, "kind": "auction", "seller": 7}"#;
        let person = r#"{"ts": 2, "kind": "person", "id": 7}"#;
        let a = d.decode_input(1, auction, 0).unwrap();
        let p = d.decode_input(0, person, 1).unwrap();
        assert_eq!(
            (a.key, a.part, p.part),
            (p.key, 1, 0),
            "seller 7 is person 7"
        );
        assert_eq!(
            d.decode_input(0, auction, 2),
            Err(Malformed::OtherInput {
                input: "persons".into()
            }),
            "an auction is no person's line, though it has no `id`"
        );
        let bid = r#"{"ts": 3, "kind": "bid", "price": 5}"#;
        assert!(matches!(
            d.decode_input(1, bid, 3),
            Err(Malformed::OtherInput { .. })
        ));
        assert_eq!(
            d.decode_input(1, r#"{"ts": 3, "seller": 7}"#, 4),
            Err(Malformed::Missing("kind".into())),
            "without the filtered field the line is malformed"
        );
        let err = Plan::from_toml(&plan.to_toml().replacen("op = \"eq\"", "op = \"lt\"", 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("input[0].filter[0].op"), "{err}");

        // A line parsed once for both inputs gives each what decoding it alone would.
        let lines = [
            auction,
            person,
            bid,
            r#"{"ts": 3, "seller": 7}"#,
            r#"{"ts": "x", "kind": "person", "id": 8}"#,
            r#"{"kind": "auction", "seller": "7", "ts": 4}"#,
            "not json",
            "  ",
            "[1]",
        ];
        let (mut alone, mut shared) = (Decoder::new(&plan), Decoder::new(&plan));
        let mut out = Vec::new();
        for (k, line) in lines.iter().enumerate() {
            let seq = 2 * k as u64;
            shared.decode_shared(line, seq, &mut out);
            let each: Vec<_> = (0..2u16)
                .map(|i| alone.decode_input(i, line, seq + u64::from(i)))
                .collect();
            assert_eq!(out, each, "{line}");
        }
    }

    #[test]
    fn malformed_lines_say_why() {
        let mut d = Decoder::new(&plan());
        assert_eq!(d.decode("   ", 0), Err(Malformed::Empty));
        assert!(matches!(
            d.decode("{not json", 0),
            Err(Malformed::NotJson(_))
        ));
        assert_eq!(d.decode("[1, 2]", 0), Err(Malformed::NotObject));
        assert_eq!(d.decode("42", 0), Err(Malformed::NotObject));
        assert_eq!(
            d.decode(r#"{"ts": 1, "key": "a", "region": 1, "kind": "x"}"#, 0),
            Err(Malformed::Missing("value".into()))
        );
        let err = d
            .decode(
                r#"{"ts": 1.5, "key": "a", "region": 1, "kind": "x", "value": 1}"#,
                0,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "field `ts` must be an integer (ms), found a float"
        );
        let err = d
            .decode(
                r#"{"ts": 1, "key": null, "region": 1, "kind": "x", "value": 1}"#,
                0,
            )
            .unwrap_err();
        assert!(err.to_string().contains("`key`"), "{err}");
        let err = d
            .decode(
                r#"{"ts": 1, "key": "a", "region": 1, "kind": 3, "value": 1}"#,
                0,
            )
            .unwrap_err();
        assert!(err.to_string().contains("`kind` must be a string"), "{err}");
        assert!(matches!(
            d.decode(
                r#"{"ts": 1, "key": "a", "region": 1, "kind": "x", "value": 1} trailing"#,
                0
            ),
            Err(Malformed::NotJson(_))
        ));
    }
}
