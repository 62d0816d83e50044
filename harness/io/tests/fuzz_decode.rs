//! Fuzzing the input decoders (issue 20): arbitrary bytes and mutations of valid JSON
//! Lines and CSV records, through the line decoder and through the whole decoding
//! pipeline, must never panic; every line is an event or a counted malformed line. A
//! fixed number of cases (a few seconds in CI); inputs are bounded, so memory is too.

use proptest::prelude::*;
use streamlab_core::Plan;
use streamlab_io::decode::decode_all;
use streamlab_io::json_lines::Decoder;

const QUERY: &str = r#"
event_time = "ts"
group_by = ["key"]
output_mode = "update"
[watermark]
delay = "5s"
[window]
kind = "sliding"
size = "10s"
slide = "5s"
[[filter]]
field = "kind"
op = "eq"
value = "view"
[[aggregate]]
fn = "count_distinct"
field = "user"
as = "users"
[[aggregate]]
fn = "sum"
field = "value"
as = "total"
[[aggregate]]
fn = "max"
field = "score"
as = "best"
"#;

fn plan(format: &str) -> Plan {
    Plan::from_toml(&format!("{format}\n{QUERY}")).expect("the fuzzed query")
}

/// Valid records to mutate: JSON with every type the fields take, and near-edges.
const JSON: [&str; 6] = [
    r#"{"ts":1000,"key":"k1","kind":"view","user":"u1","value":5,"score":1.5}"#,
    r#"{"ts":-9223372036854775808,"key":"k\u00e9","kind":"view","user":"u\n","value":-1,"score":-0.0}"#,
    r#"{"ts":9223372036854775807,"key":["a",1],"kind":"view","user":null,"value":9223372036854775807,"score":1e308}"#,
    r#"{"ts":"2024-01-01T00:00:00Z","key":"k","kind":"view","user":"u","value":1,"score":2}"#,
    r#"{"key":"k","ts":1,"kind":"view","user":"u","value":1.0e2,"score":"x","extra":{"a":[1,{"b":2}]}}"#,
    r#"  {"ts":1,"key":"k","kind":"view","user":"u","value":1,"score":1}  "#,
];

const CSV_HEADER: &str = "user,ts,kind,key,value,score";
const CSV: [&str; 4] = [
    "u1,1000,view,k1,5,1.5",
    "\"u,1\",7,view,\"k \"\"q\"\"\",2,0",
    "u1,9223372036854775807,view,k1,-9223372036854775808,1e308",
    "u1,5,view,k1,,",
];

/// A mutation of `seed`: bytes replaced, inserted, removed, or a slice repeated.
fn mutated(seeds: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::select(seeds),
        proptest::collection::vec((0usize..4, any::<usize>(), any::<u8>()), 0..8),
    )
        .prop_map(|(seed, edits)| {
            let mut bytes = seed.as_bytes().to_vec();
            for (kind, at, byte) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.insert(at, byte),
                    2 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {
                        let piece = bytes[at..].iter().take(16).copied().collect::<Vec<_>>();
                        bytes.splice(at..at, piece);
                    }
                }
            }
            bytes
        })
}

/// Decodes `line` with `decoder` as the CLI's readers do (UTF-8 first).
fn decode_line(decoder: &mut Decoder, line: &[u8], seq: u64) -> bool {
    match std::str::from_utf8(line) {
        Ok(text) => decoder.decode(text, seq).is_ok(),
        Err(e) => {
            let _ = decoder.not_utf8(e);
            false
        }
    }
}

/// The whole pipeline over `text`: every line is at most one event or malformed line;
/// only a bad CSV header (line 1) stops it, with an error naming it.
fn pipeline_counts_every_line(text: &[u8], plan: &Plan, header: bool) {
    let decoded = match decode_all(text, "fuzz", plan, false, &mut std::io::sink()) {
        Ok(d) => d,
        Err(e) if header => {
            let said = format!("{e:#}");
            assert!(said.starts_with("fuzz:1: "), "{said}");
            return;
        }
        Err(e) => panic!("decoding failed without --strict: {e:#}"),
    };
    let lines = text.split(|&b| b == b'\n').count() as u64 - u64::from(text.ends_with(b"\n"));
    let lines = lines.saturating_sub(u64::from(header));
    assert!(
        decoded.events.len() as u64 + decoded.malformed + decoded.unmatched <= lines.max(1),
        "{} events, {} malformed, {} filtered from {lines} lines",
        decoded.events.len(),
        decoded.malformed,
        decoded.unmatched
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn json_lines_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let plan = plan("");
        let mut decoder = Decoder::new(&plan);
        for (seq, line) in bytes.split(|&b| b == b'\n').enumerate() {
            decode_line(&mut decoder, line, seq as u64);
        }
    }

    #[test]
    fn json_lines_never_panic_on_mutated_records(lines in proptest::collection::vec(mutated(&JSON), 1..6)) {
        let plan = plan("");
        let mut decoder = Decoder::new(&plan);
        for (seq, line) in lines.iter().enumerate() {
            decode_line(&mut decoder, line, seq as u64);
        }
        let text = lines.join(&b'\n');
        pipeline_counts_every_line(&text, &plan, false);
    }

    #[test]
    fn csv_never_panics_on_mutated_records(rows in proptest::collection::vec(mutated(&CSV), 1..6), header in mutated(&[CSV_HEADER])) {
        let plan = plan("format = \"csv\"");
        let mut decoder = Decoder::new(&plan);
        if let Ok(h) = std::str::from_utf8(&header) {
            let _ = decoder.set_header(h);
        }
        for (seq, row) in rows.iter().enumerate() {
            decode_line(&mut decoder, row, seq as u64 + 1);
        }
        let mut text = header.clone();
        for row in &rows {
            text.push(b'\n');
            text.extend_from_slice(row);
        }
        pipeline_counts_every_line(&text, &plan, true);
    }

    #[test]
    fn csv_with_declared_columns_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let plan = plan("format = \"csv\"\ncolumns = [\"user\", \"ts\", \"kind\", \"key\", \"value\", \"score\"]");
        let mut decoder = Decoder::new(&plan);
        for (seq, line) in bytes.split(|&b| b == b'\n').enumerate() {
            decode_line(&mut decoder, line, seq as u64);
        }
        pipeline_counts_every_line(&bytes, &plan, false);
    }
}
