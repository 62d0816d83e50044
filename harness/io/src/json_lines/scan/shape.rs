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
    /// Per value: where its run ends in `bytes`, and the index of its name in the
    /// layout's names (`None`: a field no one reads, skipped).
    values: Vec<(usize, Option<usize>)>,
}

impl Shape {
    /// Starts learning a line's shape (the previous one is forgotten).
    pub(super) fn clear(&mut self) {
        self.bytes.clear();
        self.values.clear();
    }

    /// Notes that `run` precedes a value of field `name`.
    pub(super) fn value(&mut self, run: &[u8], name: Option<usize>) {
        self.bytes.extend_from_slice(run);
        self.values.push((self.bytes.len(), name));
    }

    /// Notes the line's last run (after its last value, to its end).
    pub(super) fn end(&mut self, run: &[u8]) {
        self.bytes.extend_from_slice(run);
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
        for &(to, name) in &self.values {
            c.expect(&self.bytes[from..to])?;
            match name {
                Some(i) => *found.get_mut(i)? = Some(c.value()?),
                None => c.skip_value(1)?,
            }
            from = to;
        }
        c.expect(&self.bytes[from..])?;
        (c.at == c.bytes.len()).then_some(())
    }
}

impl Cursor<'_> {
    /// Eats `run` if the line goes on with exactly these bytes (compared eight at a time:
    /// `==` on slices calls `memcmp`, dear for runs this short).
    #[inline]
    fn expect(&mut self, run: &[u8]) -> Option<()> {
        let have = self.bytes.get(self.at..self.at + run.len())?;
        let mut a = have.chunks_exact(8);
        let mut b = run.chunks_exact(8);
        for (x, y) in (&mut a).zip(&mut b) {
            if u64::from_ne_bytes(x.try_into().ok()?) != u64::from_ne_bytes(y.try_into().ok()?) {
                return None;
            }
        }
        let (x, y) = (a.remainder(), b.remainder());
        if !x.iter().zip(y).all(|(x, y)| x == y) {
            return None;
        }
        self.at += run.len();
        Some(())
    }
}
