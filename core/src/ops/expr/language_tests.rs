//! The SQL side of the language: functions, `CAST`, `CASE`, tests with SQL's unknown,
//! their errors (named, at line:column), printing back, registering a function in Rust;
//! and, over generated texts of the old grammar, that the sqlparser path parses every
//! text the hand-written parser did into the same tree.

use super::functions::{register, Arity};
use super::*;
use proptest::prelude::*;

/// Fields `a` = 0, `b` = 1, `ts` = 2.
fn eval_with(text: &str, fields: &[Scalar]) -> Num {
    let mut e = Expr::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    e.resolve::<String>(&mut |name| {
        ["a", "b", "ts"]
            .iter()
            .position(|n| *n == name)
            .ok_or(format!("no field {name}"))
    })
    .unwrap();
    // Printing parses back to the same tree.
    let mut again = Expr::parse(&e.to_string()).unwrap_or_else(|err| panic!("{e}: {err}"));
    again
        .resolve::<String>(&mut |name| {
            Ok(["a", "b", "ts"].iter().position(|n| *n == name).unwrap())
        })
        .unwrap();
    assert_eq!(again, e, "{e}");
    e.eval(fields)
}

/// a = 7, b = 2.5, ts = 2023-11-14 22:13:20.000 UTC (1 700 000 000 000 ms).
const F: [Scalar; 3] = [
    Scalar::Int(7),
    Scalar::Float(2.5),
    Scalar::Int(1_700_000_000_000),
];

fn eval(text: &str) -> Num {
    eval_with(text, &F)
}

fn holds(text: &str) -> bool {
    let mut c = Condition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    c.resolve::<String>(&mut |name| Ok(["a", "b", "ts"].iter().position(|n| *n == name).unwrap()))
        .unwrap();
    c.holds(&F)
}

#[test]
fn time_functions_read_epoch_milliseconds_in_utc() {
    assert_eq!(eval("HOUR(ts)"), Num::Int(22));
    assert_eq!(eval("hour(ts)"), Num::Int(22), "any case");
    assert_eq!(eval("MINUTE(ts)"), Num::Int(13));
    assert_eq!(
        eval("HOUR(-1)"),
        Num::Int(23),
        "before 1970: the hour before midnight"
    );
    assert_eq!(eval("MINUTE(-1)"), Num::Int(59));
    assert_eq!(eval("HOUR(3600000.5)"), Num::Int(1), "a float is floored");
    assert_eq!(eval("HOUR(a / 0)"), Num::Null);
}

#[test]
fn number_functions() {
    assert_eq!(eval("MOD(a, 4)"), Num::Int(3));
    assert_eq!(Expr::parse("MOD(a, 4)"), Expr::parse("a % 4"), "MOD is %");
    assert_eq!(eval("ABS(-a)"), Num::Int(7));
    assert_eq!(eval("ABS(-b)"), Num::Float(2.5));
    assert_eq!(eval("ABS(-9223372036854775808)"), Num::Null, "overflow");
    assert_eq!(eval("SIGN(-a)"), Num::Int(-1));
    assert_eq!(eval("SIGN(b)"), Num::Float(1.0));
    assert_eq!(eval("GREATEST(a, 3, 9)"), Num::Int(9));
    assert_eq!(eval("LEAST(a, b)"), Num::Float(2.5));
    assert_eq!(
        eval("GREATEST(a, b)"),
        Num::Float(7.0),
        "a float among them"
    );
    assert_eq!(
        eval("GREATEST(a, a / 0)"),
        Num::Null,
        "none when any has none"
    );
    assert_eq!(eval("LEAST(a / 0, a)"), Num::Null);
}

#[test]
fn casts_convert_between_integers_and_floats() {
    assert_eq!(eval("CAST(b AS BIGINT)"), Num::Int(2));
    assert_eq!(eval("CAST(-b AS INT)"), Num::Int(-2), "toward zero");
    assert_eq!(eval("CAST(a AS DOUBLE)"), Num::Float(7.0));
    assert_eq!(eval("CAST(a AS DOUBLE) / 2"), Num::Float(3.5));
    assert_eq!(eval("CAST(1e300 AS BIGINT)"), Num::Null, "out of range");
    assert_eq!(eval("CAST(a / 0 AS DOUBLE)"), Num::Null);
}

#[test]
fn case_takes_the_first_branch_that_holds() {
    let band = "CASE WHEN a < 5 THEN 1 WHEN a < 10 THEN 2 ELSE 3 END";
    assert_eq!(eval(band), Num::Int(2));
    assert_eq!(eval_with(band, &[Scalar::Int(1), F[1], F[2]]), Num::Int(1));
    assert_eq!(eval_with(band, &[Scalar::Int(99), F[1], F[2]]), Num::Int(3));
    assert_eq!(
        eval("CASE WHEN a > 100 THEN 1 END"),
        Num::Null,
        "no ELSE: none"
    );
    assert_eq!(
        eval("CASE WHEN a / 0 = 1 THEN 1 ELSE 2 END"),
        Num::Int(2),
        "an unknown WHEN is not taken"
    );
    assert_eq!(
        eval("CASE a WHEN 6 THEN 60 WHEN 7 THEN 70 END"),
        Num::Int(70)
    );
    assert_eq!(
        eval("CASE WHEN HOUR(ts) BETWEEN 8 AND 18 THEN 1 WHEN HOUR(ts) <= 6 OR HOUR(ts) >= 20 THEN 2 ELSE 3 END"),
        Num::Int(2),
        "NEXMark Q14's bidTimeType, as a number"
    );
}

#[test]
fn tests_follow_sqls_three_valued_logic() {
    assert!(holds("a BETWEEN 7 AND 8") && holds("a NOT BETWEEN 8 AND 9"));
    assert!(!holds("a BETWEEN 8 AND 9"));
    assert!(holds("a IN (1, 7, 9)") && !holds("a NOT IN (1, 7)"));
    assert!(holds("(a / 0) IS NULL") && holds("a IS NOT NULL"));
    assert!(holds("a > 1 AND b < 3") && holds("a < 1 OR b < 3") && holds("NOT a < 1"));
    // Unknown: a comparison with no value; NOT keeps it unknown.
    assert!(!holds("a / 0 = 1") && !holds("NOT a / 0 = 1"));
    assert!(holds("a / 0 = 1 OR a = 7"), "unknown OR true is true");
    assert!(!holds("a / 0 = 1 OR a = 8"), "unknown OR false is unknown");
    assert!(
        !holds("NOT (a / 0 = 1 AND a = 7)"),
        "unknown AND true is unknown"
    );
    assert!(
        holds("NOT (a / 0 = 1 AND a = 8)"),
        "unknown AND false is false"
    );
    assert!(holds("a % 123 == 7 AND a <> 1 AND a != 2"));
}

#[test]
fn errors_name_the_function_and_the_place() {
    let err = |text: &str| Expr::parse(text).unwrap_err();
    assert_eq!(
        err("1 + HOUR(ts, 2)"),
        "at column 5: HOUR takes 1 argument, not 2"
    );
    assert_eq!(err("MOD(a)"), "at column 1: MOD takes 2 arguments, not 1");
    assert_eq!(
        err("GREATEST()"),
        "at column 1: GREATEST takes at least 1 argument, not 0"
    );
    assert!(err("frob(a)").starts_with("at column 1: no function `frob`"));
    assert_eq!(
        err("a + UPPER(b)"),
        "at column 5: UPPER computes on strings: string expressions are a projection's columns and `where` (CONCAT, LOWER, UPPER, CHAR_LENGTH, SPLIT_INDEX, REGEXP_EXTRACT, DATE_FORMAT; see streamlab_core::ops::expr::text), not numbers"
    );
    assert!(err("REGEXP_EXTRACT(a, 'x', 1)").contains("REGEXP_EXTRACT computes on strings"));
    assert!(
        err("CAST(a AS STRING)").contains("CAST to STRING"),
        "{}",
        err("CAST(a AS STRING)")
    );
    assert!(
        err("a + 'x'").contains("`'x'` is not a number"),
        "{}",
        err("a + 'x'")
    );
    assert!(err("NULL").contains("a NULL literal"));
    assert!(err("t.a").contains("a field is one name"));
    assert!(err("COUNT(DISTINCT a)").contains("DISTINCT"));
    assert!(err("a BETWEEN 1 AND 2").contains("found the condition"));
    assert_eq!(
        Condition::parse("a = 1 AND\n  HOUR(ts, ts) = 1").unwrap_err(),
        "at line 2, column 3: HOUR takes 1 argument, not 2"
    );
    assert!(Condition::parse("a IN ()").is_err());
}

#[test]
fn a_function_registered_in_rust_is_called_by_name() {
    fn count_sevens(args: &[Num]) -> Num {
        match args[0] {
            Num::Int(mut i) => {
                let mut n = 0;
                while i != 0 {
                    n += i64::from(i % 10 == 7 || i % 10 == -7);
                    i /= 10;
                }
                Num::Int(n)
            }
            _ => Num::Null,
        }
    }
    register("count_sevens_test", Arity::Exactly(1), count_sevens).unwrap();
    assert_eq!(
        eval_with("COUNT_SEVENS_TEST(a) + 1", &[Scalar::Int(7707), F[1], F[2]]),
        Num::Int(4)
    );
    assert!(
        register("Count_Sevens_Test", Arity::Exactly(1), count_sevens)
            .unwrap_err()
            .contains("exists already")
    );
    assert!(
        register("abs", Arity::Exactly(1), count_sevens).is_err(),
        "a built-in"
    );
    assert!(register("1x", Arity::Exactly(1), count_sevens).is_err());
    assert_eq!(
        Expr::parse("count_sevens_test()").unwrap_err(),
        "at column 1: COUNT_SEVENS_TEST takes 1 argument, not 0"
    );
}

/// A text of the old grammar: numbers, fields (some of them SQL keywords), unary minus,
/// the five operators, parentheses, with random spacing.
fn text() -> impl Strategy<Value = String> {
    let space = prop_oneof![Just(""), Just(" "), Just("  ")];
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| i.unsigned_abs().to_string()),
        (0u32..1000).prop_map(|i| i.to_string()),
        (0.0f64..1e6).prop_map(|f| format!("{f:?}")),
        Just("1e3".to_owned()),
        Just(".5".to_owned()),
        Just("9223372036854775807".to_owned()),
        prop::sample::select(vec![
            "a", "b", "ts", "price", "user", "value", "key", "day", "hour", "date", "time",
            "count", "sum", "left", "Price", "_x1",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(5, 32, 2, move |inner| {
        let op = prop::sample::select(vec!["+", "-", "*", "/", "%"]);
        prop_oneof![
            // A space before an operand that starts with `-` (`-- ` is a comment).
            (space.clone(), inner.clone()).prop_map(|(s, e)| if e.starts_with('-') {
                format!("- {e}")
            } else {
                format!("-{s}{e}")
            }),
            (
                inner.clone(),
                space.clone(),
                op,
                space.clone(),
                inner.clone()
            )
                .prop_map(|(a, s1, op, s2, b)| {
                    let gap = if op == "-" && b.starts_with('-') && s2.is_empty() {
                        " "
                    } else {
                        s2
                    };
                    format!("{a}{s1}{op}{gap}{b}")
                }),
            (space.clone(), inner).prop_map(|(s, e)| format!("({s}{e}{s})")),
        ]
    })
}

proptest! {
    #[test]
    fn the_sqlparser_path_parses_the_old_grammar_into_the_same_trees(
        e in text(),
        rhs in text(),
        cmp in prop::sample::select(vec!["=", "==", "!=", "<>", "<", "<=", ">", ">="]),
    ) {
        match legacy::parse_expr(&e) {
            Ok(old) => prop_assert_eq!(Expr::parse(&e), Ok(old), "{}", e),
            Err(_) => prop_assert!(Expr::parse(&e).is_err(), "{}", e),
        }
        let c = format!("{e} {cmp} {rhs}");
        match legacy::parse_condition(&c) {
            Ok(old) => prop_assert_eq!(Condition::parse(&c), Ok(old), "{}", c),
            Err(_) => prop_assert!(Condition::parse(&c).is_err(), "{}", c),
        }
    }
}
