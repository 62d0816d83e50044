//! `clicks`: `ts, key, value, kind, user` (W1's input: count+sum per key).

use super::num;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// The rest of a click line after its `ts`.
pub(super) fn write_click(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"key\":\"k");
    num(buf, key);
    buf.extend_from_slice(b"\",\"value\":");
    num(buf, rng.gen_range(1..=100u32));
    let kind: u32 = rng.gen_range(0..100);
    buf.extend_from_slice(match kind {
        0..=69 => b",\"kind\":\"view\"".as_slice(),
        70..=94 => b",\"kind\":\"click\"".as_slice(),
        _ => b",\"kind\":\"purchase\"".as_slice(),
    });
    buf.extend_from_slice(b",\"user\":\"u");
    num(buf, rng.gen_range(0..100_000u32));
    buf.extend_from_slice(b"\"}\n");
}
