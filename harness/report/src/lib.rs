//! streamlab's reports: `streamlab report DIR` writes `DIR/index.html`, one
//! self-contained page of a results folder (figures as inline SVG drawn here with
//! plotters, the lesson, the numbers, the command, config and machine), so a result is
//! seen without Python or Jupyter; over a directory of folders it also writes their
//! `index.html`. The notebooks stay, for exploring.
//!
//! # Layout
//! - [`folder`]: a results folder read back; [`raw`]: `raw.csv` and medians over
//!   repetitions; [`hgrm`]: latency histograms as CDFs.
//! - [`figures`]: each experiment's figures (one module per family); [`chart`]: one
//!   panel drawn as SVG.
//! - [`tables`]: the tables; [`text`]: the closing table on the terminal; [`page`]: a folder's page; [`index`]: the index page.

pub mod chart;
pub mod figures;
pub mod folder;
pub mod hgrm;
pub mod index;
pub mod page;
pub mod raw;
pub mod tables;
pub mod text;

use anyhow::{Context, Result};
use folder::{is_results_folder, Folder};
use std::path::{Path, PathBuf};

/// The report's file name in its folder.
pub const REPORT: &str = "index.html";

/// Writes `dir/index.html`, the report of the results folder `dir`; returns its path.
pub fn write_report(dir: &Path) -> Result<PathBuf> {
    let folder = Folder::load(dir)?;
    let figures = figures::figures(&folder)
        .with_context(|| format!("drawing the figures of {}", dir.display()))?;
    let html = page::page(&folder, &figures)?;
    let path = dir.join(REPORT);
    std::fs::write(&path, html).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Writes the report of every results folder directly under `root` and `root/index.html`
/// over them; returns the paths written (the index last).
pub fn write_all(root: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let mut folders = Vec::new();
    for dir in index::folders_under(root)? {
        written.push(write_report(&dir)?);
        folders.push(Folder::load(&dir)?);
    }
    written.push(write_index(root, &folders)?);
    Ok(written)
}

/// Writes `root/index.html` over `folders`.
fn write_index(root: &Path, folders: &[Folder]) -> Result<PathBuf> {
    let path = root.join(REPORT);
    std::fs::write(&path, index::index(root, folders))
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// `streamlab report DIR…`: a results folder gets its report; a directory of results
/// folders gets every folder's report and its index. Anything else is an error naming it.
pub fn report(dirs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for dir in dirs {
        if is_results_folder(dir) {
            written.push(write_report(dir)?);
        } else if dir.is_dir() && !index::folders_under(dir)?.is_empty() {
            written.extend(write_all(dir)?);
        } else if dir.is_dir() {
            anyhow::bail!(
                "{} is neither a results folder (no summary.json or raw.csv) nor a directory of them",
                dir.display()
            );
        } else {
            anyhow::bail!("{} is not a directory", dir.display());
        }
    }
    Ok(written)
}
