//! Giving decoded chunks the run's ids, in file order.
//!
//! Each decoding thread interns keys and strings in its own decoder, so its ids differ
//! from another thread's. Chunks are renumbered in file order by the run's decoder: a
//! chunk's keys that its thread had not seen before come in the order of their first
//! line in the chunk (the thread's ids are first-seen), so adopting them in that order
//! gives every key the id one decoder reading the whole file would have given it. The
//! cost is one lookup per key new to a thread, and an array index per event.

use super::workers::DecodedChunk;
use crate::json_lines::Decoder;
use streamlab_core::model::event::KeyId;
use streamlab_core::model::value::{Scalar, StrId};

/// One decoding thread's ids in the run's terms.
#[derive(Default)]
struct ThreadIds {
    keys: Vec<KeyId>,
    strings: Vec<StrId>,
    /// Whether both maps are the identity (one thread, no restored dictionary): then
    /// events keep their ids untouched.
    identity: bool,
}

/// Maps every decoding thread's ids to the run's.
pub struct Renumber {
    run: Decoder,
    threads: Vec<ThreadIds>,
    constants: usize,
}

impl Renumber {
    /// Renumbers into `run` (the run's decoder, its dictionary perhaps restored from a
    /// checkpoint) the chunks of `threads` threads, whose decoders know the plan's
    /// `constants` strings (ids `0..constants`, the same in every decoder).
    pub fn new(run: Decoder, threads: usize, constants: usize) -> Renumber {
        let threads = (0..threads)
            .map(|_| ThreadIds {
                keys: Vec::new(),
                strings: (0..constants as StrId).collect(),
                identity: true,
            })
            .collect();
        Renumber {
            run,
            threads,
            constants,
        }
    }

    /// The run's decoder (its key table is the one sinks print keys from).
    pub fn decoder(&self) -> &Decoder {
        &self.run
    }

    /// Gives `chunk`'s events the run's ids, and `seq` = `first_line` + their line in it.
    pub fn apply(&mut self, chunk: &mut DecodedChunk, first_line: u64) {
        let ids = &mut self.threads[chunk.thread];
        for values in &chunk.new_keys {
            let id = self.run.adopt_key(values);
            ids.identity &= id as usize == ids.keys.len();
            ids.keys.push(id);
        }
        for s in &chunk.new_strings {
            let id = self.run.adopt_string(s);
            ids.identity &= id as usize == ids.strings.len();
            ids.strings.push(id);
        }
        debug_assert!(ids.strings.len() >= self.constants);
        if ids.identity {
            for e in &mut chunk.events {
                e.seq += first_line;
            }
            return;
        }
        for e in &mut chunk.events {
            e.seq += first_line;
            e.key = ids.keys[e.key as usize];
            for f in e.fields.iter_mut() {
                if let Scalar::Str(s) = f {
                    *s = ids.strings[*s as usize];
                }
            }
        }
    }
}
