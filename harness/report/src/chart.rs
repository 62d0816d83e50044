//! One panel of a figure drawn as SVG with plotters: lines (a series per engine, say,
//! with min–max whiskers) or grouped bars (categories × groups). The legend gets its own
//! strip right of the plot, so it never covers data; a log axis is drawn on the values'
//! log10 with ticks labelled in the values themselves (`1M`, `10k`).

use crate::raw::Spread;
use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use streamlab_measure::human;

/// The colour and line of a series.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Its colour.
    pub color: RGBColor,
    /// Drawn dashed (a reference, or a second family beside the first).
    pub dashed: bool,
}

impl Style {
    /// A solid line of `color`.
    pub fn solid(color: RGBColor) -> Style {
        Style {
            color,
            dashed: false,
        }
    }
}

/// An axis: its label and scale.
#[derive(Clone, Debug)]
pub struct Axis {
    /// The label, with its unit.
    pub label: String,
    /// Logarithmic.
    pub log: bool,
}

impl Axis {
    /// A linear axis.
    pub fn linear(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            log: false,
        }
    }
    /// A logarithmic axis.
    pub fn log(label: impl Into<String>) -> Axis {
        Axis {
            label: label.into(),
            log: true,
        }
    }
}

/// A line through points, with optional whiskers (min–max) at each.
#[derive(Clone, Debug)]
pub struct Series {
    /// The legend's name.
    pub name: String,
    /// How it is drawn.
    pub style: Style,
    /// (x, spread of y) per point, in x order.
    pub points: Vec<(f64, Spread)>,
}

/// One group of bars: a bar per category.
#[derive(Clone, Debug)]
pub struct BarGroup {
    /// The legend's name.
    pub name: String,
    /// The bars' colour (dashed: drawn hollow, for a figure that is not a measurement).
    pub style: Style,
    /// Per category, the value (median, min–max), or none.
    pub values: Vec<Option<Spread>>,
}

/// What a panel draws.
#[derive(Clone, Debug)]
pub enum Plot {
    /// Lines over a numeric x axis; `refs` are horizontal reference lines.
    Lines {
        /// The x axis.
        x: Axis,
        /// The lines.
        series: Vec<Series>,
        /// Horizontal reference lines: (legend name, y, style).
        refs: Vec<(String, f64, Style)>,
    },
    /// Bars per category, a group beside another.
    Bars {
        /// The categories along x.
        categories: Vec<String>,
        /// The groups.
        groups: Vec<BarGroup>,
    },
}

/// One panel: a title, a y axis and what it plots.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Its title (the notebook's).
    pub title: String,
    /// The y axis.
    pub y: Axis,
    /// The plot.
    pub plot: Plot,
}

/// Engine colours, the notebooks' (`streamlab_nb.engine_style`) where they have one.
pub fn engine_color(engine: &str) -> RGBColor {
    match engine {
        "microbatch" => RGBColor(0xd6, 0x27, 0x28),
        "record" => RGBColor(0x1f, 0x77, 0xb4),
        "baseline" => RGBColor(0x2c, 0xa0, 0x2c),
        "hand" => RGBColor(0x7f, 0x7f, 0x7f),
        "oracle" => RGBColor(0x00, 0x00, 0x00),
        "spark" | "real spark" => RGBColor(0xf2, 0xa5, 0x41),
        "flink" | "real flink" => RGBColor(0x7a, 0xa6, 0xc2),
        other => palette(other.bytes().map(usize::from).sum()),
    }
}

/// The `i`-th of ten distinct colours (series that are not engines).
pub fn palette(i: usize) -> RGBColor {
    const TEN: [(u8, u8, u8); 10] = [
        (0x94, 0x67, 0xbd),
        (0xff, 0x7f, 0x0e),
        (0x8c, 0x56, 0x4b),
        (0x17, 0xbe, 0xcf),
        (0xe3, 0x77, 0xc2),
        (0xbc, 0xbd, 0x22),
        (0x1f, 0x77, 0xb4),
        (0xd6, 0x27, 0x28),
        (0x2c, 0xa0, 0x2c),
        (0x7f, 0x7f, 0x7f),
    ];
    let (r, g, b) = TEN[i % TEN.len()];
    RGBColor(r, g, b)
}

const PLOT_W: u32 = 480;
const H: u32 = 340;
const FONT: &str = "sans-serif";

/// The panel as an SVG document.
pub fn svg(panel: &Panel) -> Result<String> {
    let legend = legend_entries(panel);
    let widest = legend
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(0) as u32;
    let legend_w = if legend.is_empty() {
        0
    } else {
        (widest * 7 + 50).clamp(110, 330)
    };
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (PLOT_W + legend_w, H)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let (plot, side) = root.split_horizontally(PLOT_W);
        match &panel.plot {
            Plot::Lines { x, series, refs } => lines(&plot, panel, x, series, refs)?,
            Plot::Bars { categories, groups } => bars(&plot, panel, categories, groups)?,
        }
        draw_legend(&side, &legend)?;
        root.present().map_err(draw_error)?;
    }
    Ok(text)
}

fn draw_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("drawing a figure: {e:?}")
}

/// Whether a panel has anything to draw.
pub fn is_empty(panel: &Panel) -> bool {
    match &panel.plot {
        Plot::Lines { series, .. } => series.iter().all(|s| s.points.is_empty()),
        Plot::Bars { groups, .. } => groups.iter().all(|g| g.values.iter().all(Option::is_none)),
    }
}

fn legend_entries(panel: &Panel) -> Vec<(String, Style)> {
    match &panel.plot {
        Plot::Lines { series, refs, .. } => series
            .iter()
            .filter(|s| !s.points.is_empty())
            .map(|s| (s.name.clone(), s.style))
            .chain(refs.iter().map(|(n, _, s)| (n.clone(), *s)))
            .collect(),
        Plot::Bars { groups, .. } => groups.iter().map(|g| (g.name.clone(), g.style)).collect(),
    }
}

fn draw_legend(area: &DrawingArea<SVGBackend, Shift>, entries: &[(String, Style)]) -> Result<()> {
    for (i, (name, style)) in entries.iter().enumerate() {
        let y = 40 + 20 * i as i32;
        let line = ShapeStyle::from(&style.color).stroke_width(3);
        if style.dashed {
            for k in 0..3 {
                area.draw(&PathElement::new(
                    vec![(6 + 9 * k, y), (11 + 9 * k, y)],
                    line,
                ))
                .map_err(draw_error)?;
            }
        } else {
            area.draw(&PathElement::new(vec![(6, y), (30, y)], line))
                .map_err(draw_error)?;
        }
        let font = TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
        area.draw(&Text::new(name.clone(), (36, y), font))
            .map_err(draw_error)?;
    }
    Ok(())
}

/// The value drawn for `v` on `axis` (its log10 on a log axis; nothing for `v ≤ 0`).
fn on(axis: &Axis, v: f64) -> Option<f64> {
    match (axis.log, v) {
        (true, v) if v > 0.0 => Some(v.log10()),
        (true, _) => None,
        (false, v) => v.is_finite().then_some(v),
    }
}

/// The drawn range of `values` on `axis`, padded; linear axes start at 0 unless values
/// go below it.
fn range(axis: &Axis, values: impl Iterator<Item = f64>, headroom: f64) -> (f64, f64) {
    let v: Vec<f64> = values.filter_map(|v| on(axis, v)).collect();
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(*x), b.max(*x))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if axis.log {
        let span = (hi - lo).max(0.5);
        (lo - 0.08 * span, hi + headroom * span.max(1.0) * 0.25)
    } else {
        let lo = lo.min(0.0);
        let hi = if hi <= lo { lo + 1.0 } else { hi };
        (lo, hi + (hi - lo) * headroom * 0.3)
    }
}

/// A tick's label: the value, in people's digits. A log axis gets a key point every
/// 0.1 of log10 ([`labels`]) and labels only those at 1, 2 and 5 × 10^k (only 10^k over
/// more than three decades), so labels never crowd.
fn tick(axis: &Axis, (lo, hi): (f64, f64), v: f64) -> String {
    if !axis.log {
        return human::count(v);
    }
    let value = 10f64.powf(v);
    let mantissa = value / 10f64.powf(v.floor());
    let nice: &[f64] = if hi - lo > 3.0 {
        &[1.0, 10.0]
    } else {
        &[1.0, 2.0, 5.0, 10.0]
    };
    match nice.iter().find(|n| (mantissa / *n - 1.0).abs() < 0.012) {
        Some(n) => human::count(n * 10f64.powf(v.floor())),
        None => String::new(),
    }
}

/// How many key points to ask plotters for on `axis` over the drawn range.
fn labels(axis: &Axis, (lo, hi): (f64, f64)) -> usize {
    if axis.log {
        (((hi - lo) / 0.1).ceil() as usize + 1).clamp(2, 80)
    } else {
        6
    }
}

fn lines(
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
    x: &Axis,
    series: &[Series],
    refs: &[(String, f64, Style)],
) -> Result<()> {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let ys = series
        .iter()
        .flat_map(|s| s.points.iter().flat_map(|(_, y)| [y.min, y.max]))
        .chain(refs.iter().map(|r| r.1));
    let (x0, x1) = range(x, xs, 0.0);
    let (x0, x1) = if x1 > x0 {
        pad(x0, x1, 0.04)
    } else {
        (x0 - 1.0, x1 + 1.0)
    };
    let (y0, y1) = range(&panel.y, ys, 0.5);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(62)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(draw_error)?;
    chart
        .configure_mesh()
        .x_desc(x.label.as_str())
        .y_desc(panel.y.label.as_str())
        .x_labels(labels(x, (x0, x1)))
        .y_labels(labels(&panel.y, (y0, y1)))
        .x_label_formatter(&|v| tick(x, (x0, x1), *v))
        .y_label_formatter(&|v| tick(&panel.y, (y0, y1), *v))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(draw_error)?;
    for (_, y, style) in refs {
        if let Some(y) = on(&panel.y, *y) {
            let line = ShapeStyle::from(&style.color).stroke_width(1);
            chart
                .draw_series(DashedLineSeries::new([(x0, y), (x1, y)], 6, 4, line))
                .map_err(draw_error)?;
        }
    }
    for s in series {
        let pts: Vec<(f64, f64, Spread)> = s
            .points
            .iter()
            .filter_map(|(px, y)| Some((on(x, *px)?, on(&panel.y, y.median)?, *y)))
            .collect();
        let line = ShapeStyle::from(&s.style.color).stroke_width(2);
        let path = pts.iter().map(|p| (p.0, p.1));
        if s.style.dashed {
            chart
                .draw_series(DashedLineSeries::new(path, 7, 4, line))
                .map_err(draw_error)?;
        } else {
            chart
                .draw_series(LineSeries::new(path, line))
                .map_err(draw_error)?;
        }
        chart
            .draw_series(
                pts.iter()
                    .map(|p| Circle::new((p.0, p.1), 3, s.style.color.filled())),
            )
            .map_err(draw_error)?;
        for (px, _, y) in &pts {
            if let (Some(lo), Some(hi)) = (on(&panel.y, y.min), on(&panel.y, y.max)) {
                if hi > lo {
                    chart
                        .draw_series([PathElement::new(vec![(*px, lo), (*px, hi)], s.style.color)])
                        .map_err(draw_error)?;
                }
            }
        }
    }
    Ok(())
}

fn pad(lo: f64, hi: f64, f: f64) -> (f64, f64) {
    let d = (hi - lo) * f;
    (lo - d, hi + d)
}

fn bars(
    area: &DrawingArea<SVGBackend, Shift>,
    panel: &Panel,
    categories: &[String],
    groups: &[BarGroup],
) -> Result<()> {
    let n = categories.len().max(1);
    let ys = groups
        .iter()
        .flat_map(|g| g.values.iter().flatten().flat_map(|s| [s.min, s.max]));
    let (y0, y1) = range(&panel.y, ys, 0.6);
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.title, (FONT, 18))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(62)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)
        .map_err(draw_error)?;
    let name = |v: &f64| {
        let i = v.round();
        if (v - i).abs() < 1e-6 && i >= 0.0 {
            categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(panel.y.label.as_str())
        .x_labels(n.max(2))
        .y_labels(labels(&panel.y, (y0, y1)))
        .x_label_formatter(&name)
        .y_label_formatter(&|v| tick(&panel.y, (y0, y1), *v))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(RGBColor(0xf0, 0xf0, 0xf0))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()
        .map_err(draw_error)?;
    let bars_drawn: usize = groups
        .iter()
        .map(|g| g.values.iter().flatten().count())
        .sum();
    for i in 0..categories.len() {
        // The groups with a bar here, packed side by side.
        let present: Vec<(&BarGroup, Spread)> = groups
            .iter()
            .filter_map(|g| Some((g, (*g.values.get(i)?)?)))
            .collect();
        let width = 0.8 / present.len().max(1) as f64;
        for (j, (g, v)) in present.iter().enumerate() {
            let Some(top) = on(&panel.y, v.median) else {
                continue;
            };
            let left = i as f64 - 0.4 + width * j as f64;
            let fill = if g.style.dashed {
                g.style.color.stroke_width(2)
            } else {
                g.style.color.mix(0.85).filled()
            };
            chart
                .draw_series([Rectangle::new(
                    [(left + 0.05 * width, y0), (left + 0.95 * width, top)],
                    fill,
                )])
                .map_err(draw_error)?;
            let mid = left + width / 2.0;
            if let (Some(lo), Some(hi)) = (on(&panel.y, v.min), on(&panel.y, v.max)) {
                if hi > lo {
                    chart
                        .draw_series([PathElement::new(vec![(mid, lo), (mid, hi)], BLACK)])
                        .map_err(draw_error)?;
                }
            }
            if bars_drawn <= 12 {
                let font = TextStyle::from((FONT, 13).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                let at = on(&panel.y, v.max).unwrap_or(top).max(top);
                chart
                    .draw_series([Text::new(human::count(v.median), (mid, at), font)])
                    .map_err(draw_error)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: f64) -> Spread {
        Spread {
            median: v,
            min: v,
            max: v,
        }
    }

    #[test]
    fn a_line_panel_is_an_svg_with_its_title_axes_and_legend() {
        let panel = Panel {
            title: "p99 latency vs achieved throughput".into(),
            y: Axis::log("latency (ms, log)"),
            plot: Plot::Lines {
                x: Axis::log("achieved throughput (events/s, log)"),
                series: vec![Series {
                    name: "record".into(),
                    style: Style::solid(engine_color("record")),
                    points: vec![(250e3, s(1.2)), (1e6, s(3.0)), (4e6, s(80.0))],
                }],
                refs: vec![],
            },
        };
        let svg = svg(&panel).unwrap_or_default();
        assert!(svg.starts_with("<svg"), "{svg}");
        for text in [
            "p99 latency vs achieved throughput",
            "latency (ms, log)",
            "record",
            "1M",
        ] {
            assert!(
                svg.contains(&format!("\n{text}\n")),
                "{text} missing from {svg}"
            );
        }
    }

    #[test]
    fn bars_label_their_categories_and_values() {
        let panel = Panel {
            title: "rows emitted".into(),
            y: Axis::log("rows (log)"),
            plot: Plot::Bars {
                categories: vec!["append".into(), "update".into()],
                groups: vec![BarGroup {
                    name: "baseline".into(),
                    style: Style::solid(engine_color("baseline")),
                    values: vec![Some(s(3993.0)), Some(s(2e6))],
                }],
            },
        };
        let svg = svg(&panel).unwrap_or_default();
        for text in ["append", "update", "3.99k", "2M", "baseline"] {
            assert!(
                svg.contains(&format!("\n{text}\n")),
                "{text} missing from {svg}"
            );
        }
    }
}
