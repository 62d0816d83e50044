//! Fuzzing the query parsers (issue 20): arbitrary text and mutations of valid query
//! files (TOML, windows, filters, aggregates, `expr` expressions; SQL scripts) must give a
//! plan or an error, never a panic (nor a stack overflow: the parser's depth limits hold on any
//! input). A fixed number of cases (a few seconds in CI); inputs are bounded.

use proptest::prelude::*;
use streamlab_core::query::sql::SqlOptions;
use streamlab_core::Plan;

/// Valid query files to mutate: the repository's own, and expressions at their edges.
const QUERIES: [&str; 6] = [
    include_str!("../../queries/w1.toml"),
    include_str!("../../queries/clicks_views_sliding.toml"),
    include_str!("../../queries/logs_sessions.toml"),
    include_str!("../../queries/nexmark_q1_currency.toml"),
    include_str!("../../queries/likes_web_mobile.toml"),
    "event_time = \"ts\"\n[[select]]\nas = \"x\"\nexpr = \"-(a + 2) * b / (c - 1) % 7 + -(-d)\"\n[[select]]\nfield = \"ts\"\n",
];

/// Pieces an expression or a TOML value is made of, to splice in.
const PIECES: [&str; 16] = [
    "(",
    ")",
    "-",
    "+",
    "*",
    "/",
    "%",
    " 9223372036854775807",
    "1e309",
    "\"",
    "[",
    "]",
    "=",
    "\n[[aggregate]]\n",
    "\nexpr = \"",
    "0.",
];

/// Valid SQL scripts to mutate (Flink's and Spark's spellings, a join, a union).
const SQL_QUERIES: [&str; 5] = [
    include_str!("../../queries/sql/w1.sql"),
    include_str!("../../queries/sql/w1_spark.sql"),
    include_str!("../../queries/sql/logs_sessions.sql"),
    include_str!("../../queries/sql/nexmark_q3_local_item_suggestion.sql"),
    include_str!("../../queries/sql/likes_web_mobile.sql"),
];

/// Pieces a SQL script is made of, to splice in (multi-byte text too: errors quote the
/// line with a caret under a column).
const SQL_PIECES: [&str; 16] = [
    "(",
    ")",
    "'",
    "`",
    ",",
    ";",
    "INTERVAL '0' SECOND",
    "TUMBLE(",
    "HOP(TABLE t, DESCRIPTOR(et), ",
    "window(ts, '1 second')",
    " GROUP BY ",
    " WHERE ",
    "é€😀",
    "\n",
    " 9223372036854775807",
    "--",
];

fn mutated() -> impl Strategy<Value = String> {
    mutations(&QUERIES[..], &PIECES[..])
}

fn mutated_sql() -> impl Strategy<Value = String> {
    mutations(&SQL_QUERIES[..], &SQL_PIECES[..])
}

/// `seeds` with up to ten byte edits: replace, splice a piece, truncate, remove.
fn mutations(
    seeds: &'static [&'static str],
    pieces: &'static [&'static str],
) -> impl Strategy<Value = String> {
    (
        proptest::sample::select(seeds),
        proptest::collection::vec(
            (
                0usize..4,
                any::<usize>(),
                any::<u8>(),
                proptest::sample::select(pieces),
            ),
            0..10,
        ),
    )
        .prop_map(|(seed, edits)| {
            let mut bytes = seed.as_bytes().to_vec();
            for (kind, at, byte, piece) in edits {
                let at = at % (bytes.len() + 1);
                match kind {
                    0 if at < bytes.len() => bytes[at] = byte,
                    1 => bytes.splice(at..at, piece.bytes()).for_each(drop),
                    2 => bytes.truncate(at.max(1)),
                    _ if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    _ => {}
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        })
}

/// Parses `text`: a plan (printed back to TOML, as checkpoints keep it) or an error.
fn parse(text: &str) {
    if let Ok(plan) = Plan::from_toml(text) {
        let _ = plan.to_toml();
    }
}

/// Compiles `text` as SQL: a plan or an error (whose text quotes the script), never a panic.
fn parse_sql(text: &str) {
    match Plan::from_sql(text, &SqlOptions::default()) {
        Ok(plan) => {
            let _ = plan.to_toml();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_a_plan_or_an_error(text in "\\PC{0,200}") {
        parse(&text);
    }

    #[test]
    fn mutated_query_files_are_plans_or_errors(text in mutated()) {
        parse(&text);
    }

    #[test]
    fn expressions_of_any_shape_are_plans_or_errors(expr in "[-+*/%() a-z0-9.]{0,120}") {
        parse(&format!("event_time = \"ts\"\n[[select]]\nas = \"x\"\nexpr = \"{expr}\"\n"));
    }

    #[test]
    fn arbitrary_text_is_a_sql_plan_or_an_error(text in "\\PC{0,200}") {
        parse_sql(&text);
    }

    #[test]
    fn mutated_sql_scripts_are_plans_or_errors(text in mutated_sql()) {
        parse_sql(&text);
    }
}
