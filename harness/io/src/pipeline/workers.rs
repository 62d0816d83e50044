//! The decoding threads: each takes whole chunks and decodes them with its own
//! [`Decoder`], so no lock is shared on the hot path. A decoded chunk's events carry the
//! thread's own key and string ids and their line's index inside the chunk as `seq`;
//! [`super::renumber`] makes them the run's, in file order.

use super::chunks::Chunk;
use crate::json_lines::Decoder;
use crossbeam_channel::{Receiver, Sender};
use streamlab_core::model::event::Malformed;
use streamlab_core::model::value::FieldValue;
use streamlab_core::{Event, Plan};

/// A line that gave no event, by its index in its chunk.
pub struct Skipped {
    /// 0-based line index inside the chunk.
    pub line: u64,
    /// Why (`Malformed::is_filtered` ones are filtered, not broken).
    pub why: Malformed,
}

/// One chunk, decoded by one thread.
pub struct DecodedChunk {
    /// The chunk's position in the input.
    pub index: u64,
    /// Byte offset of its first line.
    pub first_byte: u64,
    /// Its length in bytes.
    pub bytes: u64,
    /// Lines in it.
    pub lines: u64,
    /// The events, `seq` = line index inside the chunk, ids the thread's own.
    pub events: Vec<Event>,
    /// Lines that gave no event, in line order.
    pub skipped: Vec<Skipped>,
    /// The thread that decoded it (whose ids the events carry).
    pub thread: usize,
    /// Keys the thread had not seen before this chunk, in the order of its ids.
    pub new_keys: Vec<Box<[FieldValue]>>,
    /// Strings the thread had not seen before this chunk, in the order of its ids.
    pub new_strings: Vec<Box<str>>,
    /// Where each line starts inside the chunk, when positions are tracked (checkpoints).
    pub line_starts: Option<Vec<u64>>,
    /// The chunk's CRC-32 state, when positions are tracked: a checkpoint keeps the
    /// checksum of the file before its line ([`crate::file_prefix`]).
    pub crc: Option<crc32fast::Hasher>,
}

/// A chunk to decode and where its result goes.
pub type Job = (Chunk, Sender<DecodedChunk>);

/// Runs one decoding thread until `jobs` closes; `header`: a CSV input's header line,
/// read once by the pipeline.
pub fn decode_thread(
    thread: usize,
    plan: &Plan,
    header: Option<&str>,
    jobs: Receiver<Job>,
    track_lines: bool,
) {
    let mut decoder = Decoder::new(plan);
    if let Some(header) = header {
        // The pipeline read it with the run's decoder: it is a good one.
        let _ = decoder.set_header(header);
    }
    let (mut keys_seen, mut strings_seen) = decoder.key_table().sizes();
    for (chunk, done) in jobs {
        let mut out = decode_chunk(&mut decoder, &chunk, track_lines);
        out.thread = thread;
        decoder.key_table().read_all(|keys, strings| {
            out.new_keys = keys[keys_seen..].to_vec();
            out.new_strings = strings[strings_seen..].to_vec();
            (keys_seen, strings_seen) = (keys.len(), strings.len());
        });
        // The reader has gone (the run stopped): nothing to deliver to.
        let _ = done.send(out);
    }
}

/// Decodes the lines of `chunk` (docs/semantics.md's malformed rules: a line is split at
/// `\n`, a `\r` before it dropped; blank and non-UTF-8 lines are malformed).
fn decode_chunk(decoder: &mut Decoder, chunk: &Chunk, track_lines: bool) -> DecodedChunk {
    let bytes = &chunk.bytes[..];
    let mut events = Vec::with_capacity(bytes.len() / 48);
    let mut skipped = Vec::new();
    let mut line_starts = track_lines.then(Vec::new);
    // UTF-8 checked once for the chunk (a `\n` never splits a character): then each line
    // is a slice of it, and only a chunk holding a bad line checks its lines one by one.
    let whole = std::str::from_utf8(bytes).ok();
    let mut start = 0;
    let mut line = 0u64;
    while start < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        if let Some(starts) = &mut line_starts {
            starts.push(start as u64);
        }
        let text = &bytes[start..end];
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        let text = match whole {
            Some(whole) => Ok(&whole[start..start + text.len()]),
            None => std::str::from_utf8(text),
        };
        let decoded = match text {
            Ok(text) => decoder.decode(text, line),
            Err(e) => Err(decoder.not_utf8(e)),
        };
        match decoded {
            Ok(e) => events.push(e),
            Err(why) => skipped.push(Skipped { line, why }),
        }
        line += 1;
        start = end + 1;
    }
    DecodedChunk {
        index: chunk.index,
        first_byte: chunk.first_byte,
        bytes: bytes.len() as u64,
        lines: line,
        events,
        skipped,
        thread: 0,
        new_keys: Vec::new(),
        new_strings: Vec::new(),
        line_starts,
        crc: track_lines.then(|| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(bytes);
            crc
        }),
    }
}
