//! Expressions against hand-computed values and, over random trees, a direct definition.

use super::*;
use proptest::prelude::*;

/// Parses with fields `a` = slot 0, `b` = slot 1, `c` = slot 2.
fn compile(text: &str) -> Expr {
    let mut e = Expr::parse(text).unwrap();
    e.resolve::<String>(&mut |name| {
        ["a", "b", "c"]
            .iter()
            .position(|n| *n == name)
            .ok_or(format!("no field {name}"))
    })
    .unwrap();
    e
}

fn eval(text: &str, fields: &[Scalar]) -> Num {
    compile(text).eval(fields)
}

const F: [Scalar; 3] = [Scalar::Int(7), Scalar::Float(2.5), Scalar::Int(-3)];

#[test]
fn precedence_and_associativity_follow_arithmetic() {
    assert_eq!(eval("1 + 2 * 3", &F), Num::Int(7));
    assert_eq!(eval("(1 + 2) * 3", &F), Num::Int(9));
    assert_eq!(eval("10 - 4 - 3", &F), Num::Int(3));
    assert_eq!(eval("100 / 10 / 5", &F), Num::Int(2));
    assert_eq!(eval("-a * 2", &F), Num::Int(-14));
    assert_eq!(eval("- -a", &F), Num::Int(7));
    assert_eq!(eval("a % 4 + c", &F), Num::Int(0));
    assert_eq!(eval("2 * -c", &F), Num::Int(6));
}

#[test]
fn integers_stay_integers_until_a_float_joins() {
    assert_eq!(eval("a / 2", &F), Num::Int(3), "truncates");
    assert_eq!(eval("c / 2", &F), Num::Int(-1), "toward zero");
    assert_eq!(eval("c % 2", &F), Num::Int(-1), "sign of the dividend");
    assert_eq!(eval("a / 2.0", &F), Num::Float(3.5));
    assert_eq!(eval("a * b", &F), Num::Float(17.5));
    assert_eq!(eval("1e3", &F), Num::Float(1000.0));
    assert_eq!(eval("b % 1", &F), Num::Float(0.5));
}

#[test]
fn overflow_and_division_by_zero_have_no_value() {
    assert_eq!(eval("a / 0", &F), Num::Null);
    assert_eq!(eval("a % 0", &F), Num::Null);
    assert_eq!(eval("a / 0.0", &F), Num::Null, "infinity is not a value");
    assert_eq!(eval("0.0 / 0.0", &F), Num::Null);
    assert_eq!(eval("9223372036854775807 + 1", &F), Num::Null);
    assert_eq!(eval("-9223372036854775808 - 1", &F), Num::Null);
    assert_eq!(eval("-9223372036854775808 % -1", &F), Num::Int(0));
    assert_eq!(eval("-9223372036854775808 / -1", &F), Num::Null);
    assert_eq!(eval("-(-9223372036854775808)", &F), Num::Null);
    assert_eq!(eval("(a / 0) * 0", &F), Num::Null, "no value propagates");
    assert!(eval("a / 0", &F).to_agg().as_f64().is_nan());
}

#[test]
fn conditions_compare_numbers_and_fail_without_a_value() {
    let holds = |text: &str, fields: &[Scalar]| {
        let mut c = Condition::parse(text).unwrap();
        c.resolve::<String>(&mut |name| Ok(usize::from(name == "b")))
            .unwrap();
        c.holds(fields)
    };
    let f = [Scalar::Int(246), Scalar::Float(0.5)];
    assert!(holds("a % 123 = 0", &f));
    assert!(holds("a % 123 == 0", &f));
    assert!(!holds("a % 123 != 0", &f));
    assert!(holds("a <> 1", &f));
    assert!(holds("b < 1", &f) && holds("b <= 0.5", &f) && holds("b >= 0.5", &f));
    assert!(!holds("b > 0.5", &f));
    assert!(
        !holds("a / 0 = a / 0", &f),
        "no value is not equal to itself"
    );
    assert!(!holds("a / 0 != 1", &f), "nor unequal to anything");
    assert!(
        holds("9007199254740993 > 9007199254740992", &f),
        "integers exactly"
    );
}

#[test]
fn syntax_errors_say_where_and_what() {
    let err = |text: &str| Expr::parse(text).unwrap_err();
    assert_eq!(
        err("price *"),
        "at column 8: expected an expression, found the end"
    );
    assert_eq!(err("(price + 1"), "at column 11: expected ), found the end");
    assert_eq!(
        err("price 2"),
        "at column 7: expected an operator or the end, found `2`"
    );
    assert_eq!(
        err("price # 2"),
        "at column 7: expected an operator or the end, found `#`"
    );
    assert!(err("9223372036854775808").contains("64-bit"));
    assert!(err("999999999999999999999999999999999999999999").contains("64-bit"));
    assert!(err("1.2.3").starts_with("at column 4:"), "{}", err("1.2.3"));
    assert!(err("2x").starts_with("at column 2:"), "{}", err("2x"));
    assert!(err("a = 1").contains("found comparison"));
    assert!(err("").contains("expected an expression, found the end"));
    assert!(
        err("a +\n  * 2").starts_with("at line 2, column 3: "),
        "{}",
        err("a +\n  * 2")
    );
    let c = Condition::parse("a + 1").unwrap_err();
    assert!(c.starts_with("at column 1: expected a comparison"), "{c}");
    assert!(err("-- a").contains("comment"), "{}", err("-- a"));
}

/// `-(` x 10 000, a 100 000-term sum and unary minus x 20 000 used to overflow the stack
/// (exit 134): each is refused at its limit, naming it; expressions at the limits parse,
/// print back and are evaluated on a thread with a small stack (as a worker's could be).
#[test]
fn deep_expressions_are_refused_at_the_depth_limits() {
    let refused = |text: &str, why: &str| {
        let err = Expr::parse(text).expect_err("beyond the limit");
        assert!(err.contains(why), "{}: {err}", &text[..40.min(text.len())]);
    };
    let open = "more than 512 parentheses and minus signs open at once";
    let deep = "more than 256 operators deep";
    refused(
        &format!("{}1{}", "-(".repeat(10_000), ")".repeat(10_000)),
        open,
    );
    refused(
        &format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000)),
        open,
    );
    refused(&format!("{}x", "-".repeat(20_000)), open);
    refused(&vec!["1"; 100_000].join(" + "), deep);
    refused(&vec!["x"; 100_000].join(" * "), deep);
    refused(&format!("{}x", "- ".repeat(MAX_DEPTH + 1)), deep);
    refused(&vec!["x"; MAX_DEPTH + 2].join(" - "), deep);
    let c = Condition::parse(&format!("{} = 1", vec!["x"; 300].join(" - ")));
    assert!(c.expect_err("too deep").contains(deep));
    assert_eq!(
        Expr::parse(&vec!["1"; 300].join("+")).expect_err("too deep"),
        "at column 1: more than 256 operators deep (each operator of a chain like \
         `a + b + c` and each unary minus counts one): split the expression"
    );

    let at_the_limits = [
        vec!["x"; MAX_DEPTH + 1].join(" + "),
        format!("{}x", "- ".repeat(MAX_DEPTH)),
        format!("{}x{}", "(".repeat(MAX_OPEN), ")".repeat(MAX_OPEN)),
    ];
    let trees: Vec<Expr> = at_the_limits
        .iter()
        .map(|text| {
            let mut e = Expr::parse(text).unwrap_or_else(|e| panic!("{e}"));
            e.resolve(&mut |_| Ok::<_, ()>(0)).expect("one field");
            let printed = e.to_string();
            let mut again = Expr::parse(&printed).unwrap_or_else(|e| panic!("{e}"));
            again.resolve(&mut |_| Ok::<_, ()>(0)).expect("one field");
            assert_eq!(again, e);
            e
        })
        .collect();
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            for e in trees {
                assert!(matches!(e.eval(&[Scalar::Int(1)]), Num::Int(_)));
                drop(e);
            }
        })
        .expect("a thread")
        .join()
        .expect("no stack overflow at the limit");
}

/// The model the evaluator is checked against: integers in i128 (exact, then checked
/// against the i64 range), floats in f64, straight from the definition.
fn direct(e: &Expr, fields: &[Scalar]) -> Num {
    fn num(i: i128) -> Num {
        i64::try_from(i).map_or(Num::Null, Num::Int)
    }
    match e {
        Expr::Int(i) => Num::Int(*i),
        Expr::Float(f) => Num::Float(*f),
        Expr::Field(_, s) => match fields[*s] {
            Scalar::Int(i) => Num::Int(i),
            Scalar::Float(f) => Num::Float(f),
            _ => unreachable!("fields are numbers"),
        },
        Expr::Neg(x) => match direct(x, fields) {
            Num::Int(i) => num(-i128::from(i)),
            Num::Float(f) => Num::Float(-f),
            Num::Null => Num::Null,
        },
        Expr::Bin(op, a, b) => match (direct(a, fields), direct(b, fields)) {
            (Num::Null, _) | (_, Num::Null) => Num::Null,
            (Num::Int(x), Num::Int(y)) => {
                let (x, y) = (i128::from(x), i128::from(y));
                match op {
                    BinOp::Add => num(x + y),
                    BinOp::Sub => num(x - y),
                    BinOp::Mul => num(x * y),
                    BinOp::Div if y == 0 => Num::Null,
                    BinOp::Div => num(x / y),
                    BinOp::Rem if y == 0 => Num::Null,
                    BinOp::Rem => num(x % y),
                }
            }
            (a, b) => {
                let f = |n: Num| match n {
                    Num::Int(i) => i as f64,
                    Num::Float(f) => f,
                    Num::Null => unreachable!(),
                };
                let r = match op {
                    BinOp::Add => f(a) + f(b),
                    BinOp::Sub => f(a) - f(b),
                    BinOp::Mul => f(a) * f(b),
                    BinOp::Div => f(a) / f(b),
                    BinOp::Rem => f(a) % f(b),
                };
                if r.is_finite() {
                    Num::Float(r)
                } else {
                    Num::Null
                }
            }
        },
        _ => unreachable!("the random trees are arithmetic"),
    }
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        -20i64..20,
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0)
    ]
}

fn tree() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        int().prop_map(Expr::Int),
        (-1e6f64..1e6).prop_map(Expr::Float),
        (0usize..3).prop_map(|s| Expr::Field(["a", "b", "c"][s].into(), s)),
    ];
    leaf.prop_recursive(5, 40, 2, |inner| {
        let op = prop_oneof![
            Just(BinOp::Add),
            Just(BinOp::Sub),
            Just(BinOp::Mul),
            Just(BinOp::Div),
            Just(BinOp::Rem)
        ];
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Neg(Box::new(e))),
            (op, inner.clone(), inner).prop_map(|(op, a, b)| Expr::Bin(
                op,
                Box::new(a),
                Box::new(b)
            )),
        ]
    })
}

fn same(a: Num, b: Num) -> bool {
    match (a, b) {
        (Num::Float(x), Num::Float(y)) => x.to_bits() == y.to_bits(),
        (a, b) => a == b,
    }
}

proptest! {
    #[test]
    fn the_evaluator_agrees_with_the_direct_definition(
        e in tree(),
        a in int(),
        b in -1e9f64..1e9,
        c in int(),
    ) {
        let fields = [Scalar::Int(a), Scalar::Float(b), Scalar::Int(c)];
        // Through the text: printing and parsing back gives the same tree.
        let parsed = compile(&e.to_string());
        prop_assert_eq!(&parsed, &e);
        let (got, want) = (parsed.eval(&fields), direct(&e, &fields));
        prop_assert!(same(got, want), "{} = {:?}, directly {:?}", e, got, want);
    }
}
