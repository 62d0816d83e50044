//! The figures of each experiment: the ones its notebook (`notebooks/<kind>.ipynb`,
//! `bench.ipynb` for `bench`) draws, from the same `raw.csv`, `summary.json` and
//! `*.hgrm`, named as the notebook names them (`fig-<name>.png` there). A kind without
//! figures here (one added since) gets none; the page still shows its tables.
//!
//! One module per family: [`throughput`] (bench, scaling, NEXMark, peers), [`latency`]
//! (latency vs throughput, trigger sweep, YSB, CDFs), [`accuracy`] (watermark delay,
//! output modes, time domains, Kafka logs), [`recovery`].

pub mod accuracy;
pub mod latency;
pub mod recovery;
pub mod throughput;

use crate::chart::{engine_color, palette, Axis, BarGroup, Panel, Plot, Series, Style};
use crate::folder::Folder;
use crate::raw::{number, Raw, Spread};
use anyhow::Result;

/// A figure: the panels the notebook draws side by side.
pub struct Figure {
    /// The notebook's name for it (`latency-vs-throughput`; `fig-<name>.png` there).
    pub name: String,
    /// What it shows (the notebook's suptitle).
    pub title: String,
    /// Its panels.
    pub panels: Vec<Panel>,
}

impl Figure {
    /// A figure of the non-empty `panels` (none: no figure).
    pub fn of(name: &str, title: impl Into<String>, panels: Vec<Panel>) -> Option<Figure> {
        let panels: Vec<Panel> = panels
            .into_iter()
            .filter(|p| !crate::chart::is_empty(p))
            .collect();
        (!panels.is_empty()).then(|| Figure {
            name: name.to_owned(),
            title: title.into(),
            panels,
        })
    }
}

/// The figures of `folder`, by its kind.
pub fn figures(folder: &Folder) -> Result<Vec<Figure>> {
    let figures = match folder.kind.as_str() {
        "bench" => throughput::bench(folder)?,
        "scaling" => throughput::scaling(folder),
        "nexmark" => throughput::nexmark(folder),
        "peers" => throughput::peers(folder),
        "latency-throughput" => latency::latency_throughput(folder)?,
        "trigger-sweep" => latency::trigger_sweep(folder),
        "ysb" => latency::ysb(folder)?,
        "watermark-accuracy" => accuracy::watermark_accuracy(folder),
        "output-modes" => accuracy::output_modes(folder),
        "time-domains" => accuracy::time_domains(folder),
        "kafka-logs" => accuracy::kafka_logs(folder),
        "recovery" => recovery::figures(folder),
        _ => Vec::new(),
    };
    Ok(figures)
}

/// A metric of `raw.csv` and how it is drawn.
#[derive(Clone, Copy)]
pub struct Metric<'a> {
    /// Its name in `raw.csv`.
    pub name: &'a str,
    /// Divides every value (`1e3`: µs to ms).
    pub scale: f64,
}

impl<'a> Metric<'a> {
    /// `name` as it is.
    pub fn plain(name: &'a str) -> Metric<'a> {
        Metric { name, scale: 1.0 }
    }
    /// `name` in ms from µs.
    pub fn ms(name: &'a str) -> Metric<'a> {
        Metric { name, scale: 1e3 }
    }
}

fn scaled(s: Spread, scale: f64) -> Spread {
    Spread {
        median: s.median / scale,
        min: s.min / scale,
        max: s.max / scale,
    }
}

/// The series of one panel of lines: one per engine (and per value of `split`, when
/// given), points at each value of the parameter `x` (as a number, times `x_scale`),
/// the median over repetitions with its min–max, of the rows that also match `filter`.
pub fn lines_over(
    raw: &Raw,
    x: &str,
    x_scale: f64,
    metric: Metric,
    split: Option<&str>,
    filter: &[(&str, Option<&str>)],
) -> Vec<Series> {
    let engines = raw.engines();
    let splits: Vec<Option<String>> = match split {
        Some(p) => raw.values(p).into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut series = Vec::new();
    for (k, part) in splits.iter().enumerate() {
        for (i, engine) in engines.iter().enumerate() {
            let mut points = Vec::new();
            for xv in raw.values(x) {
                let Some(xn) = number(&xv) else { continue };
                let mut f: Vec<(&str, Option<&str>)> = filter.to_vec();
                f.push((x, Some(xv.as_str())));
                if let (Some(p), Some(v)) = (split, part) {
                    f.push((p, Some(v.as_str())));
                }
                if let Some(s) = raw.spread(engine, &f, metric.name) {
                    points.push((xn * x_scale, scaled(s, metric.scale)));
                }
            }
            let (name, style) = match (split, part) {
                (Some(p), Some(v)) => (
                    format!("{engine}, {p} {v}"),
                    Style {
                        color: if splits.len() > 1 {
                            palette(k)
                        } else {
                            engine_color(engine)
                        },
                        dashed: i % 2 == 1,
                    },
                ),
                _ => (engine.clone(), Style::solid(engine_color(engine))),
            };
            if !points.is_empty() {
                series.push(Series {
                    name,
                    style,
                    points,
                });
            }
        }
    }
    series
}

/// A panel of lines (see [`lines_over`]).
#[allow(clippy::too_many_arguments)]
pub fn line_panel(
    raw: &Raw,
    title: &str,
    x: (&str, Axis, f64),
    metric: Metric,
    y: Axis,
    split: Option<&str>,
    filter: &[(&str, Option<&str>)],
) -> Panel {
    Panel {
        title: title.to_owned(),
        y,
        plot: Plot::Lines {
            series: lines_over(raw, x.0, x.2, metric, split, filter),
            x: x.1,
            refs: Vec::new(),
        },
    }
}

/// A panel of bars: a category per value of the parameter `category`, a group per
/// engine, the median over repetitions (whiskers min–max) of the rows matching `filter`.
pub fn bars_by(
    raw: &Raw,
    title: &str,
    category: &str,
    metric: Metric,
    y: Axis,
    filter: &[(&str, Option<&str>)],
) -> Panel {
    let categories = raw.values(category);
    let groups = raw
        .engines()
        .into_iter()
        .map(|engine| BarGroup {
            style: Style::solid(engine_color(&engine)),
            values: categories
                .iter()
                .map(|c| {
                    let mut f = filter.to_vec();
                    f.push((category, Some(c.as_str())));
                    raw.spread(&engine, &f, metric.name)
                        .map(|s| scaled(s, metric.scale))
                })
                .collect(),
            name: engine,
        })
        .filter(|g| g.values.iter().any(Option::is_some))
        .collect();
    Panel {
        title: title.to_owned(),
        y,
        plot: Plot::Bars { categories, groups },
    }
}

/// A panel of one bar per engine (each its own colour): the median (min–max) of
/// `metric` in the rows matching `filter`.
pub fn bar_per_engine(
    raw: &Raw,
    title: &str,
    metric: Metric,
    y: Axis,
    filter: &[(&str, Option<&str>)],
) -> Panel {
    let values: Vec<(String, Spread)> = raw
        .engines()
        .into_iter()
        .filter_map(|e| {
            Some((
                e.clone(),
                scaled(raw.spread(&e, filter, metric.name)?, metric.scale),
            ))
        })
        .collect();
    engine_bars(title, y, values)
}

/// One bar per engine from given values, each engine its own group (its own colour).
pub fn engine_bars(title: &str, y: Axis, values: Vec<(String, Spread)>) -> Panel {
    let n = values.len();
    let categories: Vec<String> = values.iter().map(|(e, _)| e.clone()).collect();
    // A group per engine, with its bar at its own category: the engine colours and a
    // legend entry each (the chart packs the bars present in a category).
    let groups = values
        .into_iter()
        .enumerate()
        .map(|(i, (engine, s))| {
            let mut v = vec![None; n];
            v[i] = Some(s);
            BarGroup {
                style: Style::solid(engine_color(&engine)),
                name: engine,
                values: v,
            }
        })
        .collect();
    Panel {
        title: title.to_owned(),
        y,
        plot: Plot::Bars { categories, groups },
    }
}

/// The value at `path` (`a.b.c`) of a JSON value, as a number.
pub fn json_f64(v: &serde_json::Value, path: &str) -> Option<f64> {
    path.split('.').try_fold(v, |v, k| v.get(k))?.as_f64()
}

/// A JSON `{median, min, max}` as a spread.
pub fn json_spread(v: &serde_json::Value) -> Option<Spread> {
    let median = v.get("median")?.as_f64()?;
    Some(Spread {
        median,
        min: v.get("min").and_then(|x| x.as_f64()).unwrap_or(median),
        max: v.get("max").and_then(|x| x.as_f64()).unwrap_or(median),
    })
}

/// A single value as a spread without whiskers.
pub fn point(v: f64) -> Spread {
    Spread {
        median: v,
        min: v,
        max: v,
    }
}
