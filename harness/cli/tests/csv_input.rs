//! CSV input through the binary: `streamlab gen --format csv` writes the events `gen`
//! writes as JSON Lines, and `streamlab run` over the CSV file (a `.csv` name, or a query
//! declaring `format = "csv"` and its `columns`) gives every engine exactly the JSON run's
//! output, with malformed lines reported as `file:line` counting the header.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const STREAMLAB: &str = env!("CARGO_BIN_EXE_streamlab");

fn streamlab(args: &[&str]) -> Output {
    let out = Command::new(STREAMLAB)
        .args(args)
        .output()
        .expect("streamlab runs");
    assert!(
        out.status.success(),
        "streamlab {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamlab-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    dir
}

fn path(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// W1's clicks with disorder, late events and malformed lines, as `format`.
fn gen(format: &str, out: &Path) {
    streamlab(&[
        "gen",
        "-w",
        "clicks",
        "-n",
        "20000",
        "--keys",
        "50",
        "--disorder",
        "0.2",
        "--max-delay",
        "3s",
        "--late",
        "0.02",
        "--late-by",
        "20s",
        "--malformed",
        "0.01",
        "--format",
        format,
        "-o",
        path(out),
    ]);
}

/// The output file and stderr of `engine` over `input` with `query`.
fn run(engine: &str, query: &Path, input: &Path, extra: &[&str]) -> (String, String) {
    let output = input.with_extension(format!("{engine}.out"));
    let out = streamlab(
        &[
            &[
                "run",
                "--engine",
                engine,
                "--query",
                path(query),
                "--input",
                path(input),
                "--output",
                path(&output),
            ],
            extra,
        ]
        .concat(),
    );
    (
        std::fs::read_to_string(&output).expect("the output"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The lines of a report that name skipped lines.
fn skipped(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("skipped malformed line"))
        .collect()
}

/// The closing count of malformed lines.
fn in_all(stderr: &str) -> &str {
    let line = stderr
        .lines()
        .find(|l| l.contains("malformed lines skipped in all"))
        .expect("more malformed lines than shown");
    line.rsplit(": ").next().expect("the count")
}

#[test]
fn w1_as_csv_gives_the_json_runs_output_on_every_engine() {
    let dir = dir();
    let (json, csv) = (dir.join("w1.jsonl"), dir.join("w1.csv"));
    gen("json", &json);
    gen("csv", &csv);
    let text = std::fs::read_to_string(&csv).expect("the CSV file");
    assert!(text.starts_with("ts,key,value,kind,user\n"), "{text:.80}");
    assert_eq!(
        text.lines().count(),
        std::fs::read_to_string(&json)
            .expect("JSON")
            .lines()
            .count()
            + 1
    );
    // The same rows without the header, for a query that declares its columns.
    let bare = dir.join("w1-bare.txt");
    std::fs::write(&bare, text.split_once('\n').expect("a header").1).expect("written");
    let w1 = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../queries/w1.toml"
    ));
    let declared = dir.join("w1-columns.toml");
    std::fs::write(
        &declared,
        format!(
            "format = \"csv\"\ncolumns = [\"ts\", \"key\", \"value\", \"kind\", \"user\"]\n{}",
            std::fs::read_to_string(w1).expect("w1.toml")
        ),
    )
    .expect("written");
    for engine in ["baseline", "record", "microbatch"] {
        let (want, json_err) = run(engine, w1, &json, &[]);
        assert!(want.lines().count() > 100, "{engine}: {want:.200}");
        let json_skipped = skipped(&json_err);
        assert_eq!(
            json_skipped.len(),
            5,
            "{engine}: the first five shown: {json_err}"
        );
        for (threads, chunk) in [("1", "1MiB"), ("2", "1KiB"), ("4", "64KiB")] {
            let flags = ["--decode-threads", threads, "--chunk-bytes", chunk];
            let (got, err) = run(engine, w1, &csv, &flags);
            assert!(
                got == want,
                "{engine}, {threads} threads: the CSV output differs"
            );
            // The same lines are skipped, each one line further down (the header).
            let csv_skipped = skipped(&err);
            assert_eq!(csv_skipped.len(), json_skipped.len(), "{engine}: {err}");
            assert_eq!(in_all(&err), in_all(&json_err), "{engine}: {err}");
            for (c, j) in csv_skipped.iter().zip(&json_skipped) {
                let line = |s: &str, file: &str| -> u64 {
                    let at = s.find(file).expect("the file") + file.len() + 1;
                    s[at..]
                        .split(':')
                        .next()
                        .expect("a line")
                        .parse()
                        .expect("a number")
                };
                assert_eq!(line(c, "w1.csv"), line(j, "w1.jsonl") + 1, "{c} / {j}");
            }
            let (got, _) = run(engine, &declared, &bare, &flags);
            assert!(
                got == want,
                "{engine}: declared columns: the output differs"
            );
        }
    }
}

#[test]
fn a_bad_csv_declaration_or_header_is_a_clear_error() {
    let dir = dir();
    let query = dir.join("bad.toml");
    let w1 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../queries/w1.toml"
    ))
    .expect("w1.toml");
    std::fs::write(&query, format!("columns = [\"ts\"]\n{w1}")).expect("written");
    let input = dir.join("in.csv");
    std::fs::write(&input, "ts,key,ts\n1,a,2\n").expect("written");
    let w1 = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../queries/w1.toml"
    ));
    for (query, says) in [
        (query.as_path(), "format = \"csv\""),
        (
            w1,
            "in.csv:1: bad CSV header: CSV column `ts` is named twice",
        ),
    ] {
        let out = Command::new(STREAMLAB)
            .args(["run", "--engine", "baseline", "--query", path(query)])
            .args(["--input", path(&input), "--output", "/dev/null"])
            .output()
            .expect("streamlab runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains(says), "{err}");
    }
}

/// Sorted output rows (update mode: the order of rows of one epoch may differ).
fn sorted(path: &Path) -> Vec<String> {
    let mut rows: Vec<String> = std::fs::read_to_string(path)
        .expect("the output")
        .lines()
        .map(String::from)
        .collect();
    rows.sort();
    rows
}

#[test]
fn a_csv_run_killed_mid_file_resumes_past_its_header() {
    let dir = dir().join("resume");
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let csv = dir.join("w1.csv");
    streamlab(&[
        "gen",
        "-w",
        "clicks",
        "-n",
        "200000",
        "--keys",
        "1000",
        "--rate",
        "5000",
        "--disorder",
        "0.1",
        "--max-delay",
        "3s",
        "--malformed",
        "0.001",
        "--format",
        "csv",
        "-o",
        path(&csv),
    ]);
    let query = dir.join("w1_update.toml");
    let w1 = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../queries/w1.toml"
    ))
    .expect("w1.toml");
    std::fs::write(&query, w1.replace("\"append\"", "\"update\"")).expect("written");
    for (engine, extra) in [
        ("baseline", None),
        ("record", None),
        ("microbatch", Some(["--max-records-per-batch", "1000"])),
    ] {
        let clean = dir.join(format!("{engine}.clean"));
        streamlab(
            &[
                "run",
                "--engine",
                engine,
                "--query",
                path(&query),
                "--input",
                path(&csv),
                "--output",
                path(&clean),
            ]
            .into_iter()
            .chain(extra.into_iter().flatten())
            .collect::<Vec<_>>(),
        );
        let (out, ck) = (
            dir.join(format!("{engine}.out")),
            dir.join(format!("{engine}.ck")),
        );
        let args: Vec<String> = [
            "run",
            "--engine",
            engine,
            "--query",
            path(&query),
            "--input",
            path(&csv),
            "--output",
            path(&out),
            "--checkpoint",
            path(&ck),
            "--checkpoint-every",
            "2000",
        ]
        .into_iter()
        .chain(extra.into_iter().flatten())
        .map(String::from)
        .collect();
        assert!(
            crate::fixtures::run_and_kill(&args, &ck, 5, std::time::Duration::ZERO),
            "{engine}: the run finished before the kill"
        );
        let resumed = streamlab(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let err = String::from_utf8_lossy(&resumed.stderr);
        assert!(err.contains("resuming"), "{engine}: not resumed: {err}");
        let (got, want) = (sorted(&out), sorted(&clean));
        assert_eq!(got.len(), want.len(), "{engine}: rows lost or duplicated");
        assert!(got == want, "{engine}: rows differ after the restart");
    }
}

/// `streamlab bench --path file,csv` measures every engine end to end from the same
/// events as JSON Lines and as CSV: both paths in the table and the summary, with the
/// same rows as the engine-only path.
#[test]
fn bench_measures_the_csv_path_beside_the_json_one() {
    let out = dir().join("bench-csv");
    let _ = std::fs::remove_dir_all(&out);
    let run = streamlab(&[
        "bench",
        "--events",
        "20000",
        "--reps",
        "1",
        "--engines",
        "baseline,record",
        "--path",
        "decoded,file,csv",
        "--out",
        path(&out),
    ]);
    let table = String::from_utf8_lossy(&run.stdout);
    assert!(table.contains("end to end (CSV)"), "{table}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    for engine in ["baseline", "record"] {
        let e = &summary["engines"][engine];
        let rows = e["rows_out"].as_u64().expect("rows_out");
        assert!(rows > 0, "{engine}: {e}");
        for path in ["end_to_end", "end_to_end_csv"] {
            assert_eq!(
                e[path]["rows_out"].as_u64(),
                Some(rows),
                "{engine} {path}: {e}"
            );
            assert!(
                e[path]["throughput"]["median"].as_f64().unwrap_or(0.0) > 0.0,
                "{engine} {path}: {e}"
            );
        }
    }
    // raw.csv is tidy: the path is a column of its own.
    let raw = std::fs::read_to_string(out.join("raw.csv")).expect("raw.csv");
    let header: Vec<&str> = raw.lines().next().unwrap_or("").split(',').collect();
    let at = header
        .iter()
        .position(|h| *h == "path")
        .expect("a path column");
    let paths: Vec<&str> = raw
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap_or(""))
        .collect();
    assert!(
        paths.contains(&"csv") && paths.contains(&"file") && paths.contains(&""),
        "{raw}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
