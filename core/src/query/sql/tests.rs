//! Every SQL twin in `queries/sql/` compiles to its TOML twin's query (so both run the
//! same plan on every engine), and bad SQL gets the message, line and column it should.

use super::*;
use crate::ops::expr::{Condition, Expr};
use crate::query::{Plan, QueryError};
use crate::semantics::row::OutputMode;
use std::path::PathBuf;

fn queries() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../queries")
}

/// The query of a plan with its expressions parsed (so that `(a % 123) = 0` and
/// `a % 123 = 0` compare equal).
fn normalized(mut q: Query) -> (Query, Vec<Option<Expr>>, Option<Condition>) {
    let exprs = q
        .select
        .iter_mut()
        .map(|s| s.expr.take().map(|e| Expr::parse(&e).expect("parses")))
        .collect();
    let condition = q
        .condition
        .take()
        .map(|c| Condition::parse(&c).expect("parses"));
    (q, exprs, condition)
}

#[test]
fn every_sql_twin_compiles_to_its_toml_twins_query() {
    let twins = [
        ("w1", None),
        ("w1_update", Some(OutputMode::Update)),
        ("clicks_views_sliding", Some(OutputMode::Update)),
        ("likes", Some(OutputMode::Complete)),
        ("likes_processing_time", None),
        ("logs_errors", None),
        ("logs_sessions", None),
        ("nexmark_q0_passthrough", None),
        ("nexmark_q2_selection", None),
        ("nexmark_q5_hot_items", None),
        ("nexmark_q7_max_price", None),
        ("ysb_views_per_ad", None),
        ("nexmark_q3_local_item_suggestion", None),
        ("likes_web_mobile", None),
        ("nexmark_q11_user_sessions", None),
        ("nexmark_q20_expand_bid_with_auction", None),
    ];
    for (name, output_mode) in twins {
        let options = SqlOptions {
            output_mode,
            watermark: None,
        };
        let sql = Plan::from_sql_file(queries().join(format!("sql/{name}.sql")), &options)
            .unwrap_or_else(|e| panic!("{name}.sql: {e}"));
        let toml = Plan::from_file(queries().join(format!("{name}.toml")))
            .expect("the TOML twin compiles");
        let mut sql_query = sql.query.clone();
        for (s, t) in sql_query.inputs.iter_mut().zip(&toml.query.inputs) {
            // The SQL twins sit in queries/sql/, one folder below their data's.
            assert_eq!(s.path, format!("../{}", t.path), "{name}");
            s.path.clone_from(&t.path);
        }
        if sql_query.format == Some(crate::query::InputFormat::Json) && toml.query.format.is_none()
        {
            // Flink's filesystem tables say their format; JSON is the TOML's default.
            sql_query.format = None;
        }
        assert_eq!(
            normalized(sql_query),
            normalized(toml.query.clone()),
            "{name}"
        );
        assert_eq!(sql.slots, toml.slots, "{name}");
        assert_eq!(sql.default_input, None, "{name} reads --input");
    }
}

/// SQL expressions go through the compiler of TOML's `expr` and `where`: the plan holds
/// the trees their TOML spelling gives, and their errors point into the SQL.
#[test]
fn sql_expressions_compile_as_the_toml_expression_language() {
    let options = SqlOptions {
        output_mode: None,
        watermark: None,
    };
    let sql = "CREATE TABLE bid (auction BIGINT, price BIGINT, ts BIGINT);\n\
        SELECT auction, CASE WHEN price < 10000 THEN 1 WHEN price < 1000000 THEN 2 ELSE 3 END AS band,\n\
        HOUR(ts) AS h, CAST(price AS DOUBLE) / 100 AS dollars\n\
        FROM bid WHERE HOUR(ts) BETWEEN 8 AND 18 AND price IS NOT NULL AND MOD(auction, 2) = 0 AND price > 5;";
    let plan = Plan::from_sql(sql, &options).unwrap_or_else(|e| panic!("{e}"));
    let (q, exprs, condition) = normalized(plan.query.clone());
    let expected = [
        None,
        Some("CASE WHEN price < 10000 THEN 1 WHEN price < 1000000 THEN 2 ELSE 3 END"),
        Some("HOUR(ts)"),
        Some("CAST(price AS DOUBLE) / 100"),
    ];
    assert_eq!(
        exprs,
        expected
            .iter()
            .map(|e| e.map(|t| Expr::parse(t).unwrap()))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        condition,
        Some(
            Condition::parse(
                "(HOUR(ts) BETWEEN 8 AND 18 AND price IS NOT NULL) AND auction % 2 = 0"
            )
            .unwrap()
        )
    );
    assert_eq!(
        q.filters.len(),
        1,
        "`price > 5` stays a filter: {:?}",
        q.filters
    );
    let err = |text: &str| {
        Plan::from_sql(
            &format!("CREATE TABLE bid (auction BIGINT, price BIGINT, url STRING);\nSELECT auction, {text} AS x FROM bid;"),
            &options,
        )
        .unwrap_err()
        .to_string()
    };
    let e = err("HOUR(price, 1)");
    assert!(
        e.contains("line 2, column 17: HOUR takes 1 argument, not 2"),
        "{e}"
    );
    let e = err("UPPER(url) || REPLACE(url, 'a', 'b')");
    assert!(
        e.contains("line 2, column 31: `REPLACE(url, 'a', 'b')` is not supported on strings"),
        "{e}"
    );
    let e = err("price + url");
    assert!(
        e.contains("line 2, column 25: `url` is not a number"),
        "{e}"
    );
    let e = err("price + vlaue");
    assert!(
        e.contains("line 2, column 25:") && e.contains("vlaue"),
        "{e}"
    );
}

#[test]
fn nexmark_q1_keeps_its_sql_operand_order() {
    let sql = Plan::from_file(queries().join("sql/nexmark_q1_currency.sql")).expect("compiles");
    let toml = Plan::from_file(queries().join("nexmark_q1_currency.toml")).expect("compiles");
    let (mut s, mut t) = (sql.query.clone(), toml.query.clone());
    let expr = s.select[2].expr.take().expect("a computed price");
    assert_eq!(Expr::parse(&expr), Expr::parse("0.908 * price"));
    t.select[2].expr = None;
    assert_eq!(s, t);
}

#[test]
fn sparks_spelling_gives_w1s_query() {
    let spark = Plan::from_file(queries().join("sql/w1_spark.sql")).expect("compiles");
    let toml = Plan::from_file(queries().join("w1.toml")).expect("compiles");
    // The window's time field is the same; only the TOML says `time = "event"` explicitly.
    assert_eq!(spark.query, toml.query);
    let cli = Plan::from_sql(
        &std::fs::read_to_string(queries().join("sql/w1_spark.sql"))
            .expect("readable")
            .replace(" WITH ('watermark.delay' = '5 seconds')", ""),
        &SqlOptions {
            output_mode: None,
            watermark: Some(DurationMs(5_000)),
        },
    )
    .expect("compiles");
    assert_eq!(
        cli.query, toml.query,
        "--watermark 5s in place of the option"
    );
}

#[test]
fn a_filesystem_table_names_the_default_input_and_its_format() {
    let plan = Plan::from_sql(
        "CREATE TABLE t (ts BIGINT, video STRING, et AS TO_TIMESTAMP_LTZ(ts, 3), WATERMARK FOR et AS et)
         WITH ('connector' = 'filesystem', 'path' = 'data/likes-web.jsonl', 'format' = 'json',
               'json.ignore-parse-errors' = 'true');
         SELECT window_start, window_end, video, COUNT(*) AS likes
         FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(et), INTERVAL '10' SECOND))
         GROUP BY window_start, window_end, video;",
        &SqlOptions::default(),
    )
    .expect("compiles");
    assert_eq!(plan.default_input.as_deref(), Some("data/likes-web.jsonl"));
    assert_eq!(plan.query.format, Some(crate::query::InputFormat::Json));
    let kafka = Plan::from_sql(
        "CREATE TABLE t (ts BIGINT, video STRING, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND)
         WITH ('connector' = 'kafka', 'topic' = 'likes', 'properties.bootstrap.servers' = 'h:9092',
               'properties.group.id' = 'g', 'scan.startup.mode' = 'earliest-offset', 'format' = 'json');
         INSERT INTO out SELECT window_start, window_end, video, COUNT(*) AS likes
         FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '10' SECOND))
         GROUP BY window_start, window_end, video;",
        &SqlOptions::default(),
    )
    .expect("compiles");
    assert_eq!(
        kafka.default_input.as_deref(),
        Some("kafka://h:9092/likes?group=g&start=earliest")
    );
    assert_eq!(kafka.delay_ms, 1_000);
}

const CLICKS: &str = "CREATE TABLE clicks (\n  ts BIGINT,\n  `key` STRING,\n  `value` BIGINT,\n  et AS TO_TIMESTAMP_LTZ(ts, 3),\n  WATERMARK FOR et AS et - INTERVAL '5' SECOND\n);\n";

/// The error of `CLICKS` followed by `select`, as `line, column: message`.
fn error_of(select: &str, options: &SqlOptions) -> String {
    match Plan::from_sql(&format!("{CLICKS}{select}"), options) {
        Err(QueryError::Sql { error, .. }) => error.located(),
        Err(other) => panic!("not a located SQL error: {other}"),
        Ok(_) => panic!("compiled: {select}"),
    }
}

#[test]
fn bad_sql_gets_its_message_line_and_column() {
    let none = SqlOptions::default();
    let table = [
        (
            "SELECT window_start, window_end, `key`, COUNT(*) AS n\nFROM TABLE(HOP(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND, INTERVAL '5' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 9, column 55: HOP takes the slide before the size: a slide of 10s is longer than the size 5s",
        ),
        (
            "SELECT window_start, window_end, `key`, SUM(vlaue) AS total\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 8, column 45: column `vlaue` not found in table `clicks`; did you mean `value`?",
        ),
        (
            "SELECT window_start, window_end, `key`, COUNT(*) AS n\nFROM TABLE(TUMBLE(TABLE clickz, DESCRIPTOR(et), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 9, column 25: table `clickz` is not declared; did you mean `clicks`?",
        ),
        (
            "SELECT window_start, window_end, `key`, COUNT(*)\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 8, column 41: name the aggregate: COUNT(*) AS some_name",
        ),
        (
            "SELECT window_start, window_end, COUNT(*) AS n\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 10, column 36: the lab's rows carry every key: select `key`",
        ),
        (
            "SELECT window_start, window_end, `key`, COUNT(*) AS n\nFROM TABLE(CUMULATE(TABLE clicks, DESCRIPTOR(et), INTERVAL '2' SECOND, INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;",
            "line 9, column 12: CUMULATE windows are not in the lab's window model (tumbling, sliding, session)",
        ),
        (
            "SELECT `key`, COUNT(*) AS n FROM clicks GROUP BY `key`;",
            "line 8, column 50: GROUP BY without a window is an unbounded aggregate: group by a window (TUMBLE, HOP, SESSION, or Spark's window())",
        ),
        (
            "SELECT `key` FROM clicks WHERE `value` = 'x';",
            "line 8, column 32: ``value` = 'x'` compares column `value`, which holds integers, with another type",
        ),
        (
            "SELECT `key` FROM clicks WHERE;",
            "line 8, column 31: Expected: an expression, found: ;",
        ),
        (
            "SELECT window_start, window_end, `key`, COUNT(*) AS n\nFROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(et), INTERVAL '10' SECOND))\nGROUP BY window_start, window_end, `key`;\nSELECT 1;",
            "line 11, column 1: a script has one query, after its CREATE TABLE statements",
        ),
    ];
    let wrong: Vec<String> = table
        .iter()
        .map(|(select, expected)| (error_of(select, &none), expected))
        .filter(|(got, expected)| got != *expected)
        .map(|(got, expected)| format!("got      {got}\nexpected {expected}"))
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let complete = SqlOptions {
        output_mode: Some(OutputMode::Complete),
        watermark: None,
    };
    assert!(error_of("SELECT `key` FROM clicks;", &complete)
        .contains("Complete output mode not supported when there are no streaming aggregations"));
    let watermark = SqlOptions {
        output_mode: None,
        watermark: Some(DurationMs(1)),
    };
    assert_eq!(
        error_of("SELECT `key` FROM clicks;", &watermark),
        "line 1, column 14: `clicks` declares its watermark: leave out --watermark"
    );
}

#[test]
fn bad_ddl_gets_its_message_line_and_column() {
    let cases = [
        (
            "CREATE TABLE t (ts BIGINT, x MAP<STRING, INT>);",
            "line 1, column 30: type `MAP` is not supported: use BIGINT, INT, DOUBLE, STRING, VARCHAR, BOOLEAN, TIMESTAMP(3) or TIMESTAMP_LTZ(3)",
        ),
        (
            "CREATE TABLE t (ts BIGINT) WITH ('connector' = 'datagen');",
            "line 1, column 34: 'connector' = 'datagen' is not supported: filesystem or kafka (or no WITH: the input comes from --input)",
        ),
        (
            "CREATE TABLE t (ts BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x', 'sink.rolling-policy.file-size' = '1MB');",
            "line 1, column 76: option 'sink.rolling-policy.file-size' is not supported by the 'filesystem' connector",
        ),
        (
            "CREATE TABLE t (ts BIGINT, WATERMARK FOR ts AS ts + INTERVAL '1' SECOND);",
            "line 1, column 48: the watermark must be `ts` or `ts - INTERVAL 'n' UNIT` (a bounded delay)",
        ),
        (
            "CREATE TABLE t (ts BIGINT, et AS UPPER(ts));",
            "line 1, column 34: computed column `UPPER(ts)` is not supported: the lab computes TO_TIMESTAMP_LTZ(column, 3) and PROCTIME() (compute values in the SELECT)",
        ),
    ];
    let mut wrong = Vec::new();
    for (ddl, expected) in cases {
        let script = format!("{ddl}\nSELECT ts FROM t;");
        match Plan::from_sql(&script, &SqlOptions::default()) {
            Err(QueryError::Sql { error, .. }) if error.located() == expected => {}
            Err(QueryError::Sql { error, .. }) => {
                wrong.push(format!("got      {}\nexpected {expected}", error.located()))
            }
            other => panic!("{ddl}: {other:?}"),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn between_in_and_or_become_the_filters_toml_writes() {
    let sql = Plan::from_sql(
        &format!("{CLICKS}SELECT `key` FROM clicks WHERE `value` BETWEEN 3 AND 7 AND (`key` = 'a' OR `key` = 'b') AND ts IN (1, 2);"),
        &SqlOptions::default(),
    )
    .expect("compiles");
    let toml = Plan::from_toml(
        r#"
        [[select]]
        field = "key"
        type = "string"
        [[filter]]
        field = "value"
        op = "ge"
        value = 3
        [[filter]]
        field = "value"
        op = "le"
        value = 7
        [[filter]]
        field = "key"
        op = "in"
        value = ["a", "b"]
        [[filter]]
        field = "ts"
        op = "in"
        value = [1, 2]
        "#,
    )
    .expect("compiles");
    assert_eq!(sql.query, toml.query);
}

#[test]
fn a_join_the_plan_cannot_run_is_refused_by_name() {
    let tables = "CREATE TABLE p (id BIGINT, state STRING) WITH ('connector' = 'filesystem', 'path' = 'x.jsonl');\nCREATE TABLE a (seller BIGINT, category BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x.jsonl');\n";
    let cases = [
        (
            "SELECT P.state FROM p AS P LEFT JOIN a AS A ON P.id = A.seller;",
            "line 3, column 38: only an inner JOIN ... ON is supported (not LEFT JOIN)",
        ),
        (
            "SELECT P.state FROM p AS P JOIN a AS A ON P.id = A.seller WHERE category = 10;",
            "line 3, column 65: qualify `category` with its table: A.category",
        ),
        (
            "SELECT P.state FROM p AS P JOIN a AS A ON P.id = A.seller WHERE P.id = A.seller;",
            "line 3, column 72: a condition of a join's WHERE reads one table (a condition across both is not supported)",
        ),
        (
            "SELECT X.state FROM p AS P JOIN a AS A ON P.id = A.seller;",
            "line 3, column 8: `X` is neither joined table: qualify columns with P or A",
        ),
    ];
    let mut wrong = Vec::new();
    for (select, expected) in cases {
        match Plan::from_sql(&format!("{tables}{select}"), &SqlOptions::default()) {
            Err(QueryError::Sql { error, .. }) if error.located() == expected => {}
            Err(QueryError::Sql { error, .. }) => {
                wrong.push(format!("got      {}\nexpected {expected}", error.located()))
            }
            other => panic!("{select}: {other:?}"),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
