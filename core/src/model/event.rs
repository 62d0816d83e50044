//! The events engines process, and the tables their interned ids point into.
//!
//! An [`Event`] is what engines see: arrival sequence number, time, an interned group key
//! and the plan's slot fields as compact [`Scalar`]s, each of a [`SlotType`]. Group keys
//! are interned into a shared [`KeyTable`] (sinks print them back exactly as they
//! appeared), whose [`Dictionary`] a checkpoint keeps. A line that is no valid event is
//! [`Malformed`] (docs/semantics.md, "Malformed input"); turning lines into events is the
//! JSON Lines decoder (`streamlab_io::json_lines::Decoder`)'s job, not the engines'.

use crate::model::value::{FieldValue, Scalar};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::sync::RwLock;

/// Id of an interned group key (the tuple of group-by values).
pub type KeyId = u32;

/// Index of the source partition an event came from (a Kafka partition; 0 for a file or
/// generator). Each partition has its own watermark; see
/// [`Watermark`](crate::semantics::watermark::Watermark).
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
    /// A CSV input's line that is not a record of its columns (count, quoting).
    #[error("not a CSV record: {0}")]
    NotCsv(String),
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
    /// A line whose row a string `where` excludes (decided where the text is, when its key
    /// is interned: [`crate::ops::computed_text`]). Not broken: dropped and counted with
    /// the filtered ones, like `Unmatched`.
    #[error("the query's `where` excludes it")]
    Excluded,
    /// The event time puts the event in a window that does not fit in 64-bit
    /// milliseconds ([`WindowSpec::check_time`](crate::model::window::WindowSpec::check_time)).
    #[error("field `{field}`: {why}")]
    TimeOutOfRange {
        /// The event-time field.
        field: String,
        /// The time and its windows.
        why: crate::model::window::TimeOutOfRange,
    },
    /// A live input's line longer than its limit (kept no further than the limit, so a
    /// line without an end cannot exhaust memory).
    #[error("line longer than the limit of {limit} bytes (raise it with `max_line=BYTES` in the input's address)")]
    LineTooLong {
        /// The input's limit, in bytes.
        limit: usize,
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

impl Malformed {
    /// Whether the line is dropped as filtered (a valid line the query does not keep),
    /// not as malformed.
    pub fn is_filtered(&self) -> bool {
        matches!(
            self,
            Malformed::Unmatched { .. } | Malformed::OtherInput { .. } | Malformed::Excluded
        )
    }
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
    /// Strings by [`StrId`](crate::model::value::StrId) (the plan's constants first).
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

    /// Runs `f` with read access to all keys and all interned strings (rows of a join carry
    /// their string columns as [`StrId`](crate::model::value::StrId)s; see
    /// [`crate::ops::joins::regular`]).
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

    /// Appends an interned string (the decoder's; ids are positions).
    pub fn push_str(&self, s: &str) {
        self.strings
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(s.into());
    }

    /// Appends a new key's values and returns its id.
    pub fn push(&self, values: Box<[FieldValue]>) -> KeyId {
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.push(values);
        (keys.len() - 1) as KeyId
    }

    /// A fresh table's first strings: a plan's constants, which take ids `0..` (a table
    /// that already has strings is left as it is).
    pub fn seed_strings<'a>(&self, constants: impl IntoIterator<Item = &'a str>) {
        let mut strings = self.strings.write().unwrap_or_else(|e| e.into_inner());
        if strings.is_empty() {
            strings.extend(constants.into_iter().map(Box::from));
        }
    }

    /// Replaces everything interned with a checkpoint's dictionary.
    pub fn replace(&self, dictionary: Dictionary) {
        *self.strings.write().unwrap_or_else(|e| e.into_inner()) = dictionary.strings;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = dictionary.keys;
    }
}

/// The type a slot's field must have in every event (else the event is malformed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SlotType {
    /// A JSON number.
    Number,
    /// A JSON string.
    String,
    /// A JSON boolean.
    Bool,
    /// Any scalar (string, number or boolean), for `count_distinct`.
    Any,
}
