//! The decoding pipeline gives the events, ids, counts and reports of one decoder reading
//! the whole input line by line, for any number of threads and any chunk size.

use proptest::prelude::*;
use streamlab_core::model::event::Malformed;
use streamlab_core::{Event, Plan};
use streamlab_io::decode::{decode_with, MalformedReport};
use streamlab_io::json_lines::Decoder;
use streamlab_io::pipeline::DecodeOptions;

/// A query reading a group key, a filtered string field and a distinct-counted one, so
/// keys and strings are both interned.
const QUERY: &str = r#"
event_time = "ts"
group_by = ["key"]
output_mode = "update"
[watermark]
delay = "5s"
[window]
kind = "tumbling"
size = "10s"
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
"#;

/// A key table's contents, comparable.
fn dictionary(keys: &streamlab_core::KeyTable) -> Vec<String> {
    let d = keys.dictionary();
    let mut out: Vec<String> = d.keys.iter().map(|k| format!("{k:?}")).collect();
    out.extend(d.strings.iter().map(|s| format!("str {s}")));
    out
}

/// What one decoder reading line by line gives: events, malformed count, the report, the
/// dictionary.
fn one_decoder(text: &[u8], plan: &Plan) -> (Vec<Event>, u64, String, Vec<String>) {
    let mut decoder = Decoder::new(plan);
    let mut events = Vec::new();
    let mut out = Vec::new();
    let mut report = MalformedReport::new(&mut out, "in");
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if text.ends_with(b"\n") || text.is_empty() {
        lines.pop();
    }
    for (i, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let decoded = match std::str::from_utf8(line) {
            Ok(t) => decoder.decode(t, i as u64),
            Err(e) => Err(Malformed::NotJson(format!("not UTF-8: {e}"))),
        };
        match decoded {
            Ok(e) => events.push(e),
            Err(why) => report.line(i as u64 + 1, &why),
        }
    }
    let malformed = report.finish(events.len() as u64);
    let dict = dictionary(decoder.key_table());
    (
        events,
        malformed,
        String::from_utf8(out).expect("reports are UTF-8"),
        dict,
    )
}

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0i64..40_000, 0u8..6, 0u8..3, 0u8..5, -5i64..100).prop_map(|(ts, k, kind, u, v)| {
            let kind = ["view", "click", "buy"][kind as usize];
            format!(r#"{{"ts":{ts},"key":"k{k}","kind":"{kind}","user":"u{u}","value":{v}}}"#)
        }),
        1 => Just(String::new()),
        1 => Just("not json".to_owned()),
        1 => Just(r#"{"ts":"late","key":"k1","kind":"view","user":"u","value":1}"#.to_owned()),
        1 => (0u8..6).prop_map(|k| format!(r#"{{"ts":5,"key":"k{k}","kind":"view"}}"#)),
        1 => Just(r#"{"ts":7,"key":"k\u00e9","kind":"view","user":"ü","value":2.5}"#.to_owned()),
    ]
}

/// Lines with disorder, malformed and blank lines, CRLF, a non-UTF-8 line, with or
/// without a last newline.
fn input() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec((line(), any::<bool>()), 0..120),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(lines, last_newline, bad_utf8)| {
            let mut text = Vec::new();
            for (i, (l, crlf)) in lines.iter().enumerate() {
                text.extend_from_slice(l.as_bytes());
                if bad_utf8 && i == 3 {
                    text.extend_from_slice(b"\xff");
                }
                text.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            if !last_newline && text.ends_with(b"\n") {
                text.pop();
                if text.ends_with(b"\r") {
                    text.pop();
                }
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn any_threads_and_chunk_size_give_one_decoders_answer(text in input()) {
        let plan = Plan::from_toml(QUERY).unwrap();
        let (want, malformed, report, dict) = one_decoder(&text, &plan);
        for threads in [1, 2, 4] {
            for chunk_bytes in [1, 7, 64, 4096, 4 << 20] {
                let options = DecodeOptions { threads, chunk_bytes, window: 3 };
                let mut out = Vec::new();
                let got = decode_with(&text[..], "in", &plan, false, &mut out, options).unwrap();
                let at = format!("{threads} threads, {chunk_bytes}-byte chunks");
                prop_assert_eq!(&got.events, &want, "{}", at);
                prop_assert_eq!(got.malformed, malformed, "{}", at);
                prop_assert_eq!(String::from_utf8(out).unwrap(), report.clone(), "{}", at);
                prop_assert_eq!(&dictionary(&got.keys), &dict, "{}", at);
            }
        }
    }
}

#[test]
fn strict_names_the_first_malformed_line_whatever_the_threads() {
    let plan = Plan::from_toml(QUERY).unwrap();
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!(
            r#"{{"ts":{i},"key":"k","kind":"view","user":"u","value":1}}"#
        ));
        text.push('\n');
    }
    text.push_str("oops\nagain\n");
    for threads in [1, 3] {
        let options = DecodeOptions {
            threads,
            chunk_bytes: 100,
            window: 4,
        };
        let err = decode_with(
            text.as_bytes(),
            "in.jsonl",
            &plan,
            true,
            &mut Vec::new(),
            options,
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("in.jsonl:5001: malformed line: not JSON"),
            "{err}"
        );
    }
}
