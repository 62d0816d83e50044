//! `results/index.html`: every results folder under a directory, one line each (its
//! kind, its lesson in one line, the command), linking to its report.

use crate::folder::{is_results_folder, Folder};
use crate::page::STYLE;
use crate::tables::escape;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The results folders directly under `root`, by name.
pub fn folders_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .with_context(|| format!("cannot list {}", root.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir() && is_results_folder(p))
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// The one line of a folder: its lesson's first paragraph, cut at a word near 260
/// characters.
fn one_line(folder: &Folder) -> String {
    let text = folder.one_line();
    if text.chars().count() <= 260 {
        return text;
    }
    let cut: String = text.chars().take(260).collect();
    let cut = cut.rsplit_once(' ').map(|(a, _)| a).unwrap_or(&cut);
    format!("{cut} …")
}

/// The index page over `folders` (under `root`).
pub fn index(root: &Path, folders: &[Folder]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>streamlab results</title><style>{STYLE}</style></head><body>\n\
         <h1>streamlab results</h1><p class=\"meta\">{} folders under <code>{}</code>; each links to its report (figures, lesson, numbers, command, config, machine).</p>\n\
         <table class=\"index\"><thead><tr><th>folder</th><th>experiment</th><th>what it measured</th></tr></thead><tbody>\n",
        folders.len(),
        escape(&root.display().to_string())
    );
    for f in folders {
        let name = f.name();
        let _ = writeln!(
            h,
            "<tr><td><a href=\"{0}/index.html\">{0}</a></td><td>{1}</td><td>{2}</td></tr>",
            escape(&name),
            escape(&f.kind),
            escape(&one_line(f))
        );
    }
    h.push_str("</tbody></table></body></html>\n");
    h
}
