//! `logs`: web-server access logs `ts, service, path, status, latency_ms, level` (the Kafka
//! log-aggregation practice).

use super::num;
use rand::Rng;
use rand_pcg::Pcg64Mcg;

const PATHS: [&str; 8] = [
    "/",
    "/login",
    "/search",
    "/cart",
    "/checkout",
    "/api/items",
    "/api/users",
    "/static/app.js",
];

/// The rest of a log line after its `ts`.
pub(super) fn write_log(buf: &mut Vec<u8>, key: u64, rng: &mut Pcg64Mcg) {
    buf.extend_from_slice(b",\"service\":\"svc-");
    num(buf, key);
    buf.extend_from_slice(b"\",\"path\":\"");
    buf.extend_from_slice(PATHS[rng.gen_range(0..PATHS.len())].as_bytes());
    let roll: u32 = rng.gen_range(0..100);
    let (status, level): (u32, &[u8]) = match roll {
        0..=87 => (200, b"INFO"),
        88..=92 => (404, b"WARN"),
        93..=96 => (500, b"ERROR"),
        _ => (503, b"ERROR"),
    };
    buf.extend_from_slice(b"\",\"status\":");
    num(buf, status);
    buf.extend_from_slice(b",\"latency_ms\":");
    let slow = rng.gen_range(0..100u32) < 2;
    num(
        buf,
        if slow {
            rng.gen_range(500..5_000u32)
        } else {
            rng.gen_range(1..80u32)
        },
    );
    buf.extend_from_slice(b",\"level\":\"");
    buf.extend_from_slice(level);
    buf.extend_from_slice(b"\"}\n");
}
