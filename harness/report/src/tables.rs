//! The report's tables: the medians of `raw.csv` (one row per engine and setting, a
//! column per metric, in people's digits), `summary.json` as it is (every number in full),
//! the raw rows, and `machine.json`.

use crate::raw::{Raw, Spread};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use streamlab_measure::human;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A metric's median in people's digits, by its name's unit (`_us`, `_bytes`, `_eps`).
fn readable(metric: &str, v: f64) -> String {
    if metric.ends_with("_us") {
        human::micros(v)
    } else if metric.ends_with("_bytes") {
        human::bytes(v)
    } else if metric.ends_with("_eps") || metric.ends_with("_per_core_s") {
        human::rate(v)
    } else {
        human::count(v)
    }
}

/// The medians over repetitions: a row per (engine, setting), a column per metric; the
/// exact median and min–max in each cell's tooltip.
pub fn medians(raw: &Raw) -> String {
    let mut metrics: Vec<&str> = Vec::new();
    let mut keys: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for r in &raw.rows {
        if !metrics.contains(&r.metric.as_str()) {
            metrics.push(&r.metric);
        }
        let key = (
            r.engine.clone(),
            r.params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        );
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let engines = raw.engines();
    keys.sort_by_key(|(e, _)| engines.iter().position(|x| x == e));
    let params: Vec<&String> = raw.params.iter().collect();
    let mut t = String::from("<table class=\"numbers\"><thead><tr><th>engine</th>");
    for p in &params {
        let _ = write!(t, "<th>{}</th>", escape(p));
    }
    for m in &metrics {
        let _ = write!(t, "<th>{}</th>", escape(m));
    }
    t.push_str("</tr></thead><tbody>");
    for (engine, setting) in &keys {
        let map: BTreeMap<&str, &str> = setting
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let _ = write!(t, "<tr><td>{}</td>", escape(engine));
        for p in &params {
            let _ = write!(
                t,
                "<td>{}</td>",
                escape(map.get(p.as_str()).copied().unwrap_or(""))
            );
        }
        let filter: Vec<(&str, Option<&str>)> = params
            .iter()
            .map(|p| (p.as_str(), map.get(p.as_str()).copied()))
            .collect();
        for m in &metrics {
            match raw.spread(engine, &filter, m) {
                Some(Spread { median, min, max }) => {
                    let _ = write!(
                        t,
                        "<td class=\"n\" title=\"median {median} (min {min}, max {max})\">{}</td>",
                        escape(&readable(m, median))
                    );
                }
                None => t.push_str("<td class=\"n\">–</td>"),
            }
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>");
    t
}

/// Every row of `raw.csv`, as it is.
pub fn raw_rows(raw: &Raw) -> String {
    let mut t = String::from("<table class=\"raw\"><thead><tr><th>engine</th>");
    for p in &raw.params {
        let _ = write!(t, "<th>{}</th>", escape(p));
    }
    t.push_str("<th>rep</th><th>metric</th><th>value</th></tr></thead><tbody>");
    for r in &raw.rows {
        let _ = write!(t, "<tr><td>{}</td>", escape(&r.engine));
        for p in &raw.params {
            let _ = write!(
                t,
                "<td>{}</td>",
                escape(r.params.get(p).map(String::as_str).unwrap_or(""))
            );
        }
        let _ = write!(
            t,
            "<td>{}</td><td>{}</td><td class=\"n\">{}</td></tr>",
            r.rep,
            escape(&r.metric),
            r.value
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// A JSON value as nested tables: an object as name/value rows, a list of objects as a
/// table with a column per field, numbers exactly as the file has them.
pub fn json(v: &Value) -> String {
    match v {
        Value::Object(map) if map.is_empty() => "{}".into(),
        Value::Object(map) => {
            let mut t = String::from("<table class=\"json\">");
            for (k, x) in map {
                let _ = write!(t, "<tr><th>{}</th><td>{}</td></tr>", escape(k), json(x));
            }
            t + "</table>"
        }
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let mut columns: Vec<&String> = Vec::new();
            for item in items {
                for k in item.as_object().into_iter().flat_map(|m| m.keys()) {
                    if !columns.contains(&k) {
                        columns.push(k);
                    }
                }
            }
            let mut t = String::from("<table class=\"json list\"><thead><tr>");
            for c in &columns {
                let _ = write!(t, "<th>{}</th>", escape(c));
            }
            t.push_str("</tr></thead><tbody>");
            for item in items {
                t.push_str("<tr>");
                for c in &columns {
                    let _ = write!(
                        t,
                        "<td>{}</td>",
                        item.get(c.as_str()).map(json).unwrap_or_default()
                    );
                }
                t.push_str("</tr>");
            }
            t + "</tbody></table>"
        }
        Value::Array(items) => {
            let cells: Vec<String> = items.iter().map(json).collect();
            format!("[{}]", cells.join(", "))
        }
        Value::String(s) => escape(s),
        Value::Number(n) => format!("<span class=\"n\">{n}</span>"),
        Value::Bool(b) => b.to_string(),
        Value::Null => "–".into(),
    }
}
