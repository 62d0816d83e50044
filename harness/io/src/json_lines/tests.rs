//! The decoder against hand-written lines.

use super::*;
use streamlab_core::query::Plan;

fn plan() -> Plan {
    Plan::from_toml(
        r#"
event_time = "ts"
group_by = ["key", "region"]
[window]
kind = "tumbling"
size = "10s"
[[filter]]
field = "kind"
op = "eq"
value = "view"
[[aggregate]]
fn = "sum"
field = "value"
as = "total"
"#,
    )
    .unwrap()
}

#[test]
fn a_restored_dictionary_gives_keys_and_strings_their_old_ids() {
    let line = |key: &str, kind: &str| {
        format!(r#"{{"ts": 1, "key": "{key}", "region": 1, "kind": "{kind}", "value": 1}}"#)
    };
    let mut first = Decoder::new(&plan());
    let a = first.decode(&line("a", "click"), 0).unwrap();
    let b = first.decode(&line("b", "buy"), 1).unwrap();
    let dictionary = first.key_table().dictionary();
    assert_eq!(
        dictionary.strings.len(),
        3,
        "the constant `view`, then click and buy"
    );

    let mut resumed = Decoder::new(&plan());
    resumed.restore(dictionary.clone()).unwrap();
    let b2 = resumed.decode(&line("b", "buy"), 2).unwrap();
    assert_eq!(
        (b2.key, &b2.fields),
        (b.key, &b.fields),
        "old key and string ids"
    );
    let c = resumed.decode(&line("c", "view"), 3).unwrap();
    assert_eq!(c.key, 2, "new keys follow the restored ones");
    assert_eq!(c.fields[0], Scalar::Str(0), "the constant keeps id 0");
    let n = resumed.decode(&line("a", "new"), 4).unwrap();
    assert_eq!((n.key, n.fields[0]), (a.key, Scalar::Str(3)));
    resumed.key_table().with(b2.key, |v| {
        assert!(matches!(&v[0], FieldValue::Str(s) if &**s == "b"))
    });

    let other = Plan::from_toml(&plan().to_toml().replace("\"view\"", "\"click\"")).unwrap();
    assert!(Decoder::new(&other).restore(dictionary).is_err());
}

#[test]
fn decodes_needed_fields_and_ignores_others() {
    let mut d = Decoder::new(&plan());
    let e = d
        .decode(
            r#"{"ts": -5, "key": "a", "region": 3, "kind": "view", "value": 2.5, "extra": [1, {"x": 2}]}"#,
            7,
        )
        .unwrap();
    assert_eq!(e.seq, 7);
    assert_eq!(e.time, -5);
    assert_eq!(e.fields[0], Scalar::Str(0), "`view` is filter constant 0");
    assert_eq!(e.fields[1], Scalar::Float(2.5));
    d.key_table().with(e.key, |k| {
        assert_eq!(k, &[FieldValue::Str("a".into()), FieldValue::Int(3)])
    });
}

#[test]
fn equal_group_values_share_a_key() {
    let mut d = Decoder::new(&plan());
    let line = r#"{"ts": 1, "key": "a", "region": 1, "kind": "x", "value": 1}"#;
    let a = d.decode(line, 0).unwrap();
    let b = d.decode(line, 1).unwrap();
    let c = d
        .decode(
            r#"{"ts": 1, "key": "a", "region": "1", "kind": "x", "value": 1}"#,
            2,
        )
        .unwrap();
    assert_eq!(a.key, b.key);
    assert_ne!(a.key, c.key, "the string \"1\" is not the number 1");
    assert_eq!(d.key_table().len(), 2);
}

#[test]
fn an_inputs_filter_takes_its_own_lines_of_a_shared_file() {
    let plan = Plan::from_toml(
        r#"
event_time = "ts"
group_by = ["person"]
[window]
kind = "tumbling"
size = 10
[[join]]
kind = "window"
[[input]]
name = "persons"
path = "n.jsonl"
group_by = ["id"]
[[input.filter]]
field = "kind"
op = "eq"
value = "person"
[[input]]
name = "auctions"
path = "n.jsonl"
group_by = ["seller"]
[[input.filter]]
field = "kind"
op = "eq"
value = "auction"
[[aggregate]]
fn = "count"
as = "pairs"
"#,
    )
    .unwrap();
    let mut d = Decoder::new(&plan);
    let auction = r#"{"ts": 1, "kind": "auction", "seller": 7}"#;
    let person = r#"{"ts": 2, "kind": "person", "id": 7}"#;
    let a = d.decode_input(1, auction, 0).unwrap();
    let p = d.decode_input(0, person, 1).unwrap();
    assert_eq!(
        (a.key, a.part, p.part),
        (p.key, 1, 0),
        "seller 7 is person 7"
    );
    assert_eq!(
        d.decode_input(0, auction, 2),
        Err(Malformed::OtherInput {
            input: "persons".into()
        }),
        "an auction is no person's line, though it has no `id`"
    );
    let bid = r#"{"ts": 3, "kind": "bid", "price": 5}"#;
    assert!(matches!(
        d.decode_input(1, bid, 3),
        Err(Malformed::OtherInput { .. })
    ));
    assert_eq!(
        d.decode_input(1, r#"{"ts": 3, "seller": 7}"#, 4),
        Err(Malformed::Missing("kind".into())),
        "without the filtered field the line is malformed"
    );
    let err = Plan::from_toml(&plan.to_toml().replacen("op = \"eq\"", "op = \"lt\"", 1))
        .unwrap_err()
        .to_string();
    assert!(err.contains("input[0].filter[0].op"), "{err}");

    // A line parsed once for both inputs gives each what decoding it alone would.
    let lines = [
        auction,
        person,
        bid,
        r#"{"ts": 3, "seller": 7}"#,
        r#"{"ts": "x", "kind": "person", "id": 8}"#,
        r#"{"kind": "auction", "seller": "7", "ts": 4}"#,
        "not json",
        "  ",
        "[1]",
    ];
    let (mut alone, mut shared) = (Decoder::new(&plan), Decoder::new(&plan));
    let mut out = Vec::new();
    for (k, line) in lines.iter().enumerate() {
        let seq = 2 * k as u64;
        shared.decode_shared(line, seq, &mut out);
        let each: Vec<_> = (0..2u16)
            .map(|i| alone.decode_input(i, line, seq + u64::from(i)))
            .collect();
        assert_eq!(out, each, "{line}");
    }
}

/// A time above `i64::MAX` is an integer JSON holds but an event time cannot: the message
/// says so instead of "must be an integer, found an integer".
#[test]
fn a_time_beyond_64_bits_is_named_out_of_range() {
    let mut d = Decoder::new(&plan());
    let err = d
        .decode(
            r#"{"ts": 9223372036854775808, "key": "a", "region": 1, "kind": "x", "value": 1}"#,
            0,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `ts` must be an integer (ms), found an integer out of range of a 64-bit integer"
    );
}

#[test]
fn malformed_lines_say_why() {
    let mut d = Decoder::new(&plan());
    assert_eq!(d.decode("   ", 0), Err(Malformed::Empty));
    assert!(matches!(
        d.decode("{not json", 0),
        Err(Malformed::NotJson(_))
    ));
    assert_eq!(d.decode("[1, 2]", 0), Err(Malformed::NotObject));
    assert_eq!(d.decode("42", 0), Err(Malformed::NotObject));
    assert_eq!(
        d.decode(r#"{"ts": 1, "key": "a", "region": 1, "kind": "x"}"#, 0),
        Err(Malformed::Missing("value".into()))
    );
    let err = d
        .decode(
            r#"{"ts": 1.5, "key": "a", "region": 1, "kind": "x", "value": 1}"#,
            0,
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `ts` must be an integer (ms), found a float"
    );
    let err = d
        .decode(
            r#"{"ts": 1, "key": null, "region": 1, "kind": "x", "value": 1}"#,
            0,
        )
        .unwrap_err();
    assert!(err.to_string().contains("`key`"), "{err}");
    let err = d
        .decode(
            r#"{"ts": 1, "key": "a", "region": 1, "kind": 3, "value": 1}"#,
            0,
        )
        .unwrap_err();
    assert!(err.to_string().contains("`kind` must be a string"), "{err}");
    assert!(matches!(
        d.decode(
            r#"{"ts": 1, "key": "a", "region": 1, "kind": "x", "value": 1} trailing"#,
            0
        ),
        Err(Malformed::NotJson(_))
    ));
}

/// An event time whose windows would not fit in i64 is malformed, for every window kind
/// and both formats (the repro of a hang: ts = i64::MAX under a sliding window); a time
/// whose windows fit, and any time of a query without windows, is an event.
#[test]
fn a_time_whose_windows_leave_i64_is_malformed() {
    let line =
        |ts: i64| format!(r#"{{"ts": {ts}, "key": "a", "region": 1, "kind": "view", "value": 1}}"#);
    let sliding = plan()
        .to_toml()
        .replace("kind = \"tumbling\"", "kind = \"sliding\"\nslide = \"5s\"");
    let session = plan().to_toml().replace(
        "kind = \"tumbling\"\nsize = \"10s\"",
        "kind = \"session\"\ngap = \"10s\"",
    );
    for text in [plan().to_toml(), sliding, session] {
        let p = Plan::from_toml(&text).unwrap();
        let mut d = Decoder::new(&p);
        for ts in [i64::MAX, i64::MAX - 5_000] {
            let err = d.decode(&line(ts), 0).unwrap_err();
            assert!(
                matches!(err, Malformed::TimeOutOfRange { .. }),
                "{text}: {err}"
            );
        }
        assert!(d.decode(&line(i64::MAX - 20_000), 0).is_ok(), "{text}");
        assert!(d.decode(&line(i64::MIN + 20_000), 0).is_ok(), "{text}");
        let mut csv = Decoder::new(&Plan::from_toml(&format!("format = \"csv\"\n{text}")).unwrap());
        csv.set_header("ts,key,region,kind,value").unwrap();
        let err = csv
            .decode(&format!("{},a,1,view,1", i64::MAX), 1)
            .unwrap_err();
        assert!(
            matches!(err, Malformed::TimeOutOfRange { .. }),
            "{text}: {err}"
        );
    }
    let err = Decoder::new(&plan())
        .decode(&line(i64::MAX), 0)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "field `ts`: time 9223372036854775807 is too close to the edge of 64-bit time: its \
         windows span [9223372036854770000, 9223372036854780000), which ends after \
         9223372036854775807"
    );

    let projection = Plan::from_toml(
        "event_time = \"ts\"\n[[select]]\nfield = \"ts\"\n[[select]]\nas = \"v\"\nexpr = \"value * 2\"\n",
    )
    .unwrap();
    assert!(Decoder::new(&projection).decode(&line(i64::MAX), 0).is_ok());
}

/// Lines through a projection and back to text: decoding, the operator and the row format
/// together (these lived in core's projection tests before the decoder moved here).
mod projection {
    use super::Decoder;
    use streamlab_core::query::Plan;

    const Q: &str = include_str!("../../../../core/tests/data/projection.toml");

    #[test]
    fn rows_hold_the_columns_in_order_and_read_back() {
        let plan = Plan::from_toml(Q).unwrap();
        let p = plan.projection.as_ref().unwrap();
        let mut d = Decoder::new(&plan);
        let e = d
            .decode(
                r#"{"auction": 4, "channel": "a\"b", "price": 1000, "x": 1}"#,
                9,
            )
            .unwrap();
        assert!(p.keeps(&plan.filters, &e));
        let row = p.row(&e);
        assert_eq!(row.trigger, Some(9));
        let mut out = Vec::new();
        d.key_table()
            .with(row.key, |key| p.write(&row, key, &[], &mut out));
        let line = String::from_utf8(out).unwrap();
        assert_eq!(
            line,
            "{\"auction\":4,\"channel\":\"a\\\"b\",\"price_eur\":908.0,\"cents\":1000}\n"
        );
        let back = streamlab_core::ResultRow::parse(line.trim_end(), &plan).unwrap();
        assert_eq!(back.group.len(), 1);
        assert_eq!(back.values.len(), 3);
        let odd = d
            .decode(r#"{"auction": 5, "channel": "c", "price": 1}"#, 10)
            .unwrap();
        assert!(!p.keeps(&plan.filters, &odd));
    }

    #[test]
    fn text_and_number_types_are_checked_by_the_decoder() {
        let plan = Plan::from_toml(Q).unwrap();
        let mut d = Decoder::new(&plan);
        let err = d
            .decode(r#"{"auction": 4, "channel": 3, "price": 1}"#, 0)
            .unwrap_err();
        assert!(
            err.to_string().contains("`channel` must be a string"),
            "{err}"
        );
        let err = d
            .decode(r#"{"auction": "4", "channel": "c", "price": 1}"#, 0)
            .unwrap_err();
        assert!(
            err.to_string().contains("`auction` must be a number"),
            "{err}"
        );
        let err = d
            .decode(r#"{"auction": 4, "channel": "c"}"#, 0)
            .unwrap_err();
        assert!(err.to_string().contains("`price`"), "{err}");
    }
}

/// Lines of one shared file through both inputs of a regular join and back to text.
mod regular_join {
    use super::Decoder;
    use streamlab_core::model::value::AggValue;
    use streamlab_core::ops::joins::regular::JoinState;
    use streamlab_core::query::Plan;
    use streamlab_core::Event;

    const Q: &str = include_str!("../../../../core/tests/data/regular_join.toml");

    fn decode(d: &mut Decoder, line: &str, seq: u64) -> Vec<Event> {
        // A shared file: each line is offered to both inputs; at most one keeps it.
        (0..2)
            .filter_map(|i| d.decode_input(i, line, seq).ok())
            .collect()
    }

    #[test]
    fn pairs_are_joined_in_either_order_and_printed_with_their_strings() {
        let plan = Plan::from_toml(Q).unwrap();
        let p = plan.projection.as_ref().unwrap();
        let join = p.join().unwrap();
        let mut d = Decoder::new(&plan);
        let lines = [
            r#"{"kind":"auction","id":7,"seller":1,"reserve":5}"#,
            r#"{"kind":"person","id":1,"name":"Ann \"A\"","state":"OR"}"#,
            r#"{"kind":"person","id":2,"name":"Bo","state":"WA"}"#,
            r#"{"kind":"auction","id":8,"seller":1,"reserve":6}"#,
            r#"{"kind":"auction","id":9,"seller":2,"reserve":6}"#,
        ];
        let mut state = JoinState::default();
        let mut rows = Vec::new();
        for (seq, line) in lines.iter().enumerate() {
            for e in decode(&mut d, line, seq as u64) {
                state.arrive(join, &e, &mut rows);
            }
        }
        // Bo is in WA: filtered out by his input, so auction 9 has no partner.
        assert_eq!(state.kept(), [1, 3]);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].trigger, Some(1), "the person arrived second");
        assert_eq!(rows[1].trigger, Some(3));
        let mut out = Vec::new();
        d.key_table().read_all(|keys, strings| {
            for r in &rows {
                p.write(r, &keys[r.key as usize], strings, &mut out);
            }
        });
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"name\":\"Ann \\\"A\\\"\",\"auction\":7,\"double_reserve\":10,\"state\":\"OR\"}\n\
             {\"name\":\"Ann \\\"A\\\"\",\"auction\":8,\"double_reserve\":12,\"state\":\"OR\"}\n"
        );
        let back = streamlab_core::ResultRow::parse(text.lines().next().unwrap(), &plan).unwrap();
        assert_eq!(back.group.len(), 2);
        assert_eq!(back.values, vec![AggValue::Int(7), AggValue::Int(10)]);
    }
}
