//! `streamlab report` seen in a real browser: a `--quick` experiment writes its results
//! folder and report; headless Chromium loads the page (`--dump-dom`: the DOM after the
//! browser parsed and laid it out; `--screenshot`) and the figures its notebook draws are
//! there as SVG with their titles, axes and series, and the tables' numbers are those of
//! `summary.json`. Without Chromium (`STREAMLAB_CHROMIUM`, else `chromium` on PATH) the
//! browser tests print `SKIPPED:` and pass; the page's own checks do not need it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The browser: `STREAMLAB_CHROMIUM`, else the first of Debian's names on PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("STREAMLAB_CHROMIUM") {
        return Some(p.into());
    }
    let path = std::env::var_os("PATH")?;
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Runs the browser headless on `page` with `args`; its stdout.
fn browse(browser: &Path, profile: &Path, page: &Path, args: &[&str]) -> String {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A `--quick` output-modes run into a fresh folder (with its report).
fn quick_output_modes(name: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("streamlab-report-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let run = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(["experiment", "output-modes", "--quick", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let stderr = String::from_utf8_lossy(&run.stderr);
    // The per-run lines (stderr is a pipe here: no bar), in people's digits, and the
    // closing table.
    assert!(
        stderr.contains("[1/9] microbatch mode=append rep 1: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("[9/9] baseline mode=complete rep 1: "),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes into a pipe: {stderr}"
    );
    assert!(stderr.contains("medians over repetitions:"), "{stderr}");
    assert!(
        out.join("index.html").is_file(),
        "the experiment wrote no report"
    );
    out
}

/// The text of the element that starts at `open` in `html` up to its `close` tag.
fn section<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let at = html
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in the page"));
    let end = html[at..]
        .find(close)
        .unwrap_or_else(|| panic!("{open} is not closed"));
    &html[at..at + end]
}

/// The texts drawn in an SVG (`<text …>TEXT</text>`), trimmed.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_owned())
        })
        .collect()
}

/// Every number of a JSON value, as serde_json prints it.
fn json_numbers(v: &Value, into: &mut Vec<String>) {
    match v {
        Value::Number(n) => into.push(n.to_string()),
        Value::Array(a) => a.iter().for_each(|x| json_numbers(x, into)),
        Value::Object(m) => m.values().for_each(|x| json_numbers(x, into)),
        _ => {}
    }
}

#[test]
fn the_report_of_a_quick_run_shows_its_figures_and_the_numbers_of_its_summary() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: no Chromium (set STREAMLAB_CHROMIUM or install Debian's chromium): the report was not opened in a browser");
        return;
    };
    let dir = quick_output_modes("browser");
    let profile = dir.join(".chromium-profile");
    let dom = browse(&browser, &profile, &dir.join("index.html"), &["--dump-dom"]);

    // The notebook's figure: three panels, each with its title, axis and every engine.
    let figure = section(&dom, "<figure id=\"fig-output-modes\">", "</figure>");
    assert_eq!(figure.matches("<svg").count(), 3, "{figure}");
    let texts = svg_texts(figure);
    for t in [
        "rows emitted",
        "p50 latency",
        "p99 latency",
        "rows (log)",
        "ms (log)",
        "append",
        "update",
        "complete",
        "microbatch",
        "record",
        "baseline",
    ] {
        assert!(
            texts.iter().any(|x| x == t),
            "no `{t}` drawn in the figure: {texts:?}"
        );
    }

    // summary.json's table holds every number of summary.json, and only those.
    let summary: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap();
    let mut expected = Vec::new();
    json_numbers(&summary, &mut expected);
    let table = section(&dom, "id=\"summary-table\"", "<h2");
    let mut shown: Vec<String> = table
        .split("<span class=\"n\">")
        .skip(1)
        .map(|s| s[..s.find("</span>").unwrap()].to_owned())
        .collect();
    expected.sort();
    shown.sort();
    assert_eq!(
        shown, expected,
        "the summary table's numbers differ from summary.json's"
    );

    // The table of medians: with one repetition, each engine and mode's rows out is the
    // summary's (exactly, in the cell's title).
    let numbers = section(&dom, "<table class=\"numbers\">", "</table>");
    let header: Vec<String> = section(numbers, "<thead>", "</thead>")
        .split("<th>")
        .skip(1)
        .map(|h| h[..h.find("</th>").unwrap()].to_owned())
        .collect();
    let rows_out = header.iter().position(|h| h == "rows_out").unwrap();
    let points = summary["points"].as_array().unwrap();
    assert_eq!(points.len(), 9);
    for p in points {
        let (engine, mode) = (p["engine"].as_str().unwrap(), p["mode"].as_str().unwrap());
        let row = numbers
            .split("<tr>")
            .find(|r| r.starts_with(&format!("<td>{engine}</td><td>{mode}</td>")))
            .unwrap_or_else(|| panic!("no row for {engine} {mode}"));
        let cell = row.split("<td").nth(rows_out + 1).unwrap();
        assert!(
            cell.contains(&format!("title=\"median {} ", p["rows_out"])),
            "{engine} {mode}: {cell}"
        );
    }

    // The command and the lesson are on the page.
    assert!(dom.contains("experiment output-modes --quick --out"));
    assert!(dom.contains("how many rows each engine emits for the same final answer"));

    // The page renders: a screenshot of it is an image of some size.
    let shot = dir.join("shot.png");
    browse(
        &browser,
        &profile,
        &dir.join("index.html"),
        &[
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
        ],
    );
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "screenshot of {} bytes",
        png.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn report_refuses_a_folder_that_holds_no_results_naming_it() {
    let dir = std::env::temp_dir().join(format!("streamlab-report-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .arg("report")
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is neither a results folder")
            && stderr.contains(&dir.display().to_string()),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
