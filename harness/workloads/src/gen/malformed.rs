//! Broken lines in place of events (`--malformed`): truncated JSON, not an object, no
//! fields, the time as a string, an empty line.

use super::num;

/// A broken line of kind `variant` (0..5).
pub(super) fn write_malformed(buf: &mut Vec<u8>, variant: u8, ts: i64) {
    match variant {
        0 => buf.extend_from_slice(b"{\"ts\":"), // truncated JSON
        1 => buf.extend_from_slice(b"[1,2,3]"),  // not an object
        2 => buf.extend_from_slice(b"{\"note\":\"no fields\"}"),
        3 => {
            buf.extend_from_slice(b"{\"ts\":\"");
            num(buf, ts);
            buf.extend_from_slice(b"\"}"); // time as a string
        }
        _ => {} // empty line
    }
    buf.push(b'\n');
}
