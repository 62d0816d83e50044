//! The fast path of reading a JSON line: a byte scanner specialised for the flat objects
//! the lab's inputs are, reading only a layout's fields and skipping (while checking) the
//! others. It gives up on anything unusual, and [`line`](super::line)'s serde reader,
//! whose outcome is the rule, reads the line instead.
//!
//! The contract: whenever [`read_fields`] returns `Some`, the serde reader would have
//! returned `Ok` with the same values (a duplicated field keeps its last value, integers
//! as `Int` up to `i64` and `BigUint` above, `-0` a float, and floats bit for bit as
//! serde_json computes them). It gives up (`None`) on: escapes in a string or a field
//! name, a control character in a string, numbers with an exponent or over 18 digits whose
//! value is needed (those are read by serde_json's own number reader, on the number only),
//! nesting deeper than [`MAX_DEPTH`], and any syntax error (so that the error message is
//! serde_json's). Whitespace is JSON's four bytes, as serde_json's.
//!
//! A line of the last read line's shape (the same names, order and spacing) is read by
//! [`Shape`] first, comparing the bytes between values whole; strings and digits are
//! scanned eight bytes at a time (SWAR) where eight follow.
//!
//! Measured with `cargo bench -p streamlab-io --no-default-features --bench decode`
//! (figures in the bench's doc comment) and in instructions a line with callgrind
//! (docs/measurement.md, "Measuring the decoder").

use super::line::Raw;
pub(super) use shape::Shape;
use std::borrow::Cow;

mod shape;

/// Deeper nesting is left to the serde reader (its limit is 128).
const MAX_DEPTH: usize = 64;

/// Powers of ten a float of at most 15 digits is divided by (exact as `f64`), as
/// serde_json's table.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// Reads the fields of `line` that `names` lists into `found` (each `None` on entry), or
/// `None` when the line needs the serde reader (`found` may then hold some values).
/// `shape` is the last read line's: a line of the same shape is read by it, and a line
/// read otherwise becomes the new shape.
pub(super) fn read_fields<'l>(
    names: &[Box<str>],
    line: &'l str,
    found: &mut [Option<Raw<'l>>],
    shape: &mut Shape,
) -> Option<()> {
    if shape.read(line, found).is_some() {
        return Some(());
    }
    found.iter_mut().for_each(|f| *f = None);
    shape.clear();
    let read = read_and_learn(names, line, found, shape);
    if read.is_none() {
        shape.clear();
    }
    read
}

/// [`read_fields`] by the grammar, noting the line's shape into `shape` (complete only
/// when the line is read).
fn read_and_learn<'l>(
    names: &[Box<str>],
    line: &'l str,
    found: &mut [Option<Raw<'l>>],
    shape: &mut Shape,
) -> Option<()> {
    let mut c = Cursor {
        text: line,
        bytes: line.as_bytes(),
        at: 0,
    };
    // Where the run of bytes before the next value (or the line's end) starts.
    let mut run = 0;
    c.ws();
    c.eat(b'{')?;
    c.ws();
    if c.peek() == Some(b'}') {
        c.at += 1;
    } else {
        loop {
            c.eat(b'"')?;
            let key = c.string_body()?;
            c.ws();
            c.eat(b':')?;
            c.ws();
            let name = names
                .iter()
                .position(|n| same_bytes(n.as_bytes(), key.as_bytes()));
            shape.value(&c.bytes[run..c.at], name);
            match name {
                Some(i) => found[i] = Some(c.value()?),
                None => c.skip_value(1)?,
            }
            run = c.at;
            c.ws();
            match c.next()? {
                b',' => c.ws(),
                b'}' => break,
                _ => return None,
            }
        }
    }
    c.ws();
    shape.end(&c.bytes[run..c.at]);
    (c.at == c.bytes.len()).then_some(())
}

/// Whether two short byte strings (field names) are equal: compared inline, where
/// `==` on slices calls `memcmp` (a tenth of the decoding time, measured).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The bytes that end a plain run of a string: its closing quote, an escape, a control
/// character.
static STRING_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = true;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// A word of eight copies of byte `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The length of the plain run (no [`STRING_STOP`] byte) that `bytes` starts with, or
/// `None` when no stop byte ends it. Eight bytes at a time (SWAR): a W1 string is one
/// word, where a byte loop with a table look-up cost a fifth of reading the line.
#[inline]
fn plain_run(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(b) = bytes.get(at..at + 8) {
        let w = u64::from_le_bytes(b.try_into().expect("eight bytes"));
        // Each term flags its bytes exactly up to its first hit (a borrow can only flag
        // bytes above one), so the lowest flag of the union is the first stop byte.
        let zero = |x: u64| x.wrapping_sub(splat(1)) & !x & splat(0x80);
        let stops = zero(w ^ splat(b'"'))
            | zero(w ^ splat(b'\\'))
            | (w.wrapping_sub(splat(0x20)) & !w & splat(0x80));
        if stops != 0 {
            return Some(at + (stops.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| STRING_STOP[usize::from(b)])
        .map(|p| at + p)
}

/// The value of the eight ASCII digits of `word` (little-endian: the first digit in the
/// lowest byte), or `None` when one byte is not a digit (simdjson's SWAR test and sum).
#[inline]
fn eight_digits(word: u64) -> Option<u64> {
    let high = word & splat(0xF0);
    let over = word.wrapping_add(splat(0x06)) & splat(0xF0);
    if high != splat(0x30) || over != splat(0x30) {
        return None;
    }
    let v = word - splat(b'0');
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let low = (v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32));
    Some(low.wrapping_add(high) >> 32)
}

/// The value of `text` if it is exactly one JSON number (as serde_json values it), for
/// the CSV reader's unquoted columns.
pub(crate) fn json_number(text: &str) -> Option<Raw<'_>> {
    let mut c = Cursor {
        text,
        bytes: text.as_bytes(),
        at: 0,
    };
    let v = c.number()?;
    (c.at == text.len()).then_some(v)
}

/// A position in a line.
struct Cursor<'l> {
    text: &'l str,
    bytes: &'l [u8],
    at: usize,
}

impl<'l> Cursor<'l> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.next()? == b).then_some(())
    }

    /// Skips JSON whitespace (the four bytes serde_json skips).
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// The rest of a string whose opening quote is read, up to its closing quote (eaten);
    /// `None` on an escape or a control character.
    #[inline(always)]
    fn string_body(&mut self) -> Option<&'l str> {
        let start = self.at;
        let len = plain_run(self.bytes.get(start..)?)?;
        if self.bytes[start + len] != b'"' {
            return None;
        }
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// A needed field's value.
    fn value(&mut self) -> Option<Raw<'l>> {
        Some(match self.peek()? {
            b'"' => {
                self.at += 1;
                Raw::Str(Cow::Borrowed(self.string_body()?))
            }
            b'-' | b'0'..=b'9' => return self.number(),
            b't' => self.literal(b"true").map(|()| Raw::Bool(true))?,
            b'f' => self.literal(b"false").map(|()| Raw::Bool(false))?,
            b'n' => self.literal(b"null").map(|()| Raw::Null)?,
            b'[' => self.skip_value(1).map(|()| Raw::Array)?,
            b'{' => self.skip_value(1).map(|()| Raw::Object)?,
            _ => return None,
        })
    }

    /// Digits, each appended to `v`: `(how many, v)` (wrapping past 19 digits; the value
    /// is only used up to 18). Eight at a time while eight follow (a W1 time has 13).
    #[inline(always)]
    fn digits(&mut self, mut v: u64) -> (usize, u64) {
        let (bytes, start) = (self.bytes, self.at);
        let mut at = start;
        while let Some(word) = bytes.get(at..at + 8) {
            match eight_digits(u64::from_le_bytes(word.try_into().expect("eight bytes"))) {
                Some(eight) => v = v.wrapping_mul(100_000_000).wrapping_add(eight),
                None => break,
            }
            at += 8;
        }
        while let Some(&b) = bytes.get(at) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            v = v.wrapping_mul(10).wrapping_add(u64::from(d));
            at += 1;
        }
        self.at = at;
        (at - start, v)
    }

    /// An integer part (after an optional `-`): one digit at least, no leading zero.
    #[inline(always)]
    fn integer(&mut self) -> Option<(usize, u64)> {
        let (n, v) = self.digits(0);
        (n == 1 || (n > 1 && self.bytes[self.at - n] != b'0')).then_some((n, v))
    }

    /// A needed number, valued as serde_json values it.
    fn number(&mut self) -> Option<Raw<'l>> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let (int_len, int) = self.integer()?;
        // serde_json's significand: all digits, the fraction's too.
        let (mut len, mut significand, mut frac_len) = (int_len, int, 0);
        if self.peek() == Some(b'.') {
            self.at += 1;
            (frac_len, significand) = self.digits(int);
            if frac_len == 0 {
                return None;
            }
            len += frac_len;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.exponent()?;
            return self.number_by_serde(start);
        }
        if frac_len == 0 {
            if len > 18 {
                return self.number_by_serde(start);
            }
            let v = significand as i64;
            return Some(match (negative, v) {
                // serde_json reads `-0` as a float.
                (true, 0) => Raw::Float(-0.0),
                (true, v) => Raw::Int(-v),
                (false, v) => Raw::Int(v),
            });
        }
        if len > 15 {
            return self.number_by_serde(start);
        }
        // Below 2^53 and divided by an exact power of ten: the same operations as
        // serde_json's (and the correctly rounded value its `float_roundtrip` gives).
        let f = significand as f64 / POW10[frac_len];
        Some(Raw::Float(if negative { -f } else { f }))
    }

    /// An exponent's rest (`e`, sign, digits), checked, not valued.
    fn exponent(&mut self) -> Option<()> {
        self.at += 1;
        if matches!(self.peek(), Some(b'+' | b'-')) {
            self.at += 1;
        }
        (self.digits(0).0 > 0).then_some(())
    }

    /// A number serde_json's reader values (big, long or with an exponent): the same
    /// reader on the number alone gives what it gives inside the line.
    #[cold]
    fn number_by_serde(&self, start: usize) -> Option<Raw<'l>> {
        serde_json::from_str::<Raw<'l>>(self.text.get(start..self.at)?).ok()
    }

    /// Skips (checking its syntax) a value of an unneeded field, or an array or object at
    /// nesting `depth` (the line's object is 1).
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.at += 1;
                self.string_body().map(|_| ())
            }
            b'-' | b'0'..=b'9' => {
                if self.peek() == Some(b'-') {
                    self.at += 1;
                }
                self.integer()?;
                if self.peek() == Some(b'.') {
                    self.at += 1;
                    if self.digits(0).0 == 0 {
                        return None;
                    }
                }
                if matches!(self.peek(), Some(b'e' | b'E')) {
                    self.exponent()?;
                }
                Some(())
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            open @ (b'[' | b'{') if depth < MAX_DEPTH => {
                let close = if open == b'[' { b']' } else { b'}' };
                self.at += 1;
                self.ws();
                if self.peek() == Some(close) {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.eat(b'"')?;
                        self.string_body()?;
                        self.ws();
                        self.eat(b':')?;
                        self.ws();
                    }
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.next()? {
                        b',' => self.ws(),
                        b if b == close => return Some(()),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
