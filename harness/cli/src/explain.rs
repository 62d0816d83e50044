//! `streamlab explain`: the plan a query (TOML or SQL) runs as, in words: its stage, input
//! or inputs, filters, keys, window and clock, watermark, aggregates or columns, join and
//! output mode, so that a user sees what a SQL text became.

use std::fmt::Write;
use streamlab_core::query::{FilterQuery, FilterValue, JoinKind, Literal, TimeDomain, WindowKind};
use streamlab_core::semantics::aggregate::AggFn;
use streamlab_core::Plan;

/// The plan as text, one fact a line.
pub fn explain(plan: &Plan) -> String {
    let q = &plan.query;
    let mut out = String::new();
    let mut line = |label: &str, text: String| {
        let _ = writeln!(out, "{label:<13} {text}");
    };
    let shape = match (&q.window, q.joins.first().map(|j| j.kind)) {
        (None, Some(JoinKind::Regular)) => "source -> regular join -> project -> sink",
        (None, _) => "source -> filter -> project -> sink (one row per event)",
        (Some(_), Some(JoinKind::Window)) => {
            "source -> filter -> window join (per window and key) -> sink"
        }
        (Some(_), Some(JoinKind::Static)) => {
            "source -> static join -> filter -> window aggregate (per key) -> sink"
        }
        (Some(_), _) => "source -> filter -> window aggregate (per key) -> sink",
    };
    line("stages", format!("1: {shape}"));
    if plan.inputs.is_empty() {
        let input = match &plan.default_input {
            Some(i) => format!("--input, or the table's {i}"),
            None => "--input".to_owned(),
        };
        let format = match q.format {
            Some(f) => format!(" ({f:?})").to_lowercase(),
            None => String::new(),
        };
        line("input", format!("{input}{format}"));
    }
    for (i, input) in plan.inputs.iter().enumerate() {
        let filters: Vec<String> = q.inputs[i].filters.iter().map(filter).collect();
        line(
            "input",
            format!(
                "{} <- {} (event time {}, watermark delay {} ms{}{})",
                input.name,
                input.path,
                input.time_field.as_deref().unwrap_or("-"),
                input.delay_ms,
                if input.group_by.is_empty() {
                    String::new()
                } else {
                    format!(", keys {}", input.group_by.join(", "))
                },
                if filters.is_empty() {
                    String::new()
                } else {
                    format!(", where {}", filters.join(" and "))
                },
            ),
        );
    }
    if !q.filters.is_empty() {
        line(
            "filter",
            q.filters
                .iter()
                .map(filter)
                .collect::<Vec<_>>()
                .join(" and "),
        );
    }
    if let Some(c) = &q.condition {
        line("where", c.clone());
    }
    if let Some(j) = q.joins.first() {
        let what = match j.kind {
            JoinKind::Static => format!(
                "static table {} on {}",
                j.table.as_deref().unwrap_or("-"),
                j.on.as_deref().unwrap_or("-")
            ),
            JoinKind::Window => "window join of the inputs on their keys".to_owned(),
            JoinKind::Regular => {
                "regular join of the inputs on their `on` fields (state kept forever)".to_owned()
            }
        };
        line("join", what);
    }
    if let Some(w) = &q.window {
        let ms = |d: Option<streamlab_core::model::duration::DurationMs>| {
            d.map(|d| d.to_string()).unwrap_or_default()
        };
        let shape = match w.kind {
            WindowKind::Tumbling => format!("tumbling {}", ms(w.size)),
            WindowKind::Sliding => format!("sliding {} every {}", ms(w.size), ms(w.slide)),
            WindowKind::Session => format!("session, gap {}", ms(w.gap)),
        };
        let clock = match w.time {
            TimeDomain::Event => format!("event time `{}`", q.event_time.as_deref().unwrap_or("-")),
            TimeDomain::Processing => "processing time".to_owned(),
        };
        line("window", format!("{shape}, by {clock}"));
        line(
            "keys",
            if q.group_by.is_empty() {
                "none (one group)".into()
            } else {
                q.group_by.join(", ")
            },
        );
        line(
            "watermark",
            format!("max event time - {} ms", plan.delay_ms),
        );
        let aggs: Vec<String> =
            q.aggregates
                .iter()
                .map(|a| {
                    let f = match a.func {
                        AggFn::Count => "count".to_owned(),
                        AggFn::CountDistinct => {
                            format!("count(distinct {})", a.field.as_deref().unwrap_or("-"))
                        }
                        other => format!("{other:?}({})", a.field.as_deref().unwrap_or("-"))
                            .to_lowercase(),
                    };
                    let input = a
                        .input
                        .as_deref()
                        .map(|i| format!(" of {i}"))
                        .unwrap_or_default();
                    format!("{} = {f}{input}", a.name)
                })
                .collect();
        line("aggregates", aggs.join(", "));
    }
    line("output mode", format!("{:?}", plan.mode).to_lowercase());
    let columns: Vec<String> = match &plan.projection {
        Some(p) => p.columns.iter().map(|c| c.name.clone()).collect(),
        None => ["window_start", "window_end"]
            .into_iter()
            .map(String::from)
            .chain(q.group_by.iter().cloned())
            .chain(q.aggregates.iter().map(|a| a.name.clone()))
            .chain(plan.mode.has_emit().then(|| "emit".to_owned()))
            .collect(),
    };
    line("columns", columns.join(", "));
    out
}

/// `field op value`.
fn filter(f: &FilterQuery) -> String {
    let lit = |l: &Literal| match l {
        Literal::Str(s) => format!("'{s}'"),
        Literal::Int(i) => i.to_string(),
        Literal::Float(x) => x.to_string(),
        Literal::Bool(b) => b.to_string(),
    };
    let value = match &f.value {
        FilterValue::One(v) => lit(v),
        FilterValue::List(vs) => format!("({})", vs.iter().map(lit).collect::<Vec<_>>().join(", ")),
    };
    format!(
        "{} {} {value}",
        f.field,
        format!("{:?}", f.op).to_lowercase()
    )
}
