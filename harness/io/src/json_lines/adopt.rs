//! Adopting what another decoder interned: the parallel pipeline (`crate::pipeline`)
//! decodes chunks of a file on several threads, each with its own [`Decoder`] and so its
//! own key and string ids; one decoder, the run's, then adopts every chunk's new keys and
//! strings in file order, so each gets the id a single decoder reading the whole file
//! would have given it (dense, in first-seen order), and the answer does not depend on
//! the number of decoding threads.

use super::{encode_values, intern_str, Decoder};
use streamlab_core::model::event::KeyId;
use streamlab_core::model::value::{FieldValue, StrId};

impl Decoder {
    /// The id of the key `values` (as a key table holds them), interning it if it is new.
    pub fn adopt_key(&mut self, values: &[FieldValue]) -> KeyId {
        self.key_buf.clear();
        // A projection's computed text follows from the read values (`ComputedText`).
        match &self.computed {
            Some(c) => encode_values(c.read_values(values), &mut self.key_buf),
            None => encode_values(values, &mut self.key_buf),
        }
        if let Some(&id) = self.keys.get(self.key_buf.as_slice()) {
            return id;
        }
        let id = self.key_table.push(values.into());
        self.keys.insert(self.key_buf.as_slice().into(), id);
        id
    }

    /// The id of the string `s`, interning it if it is new.
    pub fn adopt_string(&mut self, s: &str) -> StrId {
        intern_str(&mut self.strings, &self.key_table, s)
    }
}
