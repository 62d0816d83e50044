//! The closing table an experiment prints on the terminal: per engine and setting, the
//! medians over repetitions of the headline metrics it has (throughput, latency, rows),
//! in people's digits.

use crate::raw::Raw;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use streamlab_measure::human;

/// The headline metrics, in the table's order, with their column titles.
const HEADLINE: [(&str, &str); 6] = [
    ("throughput_eps", "throughput"),
    ("latency_p50_us", "p50"),
    ("latency_p99_us", "p99"),
    ("rows_out", "rows out"),
    ("late_dropped", "late"),
    ("rows_exact", "rows exact"),
];

/// The table (plain text, aligned columns); empty when `raw` has none of the metrics.
pub fn closing_table(raw: &Raw) -> String {
    let metrics: Vec<(&str, &str)> = HEADLINE
        .iter()
        .copied()
        .filter(|(m, _)| raw.has(m))
        .collect();
    if metrics.is_empty() {
        return String::new();
    }
    let mut keys: Vec<(String, BTreeMap<String, String>)> = Vec::new();
    for r in &raw.rows {
        let key = (r.engine.clone(), r.params.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    let engines = raw.engines();
    keys.sort_by_key(|(e, _)| engines.iter().position(|x| x == e));
    let mut rows: Vec<Vec<String>> = vec![["engine", "setting"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain(metrics.iter().map(|(_, t)| (*t).to_owned()))
        .collect()];
    for (engine, params) in &keys {
        let filter: Vec<(&str, Option<&str>)> = raw
            .params
            .iter()
            .map(|p| (p.as_str(), params.get(p).map(String::as_str)))
            .collect();
        let cells: Vec<String> = metrics
            .iter()
            .map(|(m, _)| match raw.spread(engine, &filter, m) {
                Some(s) if m.ends_with("_eps") => human::rate(s.median),
                Some(s) if m.ends_with("_us") => human::micros(s.median),
                Some(s) => human::count(s.median),
                None => "–".into(),
            })
            .collect();
        if cells.iter().all(|c| c == "–") {
            continue;
        }
        let setting = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" ");
        rows.push([engine.clone(), setting].into_iter().chain(cells).collect());
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut t = String::new();
    for r in &rows {
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c < 2 {
                let _ = write!(t, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(t, "{}{cell}  ", " ".repeat(pad));
            }
        }
        t = t.trim_end().to_owned() + "\n";
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_table_has_a_row_per_engine_and_setting_in_human_units() {
        let raw = Raw::parse(
            "engine,mode,rep,metric,value\n\
             record,append,0,throughput_eps,247437.5295\n\
             record,append,1,throughput_eps,247000\n\
             record,append,0,latency_p99_us,12500\n\
             baseline,append,0,throughput_eps,1300000\n",
        )
        .unwrap_or_default();
        let t = closing_table(&raw);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(
            lines[0].starts_with("engine")
                && lines[0].contains("throughput")
                && lines[0].contains("p99")
        );
        assert!(
            lines[1].starts_with("record")
                && lines[1].contains("mode=append")
                && lines[1].contains("247k/s")
                && lines[1].contains("12.5 ms"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("baseline") && lines[2].contains("1.3M/s"),
            "{t}"
        );
    }
}
