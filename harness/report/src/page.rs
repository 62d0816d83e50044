//! The report page of one results folder: one self-contained HTML file (inline SVG and
//! CSS, no script, nothing fetched), in the order a reader wants it: the lesson (the
//! folder's README: command, what it measured, what it shows), the figures, the table of
//! numbers, then `summary.json`, the raw rows, the config and the machine.

use crate::chart;
use crate::figures::Figure;
use crate::folder::Folder;
use crate::tables::{escape, json, medians, raw_rows};
use anyhow::Result;
use pulldown_cmark::{html, Options, Parser};
use std::fmt::Write as _;

/// The style every page shares (also the index's).
pub const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}\
figure{margin:1em 0;border:1px solid #e4e4e4;border-radius:4px;padding:.5em}\
figcaption{font-weight:600;margin-bottom:.4em}.panels{display:flex;flex-wrap:wrap;gap:.5em}\
.panels svg{max-width:100%;height:auto}\
table{border-collapse:collapse;font-size:.85em;margin:.4em 0}th,td{border:1px solid #ddd;padding:.2em .45em;vertical-align:top}\
th{background:#f5f5f5;text-align:left}td.n,.n{text-align:right;font-variant-numeric:tabular-nums}\
.scroll{overflow-x:auto}pre{background:#f7f7f7;padding:.6em;overflow-x:auto}code{background:#f3f3f3}\
.lesson{max-width:1000px}.meta{color:#666}";

/// The most rows of `raw.csv` the page holds; a larger table is linked (its medians are
/// on the page), so that a committed report stays small.
pub const RAW_ROWS_INLINE: usize = 1500;

/// The page's HTML.
pub fn page(folder: &Folder, figures: &[Figure]) -> Result<String> {
    let name = folder.name();
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — {}</title><style>{STYLE}</style></head><body>",
        escape(&folder.kind),
        escape(&name)
    );
    let _ = writeln!(
        h,
        "<p class=\"meta\"><a href=\"../index.html\">all results</a></p><h1>{}: <code>{}</code></h1>",
        escape(&folder.kind),
        escape(&name)
    );
    if let Some(command) = folder.command() {
        let _ = writeln!(
            h,
            "<p>Command: <code id=\"command\">{}</code></p>",
            escape(&command)
        );
    }
    h.push_str("<h2 id=\"lesson\">What it measured and what it shows</h2>\n<div class=\"lesson\">");
    if folder.readme.is_empty() {
        h.push_str("<p>(this folder has no README.md)</p>");
    } else {
        // The README's own title repeats the page's.
        let readme = match folder.readme.split_once('\n') {
            Some((first, rest)) if first.starts_with("# ") => rest,
            _ => folder.readme.as_str(),
        };
        let mut body = String::new();
        html::push_html(&mut body, Parser::new_ext(readme, Options::ENABLE_TABLES));
        h.push_str(&body);
    }
    h.push_str("</div>\n<h2 id=\"figures\">Figures</h2>\n");
    if figures.is_empty() {
        let _ = writeln!(
            h,
            "<p>No figures are drawn for the kind <code>{}</code>: its numbers are in the tables below.</p>",
            escape(&folder.kind)
        );
    }
    for f in figures {
        let _ = write!(
            h,
            "<figure id=\"fig-{}\"><figcaption>{}</figcaption><div class=\"panels\">",
            escape(&f.name),
            escape(&f.title)
        );
        for p in &f.panels {
            h.push_str(&chart::svg(p)?);
        }
        h.push_str("</div></figure>\n");
    }
    h.push_str("<h2 id=\"numbers\">The numbers (medians over repetitions, from raw.csv)</h2>\n");
    let _ = writeln!(h, "<div class=\"scroll\">{}</div>", medians(&folder.raw));
    h.push_str("<h2 id=\"summary\">summary.json</h2>\n");
    let _ = writeln!(
        h,
        "<div class=\"scroll\" id=\"summary-table\">{}</div>",
        json(&folder.summary)
    );
    if folder.raw.rows.len() <= RAW_ROWS_INLINE {
        let _ = writeln!(
            h,
            "<h2 id=\"raw\">raw.csv</h2><details><summary>{} rows</summary><div class=\"scroll\">{}</div></details>",
            folder.raw.rows.len(),
            raw_rows(&folder.raw)
        );
    } else {
        let _ = writeln!(
            h,
            "<h2 id=\"raw\">raw.csv</h2><p>{} rows, too many to inline: <a href=\"raw.csv\">raw.csv</a> (their medians are above).</p>",
            folder.raw.rows.len()
        );
    }
    let _ = writeln!(
        h,
        "<h2 id=\"config\">config.toml</h2><pre>{}</pre>",
        escape(&folder.config)
    );
    let _ = writeln!(
        h,
        "<h2 id=\"machine\">Machine</h2>{}",
        json(&folder.machine)
    );
    h.push_str("<h2 id=\"files\">Files</h2><ul>");
    for file in [
        "README.md",
        "config.toml",
        "machine.json",
        "raw.csv",
        "summary.json",
    ] {
        if folder.path(file).is_file() {
            let _ = write!(h, "<li><a href=\"{file}\">{file}</a></li>");
        }
    }
    for p in &folder.histograms {
        if let Some(n) = p.file_name().map(|n| n.to_string_lossy().into_owned()) {
            let _ = write!(h, "<li><a href=\"{0}\">{0}</a></li>", escape(&n));
        }
    }
    h.push_str("</ul></body></html>\n");
    Ok(h)
}
