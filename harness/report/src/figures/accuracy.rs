//! Accuracy figures: `watermark-accuracy`, `output-modes`, `time-domains`, `kafka-logs`.

use super::{bars_by, json_f64, line_panel, point, Figure, Metric};
use crate::chart::{engine_color, Axis, BarGroup, Panel, Plot, Style};
use crate::folder::Folder;
use crate::raw::{number, Raw, Spread};
use serde_json::Value;
use streamlab_measure::human;

/// `watermark-accuracy`: late drops, relative error, rows missing or wrong and p99
/// latency against the watermark delay, a line per disorder and engine.
pub fn watermark_accuracy(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    // rows_missing + rows_wrong, per row set: a derived metric added to a copy.
    let mut with_sum = raw.clone();
    let mut extra = Vec::new();
    for r in raw.rows.iter().filter(|r| r.metric == "rows_missing") {
        let wrong = raw
            .rows
            .iter()
            .find(|w| {
                w.metric == "rows_wrong"
                    && w.engine == r.engine
                    && w.rep == r.rep
                    && w.params == r.params
            })
            .map(|w| w.value)
            .unwrap_or(0.0);
        let mut sum = r.clone();
        sum.metric = "rows_not_exact".into();
        sum.value = r.value + wrong;
        extra.push(sum);
    }
    with_sum.rows.extend(extra);
    let x = || ("delay_ms", Axis::linear("watermark delay (s)"), 1e-3);
    let panel = |metric: Metric, title: &str, y: &str| {
        line_panel(
            &with_sum,
            title,
            x(),
            metric,
            Axis::linear(y),
            Some("disorder"),
            &[],
        )
    };
    let mut p99 = panel(Metric::ms("latency_p99_us"), "p99 latency (ms)", "ms");
    if let Some(max) = json_f64(&folder.summary, "max_disorder_delay_ms") {
        // The notebook marks the largest out-of-order delay on x; here its value is in the title.
        p99.title = format!(
            "p99 latency (ms); largest out-of-order delay {} s",
            max / 1e3
        );
    }
    Figure::of(
        "watermark-accuracy",
        format!(
            "Watermark delay vs accuracy and latency ({} events, replayed at {})",
            json_f64(&folder.summary, "events")
                .map(human::count)
                .unwrap_or_else(|| "?".into()),
            json_f64(&folder.summary, "rate")
                .map(human::rate)
                .unwrap_or_else(|| "?".into())
        ),
        vec![
            panel(
                Metric::plain("late_dropped"),
                "events dropped as late",
                "events",
            ),
            panel(
                Metric::plain("relative_error_n"),
                "relative error of count",
                "relative error",
            ),
            panel(
                Metric::plain("rows_not_exact"),
                "final rows missing or wrong",
                "rows",
            ),
            p99,
        ],
    )
    .into_iter()
    .collect()
}

/// `output-modes`: rows emitted, p50 and p99 latency per mode, a bar per engine.
pub fn output_modes(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    Figure::of(
        "output-modes",
        format!(
            "Output modes: {} events at {}",
            json_f64(&folder.summary, "events")
                .map(human::count)
                .unwrap_or_else(|| "?".into()),
            json_f64(&folder.summary, "rate")
                .map(human::rate)
                .unwrap_or_else(|| "?".into())
        ),
        vec![
            bars_by(
                raw,
                "rows emitted",
                "mode",
                Metric::plain("rows_out"),
                Axis::log("rows (log)"),
                &[],
            ),
            bars_by(
                raw,
                "p50 latency",
                "mode",
                Metric::ms("latency_p50_us"),
                Axis::log("ms (log)"),
                &[],
            ),
            bars_by(
                raw,
                "p99 latency",
                "mode",
                Metric::ms("latency_p99_us"),
                Axis::log("ms (log)"),
                &[],
            ),
        ],
    )
    .into_iter()
    .collect()
}

/// `time-domains`: relative error, share of windows exact and late drops against
/// disorder, a line per engine and time domain.
pub fn time_domains(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    // share exact = rows_exact / the run's rows expected (summary.json's points).
    let mut with_share = raw.clone();
    if let Some(points) = folder.summary.get("points").and_then(Value::as_array) {
        for r in raw.rows.iter().filter(|r| r.metric == "rows_exact") {
            let expected = points.iter().find_map(|p| {
                let same = p.get("engine").and_then(Value::as_str) == Some(r.engine.as_str())
                    && p.get("time").and_then(Value::as_str)
                        == r.params.get("time").map(String::as_str)
                    && p.get("rep").and_then(Value::as_u64) == Some(r.rep as u64)
                    && p.get("disorder").and_then(Value::as_f64)
                        == r.params.get("disorder").and_then(|d| number(d));
                if same {
                    json_f64(p, "accuracy.rows_expected")
                } else {
                    None
                }
            });
            if let Some(expected) = expected.filter(|e| *e > 0.0) {
                let mut share = r.clone();
                share.metric = "share_exact".into();
                share.value = r.value / expected;
                with_share.rows.push(share);
            }
        }
    }
    let x = || {
        (
            "disorder",
            Axis::linear("fraction of events out of order"),
            1.0,
        )
    };
    let panel = |raw: &Raw, metric: &str, title: &str, y: &str| {
        let mut p = line_panel(
            raw,
            title,
            x(),
            Metric::plain(metric),
            Axis::linear(y),
            Some("time"),
            &[],
        );
        // Engine colours; the time domain by the line (event solid, processing dashed).
        if let Plot::Lines { series, .. } = &mut p.plot {
            for s in series.iter_mut() {
                let engine = s.name.split(',').next().unwrap_or("").to_owned();
                s.style = Style {
                    color: engine_color(&engine),
                    dashed: s.name.ends_with("processing"),
                };
                s.name = s.name.replace(", time ", ", ") + " time";
            }
        }
        p
    };
    Figure::of(
        "time-domains",
        format!(
            "Likes per video per 1 s: processing vs event time (at {}, late by up to {} ms)",
            json_f64(&folder.summary, "rate")
                .map(human::rate)
                .unwrap_or_else(|| "?".into()),
            json_f64(&folder.summary, "max_delay_ms")
                .map(|v| v.to_string())
                .unwrap_or_else(|| "?".into())
        ),
        vec![
            panel(
                raw,
                "relative_error_likes",
                "relative error of likes vs exact answer",
                "relative error",
            ),
            panel(
                &with_share,
                "share_exact",
                "share of windows exactly right",
                "share",
            ),
            panel(raw, "late_dropped", "events dropped as late", "events"),
        ],
    )
    .into_iter()
    .collect()
}

/// `kafka-logs`: lines read per second against the producer's rate, end-to-end latency
/// percentiles through the broker, share of final rows exact.
pub fn kafka_logs(folder: &Folder) -> Vec<Figure> {
    let raw = &folder.raw;
    let rate = json_f64(&folder.summary, "rate");
    let mut throughput = super::bar_per_engine(
        raw,
        "lines read per second (whole run)",
        Metric::plain("throughput_eps"),
        Axis::linear("events/s"),
        &[],
    );
    if let (Plot::Bars { .. }, Some(r)) = (&throughput.plot, rate) {
        throughput.title = format!("lines read per second (producer rate {})", human::rate(r));
    }
    let engines = raw.engines();
    let latency = Panel {
        title: "end-to-end latency through the broker".into(),
        y: Axis::log("ms (log)"),
        plot: Plot::Bars {
            categories: engines.clone(),
            groups: [
                ("latency_p50_us", "p50"),
                ("latency_p99_us", "p99"),
                ("latency_max_us", "max"),
            ]
            .iter()
            .enumerate()
            .map(|(j, (metric, name))| BarGroup {
                name: (*name).to_owned(),
                style: Style {
                    color: crate::chart::palette(j),
                    dashed: false,
                },
                values: engines
                    .iter()
                    .map(|e| {
                        raw.spread(e, &[], metric).map(|s| Spread {
                            median: s.median / 1e3,
                            min: s.min / 1e3,
                            max: s.max / 1e3,
                        })
                    })
                    .collect(),
            })
            .collect(),
        },
    };
    let expected = |engine: &str| {
        folder
            .summary
            .get("points")?
            .as_array()?
            .iter()
            .find_map(|p| {
                (p.get("engine")?.as_str()? == engine)
                    .then(|| json_f64(p, "accuracy.rows_expected"))
                    .flatten()
            })
    };
    let share: Vec<(String, Spread)> = engines
        .iter()
        .filter_map(|e| {
            Some((
                e.clone(),
                point(raw.spread(e, &[], "rows_exact")?.median / expected(e)?),
            ))
        })
        .collect();
    Figure::of(
        "kafka-logs",
        "Logs through Kafka: errors per service per 10 s window",
        vec![
            throughput,
            latency,
            super::engine_bars("share of final rows exact", Axis::linear("share"), share),
        ],
    )
    .into_iter()
    .collect()
}
