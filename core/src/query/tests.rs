//! Query files and the builder against the plans they must give.

use super::*;
use crate::model::value::Scalar;
use crate::model::window::WindowSpec;
use crate::ops::filter::CmpOp;

const W1: &str = r#"
event_time = "ts"
group_by = ["key"]
output_mode = "append"
[watermark]
delay = "5s"
[window]
kind = "tumbling"
size = "10s"
time = "event"
[[filter]]
field = "kind"
op = "eq"
value = "view"
[[aggregate]]
fn = "count"
as = "n"
[[aggregate]]
fn = "sum"
field = "value"
as = "total"
"#;

#[test]
fn parses_the_documented_format() {
    let plan = Plan::from_toml(W1).unwrap();
    assert_eq!(plan.window, WindowSpec::Tumbling { size: 10_000 });
    assert_eq!(plan.delay_ms, 5_000);
    assert_eq!(plan.slots.len(), 2);
    assert_eq!(plan.string_constants, vec!["view".to_string()]);
    assert_eq!(plan.filters[0].value, Scalar::Str(0));
    assert_eq!(plan.aggregates[1].slot, Some(1));
}

#[test]
fn round_trips_through_toml() {
    let plan = Plan::from_toml(W1).unwrap();
    let again = Plan::from_toml(&plan.to_toml()).unwrap();
    assert_eq!(plan, again);
}

#[test]
fn unknown_keys_are_errors_that_name_the_key() {
    let text = W1.replace("size = \"10s\"", "size = \"10s\"\nsise = 3");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("sise"), "{err}");
}

#[test]
fn inconsistent_windows_are_errors_that_name_the_key() {
    let text = W1.replace("kind = \"tumbling\"", "kind = \"sliding\"\nslide = \"3s\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(
        err.contains("window.slide") && err.contains("divide"),
        "{err}"
    );
    let text = W1.replace("kind = \"tumbling\"", "kind = \"session\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("window.size"), "{err}");
}

/// `size = "1h"`, `slide = "1ms"` would put every event in 3.6 million windows: refused,
/// naming the key and the limit; the limit itself is accepted.
#[test]
fn too_many_windows_per_event_are_refused_with_the_limit() {
    let sliding = |size: &str, slide: &str| {
        W1.replace(
            "kind = \"tumbling\"\nsize = \"10s\"",
            &format!("kind = \"sliding\"\nsize = \"{size}\"\nslide = \"{slide}\""),
        )
    };
    let err = Plan::from_toml(&sliding("1h", "1ms"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "bad query: `window.slide`: puts every event in 3600000 windows (window.size 1h / \
         window.slide 1ms), more than the limit of 10000 windows per event: use a larger slide"
    );
    let plan = Plan::from_toml(&sliding("10000ms", "1ms")).unwrap();
    assert_eq!(plan.window.windows_per_event(), 10_000);
    assert!(Plan::from_toml(&sliding("10001ms", "1ms")).is_err());
}

#[test]
fn aggregates_are_checked() {
    let text = W1.replace("fn = \"count\"", "fn = \"count\"\nfield = \"x\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("aggregate[0].field"), "{err}");
    let text = W1.replace("as = \"total\"", "as = \"n\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("aggregate[1].as"), "{err}");
    let text = W1.replace("fn = \"sum\"", "fn = \"median\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("median"), "{err}");
}

#[test]
fn filters_on_strings_allow_only_equality() {
    let text = W1.replace("op = \"eq\"", "op = \"lt\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("filter[0].op"), "{err}");
}

#[test]
fn conflicting_field_types_are_errors() {
    let text = W1.replace("field = \"value\"", "field = \"kind\"");
    let err = Plan::from_toml(&text).unwrap_err().to_string();
    assert!(err.contains("aggregate[1].field"), "{err}");
}

#[test]
fn file_errors_name_the_file() {
    let err = Plan::from_file("/no/such/query.toml").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("/no/such/query.toml"), "{text}");
    // The OS error is in the message and not also its source, which a printer of the
    // error's chain (`streamlab: error: ...`) would repeat.
    assert_eq!(text.matches("os error 2").count(), 1, "{text}");
    assert!(std::error::Error::source(&err).is_none(), "{text}");
}

#[test]
fn builder_matches_the_file() {
    let built = Plan::builder()
        .event_time("ts")
        .group_by(["key"])
        .tumbling_ms(10_000)
        .watermark_ms(5_000)
        .filter("kind", CmpOp::Eq, Literal::Str("view".into()))
        .count("n")
        .sum("value", "total")
        .build()
        .unwrap();
    let parsed = Plan::from_toml(W1).unwrap();
    assert_eq!(built.slots, parsed.slots);
    assert_eq!(built.window, parsed.window);
    assert_eq!(built.filters, parsed.filters);
    assert_eq!(built.aggregates, parsed.aggregates);
}

#[test]
fn a_csv_declaration_is_checked() {
    let csv = format!("format = \"csv\"\ncolumns = [\"ts\", \"key\", \"value\"]\n{W1}");
    let plan = Plan::from_toml(&csv).expect("a CSV query with its columns");
    assert_eq!(plan.query.format, Some(InputFormat::Csv));
    assert!(Plan::from_toml(&format!("format = \"csv\"\n{W1}")).is_ok());
    for (bad, says) in [
        ("columns = [\"ts\"]\n", "format = \"csv\""),
        ("format = \"csv\"\ncolumns = []\n", "at least one column"),
        (
            "format = \"csv\"\ncolumns = [\"ts\", \"\"]\n",
            "column 2 has no name",
        ),
        (
            "format = \"csv\"\ncolumns = [\"ts\", \"ts\"]\n",
            "`ts` is listed twice",
        ),
        ("format = \"tsv\"\n", "unknown variant"),
    ] {
        let e = Plan::from_toml(&format!("{bad}{W1}"))
            .expect_err(bad)
            .to_string();
        assert!(e.contains(says), "{bad}: {e}");
    }
}
