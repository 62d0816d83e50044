//! The scanner against serde_json's reader, the rule: wherever the scanner reads a line,
//! serde_json must read the same values; on tricky lines (hand-written and generated) the
//! decoder gives the same events, errors and keys with the scanner as without it
//! (valid lines, odd spacing, escapes, big numbers, exponents, duplicated fields, nested
//! values, truncated lines).

use super::super::line::{read_fields_serde, Raw};
use super::super::Decoder;
use super::Shape;
use proptest::prelude::*;
use smallvec::SmallVec;
use streamlab_core::query::Plan;

const NAMES: [&str; 3] = ["ts", "key", "value"];

fn names() -> Vec<Box<str>> {
    NAMES.iter().map(|&n| n.into()).collect()
}

/// Whether two read values are the same (floats bit for bit).
fn same(a: &Option<Raw<'_>>, b: &Option<Raw<'_>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => match (a, b) {
            (Raw::Str(a), Raw::Str(b)) => a == b,
            (Raw::Int(a), Raw::Int(b)) => a == b,
            (Raw::BigUint(a), Raw::BigUint(b)) => a == b,
            (Raw::Float(a), Raw::Float(b)) => a.to_bits() == b.to_bits(),
            (Raw::Bool(a), Raw::Bool(b)) => a == b,
            (Raw::Null, Raw::Null) | (Raw::Array, Raw::Array) | (Raw::Object, Raw::Object) => true,
            _ => false,
        },
        _ => false,
    }
}

/// Checks the scanner on `line`; returns whether it read it (rather than giving up).
fn check(line: &str) -> bool {
    let names = names();
    let mut fast: SmallVec<[Option<Raw<'_>>; 8]> = (0..names.len()).map(|_| None).collect();
    let read = super::read_fields(&names, line, &mut fast, &mut Shape::default()).is_some();
    let slow = read_fields_serde(&names, line, (0..names.len()).map(|_| None).collect());
    if read {
        let slow = slow.unwrap_or_else(|e| panic!("scanner read {line:?}, serde_json: {e}"));
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            assert!(same(f, s), "{line:?}: `{}` {f:?} vs {s:?}", NAMES[i]);
        }
    }
    read
}

/// Reads `second` by the shape learnt from `first`; wherever the shape reads it,
/// serde_json must read the same values. Returns whether the shape read it.
fn check_shape(first: &str, second: &str) -> bool {
    let names = names();
    let fresh = || -> SmallVec<[Option<Raw<'_>>; 8]> { (0..names.len()).map(|_| None).collect() };
    let mut shape = Shape::default();
    let learnt = super::read_fields(&names, first, &mut fresh(), &mut shape).is_some();
    let mut fast = fresh();
    let read = shape.read(second, &mut fast).is_some();
    assert!(
        learnt || !read,
        "a shape from the unread line {first:?} read {second:?}"
    );
    if read {
        let slow = read_fields_serde(&names, second, fresh())
            .unwrap_or_else(|e| panic!("shape of {first:?} read {second:?}, serde_json: {e}"));
        for (i, (f, s)) in fast.iter().zip(&slow).enumerate() {
            assert!(
                same(f, s),
                "{second:?} (shape of {first:?}): `{}` {f:?} vs {s:?}",
                NAMES[i]
            );
        }
    }
    read
}

#[test]
fn lines_of_the_last_shape_are_read_by_it() {
    let w1 = |ts: &str, key: &str, value: &str| {
        format!(r#"{{"ts":{ts},"key":"{key}","value":{value},"kind":"click","user":"u1"}}"#)
    };
    let first = w1("1700000000000", "k1", "50");
    for second in [
        w1("1700000000001", "k1858", "99"),
        w1("-3", "", "0.25"),
        w1("1e3", "é", "18446744073709551616"),
        r#"{"ts":1,"key":"a","value":{"x":[1]},"kind":null,"user":"u1"}"#.to_string(),
    ] {
        assert!(
            check_shape(&first, &second),
            "not read by the shape: {second}"
        );
    }
    for second in [
        w1("1", "a\\b", "1"),
        w1("01", "a", "1"),
        w1("1 ", "a", "1"),
        format!("{} ", w1("1", "a", "1")),
        r#"{"ts":1,"kee":"a","value":1,"kind":"click","user":"u1"}"#.to_string(),
        r#"{"ts":1,"key":"a","value":1,"kind":"click"}"#.to_string(),
        r#"{"ts":1,"key":"a","value":1,"kind":"click","user":"u1","x":2}"#.to_string(),
        r#"{"ts":1,"key":"a","value":1,"kind":"click","user":"u1}"#.to_string(),
        w1("1", "a", "1")[..20].to_string(),
        String::new(),
    ] {
        assert!(!check_shape(&first, &second), "read by the shape: {second}");
    }
}

/// The decoder with and without the scanner over `lines`: same results, same keys.
fn check_decoder(lines: &[String]) {
    let plan = Plan::from_toml(include_str!("../../../../../queries/w1.toml")).expect("w1");
    let (mut fast, mut slow) = (Decoder::new(&plan), Decoder::new(&plan));
    slow.use_scanner(false);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(fast.decode(l, i as u64), slow.decode(l, i as u64), "{l:?}");
    }
    assert_eq!(
        format!("{:?}", fast.key_table().dictionary()),
        format!("{:?}", slow.key_table().dictionary())
    );
}

#[test]
fn usual_lines_are_read_by_the_scanner() {
    for line in [
        r#"{"ts":1700000000000,"key":"k1333","value":50,"kind":"click","user":"u12681"}"#,
        r#"{ "ts" : -5 , "key" : "é ü 日本", "value" : 2.5 }"#,
        "\t{\"ts\":1,\r\n\"key\":true,\"value\":-0.125} \r",
        r#"{"ts":0,"key":null,"value":[1,{"x":[2,{}]},"s",-3.5e-7,true,null],"o":{"a":{}}}"#,
        r#"{"ts":1,"ts":2,"key":"a","key":7}"#,
        r#"{"ts":-0,"value":0.0,"key":-0.0}"#,
        r#"{"ts":999999999999999999,"value":-999999999999999999}"#,
        r#"{"ts":9223372036854775807,"value":-9223372036854775808,"key":18446744073709551615}"#,
        r#"{"ts":18446744073709551616,"value":1e300,"key":1E+2}"#,
        r#"{"ts":1.5e3,"value":-2e-2,"key":123456789.123456789}"#,
        r#"{"ts":0.1,"value":0.30000000000000004,"key":1234567890.12345}"#,
        r#"{}"#,
        r#"{"other":"x"}"#,
        r#"{"value":{}, "key":[]}"#,
    ] {
        assert!(check(line), "not read: {line}");
    }
}

#[test]
fn unusual_lines_are_left_to_serde_json() {
    for line in [
        r#"{"ts":1,"key":"a\"b","value":1}"#,
        r#"{"ts":1,"key":"\u00e9","value":1}"#,
        r#"{"t\u0073":1,"key":"a","value":1}"#,
        "{\"ts\":1,\"key\":\"a\tb\",\"value\":1}",
        r#"{"ts":1,"value":1e400}"#,
        r#"{"ts":01}"#,
        r#"{"ts":1.}"#,
        r#"{"ts":.5}"#,
        r#"{"ts":+1}"#,
        r#"{"ts":-}"#,
        r#"{"ts":1,}"#,
        r#"{"ts":1 "key":2}"#,
        r#"{"ts":tru}"#,
        r#"{"ts":1} trailing"#,
        r#"{"ts":1}}"#,
        r#"{ts:1}"#,
        r#"{"ts":[1,]}"#,
        r#"{"x":{"a" 1}}"#,
        "\u{feff}{\"ts\":1}",
        "{\"ts\":1}\u{c}",
        "[1, 2]",
        "42",
        "not json",
        r#"{"ts":1"#,
        r#"{"ts":"#,
        r#"{"ts""#,
        "{",
        "",
    ] {
        assert!(!check(line), "read: {line}");
    }
    let deep = format!(r#"{{"x":{}1{}}}"#, "[".repeat(200), "]".repeat(200));
    assert!(!check(&deep));
}

#[test]
fn the_decoder_gives_the_same_events_and_errors_either_way() {
    let lines: Vec<String> = [
        r#"{"ts":1,"key":"a","value":1}"#,
        r#"{"ts":2,"key":"a\u0062","value":1.5}"#,
        r#"{"ts":3,"key":"ab","value":1}"#,
        r#"{"ts":3,"key":1,"value":1}"#,
        r#"{"ts":3,"key":1.0,"value":1}"#,
        r#"{"ts":3,"key":"1","value":1}"#,
        r#"{"ts":3,"key":18446744073709551615,"value":18446744073709551615}"#,
        r#"{"ts":3,"key":true,"value":-0}"#,
        r#"{"ts":1.0,"key":"a","value":1}"#,
        r#"{"ts":"1","key":"a","value":1}"#,
        r#"{"ts":1,"key":null,"value":1}"#,
        r#"{"ts":1,"key":[],"value":1}"#,
        r#"{"ts":1,"key":"a","value":"1"}"#,
        r#"{"ts":1,"key":"a"}"#,
        r#"{"ts":1,"key":"a","value":1e400}"#,
        r#"{"ts":1,"key":"a","value":1} x"#,
        "[1]",
        "   ",
        r#"{"ts":1,"key":"a","value":2,"key":"b"}"#,
    ]
    .map(String::from)
    .to_vec();
    check_decoder(&lines);
}

/// A JSON-ish value's text: valid and invalid numbers, literals, strings and nesting.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:?}")),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        "-?(0|[1-9][0-9]{0,22})(\\.[0-9]{1,20})?([eE][+-]?[0-9]{1,3})?",
        "-?[0-9.eE+-]{1,8}",
        Just("-0".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        Just("nul".to_string()),
        "\"[a-z é\\\\\"\t\u{1}]{0,6}\"",
        "\"(\\\\[\"\\\\/bfnrtu]|[a-z])*\"",
        Just("[1, {\"x\": [2, \"y\"]}, []]".to_string()),
        Just("{\"a\": {\"b\": null}}".to_string()),
        Just("[1,]".to_string()),
        Just("{\"a\"}".to_string()),
    ]
}

/// Two lines of the same field names, order and spacing, with other values.
fn same_shape_lines() -> impl Strategy<Value = (String, String)> {
    let key = prop_oneof![Just("ts"), Just("key"), Just("value"), Just("x")];
    let ws = "[ \t]{0,1}";
    (
        prop::collection::vec((ws, key, ws, ws, value(), value(), ws), 1..6),
        ws,
    )
        .prop_map(|(fields, lead)| {
            let line = |second: bool| {
                let body: Vec<String> = fields
                    .iter()
                    .map(|(a, k, b, c, v, w, d)| {
                        format!("{a}\"{k}\"{b}:{c}{}{d}", if second { w } else { v })
                    })
                    .collect();
                format!("{lead}{{{}}}", body.join(","))
            };
            (line(false), line(true))
        })
}

fn line() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        Just("ts"),
        Just("key"),
        Just("value"),
        Just("x"),
        Just("k\\u0065y"),
    ];
    let ws = "[ \t\r\n]{0,2}";
    (
        prop::collection::vec((ws, key, ws, value(), ws), 0..6),
        ws,
        prop_oneof![Just(""), Just(""), Just(","), Just(" x"), Just("}")],
    )
        .prop_map(|(fields, lead, tail)| {
            let body: Vec<String> = fields
                .iter()
                .map(|(a, k, b, v, c)| format!("{a}\"{k}\"{b}:{c}{v}"))
                .collect();
            format!("{lead}{{{}}}{tail}", body.join(","))
        })
}

proptest! {
    #[test]
    fn the_scanner_reads_what_serde_json_reads(line in line()) {
        check(&line);
    }

    #[test]
    fn truncated_lines_decode_the_same_either_way(line in line(), cut in any::<prop::sample::Index>()) {
        // A line cut anywhere (at a character boundary), as a torn last line of a file.
        let ends: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
        let cut = &line[..ends[cut.index(ends.len())]];
        check(cut);
        check_decoder(&[cut.to_string()]);
    }

    #[test]
    fn a_learnt_shape_reads_what_serde_json_reads((first, second) in same_shape_lines(), other in line()) {
        check_shape(&first, &second);
        check_shape(&first, &other);
        check_shape(&other, &first);
        check_decoder(&[first, second, other]);
    }

    #[test]
    fn generated_lines_decode_the_same_either_way(lines in prop::collection::vec(line(), 1..20)) {
        check_decoder(&lines);
    }
}

#[test]
fn eight_digits_are_valued_as_digit_by_digit() {
    let word = |s: &[u8]| u64::from_le_bytes(s.try_into().expect("eight bytes"));
    for s in ["00000000", "12345678", "99999999", "17000000", "00000001"] {
        let v = super::eight_digits(word(s.as_bytes()));
        assert_eq!(v, Some(s.parse().expect("digits")), "{s}");
    }
    for s in [
        "1234567a",
        "/2345678",
        ":2345678",
        "1234 678",
        "1234567\u{7f}",
    ] {
        assert_eq!(super::eight_digits(word(s.as_bytes())), None, "{s}");
    }
}

proptest! {
    #[test]
    fn eight_digits_agree_with_a_byte_loop(bytes in prop::array::uniform8(prop_oneof![b'0'..=b'9', any::<u8>()])) {
        let digits = bytes.iter().all(u8::is_ascii_digit);
        let expected = digits.then(|| bytes.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0')));
        prop_assert_eq!(super::eight_digits(u64::from_le_bytes(bytes)), expected);
    }
}
