//! Throughput figures: `bench` (`bench.ipynb`), `scaling`, `nexmark` and `peers`.

use super::latency::cdf_panel;
use super::{engine_bars, json_f64, json_spread, line_panel, point, Figure, Metric};
use crate::chart::{engine_color, Axis, BarGroup, Panel, Plot, Series, Style};
use crate::folder::Folder;
use crate::raw::{order_engines, Spread};
use anyhow::Result;
use serde_json::Value;
use streamlab_measure::human;

fn events(folder: &Folder) -> String {
    json_f64(&folder.summary, "events")
        .map(human::count)
        .unwrap_or_else(|| "?".into())
}

/// `bench`: throughput and events per core-second; engine only against end to end with
/// peak RSS; latency CDFs (open loop); the sustainable-rate search.
pub fn bench(folder: &Folder) -> Result<Vec<Figure>> {
    let eng = folder.summary.get("engines").and_then(Value::as_object);
    let engines = order_engines(eng.map(|e| e.keys().cloned().collect()).unwrap_or_default());
    let get = |e: &str| eng.and_then(|m| m.get(e)).cloned().unwrap_or(Value::Null);
    let mut figures = Vec::new();
    let throughput: Vec<(String, Spread)> = engines
        .iter()
        .filter_map(|e| {
            let s = get(e);
            let med = s.get("throughput_eps")?.as_f64()?;
            let spread = s
                .get("throughput")
                .and_then(json_spread)
                .unwrap_or(point(med));
            Some((
                e.clone(),
                if spread.min <= med && med <= spread.max {
                    spread
                } else {
                    point(med)
                },
            ))
        })
        .collect();
    let per_core: Vec<(String, Spread)> = engines
        .iter()
        .filter_map(|e| Some((e.clone(), point(get(e).get("events_per_core_s")?.as_f64()?))))
        .collect();
    figures.extend(Figure::of(
        "throughput",
        format!("streamlab bench, {} events per run", events(folder)),
        vec![
            engine_bars(
                "throughput (median, min–max)",
                Axis::linear("events/s"),
                throughput,
            ),
            engine_bars(
                "events per core-second",
                Axis::linear("events per CPU second"),
                per_core,
            ),
        ],
    ));
    let kinds = [
        ("engine only", None),
        ("end to end, JSON Lines", Some("end_to_end")),
        ("end to end, CSV", Some("end_to_end_csv")),
    ];
    let with_paths: Vec<&String> = engines
        .iter()
        .filter(|e| get(e).get("end_to_end").is_some_and(|v| !v.is_null()))
        .collect();
    if !with_paths.is_empty() {
        let present: Vec<_> = kinds
            .iter()
            .filter(|(_, k)| {
                k.is_none_or(|k| {
                    with_paths
                        .iter()
                        .any(|e| get(e).get(k).is_some_and(|v| !v.is_null()))
                })
            })
            .collect();
        let group = |field: &str, scale: f64| -> Vec<BarGroup> {
            present
                .iter()
                .enumerate()
                .map(|(j, (label, key))| BarGroup {
                    name: (*label).to_owned(),
                    style: Style {
                        color: crate::chart::palette(j),
                        dashed: false,
                    },
                    values: with_paths
                        .iter()
                        .map(|e| {
                            let s = get(e);
                            let m = match key {
                                Some(k) => s.get(*k).cloned().unwrap_or(Value::Null),
                                None => s,
                            };
                            if field == "throughput" {
                                m.get("throughput").and_then(json_spread)
                            } else {
                                m.get(field)
                                    .and_then(Value::as_f64)
                                    .map(|v| point(v / scale))
                            }
                        })
                        .collect(),
                })
                .collect()
        };
        let categories: Vec<String> = with_paths.iter().map(|e| (*e).clone()).collect();
        figures.extend(Figure::of(
            "input-path",
            format!(
                "streamlab bench, {} events per run: the input path",
                events(folder)
            ),
            vec![
                Panel {
                    title: "throughput: engine only vs end to end from the file".into(),
                    y: Axis::linear("events/s (median, min–max)"),
                    plot: Plot::Bars {
                        categories: categories.clone(),
                        groups: group("throughput", 1.0),
                    },
                },
                Panel {
                    title: "peak RSS: input decoded beforehand vs streamed".into(),
                    y: Axis::log("MiB (log)"),
                    plot: Plot::Bars {
                        categories,
                        groups: group("peak_rss_bytes", (1u64 << 20) as f64),
                    },
                },
            ],
        ));
    }
    let cdfs: Vec<(String, std::path::PathBuf)> = folder
        .histograms
        .iter()
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            let (engine, rep) = stem.rsplit_once("-rep")?;
            Some((format!("{engine}, rep {rep}"), p.clone()))
        })
        .collect();
    if !cdfs.is_empty() {
        figures.extend(Figure::of(
            "latency-cdf",
            "latency CDF per engine (each line one repetition)",
            vec![cdf_panel("latency CDF per engine", &cdfs, 0.0)?],
        ));
    }
    let search: Vec<Series> = engines
        .iter()
        .filter_map(|e| {
            let probes = get(e).get("search")?.as_array()?.clone();
            let points = probes
                .iter()
                .filter_map(|p| {
                    Some((
                        p.get("rate")?.as_f64()?,
                        point(p.get("p99_us")?.as_f64()? / 1e3),
                    ))
                })
                .collect::<Vec<_>>();
            (!points.is_empty()).then(|| Series {
                name: e.clone(),
                style: Style::solid(engine_color(e)),
                points,
            })
        })
        .collect();
    if !search.is_empty() {
        figures.extend(Figure::of(
            "sustainable-search",
            "sustainable-throughput search",
            vec![Panel {
                title: "p99 latency at each rate tried".into(),
                y: Axis::log("p99 latency (ms, log)"),
                plot: Plot::Lines {
                    x: Axis::log("input rate tried (events/s, log)"),
                    series: search,
                    refs: Vec::new(),
                },
            }],
        ));
    }
    Ok(figures)
}

/// `scaling`: throughput, events per core-second and cores used against workers.
pub fn scaling(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    let x = || ("workers", Axis::linear("workers"), 1.0);
    let panel = |metric: &str, title: &str, y: &str| {
        line_panel(
            raw,
            title,
            x(),
            Metric::plain(metric),
            Axis::linear(y),
            None,
            &[],
        )
    };
    Figure::of(
        "scaling",
        format!("Scaling: W1 closed loop over {} events", events(folder)),
        vec![
            panel("throughput_eps", "throughput (events/s)", "events/s"),
            panel(
                "events_per_core_s",
                "events per core-second",
                "events per CPU second",
            ),
            panel("cores_used", "cores used (CPU s / wall s)", "cores"),
        ],
    )
    .into_iter()
    .collect()
}

/// `nexmark`: throughput and events per core-second per query, engine only and end to
/// end, beside nexmark-flink's published figures (hollow bars: not our measurement).
pub fn nexmark(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    let queries = raw.values("query");
    let published = folder.summary.pointer("/published_nexmark_flink/queries");
    let panel = |metric: &str, reference: &str, title: &str, y: &str| {
        let mut groups = Vec::new();
        for engine in raw.engines() {
            for (path, label, dashed) in [
                (None, "engine only", false),
                (Some("file"), "end to end", true),
            ] {
                let values: Vec<_> = queries
                    .iter()
                    .map(|q| {
                        let q = Some(q.as_str());
                        // Engine-only rows have no path (or `decoded`).
                        match path {
                            None => raw
                                .spread(&engine, &[("query", q), ("path", None)], metric)
                                .or_else(|| {
                                    raw.spread(
                                        &engine,
                                        &[("query", q), ("path", Some("decoded"))],
                                        metric,
                                    )
                                }),
                            Some(p) => {
                                raw.spread(&engine, &[("query", q), ("path", Some(p))], metric)
                            }
                        }
                    })
                    .collect();
                if values.iter().any(Option::is_some) {
                    groups.push(BarGroup {
                        name: format!("{engine}, {label}"),
                        style: Style {
                            color: engine_color(&engine),
                            dashed,
                        },
                        values,
                    });
                }
            }
        }
        groups.push(BarGroup {
            name: "nexmark-flink published (not ours)".into(),
            style: Style {
                color: crate::chart::palette(9),
                dashed: true,
            },
            values: queries
                .iter()
                .map(|q| {
                    published
                        .and_then(|p| json_f64(p, &format!("{q}.{reference}")))
                        .map(point)
                })
                .collect(),
        });
        Panel {
            title: title.into(),
            y: Axis::log(y),
            plot: Plot::Bars {
                categories: queries.clone(),
                groups,
            },
        }
    };
    let exact = match folder.summary.get("all_exact").and_then(Value::as_bool) {
        Some(true) => "every engine exact against the oracle",
        Some(false) => "NOT every engine exact (see the table)",
        None => "",
    };
    Figure::of(
        "nexmark-throughput",
        format!("NEXMark ({exact})"),
        vec![
            panel(
                "throughput_eps",
                "events_per_s",
                "throughput per query (median, min–max)",
                "events/s (log)",
            ),
            panel(
                "events_per_core_s",
                "per_core_eps",
                "per core-second",
                "events per core-second (log)",
            ),
        ],
    )
    .into_iter()
    .collect()
}

/// `peers`: W1 end to end on real Spark and Flink beside the lab's engines.
pub fn peers(folder: &Folder) -> Vec<Figure> {
    let mut values = Vec::new();
    if let Some(peers) = folder.summary.get("peers").and_then(Value::as_object) {
        for (name, p) in peers {
            if let Some(s) = p.get("throughput_eps").and_then(json_spread) {
                values.push((format!("real {name}"), s));
            }
        }
    }
    if let Some(lab) = folder
        .summary
        .get("lab_end_to_end")
        .and_then(Value::as_object)
    {
        for engine in order_engines(lab.keys().cloned().collect()) {
            if let Some(s) = lab[&engine].get("throughput_eps").and_then(json_spread) {
                values.push((engine, s));
            }
        }
    }
    Figure::of(
        "peers-throughput",
        format!(
            "W1 over {} events: real Spark and Flink beside the lab's engines",
            events(folder)
        ),
        vec![engine_bars(
            "throughput end to end (median, min–max)",
            Axis::log("events/s end to end, parsing included (log)"),
            values,
        )],
    )
    .into_iter()
    .collect()
}
