//! Scalar functions an expression calls: the built-in ones, and the ones a program
//! registers in Rust before it compiles its queries (a user-defined function, as Flink's
//! `ScalarFunction`).
//!
//! A function maps numbers to a number (no value in, no value out is the usual rule, but
//! a function decides for itself). It is looked up by name, without regard to case,
//! when the expression is parsed; the tree holds the function itself, so evaluating
//! looks nothing up.
//!
//! Registering a function (the example runs as a doc test):
//!
//! ```
//! use streamlab_core::ops::expr::functions::{register, Arity};
//! use streamlab_core::ops::expr::{Expr, Num};
//! use streamlab_core::model::value::Scalar;
//!
//! /// The price band of NEXMark Q17: 1 below 10 000, 2 below 1 000 000, else 3.
//! fn price_band(args: &[Num]) -> Num {
//!     match args[0] {
//!         Num::Int(p) => Num::Int(if p < 10_000 { 1 } else if p < 1_000_000 { 2 } else { 3 }),
//!         Num::Float(p) => Num::Int(if p < 1e4 { 1 } else if p < 1e6 { 2 } else { 3 }),
//!         Num::Null => Num::Null,
//!     }
//! }
//!
//! register("price_band", Arity::Exactly(1), price_band).unwrap();
//! let mut e = Expr::parse("PRICE_BAND(price) * 10").unwrap();
//! e.resolve(&mut |_| Ok::<_, ()>(0)).unwrap();
//! assert_eq!(e.eval(&[Scalar::Int(50_000)]), Num::Int(20));
//! // A built-in name, or one registered already, is refused.
//! assert!(register("hour", Arity::Exactly(1), price_band).is_err());
//! ```
//!
//! The `streamlab` binary registers none of its own: a program that links the lab's
//! crates registers its functions first, then compiles and runs plans that call them.

use super::num::Num;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// How many arguments a function takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// At least this many.
    AtLeast(usize),
}

impl Arity {
    fn admits(self, n: usize) -> bool {
        match self {
            Arity::Exactly(k) => n == k,
            Arity::AtLeast(k) => n >= k,
        }
    }
}

impl fmt::Display for Arity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |k: usize| if k == 1 { "" } else { "s" };
        match *self {
            Arity::Exactly(k) => write!(f, "{k} argument{}", plural(k)),
            Arity::AtLeast(k) => write!(f, "at least {k} argument{}", plural(k)),
        }
    }
}

/// A function's body: its arguments' values, in order, to its value.
pub type Body = fn(&[Num]) -> Num;

/// A scalar function: its name (upper case), arity and body.
#[derive(Clone, Copy)]
pub struct Function {
    name: &'static str,
    arity: Arity,
    body: Body,
}

impl Function {
    /// The name, upper case, as the expression prints it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The value of a call whose arguments have the given values.
    #[inline]
    pub fn call(&self, args: &[Num]) -> Num {
        (self.body)(args)
    }
}

/// Functions are equal by name (a name is never registered twice).
impl PartialEq for Function {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl fmt::Debug for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// Milliseconds per hour and per minute.
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

/// An epoch-milliseconds argument as an integer (a float is floored); none when it has no
/// value or does not fit.
fn millis(n: Num) -> Option<i64> {
    match n {
        Num::Int(i) => Some(i),
        Num::Float(f) => {
            let t = f.floor();
            (-9.223_372_036_854_776e18..9.223_372_036_854_776e18)
                .contains(&t)
                .then_some(t as i64)
        }
        Num::Null => None,
    }
}

fn hour(args: &[Num]) -> Num {
    millis(args[0]).map_or(Num::Null, |t| {
        Num::Int(t.div_euclid(HOUR_MS).rem_euclid(24))
    })
}

fn minute(args: &[Num]) -> Num {
    millis(args[0]).map_or(Num::Null, |t| {
        Num::Int(t.div_euclid(MINUTE_MS).rem_euclid(60))
    })
}

fn abs(args: &[Num]) -> Num {
    match args[0] {
        Num::Int(i) => i.checked_abs().map_or(Num::Null, Num::Int),
        Num::Float(f) => Num::Float(f.abs()),
        Num::Null => Num::Null,
    }
}

fn sign(args: &[Num]) -> Num {
    match args[0] {
        Num::Int(i) => Num::Int(i.signum()),
        // SQL's SIGN(0.0) is 0.0 (Rust's signum is 1.0).
        Num::Float(f) => Num::Float(if f == 0.0 { 0.0 } else { f.signum() }),
        Num::Null => Num::Null,
    }
}

/// The largest (`pick` = Greater) or smallest argument; none when any has none (as
/// Flink's GREATEST and LEAST); integers stay integers unless a float is among them.
fn extreme(args: &[Num], pick: std::cmp::Ordering) -> Num {
    let mut best = args[0];
    for &a in &args[1..] {
        let (Some(x), Some(y)) = (a.as_f64(), best.as_f64()) else {
            return Num::Null;
        };
        let ord = match (a, best) {
            (Num::Int(i), Num::Int(j)) => i.cmp(&j),
            _ => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        };
        if ord == pick {
            best = a;
        }
    }
    if best == Num::Null {
        return Num::Null;
    }
    if args.iter().any(|a| matches!(a, Num::Float(_))) {
        best.as_f64().map_or(Num::Null, Num::float)
    } else {
        best
    }
}

fn greatest(args: &[Num]) -> Num {
    extreme(args, std::cmp::Ordering::Greater)
}

fn least(args: &[Num]) -> Num {
    extreme(args, std::cmp::Ordering::Less)
}

/// The built-in functions.
/// (`MOD(a, b)` is compiled to `a % b`, not called.)
const BUILT_IN: [(&str, Arity, Body); 6] = [
    ("HOUR", Arity::Exactly(1), hour),
    ("MINUTE", Arity::Exactly(1), minute),
    ("ABS", Arity::Exactly(1), abs),
    ("SIGN", Arity::Exactly(1), sign),
    ("GREATEST", Arity::AtLeast(1), greatest),
    ("LEAST", Arity::AtLeast(1), least),
];

/// Functions known by name, upper case: the built-in ones, then the registered ones.
fn registry() -> &'static RwLock<BTreeMap<String, Function>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, Function>>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        RwLock::new(
            BUILT_IN
                .iter()
                .map(|&(name, arity, body)| (name.to_owned(), Function { name, arity, body }))
                .collect(),
        )
    })
}

/// Registers a scalar function under `name` (any case; an identifier). Refused for a
/// name already known (a built-in or registered one) or that is not an identifier.
pub fn register(name: &str, arity: Arity, body: Body) -> Result<(), String> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!(
            "`{name}` is not a function name (letters, digits and `_`, not starting with a digit)"
        ));
    }
    let upper = name.to_ascii_uppercase();
    let mut functions = registry().write().unwrap_or_else(|e| e.into_inner());
    if functions.contains_key(&upper) {
        return Err(format!("a function `{upper}` exists already"));
    }
    // Leaked once per registered name: functions live as long as the program.
    let name: &'static str = Box::leak(upper.clone().into_boxed_str());
    functions.insert(upper, Function { name, arity, body });
    Ok(())
}

/// The function called `name` (any case) for a call with `args` arguments; the error
/// names what is wrong (no such function, or the arguments it takes).
pub fn lookup(name: &str, args: usize) -> Result<Function, String> {
    let upper = name.to_ascii_uppercase();
    let functions = registry().read().unwrap_or_else(|e| e.into_inner());
    match functions.get(&upper) {
        Some(f) if f.arity.admits(args) => Ok(*f),
        Some(f) => Err(format!(
            "{upper} takes {}, not {args}",
            f.arity
        )),
        None if STRING_FUNCTIONS.contains(&upper.as_str()) => Err(format!(
            "{upper} computes on strings: string expressions are a projection's columns and `where` (CONCAT, LOWER, UPPER, CHAR_LENGTH, SPLIT_INDEX, REGEXP_EXTRACT, DATE_FORMAT; see streamlab_core::ops::expr::text), not numbers"
        )),
        None => Err(format!(
            "no function `{name}` (built in: MOD, {}; others are registered in Rust, see streamlab_core::ops::expr::functions)",
            BUILT_IN.map(|(n, _, _)| n).join(", ")
        )),
    }
}

/// Flink's string and date functions, refused by name where a number is computed (the
/// supported ones are [`super::text`]'s).
const STRING_FUNCTIONS: [&str; 13] = [
    "REGEXP_EXTRACT",
    "SPLIT_INDEX",
    "UPPER",
    "LOWER",
    "CHAR_LENGTH",
    "CONCAT",
    "SUBSTRING",
    "SUBSTR",
    "DATE_FORMAT",
    "TRIM",
    "REPLACE",
    "INITCAP",
    "TO_TIMESTAMP",
];
