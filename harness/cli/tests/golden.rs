//! Golden cases: `harness/cli/tests/golden/<case>/` holds `events.jsonl` (or the files of
//! the query's `[[input]]`s), `query.toml`,
//! `args` (extra `streamlab run` flags, may be empty), `expected.jsonl` (the exact final
//! rows) and optionally `expected.<label>.jsonl` / `expected.<engine>.jsonl` where an
//! engine legitimately differs (late data), and `expected_summary.json` (a subset of
//! summary fields that must match). Adding a case is adding a folder.
//!
//! Every case runs on every engine configuration of the suites' one list
//! (`with_configurations!`), one test per configuration (`engine_test!`); a configuration's
//! flags override a case's `args`.

use crate::fixtures::{parse_run, Configuration};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use streamlab_core::semantics::row::final_rows;
use streamlab_core::{Plan, ResultRow};
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_io::decode::{decode_all, decode_inputs};
use streamlab_io::sink::SharedBuffer;

/// The folder holding the cases.
pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// Every case folder, sorted by name.
pub fn case_dirs() -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(cases_dir())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("query.toml").exists())
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn strip_emit(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    rows.into_iter()
        .map(|r| ResultRow { emit: None, ..r })
        .collect()
}

/// Runs one case on one engine configuration; its label picks `expected.<label>.jsonl`
/// when present. The command line (the case's `args`, then the configuration's flags) is
/// parsed as `streamlab run` parses it.
pub fn check_case(dir: &Path, config: &Configuration) -> Result<()> {
    let (kind, label) = (config.kind, config.label.as_str());
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let args_text = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let mut argv: Vec<String> = vec![
        "--query".into(),
        dir.join("query.toml").display().to_string(),
    ];
    // A query naming its inputs (`[[input]]`, files in the case folder) reads those.
    let named_inputs = !Plan::from_file(dir.join("query.toml"))?.inputs.is_empty();
    if !named_inputs {
        argv.push("--input".into());
        argv.push(dir.join("events.jsonl").display().to_string());
    }
    argv.extend(args_text.split_whitespace().map(String::from));
    argv.extend(config.flags.split_whitespace().map(String::from));
    let (run, options) = parse_run(argv.iter().map(String::as_str))
        .with_context(|| format!("case {name}: bad args file"))?;
    let plan = run.io.query.load()?;
    let input = if named_inputs {
        decode_inputs(&plan, dir, run.io.strict, &mut std::io::sink())?
    } else {
        let events = std::fs::read(dir.join("events.jsonl"))?;
        decode_all(
            events.as_slice(),
            &name,
            &plan,
            run.io.strict,
            &mut std::io::sink(),
        )?
    };
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        run.engine().as_ref(),
        &plan,
        &options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )?;
    let output = String::from_utf8(buffer.contents())?;
    let actual = strip_emit(final_rows(
        &parse_rows(&output, &plan, "output")?,
        plan.mode,
    ));

    let expected_file = [
        format!("expected.{label}.jsonl"),
        format!("expected.{}.jsonl", kind.name()),
    ]
    .into_iter()
    .map(|f| dir.join(f))
    .find(|p| p.exists())
    .unwrap_or_else(|| dir.join("expected.jsonl"));
    let text = std::fs::read_to_string(&expected_file)
        .with_context(|| format!("case {name}: reading {}", expected_file.display()))?;
    let expected = strip_emit(final_rows(
        &parse_rows(&text, &plan, &expected_file.display().to_string())?,
        plan.mode,
    ));
    if actual != expected {
        let show = |rows: &[ResultRow]| {
            rows.iter()
                .map(|r| format!("  {:?} {:?} {:?}", r.window, r.group, r.values))
                .collect::<Vec<_>>()
                .join("\n")
        };
        bail!(
            "case {name} ({label}): final rows differ from {}\nexpected:\n{}\nactual:\n{}",
            expected_file.display(),
            show(&expected),
            show(&actual)
        );
    }
    let summary_files = [
        format!("expected_summary.{label}.json"),
        format!("expected_summary.{}.json", kind.name()),
        "expected_summary.json".to_string(),
    ];
    if let Some(path) = summary_files
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
    {
        let want: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&std::fs::read_to_string(&path)?)
                .with_context(|| format!("case {name}: {} is not a JSON object", path.display()))?;
        let got = serde_json::to_value(&summary)?;
        for (k, v) in want {
            if got.get(&k) != Some(&v) {
                bail!(
                    "case {name} ({label}): summary field `{k}` is {:?}, {} says {v}",
                    got.get(&k),
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Runs every case on one engine configuration; the error lists every failing case.
pub fn check_all(config: &Configuration) -> Result<usize> {
    let dirs = case_dirs()?;
    let label = &config.label;
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| check_case(d, config).err())
        .map(|e| format!("{e:#}"))
        .collect();
    if !failures.is_empty() {
        bail!(
            "{} of {} golden cases failed on {label}:\n\n{}",
            failures.len(),
            dirs.len(),
            failures.join("\n\n")
        );
    }
    Ok(dirs.len())
}

engine_test!(every_case, |config| {
    let n = check_all(config).unwrap_or_else(|e| panic!("{e:#}"));
    assert!(n >= 15, "only {n} golden cases found");
});

#[test]
fn every_example_query_compiles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|x| x == "toml") {
            streamlab_core::Plan::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 7, "only {n} example queries");
}
