//! `likes`: `ts, video, user` (the likes-counting example).

use super::num;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// The rest of a like line after its `ts`.
pub(super) fn write_like(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"video\":\"v");
    num(buf, key);
    buf.extend_from_slice(b"\",\"user\":\"u");
    num(buf, rng.gen_range(0..1_000_000u32));
    buf.extend_from_slice(b"\"}\n");
}
