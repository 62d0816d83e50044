//! Results folders (measurement.md, "Results layout"): one folder per run of an
//! experiment, with `README.md`, `config.toml`, `machine.json`, `raw.csv`,
//! `summary.json` and `*.hgrm`, so every figure can be traced to a command and a machine.

use anyhow::{Context, Result};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The machine and code a result came from.
#[derive(Clone, Debug, Serialize)]
pub struct MachineInfo {
    /// Host name.
    pub host: String,
    /// CPU model name.
    pub cpu: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Total memory in bytes.
    pub memory_bytes: u64,
    /// Operating system.
    pub os: String,
    /// Kernel release.
    pub kernel: String,
    /// `rustc --version` of the compiler that built the binary (embedded at build time).
    pub rustc: String,
    /// `git rev-parse HEAD` of the checkout the binary was built from (embedded at build
    /// time, so it holds wherever the binary runs).
    pub git_revision: String,
    /// Whether that checkout had uncommitted changes to tracked files when it was built.
    pub git_dirty: bool,
    /// When the run started (UTC, RFC 3339).
    pub started_utc: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

impl MachineInfo {
    /// Reads this machine's description.
    pub fn collect() -> MachineInfo {
        let cpuinfo = read("/proc/cpuinfo");
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let memory_bytes = read("/proc/meminfo")
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or(0);
        let os = read("/etc/os-release")
            .lines()
            .find(|l| l.starts_with("PRETTY_NAME="))
            .map(|l| {
                l.trim_start_matches("PRETTY_NAME=")
                    .trim_matches('"')
                    .to_owned()
            })
            .unwrap_or_else(|| std::env::consts::OS.into());
        MachineInfo {
            host: read("/proc/sys/kernel/hostname").trim().to_owned(),
            cpu,
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory_bytes,
            os,
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            rustc: env!("STREAMLAB_BUILD_RUSTC").into(),
            git_revision: env!("STREAMLAB_BUILD_GIT_REVISION").into(),
            git_dirty: env!("STREAMLAB_BUILD_GIT_DIRTY") == "true",
            started_utc: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }
    }
}

/// The default folder for an experiment: `results/<date>-<host>-<name>`.
pub fn default_dir(name: &str) -> PathBuf {
    let host = read("/proc/sys/kernel/hostname")
        .trim()
        .replace(['/', ' '], "-");
    let host = if host.is_empty() { "host".into() } else { host };
    PathBuf::from("results").join(format!(
        "{}-{host}-{name}",
        chrono::Utc::now().format("%Y-%m-%d")
    ))
}

/// Tidy rows: one per (engine, setting, repetition, metric), the setting spread into one
/// column per parameter. A setting is `name=value` parameters separated by `;`
/// (`disorder=0.01;delay_ms=0`); a part without `=` goes in the `setting` column
/// (`plain`, `kills`). A row leaves the columns of parameters it does not have empty.
#[derive(Default)]
pub struct RawCsv {
    /// Parameter columns, in the order first seen.
    params: Vec<String>,
    rows: Vec<RawRow>,
}

/// One row: engine, (parameter column, value) pairs, rep, metric, value.
type RawRow = (String, Vec<(usize, String)>, usize, String, f64);

/// Columns every row has; a parameter may not take their names.
const FIXED: [&str; 4] = ["engine", "rep", "metric", "value"];

impl RawCsv {
    /// An empty table.
    pub fn new() -> RawCsv {
        RawCsv::default()
    }

    /// Adds one row.
    pub fn row(&mut self, engine: &str, setting: &str, rep: usize, metric: &str, value: f64) {
        let mut params = Vec::new();
        for part in setting.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, v) = part.split_once('=').unwrap_or(("setting", part));
            let name = if FIXED.contains(&name) {
                format!("setting_{name}")
            } else {
                name.to_owned()
            };
            let column = match self.params.iter().position(|p| *p == name) {
                Some(i) => i,
                None => {
                    self.params.push(name);
                    self.params.len() - 1
                }
            };
            params.push((column, v.to_owned()));
        }
        self.rows
            .push((engine.into(), params, rep, metric.into(), value));
    }

    /// The CSV text: `engine`, one column per parameter, `rep`, `metric`, `value`.
    pub fn text(&self) -> String {
        let mut text = String::from("engine");
        for p in &self.params {
            let _ = write!(text, ",{}", cell(p));
        }
        text.push_str(",rep,metric,value\n");
        for (engine, params, rep, metric, value) in &self.rows {
            text.push_str(&cell(engine));
            let mut cells = vec![""; self.params.len()];
            for (column, v) in params {
                cells[*column] = v;
            }
            for c in cells {
                let _ = write!(text, ",{}", cell(c));
            }
            let _ = writeln!(text, ",{rep},{},{value}", cell(metric));
        }
        text
    }
}

/// A CSV cell: quoted when it holds a comma, a quote or a line break.
fn cell(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

/// Writes pretty JSON to a file, naming it in errors (a run's summary, the demo's table,
/// a child run's metrics).
pub fn write_json(path: &Path, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    std::fs::write(path, text + "\n").with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a results folder. `files` are extra (name, contents) pairs such as `.hgrm`s.
pub fn write_folder(
    dir: &Path,
    readme: &str,
    config: &impl Serialize,
    raw: &RawCsv,
    summary: &impl Serialize,
    files: &[(String, String)],
) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: &str, contents: &str| {
        std::fs::write(dir.join(name), contents)
            .with_context(|| format!("cannot write {}", dir.join(name).display()))
    };
    write("README.md", readme)?;
    write(
        "config.toml",
        &toml::to_string_pretty(config).context("config does not fit TOML")?,
    )?;
    write(
        "machine.json",
        &(serde_json::to_string_pretty(&MachineInfo::collect())? + "\n"),
    )?;
    write("raw.csv", &raw.text())?;
    write(
        "summary.json",
        &(serde_json::to_string_pretty(summary)? + "\n"),
    )?;
    for (name, contents) in files {
        write(name, contents)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_csv_has_a_column_per_parameter() {
        let mut raw = RawCsv::new();
        raw.row("record", "disorder=0.01;delay_ms=0", 0, "late_dropped", 3.0);
        raw.row("baseline", "disorder=0.2", 1, "late_dropped", 4.5);
        raw.row("record", "kills", 0, "rows_lost", 0.0);
        raw.row("hand", "rate=max;path=file,csv", 0, "throughput_eps", 1.0);
        assert_eq!(
            raw.text(),
            "engine,disorder,delay_ms,setting,rate,path,rep,metric,value\n\
             record,0.01,0,,,,0,late_dropped,3\n\
             baseline,0.2,,,,,1,late_dropped,4.5\n\
             record,,,kills,,,0,rows_lost,0\n\
             hand,,,,max,\"file,csv\",0,throughput_eps,1\n"
        );
    }

    #[test]
    fn a_folder_has_every_file_of_the_layout() {
        let dir =
            std::env::temp_dir().join(format!("streamlab-results-test-{}", std::process::id()));
        let mut raw = RawCsv::new();
        raw.row("record", "rate=max", 0, "throughput_eps", 1.5e7);
        #[derive(Serialize)]
        struct Config {
            seed: u64,
        }
        write_folder(
            &dir,
            "# test\n",
            &Config { seed: 7 },
            &raw,
            &serde_json::json!({"engines": {}}),
            &[("record.hgrm".into(), "x".into())],
        )
        .unwrap();
        for f in [
            "README.md",
            "config.toml",
            "machine.json",
            "raw.csv",
            "summary.json",
            "record.hgrm",
        ] {
            assert!(dir.join(f).exists(), "{f} missing");
        }
        let machine: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("machine.json")).unwrap())
                .unwrap();
        assert!(machine["cores"].as_u64().unwrap() >= 1);
        // The build's revision and compiler, whatever the current directory holds.
        let revision = machine["git_revision"].as_str().unwrap();
        assert!(
            revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit()),
            "{revision}"
        );
        assert!(machine["rustc"].as_str().unwrap().starts_with("rustc "));
        assert_eq!(
            std::fs::read_to_string(dir.join("raw.csv")).unwrap(),
            "engine,rate,rep,metric,value\nrecord,max,0,throughput_eps,15000000\n"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
