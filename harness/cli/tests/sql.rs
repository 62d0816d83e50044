#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! SQL queries: every twin in `queries/sql/` gives exactly its TOML twin's rows and counts
//! on every engine configuration (and the oracle), over generated streams with disorder,
//! late and malformed lines; and the binary takes `--query FILE.sql`, `--sql TEXT`,
//! `--output-mode`, a table's own input, and `explain`, and points its errors into the SQL.

use crate::fixtures::Configuration;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use streamlab_core::query::sql::SqlOptions;
use streamlab_core::{OutputMode, Plan};
use streamlab_workloads::gen::{generate_to_vec, GenConfig, NexmarkKind, Workload};

fn queries() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../queries")
}

/// The twins the rows are compared on: name, the stream it reads, the output mode the
/// SQL twin is given (its TOML twin says it in its file). `likes_processing_time` is
/// left out: its answer depends on the wall clock (core's tests show its plan is its
/// twin's).
const TWINS: [(&str, Workload, Option<OutputMode>); 15] = [
    ("w1", Workload::Clicks, None),
    ("w1_update", Workload::Clicks, Some(OutputMode::Update)),
    (
        "clicks_views_sliding",
        Workload::Clicks,
        Some(OutputMode::Update),
    ),
    ("likes", Workload::Likes, Some(OutputMode::Complete)),
    ("logs_errors", Workload::Logs, None),
    ("logs_sessions", Workload::Logs, None),
    ("nexmark_q0_passthrough", Workload::Nexmark, None),
    ("nexmark_q1_currency", Workload::Nexmark, None),
    ("nexmark_q2_selection", Workload::Nexmark, None),
    ("nexmark_q5_hot_items", Workload::Nexmark, None),
    ("nexmark_q7_max_price", Workload::Nexmark, None),
    ("nexmark_q11_user_sessions", Workload::Nexmark, None),
    ("nexmark_q21_add_channel_id", Workload::Nexmark, None),
    ("nexmark_q22_get_url_directories", Workload::Nexmark, None),
    ("ysb_views_per_ad", Workload::Ysb, None),
];

/// A small stream of `workload` with disorder, late and malformed lines (made once).
fn stream(workload: Workload) -> &'static str {
    static STREAMS: OnceLock<Vec<(Workload, String)>> = OnceLock::new();
    let streams = STREAMS.get_or_init(|| {
        [
            Workload::Clicks,
            Workload::Likes,
            Workload::Logs,
            Workload::Nexmark,
            Workload::Ysb,
        ]
        .into_iter()
        .map(|w| {
            let mut cfg = GenConfig::new(w, 3_000, 11);
            cfg.rate = 200.0;
            cfg.keys = 20;
            cfg.disorder = 0.1;
            cfg.max_delay_ms = 3_000;
            cfg.late = 0.01;
            cfg.late_by_ms = 20_000;
            cfg.malformed = 0.01;
            if w == Workload::Nexmark {
                cfg.kinds = vec![NexmarkKind::Bid];
            }
            let text = String::from_utf8(generate_to_vec(&cfg).unwrap().0).unwrap();
            (w, text)
        })
        .collect()
    });
    &streams.iter().find(|(w, _)| *w == workload).unwrap().1
}

engine_test!(
    sql_twins_give_their_toml_twins_rows,
    |config: &Configuration| {
        for (name, workload, output_mode) in TWINS {
            let toml = Plan::from_file(queries().join(format!("{name}.toml"))).unwrap();
            let options = SqlOptions {
                output_mode,
                watermark: None,
            };
            let sql =
                Plan::from_sql_file(queries().join(format!("sql/{name}.sql")), &options).unwrap();
            let text = stream(workload);
            let (toml_summary, toml_rows) = config.run_text(&toml, text).unwrap();
            let (sql_summary, sql_rows) = config.run_text(&sql, text).unwrap();
            let sorted = |rows: Vec<streamlab_core::ResultRow>| {
                let mut v: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
                v.sort();
                v
            };
            assert!(
                !toml_rows.is_empty(),
                "{name} on {config}: no rows to compare"
            );
            assert_eq!(sorted(sql_rows), sorted(toml_rows), "{name} on {config}");
            let counts = |s: &streamlab_core::RunSummary| {
                (
                    s.events_in,
                    s.malformed,
                    s.filtered,
                    s.late_dropped,
                    s.rows_out,
                )
            };
            assert_eq!(
                counts(&sql_summary),
                counts(&toml_summary),
                "{name} on {config}"
            );
        }
    }
);

fn streamlab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_streamlab"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = streamlab(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A scratch folder of this test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamlab-sql-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_sql_regular_joins_give_nexmark_q3s_and_q20s_rows_from_their_own_tables() {
    for name in [
        "nexmark_q3_local_item_suggestion",
        "nexmark_q20_expand_bid_with_auction",
    ] {
        regular_join_twins(name);
    }
}

fn regular_join_twins(name: &str) {
    let toml = queries().join(format!("{name}.toml")).display().to_string();
    let sql = queries()
        .join(format!("sql/{name}.sql"))
        .display()
        .to_string();
    for engine in ["oracle", "baseline", "record", "microbatch"] {
        let sorted = |text: String| {
            let mut v: Vec<String> = text.lines().map(String::from).collect();
            v.sort();
            v
        };
        let rows = sorted(ok(&["run", "--engine", engine, "--query", &toml]));
        assert!(!rows.is_empty());
        assert_eq!(
            sorted(ok(&["run", "--engine", engine, "--query", &sql])),
            rows,
            "{name} on {engine}"
        );
    }
}

#[test]
fn the_binary_runs_a_sql_file_sql_text_and_an_output_mode_as_their_toml_twins() {
    let dir = scratch("binary");
    let input = dir.join("clicks.jsonl");
    std::fs::write(&input, stream(Workload::Clicks)).unwrap();
    let input = input.to_str().unwrap();
    let path = |p: &str| queries().join(p).display().to_string();
    for engine in ["record", "microbatch"] {
        let toml = ok(&[
            "run",
            "--engine",
            engine,
            "--query",
            &path("w1.toml"),
            "--input",
            input,
        ]);
        let sql = ok(&[
            "run",
            "--engine",
            engine,
            "--query",
            &path("sql/w1.sql"),
            "--input",
            input,
        ]);
        assert_eq!(sql, toml, "{engine}");
        let text = std::fs::read_to_string(path("sql/w1.sql")).unwrap();
        assert_eq!(
            ok(&["run", "--engine", engine, "--sql", &text, "--input", input]),
            toml,
            "--sql on {engine}"
        );
        let update = ok(&[
            "run",
            "--engine",
            engine,
            "--query",
            &path("w1_update.toml"),
            "--input",
            input,
        ]);
        let sql_update = ok(&[
            "run",
            "--engine",
            engine,
            "--query",
            &path("sql/w1_update.sql"),
            "--output-mode",
            "update",
            "--input",
            input,
        ]);
        assert_eq!(sql_update, update, "--output-mode update on {engine}");
        assert_ne!(update, toml);
    }
    let oracle = ok(&[
        "oracle",
        "--query",
        &path("sql/w1_spark.sql"),
        "--input",
        input,
    ]);
    assert_eq!(
        oracle,
        ok(&["oracle", "--query", &path("w1.toml"), "--input", input]),
        "Spark's spelling"
    );
}

#[test]
fn a_tables_path_is_the_input_relative_to_the_script_and_input_replaces_it() {
    let dir = scratch("path");
    std::fs::write(dir.join("likes.jsonl"), stream(Workload::Likes)).unwrap();
    let script = dir.join("likes.sql");
    std::fs::write(
        &script,
        "CREATE TABLE likes (ts BIGINT, video STRING, et AS TO_TIMESTAMP_LTZ(ts, 3),
           WATERMARK FOR et AS et - INTERVAL '5' SECOND)
         WITH ('connector' = 'filesystem', 'path' = 'likes.jsonl', 'format' = 'json');
         SELECT window_start, window_end, video, COUNT(*) AS likes
         FROM TABLE(TUMBLE(TABLE likes, DESCRIPTOR(et), INTERVAL '10' SECOND))
         GROUP BY window_start, window_end, video;",
    )
    .unwrap();
    let script = script.to_str().unwrap();
    let own = ok(&["run", "--engine", "baseline", "--query", script]);
    let given = ok(&[
        "run",
        "--engine",
        "baseline",
        "--query",
        script,
        "--input",
        dir.join("likes.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(own, given);
    assert!(own.lines().count() > 10, "{own}");
    let other = dir.join("other.jsonl");
    std::fs::write(
        &other,
        stream(Workload::Likes)
            .lines()
            .take(100)
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    assert_ne!(
        ok(&[
            "run",
            "--engine",
            "baseline",
            "--query",
            script,
            "--input",
            other.to_str().unwrap()
        ]),
        own,
        "--input replaces the table's path"
    );
}

#[test]
fn explain_prints_the_same_plan_for_twins() {
    let path = |p: &str| queries().join(p).display().to_string();
    for name in [
        "w1",
        "logs_sessions",
        "nexmark_q2_selection",
        "clicks_views_sliding",
    ] {
        let toml = ok(&["explain", "--query", &path(&format!("{name}.toml"))]);
        let mode = if name == "clicks_views_sliding" {
            "update"
        } else {
            "append"
        };
        let sql = ok(&[
            "explain",
            "--query",
            &path(&format!("sql/{name}.sql")),
            "--output-mode",
            mode,
        ]);
        if name == "nexmark_q2_selection" {
            // The condition's text differs in its parentheses only.
            assert_eq!(
                sql.replace("((auction % 123) = 0)", "auction % 123 = 0"),
                toml,
                "{name}"
            );
        } else {
            assert_eq!(sql, toml, "{name}");
        }
    }
    let w1 = ok(&["explain", "--query", &path("sql/w1.sql")]);
    for expected in [
        "tumbling 10s, by event time `ts`",
        "keys          key",
        "max event time - 5000 ms",
        "n = count, total = sum(value)",
        "output mode   append",
        "columns       window_start, window_end, key, n, total",
    ] {
        assert!(w1.contains(expected), "{expected} in\n{w1}");
    }
}

#[test]
fn sql_errors_point_into_the_text_and_the_sql_options_are_refused_for_toml() {
    let bad = "CREATE TABLE clicks (ts BIGINT, `value` BIGINT, WATERMARK FOR ts AS ts);\nSELECT window_start, window_end, SUM(vlaue) AS total\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end;";
    let out = streamlab(&["explain", "--sql", bad]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "line 2, column 38: column `vlaue` not found in table `clicks`; did you mean `value`?"
        ),
        "{err}"
    );
    assert!(err.contains("  SELECT window_start, window_end, SUM(vlaue) AS total\n                                       ^"), "{err}");
    let toml = queries().join("w1.toml").display().to_string();
    let out = streamlab(&["explain", "--query", &toml, "--output-mode", "update"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--output-mode is for SQL queries"));
    let q0 = queries()
        .join("sql/nexmark_q0_passthrough.sql")
        .display()
        .to_string();
    let out = streamlab(&["explain", "--query", &q0, "--output-mode", "complete"]);
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Complete output mode not supported when there are no streaming aggregations"));
}

#[test]
fn bench_takes_a_sql_query_as_its_compiled_toml() {
    let sql = queries().join("sql/w1.sql").display().to_string();
    let (cli, _) =
        streamlab_cli::args::Cli::try_parse_with_matches(["streamlab", "bench", "--query", &sql])
            .unwrap();
    let streamlab_cli::args::Command::Bench(args) = cli.command else {
        panic!("not bench");
    };
    let cfg = streamlab_cli::bench::bench_config(&args).unwrap();
    let w1 = Plan::from_file(queries().join("w1.toml")).unwrap();
    assert_eq!(Plan::from_toml(&cfg.query).unwrap().query, w1.query);
}
