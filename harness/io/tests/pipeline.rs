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

/// Checkpoint positions over a file carry the CRC-32 of exactly the file's bytes before
/// their line, whatever the threads and chunk size, for JSON Lines and for CSV (whose
/// header line no chunk holds).
#[test]
fn positions_carry_the_checksum_of_the_file_before_their_line() {
    use streamlab_core::engine::{Poll, Source};
    use streamlab_io::file_position::FilePosition;
    use streamlab_io::file_prefix::FilePrefix;
    use streamlab_io::pipeline::source::StreamSource;
    use streamlab_io::pipeline::LineStream;

    let dir = std::env::temp_dir().join(format!("streamlab-crc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let mut json = String::new();
    let mut csv = String::from("ts,key,kind,user,value\n");
    for i in 0..3000 {
        let (k, pad) = (i % 17, "x".repeat(i % 13));
        json.push_str(&format!(
            r#"{{"ts":{i},"key":"k{k}","kind":"view","user":"u{pad}","value":{i}}}"#
        ));
        json.push('\n');
        csv.push_str(&format!("{i},k{k},view,u{pad},{i}\n"));
        if i % 101 == 0 {
            json.push_str("not json\n");
        }
    }
    let csv_plan = format!("format = \"csv\"\n{QUERY}");
    for (name, text, query) in [("in.jsonl", &json, QUERY), ("in.csv", &csv, &csv_plan[..])] {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write the input");
        let plan = Plan::from_toml(query).expect("the query");
        let bytes = text.as_bytes();
        for (threads, chunk_bytes) in [(1, 1), (2, 64), (4, 4096), (2, 1 << 20)] {
            let at = format!("{name}, {threads} threads, {chunk_bytes}-byte chunks");
            let options = DecodeOptions {
                threads,
                chunk_bytes,
                window: 3,
            };
            let file = std::fs::File::open(&path).expect("open");
            let stream =
                LineStream::start(Box::new(file), name, &plan, options, None, true).expect("start");
            let reread = std::fs::File::open(&path).expect("open again");
            let mut source =
                StreamSource::new(stream, Box::new(std::io::sink()), false, None, true)
                    .checksum_prefix(reread, FilePrefix::default());
            let (mut buf, mut checked) = (Vec::new(), 0);
            while let Poll::Ready = source.poll(&mut buf, 37).expect("poll") {
                let next = buf.last().expect("events").seq + 1;
                let position = source
                    .position(next)
                    .expect("a position for a delivered line");
                let p: FilePosition = position.decode().expect("a file position");
                assert_eq!(p.line, next, "{at}");
                let byte = p.byte as usize;
                assert!(byte == 0 || bytes[byte - 1] == b'\n', "{at}: byte {byte}");
                let want = crc32fast::hash(&bytes[..byte]);
                assert_eq!(p.prefix_crc32, Some(want), "{at}: line {next}, byte {byte}");
                checked += 1;
            }
            assert!(checked > 50, "{at}: {checked} positions");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
