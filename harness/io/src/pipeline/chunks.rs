//! Cutting a byte stream into chunks of whole lines, so that chunks can be decoded
//! independently and in parallel: a line is never split between two chunks.
//!
//! A chunk ends at the first newline at or after `chunk_bytes` bytes, so a chunk size of 1
//! gives one line a chunk and a line longer than the chunk size makes one longer chunk.
//! The last chunk may end without a newline (a last line without one).

use std::io::{ErrorKind, Read};

/// Lines `first_line..` of the input, starting at byte `first_byte`.
pub struct Chunk {
    /// Position in the input's chunk sequence (0, 1, 2, ...).
    pub index: u64,
    /// Byte offset of the chunk's first line in the input (from where it was opened).
    pub first_byte: u64,
    /// Whole lines, each with its newline except perhaps the input's last.
    pub bytes: Vec<u8>,
}

/// Reads line-aligned [`Chunk`]s from a reader.
pub struct ChunkReader<R> {
    reader: R,
    chunk_bytes: usize,
    /// Bytes read after the last chunk's end: the start of the next one.
    carry: Vec<u8>,
    next_index: u64,
    next_byte: u64,
    ended: bool,
}

impl<R: Read> ChunkReader<R> {
    /// Chunks of at least `chunk_bytes` (at least 1) bytes of `reader`, the first starting
    /// at byte `first_byte` of the input (non-zero when a run resumes mid-file).
    pub fn new(reader: R, chunk_bytes: usize, first_byte: u64) -> ChunkReader<R> {
        ChunkReader {
            reader,
            chunk_bytes: chunk_bytes.max(1),
            carry: Vec::new(),
            next_index: 0,
            next_byte: first_byte,
            ended: false,
        }
    }

    /// How much is read at a time: small against the chunk, so the bytes read past a
    /// chunk's end (copied into the next one) stay few.
    fn piece(&self) -> usize {
        (self.chunk_bytes / 8).clamp(4 << 10, 256 << 10)
    }

    /// The next chunk, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> std::io::Result<Option<Chunk>> {
        let mut bytes = std::mem::take(&mut self.carry);
        bytes.reserve(self.chunk_bytes.saturating_add(self.piece()).min(64 << 20));
        let mut searched = 0; // no newline at or after the chunk size before this
        let end = loop {
            if bytes.len() >= self.chunk_bytes {
                let from = searched.max(self.chunk_bytes - 1);
                if let Some(i) = memchr::memchr(b'\n', &bytes[from..]) {
                    break from + i + 1;
                }
                searched = bytes.len();
            }
            if self.ended {
                break bytes.len();
            }
            let at = bytes.len();
            bytes.resize(at + self.piece(), 0);
            let n = loop {
                match self.reader.read(&mut bytes[at..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => {
                        bytes.truncate(at);
                        return Err(e);
                    }
                }
            };
            bytes.truncate(at + n);
            if n == 0 {
                self.ended = true;
            }
        };
        if end == 0 {
            return Ok(None);
        }
        self.carry = bytes[end..].to_vec();
        bytes.truncate(end);
        let chunk = Chunk {
            index: self.next_index,
            first_byte: self.next_byte,
            bytes,
        };
        self.next_index += 1;
        self.next_byte += end as u64;
        Ok(Some(chunk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &str, size: usize) -> Vec<(u64, String)> {
        let mut reader = ChunkReader::new(text.as_bytes(), size, 0);
        let mut out = Vec::new();
        while let Some(c) = reader.next_chunk().unwrap() {
            out.push((c.first_byte, String::from_utf8(c.bytes).unwrap()));
        }
        out
    }

    #[test]
    fn chunks_hold_whole_lines_and_cover_the_input() {
        let text = "a\nbb\nccc\n\ndddd";
        for size in [1, 2, 3, 5, 8, 100] {
            let got = chunks(text, size);
            assert_eq!(got.iter().map(|c| c.1.as_str()).collect::<String>(), text);
            for (i, (start, c)) in got.iter().enumerate() {
                assert_eq!(&text[*start as usize..][..c.len()], c);
                if i + 1 < got.len() {
                    assert!(c.ends_with('\n'), "size {size}: {got:?}");
                    assert!(c.len() >= size, "size {size}: {got:?}");
                }
            }
        }
        assert_eq!(chunks(text, 1).len(), 5, "one line a chunk");
        assert_eq!(chunks(text, 100).len(), 1);
        assert!(chunks("", 4).is_empty());
    }

    #[test]
    fn a_line_longer_than_the_chunk_size_is_one_chunk() {
        let long = "x".repeat(100_000);
        let text = format!("a\n{long}\nb\n");
        let got = chunks(&text, 2);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1, format!("{long}\n"));
    }
}
