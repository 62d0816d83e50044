//! String expressions: typing, evaluation, null rules, printing back, and errors.

use super::text::{TextCondition, TextExpr, Value};
use crate::model::value::FieldValue;

fn s(x: &str) -> FieldValue {
    FieldValue::Str(x.into())
}

fn text(v: &str) -> Value {
    Value::Str(v.into())
}

/// Parses with unknown field types, evaluates over the inputs in first-use order.
fn eval(e: &str, inputs: &[FieldValue]) -> Value {
    TextExpr::parse(e, &mut |_| None).unwrap().eval(inputs)
}

#[test]
fn fields_in_string_places_are_text() {
    let e = TextExpr::parse("SPLIT_INDEX(url, '/', 3)", &mut |_| None).unwrap();
    assert_eq!(e.inputs(), [("url".to_string(), true)]);
    assert!(e.is_string());
    assert_eq!(e.eval(&[s("https://x.com/a/b/c")]), text("a"));
    assert_eq!(e.eval(&[s("https://x.com")]), Value::Null);
    // A number where the function takes one; text elsewhere.
    let e = TextExpr::parse(
        "DATE_FORMAT(ts, 'yyyy-MM-dd') || ' ' || channel",
        &mut |_| None,
    )
    .unwrap();
    assert_eq!(
        e.inputs(),
        [("ts".to_string(), false), ("channel".to_string(), true)]
    );
    assert_eq!(e.eval(&[FieldValue::Int(0), s("a")]), text("1970-01-01 a"));
}

#[test]
fn declared_types_win() {
    let mut types = |f: &str| Some(f == "name");
    let e = TextExpr::parse("CONCAT(name, CAST(price AS STRING))", &mut types).unwrap();
    assert_eq!(
        e.inputs(),
        [("name".to_string(), true), ("price".to_string(), false)]
    );
    assert_eq!(e.eval(&[s("p"), FieldValue::Int(7)]), text("p7"));
    assert!(!TextExpr::is_text("price * 2", &mut types).unwrap());
    assert!(TextExpr::is_text("name", &mut types).unwrap());
}

#[test]
fn case_over_strings_and_numbers() {
    let e = "CASE WHEN LOWER(channel) = 'apple' THEN '0' WHEN price > 10 THEN 'big' ELSE REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2) END";
    let p = TextExpr::parse(e, &mut |_| None).unwrap();
    assert_eq!(
        p.inputs(),
        [
            ("channel".to_string(), true),
            ("price".to_string(), false),
            ("url".to_string(), true)
        ]
    );
    let row = |c: &str, price: i64, u: &str| [s(c), FieldValue::Int(price), s(u)];
    assert_eq!(p.eval(&row("Apple", 99, "")), text("0"));
    assert_eq!(p.eval(&row("x", 99, "")), text("big"));
    assert_eq!(p.eval(&row("x", 1, "a?q=1&channel_id=7")), text("7"));
    assert_eq!(p.eval(&row("x", 1, "a")), Value::Null);
    // Printed back, it parses to the same values.
    let again = TextExpr::parse(&p.to_string(), &mut |_| None).unwrap();
    for r in [row("Apple", 99, ""), row("x", 1, "a?q=1&channel_id=7")] {
        assert_eq!(again.eval(&r), p.eval(&r));
    }
}

#[test]
fn conditions_are_three_valued() {
    let c = TextCondition::parse(
        "REGEXP_EXTRACT(url, 'id=([0-9]+)') IS NOT NULL OR LOWER(channel) IN ('apple', 'google')",
        &mut |_| None,
    )
    .unwrap();
    assert!(c.holds(&[s("x?id=3"), s("z")]));
    assert!(c.holds(&[s("x"), s("GOOGLE")]));
    assert!(!c.holds(&[s("x"), s("z")]));
    // A comparison with NULL is unknown: NOT keeps it unknown, so neither holds.
    let eq = TextCondition::parse("SPLIT_INDEX(u, '/', 5) = 'a'", &mut |_| None).unwrap();
    let ne = TextCondition::parse("NOT SPLIT_INDEX(u, '/', 5) = 'a'", &mut |_| None).unwrap();
    assert!(!eq.holds(&[s("a/b")]) && !ne.holds(&[s("a/b")]));
    // Byte order.
    let lt = TextCondition::parse("name < 'b'", &mut |_| Some(true)).unwrap();
    assert!(lt.holds(&[s("B")]) && !lt.holds(&[s("é")]));
}

#[test]
fn nulls_and_numbers() {
    assert_eq!(eval("CHAR_LENGTH(x) + 1", &[s("héllo")]), Value::Int(6));
    // A field of unknown type under a cast to a number is a number; declared text is
    // parsed.
    assert_eq!(eval("CAST(x AS BIGINT) * 2", &[s(" 21 ")]), Value::Null);
    let e = TextExpr::parse("CAST(x AS BIGINT) * 2", &mut |_| Some(true)).unwrap();
    assert_eq!(e.eval(&[s(" 21 ")]), Value::Int(42));
    assert_eq!(eval("CAST(x AS BIGINT)", &[s("abc")]), Value::Null);
    assert_eq!(
        eval("UPPER(x)", &[FieldValue::Float(f64::NAN)]),
        Value::Null
    );
    assert_eq!(eval("CONCAT(x, 'a''b')", &[s("q")]), text("qa'b"));
}

#[test]
fn errors_name_the_problem() {
    let err = |e: &str| TextExpr::parse(e, &mut |_| None).unwrap_err();
    assert!(
        err("REGEXP_EXTRACT(url, '(')").contains("bad regex '('"),
        "{}",
        err("REGEXP_EXTRACT(url, '(')")
    );
    assert!(err("REGEXP_EXTRACT(url, r)").contains("must be a string literal"));
    assert!(err("DATE_FORMAT(ts, 'yyyy-ww')").contains("letter `w` is not supported"));
    assert!(err("SPLIT_INDEX(url, '/')").contains("SPLIT_INDEX takes 3 arguments, not 2"));
    assert!(err("CONCAT(LOWER(x), HOUR(x))").contains("read both as a string and as a number"));
    assert!(err("CAST(x AS DATE)").contains("CAST to DATE"));
    let e = TextCondition::parse("price = 'x'", &mut |f| Some(f != "price")).unwrap_err();
    assert!(e.contains("a string compared with a number"), "{e}");
}
