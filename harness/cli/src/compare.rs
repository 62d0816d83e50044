//! `streamlab compare`: a result file against a reference, as final answers.

use crate::args::CompareArgs;
use anyhow::Result;
use streamlab_engines::runner::read_rows;
use streamlab_measure::accuracy::compare;

/// Runs `streamlab compare`: exit code 0 when the answers agree, 1 when they differ.
pub fn compare_command(args: &CompareArgs) -> Result<i32> {
    let plan = args.query.load()?;
    let actual = read_rows(&args.actual, &plan)?;
    let expected = read_rows(&args.expected, &plan)?;
    let report = compare(&actual, &expected, &plan);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} against {}:\n{report}",
            args.actual.display(),
            args.expected.display()
        );
    }
    Ok(if report.is_exact() { 0 } else { 1 })
}
