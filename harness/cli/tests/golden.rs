//! Golden cases: `harness/cli/tests/golden/<case>/` holds `events.jsonl` (or the files of
//! the query's `[[input]]`s), `query.toml`,
//! `args` (extra `streamlab run` flags, may be empty), `expected.jsonl` (the exact final
//! rows) and optionally `expected.<label>.jsonl` / `expected.<engine>.jsonl` where an
//! engine legitimately differs (late data), and `expected_summary.json` (a subset of
//! summary fields that must match). Adding a case is adding a folder.
//!
//! Every case runs on every registered engine configuration, one test per configuration:
//! `golden_test!(test_name, EngineKind::X, "label", RunOptions { .. })`.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use streamlab_cli::args::{Cli, Command};
use streamlab_core::engine::RunOptions;
use streamlab_core::row::final_rows;
use streamlab_core::{Plan, ResultRow};
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
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

/// Overrides `base` with every option `over` sets.
fn merge(base: RunOptions, over: &RunOptions) -> RunOptions {
    RunOptions {
        workers: over.workers.or(base.workers),
        max_records_per_batch: over.max_records_per_batch.or(base.max_records_per_batch),
        trigger: over.trigger.or(base.trigger),
        watermark_interval: over.watermark_interval.or(base.watermark_interval),
        complete_interval: over.complete_interval.or(base.complete_interval),
        checkpoint: over.checkpoint.clone().or(base.checkpoint),
        cluster: over.cluster.clone().or(base.cluster),
    }
}

fn strip_emit(rows: Vec<ResultRow>) -> Vec<ResultRow> {
    rows.into_iter()
        .map(|r| ResultRow { emit: None, ..r })
        .collect()
}

/// Runs one case on one engine configuration; `label` picks `expected.<label>.jsonl`
/// when present. The command line is parsed exactly as `streamlab run` parses it.
pub fn check_case(dir: &Path, kind: EngineKind, label: &str, options: &RunOptions) -> Result<()> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let args_text = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let mut argv: Vec<String> = ["streamlab", "run", "--engine", &kind.name(), "--query"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push(dir.join("query.toml").display().to_string());
    // A query naming its inputs (`[[input]]`, files in the case folder) reads those.
    let named_inputs = !Plan::from_file(dir.join("query.toml"))?.inputs.is_empty();
    if !named_inputs {
        argv.push("--input".into());
        argv.push(dir.join("events.jsonl").display().to_string());
    }
    argv.extend(args_text.split_whitespace().map(String::from));
    let Command::Run(run) = Cli::try_parse_from(&argv)
        .with_context(|| format!("case {name}: bad args file"))?
        .command
    else {
        bail!("case {name}: not a run command");
    };
    let options = merge(run.options()?, options);
    let plan = streamlab_io::tables::load_plan(&run.io.query)?;
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
        kind,
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
pub fn check_all(kind: EngineKind, label: &str, options: &RunOptions) -> Result<usize> {
    let dirs = case_dirs()?;
    let failures: Vec<String> = dirs
        .iter()
        .filter_map(|d| check_case(d, kind, label, options).err())
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

golden_test!(oracle, EngineKind::Oracle, "oracle", RunOptions::default());
golden_test!(
    baseline,
    EngineKind::Baseline,
    "baseline",
    RunOptions::default()
);
golden_test!(
    microbatch_b1,
    EngineKind::Microbatch,
    "microbatch-b1",
    RunOptions {
        max_records_per_batch: Some(1),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b7,
    EngineKind::Microbatch,
    "microbatch-b7",
    RunOptions {
        max_records_per_batch: Some(7),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b100,
    EngineKind::Microbatch,
    "microbatch-b100",
    RunOptions {
        max_records_per_batch: Some(100),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b10000,
    EngineKind::Microbatch,
    "microbatch-b10000",
    RunOptions {
        max_records_per_batch: Some(10000),
        ..Default::default()
    }
);
golden_test!(
    microbatch_w2,
    EngineKind::Microbatch,
    "microbatch-w2",
    RunOptions {
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(
    microbatch_w2_b1,
    EngineKind::Microbatch,
    "microbatch-w2-b1",
    RunOptions {
        workers: Some(2),
        max_records_per_batch: Some(1),
        ..Default::default()
    }
);
golden_test!(
    record_i1,
    EngineKind::Record,
    "record-i1",
    RunOptions {
        watermark_interval: Some(1),
        ..Default::default()
    }
);
golden_test!(
    record_i1_w2,
    EngineKind::Record,
    "record-i1-w2",
    RunOptions {
        watermark_interval: Some(1),
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(record, EngineKind::Record, "record", RunOptions::default());
golden_test!(
    record_w2,
    EngineKind::Record,
    "record-w2",
    RunOptions {
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(
    record_i2_w3,
    EngineKind::Record,
    "record-i2-w3",
    RunOptions {
        watermark_interval: Some(2),
        workers: Some(3),
        ..Default::default()
    }
);

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
