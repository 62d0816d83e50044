//! What the generator's tests share: generated lines parsed back, and the oracle's answer
//! over them.
#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use super::{generate_to_vec, GenConfig};

/// The JSON objects of the well-formed lines.
pub(crate) fn objects(bytes: &[u8]) -> Vec<serde_json::Map<String, serde_json::Value>> {
    bytes
        .split(|&b| b == b'\n')
        .filter_map(|l| match serde_json::from_slice(l) {
            Ok(serde_json::Value::Object(o)) => Some(o),
            _ => None,
        })
        .collect()
}

/// An integer field.
pub(crate) fn int(o: &serde_json::Map<String, serde_json::Value>, field: &str) -> i64 {
    o.get(field)
        .and_then(|v| v.as_i64())
        .unwrap_or_else(|| panic!("no integer `{field}` in {o:?}"))
}

/// A string field.
pub(crate) fn text<'a>(o: &'a serde_json::Map<String, serde_json::Value>, field: &str) -> &'a str {
    o.get(field)
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string `{field}` in {o:?}"))
}

/// The generated bid lines with the given query's answer computed by the oracle.
pub(crate) fn oracle_over(
    cfg: &GenConfig,
    query: &str,
) -> (Vec<u8>, Vec<streamlab_core::ResultRow>) {
    use streamlab_engines::EngineKind;
    let plan = streamlab_core::Plan::from_toml(query).unwrap();
    let (bytes, _) = generate_to_vec(cfg).unwrap();
    let text = std::str::from_utf8(&bytes).unwrap();
    let (summary, rows) = streamlab_engines::runner::run_text(
        EngineKind::Oracle.build().as_ref(),
        &plan,
        &streamlab_core::engine::RunOptions::default(),
        text,
    )
    .unwrap();
    assert_eq!(
        summary.malformed, 0,
        "every line carries the query's fields"
    );
    (bytes, rows)
}

/// An integer aggregate value.
pub(crate) fn count(v: &streamlab_core::model::value::AggValue) -> i64 {
    match v {
        streamlab_core::model::value::AggValue::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}
