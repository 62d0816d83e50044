//! Reading one JSON line: its top-level object's fields that a layout names, each as a
//! borrowed [`Raw`] value, everything else skipped unparsed. [`scan`](super::scan) reads
//! the usual lines; serde_json's reader here reads the others, and its outcome is the rule
//! both follow.

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use smallvec::SmallVec;
use std::fmt;
use streamlab_core::model::event::Malformed;

/// A JSON scalar as read from the line, borrowed where possible.
#[derive(Clone, Debug)]
pub(crate) enum Raw<'a> {
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
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Raw::Str(_) => "a string",
            Raw::Int(_) => "an integer",
            // Only positive integers above i64::MAX are read as `BigUint`.
            Raw::BigUint(_) => "an integer out of range of a 64-bit integer",
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

const NOT_OBJECT: &str = "\u{0}streamlab: not an object";

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

/// A line's fields, in the order of the names a layout lists (`None` where absent).
pub(crate) type Found<'l> = SmallVec<[Option<Raw<'l>>; 8]>;

/// Reads into `found` the fields of `line` that `names` lists (in that order; `None`
/// where absent), or says why the line is not a JSON object; with `scanner` (the last
/// line's shape), the fast path first. `found` is the caller's, so that no value is moved on the way back.
pub(super) fn read_fields<'l>(
    names: &[Box<str>],
    line: &'l str,
    scanner: Option<&mut super::scan::Shape>,
    found: &mut Found<'l>,
) -> Result<(), Malformed> {
    found.clear();
    found.extend((0..names.len()).map(|_| None));
    if let Some(shape) = scanner {
        if super::scan::read_fields(names, line, found, shape).is_some() {
            return Ok(());
        }
    }
    found.iter_mut().for_each(|f| *f = None);
    *found = read_fields_serde(names, line, std::mem::take(found))?;
    Ok(())
}

/// [`read_fields`] by serde_json alone (into `found`, all `None`): any line.
pub(super) fn read_fields_serde<'l>(
    names: &[Box<str>],
    line: &'l str,
    mut found: SmallVec<[Option<Raw<'l>>; 8]>,
) -> Result<SmallVec<[Option<Raw<'l>>; 8]>, Malformed> {
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
