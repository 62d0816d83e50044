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
    /// `rustc --version`.
    pub rustc: String,
    /// `git rev-parse HEAD` of the checkout the binary ran in.
    pub git_revision: String,
    /// Whether the checkout had uncommitted changes.
    pub git_dirty: bool,
    /// When the run started (UTC, RFC 3339).
    pub started_utc: String,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn command(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
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
            rustc: command("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()),
            git_revision: command("git", &["rev-parse", "HEAD"])
                .unwrap_or_else(|| "unknown".into()),
            git_dirty: command("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()),
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

/// Tidy rows: one per (engine, setting, repetition, metric).
#[derive(Default)]
pub struct RawCsv {
    text: String,
}

impl RawCsv {
    /// A table with the header line.
    pub fn new() -> RawCsv {
        RawCsv {
            text: "engine,setting,rep,metric,value\n".into(),
        }
    }

    /// Adds one row.
    pub fn row(&mut self, engine: &str, setting: &str, rep: usize, metric: &str, value: f64) {
        let _ = writeln!(self.text, "{engine},{setting},{rep},{metric},{value}");
    }

    /// The CSV text.
    pub fn text(&self) -> &str {
        &self.text
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
    write("raw.csv", raw.text())?;
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
        assert!(std::fs::read_to_string(dir.join("raw.csv"))
            .unwrap()
            .contains("record,rate=max,0,throughput_eps,15000000"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
