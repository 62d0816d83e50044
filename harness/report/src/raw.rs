//! `raw.csv` read back: the tidy table `streamlab_measure::results::RawCsv` writes (one
//! row per engine, setting, repetition and metric, a column per parameter), and the
//! medians over repetitions the figures and the table of numbers are drawn from. Folders
//! written before the parameters had columns keep them in `setting` as `name=value;…`:
//! those are spread into parameters the same way.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// One row of `raw.csv`.
#[derive(Clone, Debug)]
pub struct RawRow {
    /// The engine (or a peer, `hand`, …).
    pub engine: String,
    /// The setting's parameters (`rate`, `mode`, `disorder`, …); a plain setting is kept
    /// under `setting`.
    pub params: BTreeMap<String, String>,
    /// The repetition, from 0.
    pub rep: usize,
    /// The metric's name.
    pub metric: String,
    /// Its value.
    pub value: f64,
}

/// The whole table.
#[derive(Clone, Debug, Default)]
pub struct Raw {
    /// Parameter columns in the file's order (after spreading `setting`).
    pub params: Vec<String>,
    /// Every row, in the file's order.
    pub rows: Vec<RawRow>,
}

/// Median, min and max of some values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spread {
    /// The median (the mean of the middle two for an even count).
    pub median: f64,
    /// The smallest.
    pub min: f64,
    /// The largest.
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

impl Raw {
    /// Reads `path`, naming it in errors.
    pub fn read(path: &Path) -> Result<Raw> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Raw::parse(&text).with_context(|| format!("{} is not a results table", path.display()))
    }

    /// Parses the CSV text.
    pub fn parse(text: &str) -> Result<Raw> {
        // Flexible: folders written before settings were quoted have rows whose `setting`
        // (`rate=max,path=file`) spans more cells than the header has columns.
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let header: Vec<String> = reader.headers()?.iter().map(str::to_owned).collect();
        let col = |name: &str| header.iter().position(|h| h == name);
        let (Some(engine), Some(rep), Some(metric), Some(value)) =
            (col("engine"), col("rep"), col("metric"), col("value"))
        else {
            bail!("its header {header:?} lacks one of engine, rep, metric, value");
        };
        let fixed = [engine, rep, metric, value];
        let mut raw = Raw::default();
        for (line, record) in reader.records().enumerate() {
            let record = record?;
            let mut cells: Vec<String> = record.iter().map(str::to_owned).collect();
            let extra = cells.len().saturating_sub(header.len());
            if extra > 0 {
                let Some(at) = col("setting") else {
                    bail!(
                        "row {} has {} cells, the header {}",
                        line + 2,
                        cells.len(),
                        header.len()
                    );
                };
                let joined = cells.drain(at..=at + extra).collect::<Vec<_>>().join(";");
                cells.insert(at, joined);
            }
            let cell = |i: usize| cells.get(i).map(String::as_str).unwrap_or("");
            let mut params = BTreeMap::new();
            for (i, name) in header.iter().enumerate() {
                let v = cell(i);
                if fixed.contains(&i) || v.is_empty() {
                    continue;
                }
                if name == "setting" {
                    for part in v.split(';').filter(|p| !p.is_empty()) {
                        match part.split_once('=') {
                            Some((k, x)) => params.insert(k.to_owned(), x.to_owned()),
                            None => params.insert("setting".to_owned(), part.to_owned()),
                        };
                    }
                } else {
                    params.insert(name.clone(), v.to_owned());
                }
            }
            for k in params.keys() {
                if !raw.params.contains(k) {
                    raw.params.push(k.clone());
                }
            }
            let number = |s: &str, what: &str| -> Result<f64> {
                s.parse::<f64>()
                    .with_context(|| format!("row {}: {what} `{s}` is not a number", line + 2))
            };
            raw.rows.push(RawRow {
                engine: cell(engine).to_owned(),
                params,
                rep: number(cell(rep), "rep")? as usize,
                metric: cell(metric).to_owned(),
                value: number(cell(value), "value")?,
            });
        }
        Ok(raw)
    }

    /// Engines in the lab's order: the lab's engines first (microbatch, record), the
    /// baseline after them, then any other (peers, `hand`) by name.
    pub fn engines(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for r in &self.rows {
            if !names.contains(&r.engine) {
                names.push(r.engine.clone());
            }
        }
        order_engines(names)
    }

    /// The values parameter `param` takes, numerically sorted when they are numbers or
    /// durations, else in the file's order.
    pub fn values(&self, param: &str) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        for r in &self.rows {
            if let Some(x) = r.params.get(param) {
                if !v.contains(x) {
                    v.push(x.clone());
                }
            }
        }
        if v.iter().all(|x| number(x).is_some()) {
            v.sort_by(|a, b| {
                number(a)
                    .unwrap_or(0.0)
                    .total_cmp(&number(b).unwrap_or(0.0))
            });
        }
        v
    }

    /// Whether any row has `metric`.
    pub fn has(&self, metric: &str) -> bool {
        self.rows.iter().any(|r| r.metric == metric)
    }

    /// The spread over repetitions of `metric` for `engine` in the rows whose parameters
    /// include every `(name, value)` of `filter` (a value `None`: the parameter absent).
    pub fn spread(
        &self,
        engine: &str,
        filter: &[(&str, Option<&str>)],
        metric: &str,
    ) -> Option<Spread> {
        let values: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.engine == engine && r.metric == metric)
            .filter(|r| {
                filter
                    .iter()
                    .all(|(k, v)| r.params.get(*k).map(String::as_str) == *v)
            })
            .map(|r| r.value)
            .collect();
        Spread::of(&values)
    }
}

/// `names` in the lab's order (see [`Raw::engines`]).
pub fn order_engines(mut names: Vec<String>) -> Vec<String> {
    let rank = |e: &str| match e {
        "microbatch" => 0,
        "record" => 1,
        "baseline" => 2,
        "hand" => 3,
        _ => 4,
    };
    names.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    names
}

/// A parameter value as a number: plain (`0.05`, `250000`), or a duration in seconds
/// (`10ms`, `1s`, `2m`).
pub fn number(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let units = [
        ("ms", 1e-3),
        ("us", 1e-6),
        ("µs", 1e-6),
        ("s", 1.0),
        ("m", 60.0),
    ];
    units.iter().find_map(|(unit, scale)| {
        s.strip_suffix(unit)
            .and_then(|n| n.parse::<f64>().ok())
            .map(|n| n * scale)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_of_older_folders_spread_into_parameters() {
        let raw = Raw::parse(
            "engine,setting,rep,metric,value\n\
             record,disorder=0.2;delay_ms=0,0,late_dropped,3\n\
             record,disorder=0.2;delay_ms=0,1,late_dropped,5\n\
             record,disorder=0.2;delay_ms=0,2,late_dropped,4\n\
             baseline,kills,0,rows_lost,0\n\
             baseline,rate=max,path=file,0,rows_lost,1\n",
        )
        .unwrap_or_default();
        assert_eq!(
            raw.params,
            ["delay_ms", "disorder", "setting", "path", "rate"]
        );
        assert_eq!(
            raw.rows[4].params.get("path").map(String::as_str),
            Some("file")
        );
        let s = raw.spread("record", &[("disorder", Some("0.2"))], "late_dropped");
        assert_eq!(
            s,
            Some(Spread {
                median: 4.0,
                min: 3.0,
                max: 5.0
            })
        );
        assert_eq!(raw.engines(), ["record", "baseline"]);
        assert_eq!(
            raw.rows[3].params.get("setting").map(String::as_str),
            Some("kills")
        );
    }

    #[test]
    fn durations_sort_as_durations() {
        let raw = Raw::parse(
            "engine,trigger,rep,metric,value\nm,1s,0,x,1\nm,10ms,0,x,1\nm,250ms,0,x,1\n",
        )
        .unwrap_or_default();
        assert_eq!(raw.values("trigger"), ["10ms", "250ms", "1s"]);
    }

    #[test]
    fn a_table_without_its_columns_is_refused_by_name() {
        let e = Raw::parse("engine,rep,value\nx,0,1\n")
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("metric")));
    }
}
