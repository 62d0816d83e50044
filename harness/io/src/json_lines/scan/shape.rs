//! A line's shape: the exact bytes between its values (`{"ts":`, `,"key":`, …, `}`) and
//! which field each value is, learnt from the last line the scanner read. The lines of a
//! file mostly share one shape, so the next line is first read against it: each run of
//! bytes between values is compared whole (a word at a time), not scanned as a field
//! name, looked up and checked byte by byte. A W1 line's five names cost more than its
//! values did.
//!
//! Why it reads what the full scanner reads: a run of bytes was consumed by the scanner's
//! grammar (whitespace, `,`, a plain quoted name, `:`) on the learnt line, and the same
//! bytes followed by the same value reader are consumed the same way on any line (its
//! whitespace reading is greedy, and a run ends right before a value or at the line's
//! end). Any difference (another name, order or spacing) makes [`Shape::read`] give up,
//! and the full scanner reads the line from its start.

use super::Cursor;
use crate::json_lines::line::Raw;

/// The shape of the last line read; empty until one is learnt.
#[derive(Default)]
pub(in crate::json_lines) struct Shape {
    /// The runs of bytes between values, one after another (reused from line to line: a
    /// new shape allocates nothing once the buffers have grown).
    bytes: Vec<u8>,
    /// Per value: where its run ends in `bytes`, the index of its name in the layout's
    /// names (`None`: a field no one reads, skipped), and its run's first eight bytes as
    /// a word with the mask of those that are the run's.
    values: Vec<(usize, Option<usize>, Head)>,
    /// The last run's head (the line's end).
    end: Head,
}

/// A run's first (up to) eight bytes as a little-endian word, and which of them count.
#[derive(Clone, Copy, Default)]
struct Head {
    word: u64,
    mask: u64,
}

impl Head {
    fn of(run: &[u8]) -> Head {
        let n = run.len().min(8);
        let mut bytes = [0u8; 8];
        bytes[..n].copy_from_slice(&run[..n]);
        Head {
            word: u64::from_le_bytes(bytes),
            mask: if n == 8 {
                u64::MAX
            } else {
                (1u64 << (8 * n)) - 1
            },
        }
    }
}

impl Shape {
    /// Starts learning a line's shape (the previous one is forgotten).
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.values.clear();
        self.end = Head::default();
    }

    /// Notes that `run` precedes a value of field `name`.
    pub(super) fn value(&mut self, run: &[u8], name: Option<usize>) {
        self.bytes.extend_from_slice(run);
        self.values.push((self.bytes.len(), name, Head::of(run)));
    }

    /// Notes the line's last run (after its last value, to its end).
    pub(super) fn end(&mut self, run: &[u8]) {
        self.bytes.extend_from_slice(run);
        self.end = Head::of(run);
    }

    /// Reads the fields of `line` into `found` if it has this shape; `None` otherwise
    /// (also when no shape is learnt, or a value needs the serde reader), and `found` may
    /// then hold some values.
    pub(super) fn read<'l>(&self, line: &'l str, found: &mut [Option<Raw<'l>>]) -> Option<()> {
        if self.values.is_empty() {
            return None;
        }
        let mut c = Cursor {
            text: line,
            bytes: line.as_bytes(),
            at: 0,
        };
        let mut from = 0;
        for &(to, name, head) in &self.values {
            c.expect(&self.bytes[from..to], head)?;
            match name {
                Some(i) => *found.get_mut(i)? = Some(c.value()?),
                None => c.skip_value(1)?,
            }
            from = to;
        }
        c.expect(&self.bytes[from..], self.end)?;
        (c.at == c.bytes.len()).then_some(())
    }
}

impl Cursor<'_> {
    /// Eats `run` (whose first bytes are `head`) if the line goes on with exactly these
    /// bytes: its head compared as one word where eight bytes follow (`==` on slices calls
    /// `memcmp`, dear for runs this short), the rest byte by byte.
    #[inline]
    fn expect(&mut self, run: &[u8], head: Head) -> Option<()> {
        let have = self.bytes.get(self.at..self.at + run.len())?;
        let rest = match self.bytes.get(self.at..self.at + 8) {
            Some(word) => {
                let word = u64::from_le_bytes(word.try_into().ok()?);
                if word & head.mask != head.word {
                    return None;
                }
                8
            }
            None => 0,
        };
        if rest < run.len() && !super::same_bytes(&have[rest..], &run[rest..]) {
            return None;
        }
        self.at += run.len();
        Some(())
    }
}
