//! `recovery` (`recovery.ipynb`): the timeline of kills and restarts, exactly once after
//! them, and what the checkpoints cost.

use super::{engine_bars, json_f64, point, Figure, Metric};
use crate::chart::{engine_color, palette, Axis, BarGroup, Panel, Plot, Series, Style};
use crate::folder::Folder;
use crate::raw::{number, order_engines, Spread};
use serde_json::Value;
use streamlab_measure::human;

/// The three figures.
pub fn figures(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    let engines = raw.engines();
    let events = json_f64(&folder.summary, "events")
        .map(human::count)
        .unwrap_or_else(|| "?".into());
    let asked = json_f64(&folder.summary, "kills_asked");
    let mut figures = Vec::new();
    // One panel per engine: start → first new epoch per kill, and when it was back at work.
    let kills: Vec<String> = raw.values("kill");
    let timeline = engines
        .iter()
        .map(|engine| {
            let line = |metric: &str, name: &str, style: Style| Series {
                name: name.into(),
                style,
                points: kills
                    .iter()
                    .filter_map(|k| {
                        Some((
                            number(k)?,
                            raw.spread(engine, &[("kill", Some(k.as_str()))], metric)?,
                        ))
                    })
                    .collect(),
            };
            Panel {
                title: format!("{engine}: start → first new epoch per kill"),
                y: Axis::linear("ms"),
                plot: Plot::Lines {
                    x: Axis::linear("kill (0 = the first start, from scratch)"),
                    series: vec![
                        line(
                            "first_output_ms",
                            "first new epoch",
                            Style::solid(engine_color(engine)),
                        ),
                        line(
                            "restore_ms",
                            "back at work (restored)",
                            Style {
                                color: palette(9),
                                dashed: true,
                            },
                        ),
                    ],
                    refs: Vec::new(),
                },
            }
        })
        .collect();
    figures.extend(Figure::of(
        "recovery-timeline",
        format!("Recovery timeline: {events} events per run"),
        timeline,
    ));
    let landed = super::bar_per_engine(
        raw,
        &match asked {
            Some(a) => format!("SIGKILLs that landed (of {a} asked)"),
            None => "SIGKILLs that landed".into(),
        },
        Metric::plain("kills_landed"),
        Axis::linear("kills"),
        &[("setting", Some("kills"))],
    );
    let metrics = [
        ("rows_lost", "rows lost"),
        ("rows_duplicated", "rows duplicated"),
        ("rows_wrong", "rows wrong"),
    ];
    let once = Panel {
        title: "final output vs a clean run (exactly once: all 0)".into(),
        y: Axis::linear("rows"),
        plot: Plot::Bars {
            categories: metrics.iter().map(|m| m.1.to_owned()).collect(),
            groups: engines
                .iter()
                .map(|e| BarGroup {
                    name: e.clone(),
                    style: Style::solid(engine_color(e)),
                    values: metrics
                        .iter()
                        .map(|(m, _)| raw.spread(e, &[("setting", Some("kills"))], m))
                        .collect(),
                })
                .collect(),
        },
    };
    figures.extend(Figure::of(
        "exactly-once",
        format!(
            "Exactly once after {} SIGKILLs per engine ({events} events, update mode)",
            asked.map(|a| a.to_string()).unwrap_or_else(|| "?".into())
        ),
        vec![landed, once],
    ));
    let cost = Panel {
        title: "throughput without / with checkpoints".into(),
        y: Axis::linear("events/s"),
        plot: Plot::Bars {
            categories: engines.clone(),
            groups: [
                ("plain", "without checkpoints", false),
                ("checkpoints", "with checkpoints", true),
            ]
            .iter()
            .map(|(setting, name, dashed)| BarGroup {
                name: (*name).to_owned(),
                style: Style {
                    color: palette(if *dashed { 1 } else { 0 }),
                    dashed: false,
                },
                values: engines
                    .iter()
                    .map(|e| raw.spread(e, &[("setting", Some(setting))], "throughput_eps"))
                    .collect(),
            })
            .collect(),
        },
    };
    let sizes: Vec<(String, Spread)> = folder
        .summary
        .get("engines")
        .and_then(Value::as_array)
        .map(|list| {
            let mut v: Vec<(String, Spread)> = list
                .iter()
                .filter_map(|s| {
                    Some((
                        s.get("engine")?.as_str()?.to_owned(),
                        point(json_f64(s, "checkpoints.bytes_mean")? / 1024.0),
                    ))
                })
                .collect();
            let order = order_engines(v.iter().map(|x| x.0.clone()).collect());
            v.sort_by_key(|x| order.iter().position(|o| *o == x.0));
            v
        })
        .unwrap_or_default();
    figures.extend(Figure::of(
        "checkpoint-cost",
        format!("Checkpoint cost: {events} events in update mode, exactly-once file sink"),
        vec![
            cost,
            engine_bars(
                "checkpoint size (mean of those kept)",
                Axis::linear("KiB"),
                sizes,
            ),
        ],
    ));
    figures
}
