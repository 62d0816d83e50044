//! CSV input (`format = "csv"`): the same events as the same records in JSON Lines, the
//! header line (line 1 of the file) read once and counted in `file:line` reports, and the
//! pipeline's answer the same for any number of threads and any chunk size.

use proptest::prelude::*;
use streamlab_core::{Event, Plan};
use streamlab_io::decode::{decode_with, MalformedReport};
use streamlab_io::json_lines::Decoder;
use streamlab_io::pipeline::DecodeOptions;

/// A query reading a group key, a filtered string field and a distinct-counted one.
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

/// The CSV header of the rows below: another order than JSON's, and a column the query
/// does not read.
const HEADER: &str = "user,ts,kind,key,extra,value";

fn plan(format: &str) -> Plan {
    Plan::from_toml(&format!("{format}\n{QUERY}")).expect("the test query")
}

/// One record as a JSON line and as a CSV row of [`HEADER`].
fn record(ts: i64, k: u8, kind: &str, u: u8, v: i64) -> (String, String) {
    (
        format!(r#"{{"ts":{ts},"key":"k{k}","kind":"{kind}","user":"u{u}","value":{v}}}"#),
        format!("u{u},{ts},{kind},k{k},x,{v}"),
    )
}

fn good() -> impl Strategy<Value = (String, String)> {
    (0i64..40_000, 0u8..6, 0u8..3, 0u8..5, -5i64..100).prop_map(|(ts, k, kind, u, v)| {
        record(ts, k, ["view", "click", "buy"][kind as usize], u, v)
    })
}

/// A CSV row: mostly good ones, and each kind of bad one.
fn row() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => good().prop_map(|(_, csv)| csv),
        1 => Just(String::new()),
        1 => Just("u1,5,view".to_owned()),
        1 => Just("u1,5,view,\"k1,x,1".to_owned()),
        1 => Just("u1,late,view,k1,x,1".to_owned()),
        1 => Just("u1,5,view,k1,x,".to_owned()),
        1 => Just("\"u,1\",7,view,\"k \"\"q\"\"\",x,2".to_owned()),
        1 => Just("u1,7,view,k\"1,x,2".to_owned()),
    ]
}

/// One decoder reading `text` line by line (the header first): events, malformed count,
/// the report.
fn one_decoder(text: &[u8], plan: &Plan) -> (Vec<Event>, u64, String) {
    let mut decoder = Decoder::new(plan);
    assert!(decoder.needs_header());
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if text.ends_with(b"\n") {
        lines.pop();
    }
    let (mut events, mut out) = (Vec::new(), Vec::new());
    let mut report = MalformedReport::new(&mut out, "in.csv");
    for (i, line) in lines.into_iter().enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = std::str::from_utf8(line);
        if i == 0 {
            decoder
                .set_header(line.expect("a UTF-8 header"))
                .expect("a good header");
            continue;
        }
        let decoded = match line {
            Ok(line) => decoder.decode(line, i as u64),
            Err(e) => Err(decoder.not_utf8(e)),
        };
        match decoded {
            Ok(e) => events.push(e),
            Err(why) => report.line(i as u64 + 1, &why),
        }
    }
    let malformed = report.finish(events.len() as u64);
    (
        events,
        malformed,
        String::from_utf8(out).expect("reports are UTF-8"),
    )
}

/// The file: the header, `rows` (each ending in CRLF where its flag says), with a
/// non-UTF-8 byte in row 3 when `bad_utf8`.
fn csv_bytes(rows: &[(String, bool)], last_newline: bool, bad_utf8: bool) -> Vec<u8> {
    let text = csv_text(rows, last_newline);
    if !bad_utf8 || rows.len() < 5 {
        return text.into_bytes();
    }
    let mut bytes = text.into_bytes();
    // Just before row 3's end (line 5 of the file: the header is line 1).
    let ends: Vec<usize> = bytes
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    bytes.insert(ends[4] - usize::from(rows[3].1), 0xff);
    bytes
}

fn csv_text(rows: &[(String, bool)], last_newline: bool) -> String {
    let mut text = format!("{HEADER}\n");
    for (r, crlf) in rows {
        text.push_str(r);
        text.push_str(if *crlf { "\r\n" } else { "\n" });
    }
    if !last_newline {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_threads_and_chunk_size_give_one_decoders_answer(
        rows in prop::collection::vec((row(), any::<bool>()), 0..100),
        last_newline in any::<bool>(),
        bad_utf8 in any::<bool>(),
    ) {
        let plan = plan("format = \"csv\"");
        let text = csv_bytes(&rows, last_newline, bad_utf8);
        let (want, malformed, report) = one_decoder(&text, &plan);
        for threads in [1, 2, 4] {
            for chunk_bytes in [1, 7, 64, 4096, 4 << 20] {
                let options = DecodeOptions { threads, chunk_bytes, window: 3 };
                let mut out = Vec::new();
                let got = decode_with(&text[..], "in.csv", &plan, false, &mut out, options)
                    .expect("decodes");
                let at = format!("{threads} threads, {chunk_bytes}-byte chunks");
                prop_assert_eq!(&got.events, &want, "{}", at);
                prop_assert_eq!(got.malformed, malformed, "{}", at);
                prop_assert_eq!(String::from_utf8(out).expect("UTF-8"), report.clone(), "{}", at);
            }
        }
    }

    #[test]
    fn csv_gives_the_events_of_the_same_records_in_json(
        records in prop::collection::vec(good(), 0..60),
    ) {
        let json: String = records.iter().map(|(j, _)| format!("{j}\n")).collect();
        let rows: String = records.iter().map(|(_, c)| format!("{c}\n")).collect();
        let options = DecodeOptions { threads: 2, chunk_bytes: 64, window: 3 };
        let decode = |text: &str, plan: &Plan| {
            decode_with(text.as_bytes(), "in", plan, true, &mut Vec::new(), options)
                .expect("no malformed line")
        };
        let from_json = decode(&json, &plan(""));
        // With a header, each record is one line further down.
        let with_header = decode(&format!("{HEADER}\n{rows}"), &plan("format = \"csv\""));
        let shifted: Vec<Event> = from_json
            .events
            .iter()
            .map(|e| Event { seq: e.seq + 1, ..e.clone() })
            .collect();
        prop_assert_eq!(&with_header.events, &shifted);
        prop_assert_eq!(
            format!("{:?}", with_header.keys.dictionary()),
            format!("{:?}", from_json.keys.dictionary())
        );
        // Declared columns, no header: the same lines as the JSON file.
        let declared = decode(
            &rows,
            &plan("format = \"csv\"\ncolumns = [\"user\", \"ts\", \"kind\", \"key\", \"extra\", \"value\"]"),
        );
        prop_assert_eq!(&declared.events, &from_json.events);
    }
}

#[test]
fn malformed_csv_lines_are_reported_with_their_line_in_the_file() {
    let text = format!(
        "{HEADER}\n{}\nu1,5,view\nu1,late,view,k1,x,1\nu1,5,view,\"k1,x,1\n\nu1,5,view,k1,x,\n",
        record(1, 1, "view", 1, 1).1
    );
    let mut out = Vec::new();
    let options = DecodeOptions {
        threads: 2,
        chunk_bytes: 16,
        window: 3,
    };
    let got = decode_with(
        text.as_bytes(),
        "in.csv",
        &plan("format = \"csv\""),
        false,
        &mut out,
        options,
    )
    .expect("decodes");
    assert_eq!(got.events.len(), 1);
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "streamlab: in.csv:3: skipped malformed line: not a CSV record: 3 columns, not the 6 of the header\n\
         streamlab: in.csv:4: skipped malformed line: field `ts` must be an integer (ms), found a string\n\
         streamlab: in.csv:5: skipped malformed line: not a CSV record: column 4 has an unclosed quote\n\
         streamlab: in.csv:6: skipped malformed line: empty line\n\
         streamlab: in.csv:7: skipped malformed line: missing field `value`\n\
         streamlab: warning: in.csv: 5 of 6 lines were malformed and skipped; most common: \
         not a CSV record (2 lines).\n"
    );
    let strict = decode_with(
        text.as_bytes(),
        "in.csv",
        &plan("format = \"csv\""),
        true,
        &mut Vec::new(),
        options,
    )
    .err()
    .expect("--strict stops")
    .to_string();
    assert!(
        strict.contains("in.csv:3: malformed line: not a CSV record"),
        "{strict}"
    );
}

#[test]
fn a_bad_header_is_an_error_naming_the_file() {
    for (header, says) in [
        (
            "ts,key,ts,value",
            "in.csv:1: bad CSV header: CSV column `ts` is named twice",
        ),
        (
            "ts,,value",
            "in.csv:1: bad CSV header: CSV column 2 has no name",
        ),
    ] {
        let err = decode_with(
            format!("{header}\n1,a,2\n").as_bytes(),
            "in.csv",
            &plan("format = \"csv\""),
            false,
            &mut Vec::new(),
            DecodeOptions::with_threads(2),
        )
        .err()
        .expect("a bad header")
        .to_string();
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn a_csv_line_that_is_not_utf8_is_not_a_csv_record() {
    let mut text = format!("{HEADER}\n").into_bytes();
    text.extend_from_slice(b"u1,5,view,k\xff,x,1\n");
    let mut out = Vec::new();
    decode_with(
        &text[..],
        "in.csv",
        &plan("format = \"csv\""),
        false,
        &mut out,
        DecodeOptions::with_threads(2),
    )
    .expect("decodes");
    let report = String::from_utf8(out).expect("UTF-8");
    assert!(
        report.starts_with(
            "streamlab: in.csv:2: skipped malformed line: not a CSV record: not UTF-8"
        ),
        "{report}"
    );
}
