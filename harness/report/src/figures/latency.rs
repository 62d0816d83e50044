//! Latency figures: `latency-throughput`, `trigger-sweep`, `ysb`, and the latency CDFs
//! of the `.hgrm` histograms.

use super::{engine_bars, json_f64, json_spread, lines_over, point, Figure, Metric};
use crate::chart::{engine_color, palette, Axis, BarGroup, Panel, Plot, Series, Style};
use crate::folder::Folder;
use crate::hgrm::read_cdf;
use crate::raw::{number, order_engines, Spread};
use anyhow::Result;
use serde_json::Value;
use std::path::PathBuf;
use streamlab_measure::human;

/// A CDF panel: a line per (legend name, `.hgrm` file), latency in ms on a log axis less
/// `minus_ms` (the part every row waits alike), the share of rows at or below it.
pub fn cdf_panel(title: &str, files: &[(String, PathBuf)], minus_ms: f64) -> Result<Panel> {
    let mut series = Vec::new();
    for (k, (name, path)) in files.iter().enumerate() {
        let engine = name.split([',', ' ']).next().unwrap_or(name);
        let color = match engine_color(engine) {
            c if ["microbatch", "record", "baseline", "hand"].contains(&engine) => c,
            _ => palette(k),
        };
        let points = read_cdf(path)?
            .into_iter()
            .map(|(us, q)| ((us / 1e3 - minus_ms).max(1e-3), point(q)))
            .collect();
        series.push(Series {
            name: name.clone(),
            style: Style {
                color,
                dashed: k % 2 == 1 && files.len() > 3,
            },
            points,
        });
    }
    Ok(Panel {
        title: title.into(),
        y: Axis::linear("share of rows at or below"),
        plot: Plot::Lines {
            x: Axis::log(if minus_ms > 0.0 {
                format!("latency − {minus_ms} ms (ms, log)")
            } else {
                "latency (ms, log)".into()
            }),
            series,
            refs: Vec::new(),
        },
    })
}

/// `<engine>-rate<R>.hgrm` files: (engine, rate, path).
fn rate_histograms(folder: &Folder) -> Vec<(String, f64, PathBuf)> {
    folder
        .histograms
        .iter()
        .filter_map(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            let (engine, rate) = stem.rsplit_once("-rate")?;
            Some((engine.to_owned(), rate.parse().ok()?, p.clone()))
        })
        .collect()
}

/// `latency-throughput`: p50 and p99 against achieved throughput; closed-loop maximum
/// beside the real Spark and Flink ranges; CDFs per rate and per engine.
pub fn latency_throughput(folder: &Folder) -> Result<Vec<Figure>> {
    let raw = &folder.raw;
    let mut figures = Vec::new();
    let rates: Vec<String> = raw
        .values("rate")
        .into_iter()
        .filter(|r| number(r).is_some())
        .collect();
    let vs_throughput = |metric: &str, title: &str| {
        let series = raw
            .engines()
            .into_iter()
            .map(|engine| {
                let points = rates
                    .iter()
                    .filter_map(|r| {
                        let f = [("rate", Some(r.as_str()))];
                        let x = raw.spread(&engine, &f, "throughput_eps")?.median;
                        let y = raw.spread(&engine, &f, metric)?;
                        Some((
                            x,
                            Spread {
                                median: y.median / 1e3,
                                min: y.min / 1e3,
                                max: y.max / 1e3,
                            },
                        ))
                    })
                    .collect();
                Series {
                    style: Style::solid(engine_color(&engine)),
                    name: engine,
                    points,
                }
            })
            .collect();
        Panel {
            title: title.into(),
            y: Axis::log("latency (ms, log)"),
            plot: Plot::Lines {
                x: Axis::log("achieved throughput (events/s, log)"),
                series,
                refs: Vec::new(),
            },
        }
    };
    figures.extend(Figure::of(
        "latency-vs-throughput",
        "Open-loop latency (from scheduled arrival) vs throughput, W1",
        vec![
            vs_throughput("latency_p50_us", "p50 latency vs achieved throughput"),
            vs_throughput("latency_p99_us", "p99 latency vs achieved throughput"),
        ],
    ));
    let mut max: Vec<(String, Spread)> = Vec::new();
    if let Some(m) = folder
        .summary
        .get("max_throughput_eps")
        .and_then(Value::as_object)
    {
        for e in order_engines(m.keys().cloned().collect()) {
            if let Some(s) = json_spread(&m[&e]) {
                max.push((e, s));
            }
        }
    }
    let mut panel = engine_bars(
        &format!(
            "Max throughput, closed loop, W1 over {} events",
            json_f64(&folder.summary, "events")
                .map(human::count)
                .unwrap_or_default()
        ),
        Axis::log("events/s (log)"),
        max,
    );
    if let (Plot::Bars { categories, groups }, Some(refs)) = (
        &mut panel.plot,
        folder.summary.get("reference").and_then(Value::as_object),
    ) {
        for (name, r) in refs {
            let range = r.get("throughput_eps").and_then(Value::as_array);
            let (Some(lo), Some(hi)) = (
                range.and_then(|a| a.first()?.as_f64()),
                range.and_then(|a| a.get(1)?.as_f64()),
            ) else {
                continue;
            };
            // `spark_4_3_local2` → `real spark`: short enough for its axis label.
            let peer = name.split('_').next().unwrap_or(name);
            categories.push(format!("real {peer}"));
            for g in groups.iter_mut() {
                g.values.push(None);
            }
            let mut values = vec![None; categories.len()];
            values[categories.len() - 1] = Some(Spread {
                median: hi,
                min: lo,
                max: hi,
            });
            groups.push(BarGroup {
                name: format!("real {peer} ({name}, end to end)"),
                style: Style {
                    color: engine_color(peer),
                    dashed: true,
                },
                values,
            });
        }
    }
    figures.extend(Figure::of(
        "max-throughput",
        "Max throughput (closed loop) against the baseline and the real systems",
        vec![panel],
    ));
    let hists = rate_histograms(folder);
    let mut hist_rates: Vec<f64> = hists.iter().map(|h| h.1).collect();
    hist_rates.sort_by(f64::total_cmp);
    hist_rates.dedup();
    let mut per_rate = Vec::new();
    for rate in &hist_rates {
        let files: Vec<(String, PathBuf)> = order_engines(
            hists
                .iter()
                .filter(|h| h.1 == *rate)
                .map(|h| h.0.clone())
                .collect(),
        )
        .into_iter()
        .filter_map(|e| {
            Some((
                e.clone(),
                hists.iter().find(|h| h.0 == e && h.1 == *rate)?.2.clone(),
            ))
        })
        .collect();
        per_rate.push(cdf_panel(
            &format!("target {}", human::rate(*rate)),
            &files,
            0.0,
        )?);
    }
    figures.extend(Figure::of(
        "latency-cdf",
        "Latency CDF per engine, one panel per input rate",
        per_rate,
    ));
    let mut per_engine = Vec::new();
    for e in order_engines(
        hists
            .iter()
            .map(|h| h.0.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect(),
    ) {
        let files: Vec<(String, PathBuf)> = hist_rates
            .iter()
            .filter_map(|r| {
                Some((
                    human::rate(*r),
                    hists.iter().find(|h| h.0 == e && h.1 == *r)?.2.clone(),
                ))
            })
            .collect();
        per_engine.push(cdf_panel(&e, &files, 0.0)?);
    }
    figures.extend(Figure::of(
        "latency-cdf-by-engine",
        "Latency CDF per input rate, one panel per engine",
        per_engine,
    ));
    Ok(figures)
}

/// `trigger-sweep`: latency percentiles, throughput and CPU against the trigger interval.
pub fn trigger_sweep(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    let x = || Axis::log("trigger interval (s, log)");
    let mut latency = Vec::new();
    for (metric, name) in [
        ("latency_p50_us", "p50"),
        ("latency_p90_us", "p90"),
        ("latency_p99_us", "p99"),
        ("latency_max_us", "max"),
    ] {
        for mut s in lines_over(raw, "trigger", 1.0, Metric::ms(metric), None, &[]) {
            s.style.dashed = name != "p50";
            s.style.color = match name {
                "p50" => s.style.color,
                _ => palette(
                    ["p90", "p99", "max"]
                        .iter()
                        .position(|n| *n == name)
                        .unwrap_or(0)
                        + 1,
                ),
            };
            s.name = format!("{} {name}", s.name);
            latency.push(s);
        }
    }
    let triggers: Vec<f64> = raw
        .values("trigger")
        .iter()
        .filter_map(|t| number(t))
        .collect();
    latency.push(Series {
        name: "latency = interval".into(),
        style: Style {
            color: palette(9),
            dashed: true,
        },
        points: triggers.iter().map(|t| (*t, point(t * 1e3))).collect(),
    });
    let rate = json_f64(&folder.summary, "rate");
    let throughput = Panel {
        title: "achieved throughput vs trigger interval".into(),
        y: Axis::linear("events/s"),
        plot: Plot::Lines {
            x: x(),
            series: lines_over(
                raw,
                "trigger",
                1.0,
                Metric::plain("throughput_eps"),
                None,
                &[],
            ),
            refs: rate
                .map(|r| {
                    vec![(
                        format!("input rate {}", human::rate(r)),
                        r,
                        Style {
                            color: palette(9),
                            dashed: true,
                        },
                    )]
                })
                .unwrap_or_default(),
        },
    };
    let cpu = Panel {
        title: "CPU per run vs trigger interval".into(),
        y: Axis::linear("CPU seconds (user+sys)"),
        plot: Plot::Lines {
            x: x(),
            series: lines_over(raw, "trigger", 1.0, Metric::plain("cpu_s"), None, &[]),
            refs: Vec::new(),
        },
    };
    Figure::of(
        "trigger-sweep",
        format!(
            "Trigger sweep, W1 at {} events/s",
            rate.map(human::count).unwrap_or_else(|| "?".into())
        ),
        vec![
            Panel {
                title: "latency percentiles vs trigger interval".into(),
                y: Axis::log("latency (ms, log)"),
                plot: Plot::Lines {
                    x: x(),
                    series: latency,
                    refs: Vec::new(),
                },
            },
            throughput,
            cpu,
        ],
    )
    .into_iter()
    .collect()
}

/// `ysb`: closed-loop throughput; window end to result per offered rate, whole and
/// beyond the watermark delay; its CDF beyond the delay.
pub fn ysb(folder: &Folder) -> Result<Vec<Figure>> {
    let raw = &folder.raw;
    let floor = json_f64(&folder.summary, "latency.watermark_delay_wall_ms").unwrap_or(0.0);
    let mut figures = Vec::new();
    let throughput = super::bar_per_engine(
        raw,
        &format!(
            "throughput over {} events (median, min–max)",
            json_f64(&folder.summary, "throughput.events")
                .map(human::count)
                .unwrap_or_else(|| "?".into())
        ),
        Metric::plain("throughput_eps"),
        Axis::linear("events/s (closed loop)"),
        &[("measure", Some("throughput"))],
    );
    let latency = |minus: f64, title: &str, y: Axis| {
        let rates: Vec<String> = raw.values("rate");
        let mut categories = Vec::new();
        let mut groups: Vec<BarGroup> = Vec::new();
        for rate in &rates {
            categories.push(human::rate(number(rate).unwrap_or(0.0)));
        }
        for engine in raw.engines() {
            for (metric, name, dashed) in [
                ("ysb_latency_p50_us", "p50", false),
                ("ysb_latency_p99_us", "p99", true),
                ("ysb_latency_max_us", "max", true),
            ] {
                let values: Vec<Option<Spread>> = rates
                    .iter()
                    .map(|r| {
                        let s = raw.spread(
                            &engine,
                            &[("measure", Some("latency")), ("rate", Some(r.as_str()))],
                            metric,
                        )?;
                        let f = |v: f64| (v / 1e3 - minus).max(1e-3);
                        Some(Spread {
                            median: f(s.median),
                            min: f(s.min),
                            max: f(s.max),
                        })
                    })
                    .collect();
                if values.iter().any(Option::is_some) {
                    groups.push(BarGroup {
                        name: format!("{engine} {name}"),
                        style: Style {
                            color: engine_color(&engine),
                            dashed,
                        },
                        values,
                    });
                }
            }
        }
        Panel {
            title: title.into(),
            y,
            plot: Plot::Bars { categories, groups },
        }
    };
    let exact = match folder.summary.get("all_exact").and_then(Value::as_bool) {
        Some(true) => "every engine exact against the oracle",
        Some(false) => "NOT every engine exact (see the table)",
        None => "",
    };
    figures.extend(Figure::of(
        "ysb",
        format!("Yahoo Streaming Benchmark ({exact})"),
        vec![
            throughput,
            latency(
                0.0,
                &format!("window end → result (watermark delay {floor} ms included)"),
                Axis::linear("window end → result (ms)"),
            ),
            latency(
                floor,
                "the engine's share: latency − watermark delay",
                Axis::log("ms beyond the watermark delay (log)"),
            ),
        ],
    ));
    let files: Vec<(String, PathBuf)> = rate_histograms(folder)
        .into_iter()
        .map(|(e, r, p)| (format!("{e} at {}", human::rate(r)), p))
        .collect();
    if !files.is_empty() {
        figures.extend(Figure::of(
            "ysb-latency-cdf",
            "YSB latency (window end → result) beyond the watermark delay, CDF",
            vec![cdf_panel(
                "window end → result beyond the watermark delay",
                &files,
                floor,
            )?],
        ));
    }
    Ok(figures)
}
