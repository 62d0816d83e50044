//! A results folder read back (measurement.md, "Results layout"): which experiment wrote
//! it, its README (the command and the lesson), `config.toml`, `machine.json`,
//! `summary.json`, `raw.csv` and the latency histograms (`*.hgrm`).

use crate::raw::Raw;
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// What a folder holds.
pub struct Folder {
    /// The folder.
    pub dir: PathBuf,
    /// The experiment that wrote it: `bench` or an `experiment` name (`output-modes`, …);
    /// any other name gets the generic report.
    pub kind: String,
    /// `README.md` (empty when absent).
    pub readme: String,
    /// `config.toml` (empty when absent).
    pub config: String,
    /// `machine.json` (null when absent).
    pub machine: Value,
    /// `summary.json`.
    pub summary: Value,
    /// `raw.csv`.
    pub raw: Raw,
    /// The `*.hgrm` files, by name.
    pub histograms: Vec<PathBuf>,
}

/// Whether `dir` is a results folder (it has a `summary.json` or a `raw.csv`).
pub fn is_results_folder(dir: &Path) -> bool {
    dir.join("summary.json").is_file() || dir.join("raw.csv").is_file()
}

impl Folder {
    /// Reads `dir`, naming what is missing or malformed.
    pub fn load(dir: &Path) -> Result<Folder> {
        if !dir.is_dir() {
            bail!("{} is not a directory", dir.display());
        }
        if !is_results_folder(dir) {
            bail!(
                "{} is not a results folder: it has neither summary.json nor raw.csv",
                dir.display()
            );
        }
        let optional = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let readme = optional("README.md");
        let config = optional("config.toml");
        let machine = serde_json::from_str(&optional("machine.json")).unwrap_or(Value::Null);
        let summary = match std::fs::read_to_string(dir.join("summary.json")) {
            Ok(text) => serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", dir.join("summary.json").display()))?,
            Err(_) => Value::Null,
        };
        let raw = if dir.join("raw.csv").is_file() {
            Raw::read(&dir.join("raw.csv"))?
        } else {
            Raw::default()
        };
        let mut histograms: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("cannot list {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "hgrm"))
            .collect();
        histograms.sort();
        let kind = kind_of(&readme, &config, dir);
        Ok(Folder {
            dir: dir.to_owned(),
            kind,
            readme,
            config,
            machine,
            summary,
            raw,
            histograms,
        })
    }

    /// The folder's name.
    pub fn name(&self) -> String {
        self.dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.dir.display().to_string())
    }

    /// The command that wrote the folder: `config.toml`'s `command`, else the README's
    /// indented command line.
    pub fn command(&self) -> Option<String> {
        let from_config = self.config.lines().find_map(|l| {
            let v = l.strip_prefix("command = ")?;
            serde_json::from_str::<String>(v).ok()
        });
        from_config.or_else(|| {
            let mut lines = self
                .readme
                .lines()
                .skip_while(|l| !l.starts_with("Command:"));
            lines.find_map(|l| l.strip_prefix("    ").map(str::to_owned))
        })
    }

    /// The lesson in one line: the README's first paragraph after its command, else its
    /// first paragraph that is not a heading.
    pub fn one_line(&self) -> String {
        let paragraphs: Vec<String> = self
            .readme
            .split("\n\n")
            .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|p| !p.is_empty())
            .collect();
        let prose = |p: &&String| {
            !p.starts_with('#')
                && !p.starts_with("Command:")
                && !p.starts_with('|')
                && !p.starts_with("```")
                && !self.command().is_some_and(|c| p.contains(&c))
        };
        paragraphs.iter().find(prose).cloned().unwrap_or_default()
    }

    /// A path under the folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// The experiment that wrote a folder: the README's title (`# streamlab experiment NAME`,
/// `# streamlab bench`), else `config.toml`'s `experiment = "…"`, else the folder's name
/// after its `<date>-<host>-` prefix.
fn kind_of(readme: &str, config: &str, dir: &Path) -> String {
    if let Some(title) = readme.lines().next() {
        if let Some(name) = title.strip_prefix("# streamlab experiment ") {
            return name.trim().to_owned();
        }
        if title.trim() == "# streamlab bench" {
            return "bench".into();
        }
    }
    if let Some(name) = config.lines().find_map(|l| l.strip_prefix("experiment = ")) {
        return name.trim().trim_matches('"').to_owned();
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // <yyyy>-<mm>-<dd>-<host>-<name>
    name.splitn(5, '-').nth(4).unwrap_or(&name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kind_comes_from_the_readme_then_the_config_then_the_name() {
        let d = Path::new("results/2026-12-01-vm-bench-w1");
        assert_eq!(
            kind_of("# streamlab experiment output-modes\n", "", d),
            "output-modes"
        );
        assert_eq!(kind_of("# streamlab bench\n", "", d), "bench");
        assert_eq!(
            kind_of("", "experiment = \"checkpoint-interval\"\n", d),
            "checkpoint-interval"
        );
        assert_eq!(kind_of("", "", d), "bench-w1");
    }
}
