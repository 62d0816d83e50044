//! The functions of string values ([`super::text`]): `CONCAT`, `LOWER`, `UPPER`,
//! `CHAR_LENGTH`, `SPLIT_INDEX`, `REGEXP_EXTRACT`, `DATE_FORMAT`, `CAST(x AS STRING)`, and
//! string functions registered in Rust ([`register_text`], as NEXMark Q14's
//! `count_char`). Each follows Flink's documented behaviour; a `NULL` argument gives
//! `NULL` unless said otherwise.

use super::text_value::Value;
use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{OnceLock, RwLock};

/// A built-in string function, with what it compiled once per query (a regex, a date
/// pattern).
#[derive(Clone, Debug)]
pub enum TextFn {
    /// `CONCAT(a, b, ...)` and `a || b`: `NULL` if any argument is.
    Concat,
    /// `LOWER(s)` (Unicode lower case).
    Lower,
    /// `UPPER(s)`.
    Upper,
    /// `CHAR_LENGTH(s)`: characters (Unicode scalar values), not bytes.
    CharLength,
    /// `SPLIT_INDEX(s, sep, i)`: the `i`-th (from 0) piece of `s` split at `sep`; `NULL`
    /// when there is no such piece (Flink).
    SplitIndex,
    /// `REGEXP_EXTRACT(s, regex [, group])`: the group (default 1; 0 the whole match) of
    /// the first match; `NULL` without a match, or when the group did not take part. The
    /// regex is a literal, compiled when the query is.
    RegexpExtract(Regex),
    /// `DATE_FORMAT(ts, pattern)` of epoch milliseconds, in UTC.
    DateFormat(Vec<Piece>, String),
    /// `CAST(x AS STRING)`: an integer as its digits, a float as Java's `Double.toString`
    /// would for the common cases (`1.5`, `2.0`), a string unchanged.
    CastString,
    /// A function registered in Rust.
    Registered(Registered),
}

impl TextFn {
    /// The name it prints as (upper case).
    pub fn name(&self) -> &str {
        match self {
            TextFn::Concat => "CONCAT",
            TextFn::Lower => "LOWER",
            TextFn::Upper => "UPPER",
            TextFn::CharLength => "CHAR_LENGTH",
            TextFn::SplitIndex => "SPLIT_INDEX",
            TextFn::RegexpExtract(_) => "REGEXP_EXTRACT",
            TextFn::DateFormat(..) => "DATE_FORMAT",
            TextFn::CastString => "CAST",
            TextFn::Registered(r) => r.name,
        }
    }

    /// The value of a call on `args` (their count checked when compiled).
    pub fn call(&self, args: &[Value]) -> Value {
        match self {
            TextFn::Concat => {
                let mut out = String::new();
                for a in args {
                    match a.as_text() {
                        Some(s) => out.push_str(&s),
                        None => return Value::Null,
                    }
                }
                Value::Str(out)
            }
            TextFn::Lower => text_map(&args[0], |s| s.to_lowercase()),
            TextFn::Upper => text_map(&args[0], |s| s.to_uppercase()),
            TextFn::CharLength => match args[0].as_text() {
                Some(s) => Value::Int(s.chars().count() as i64),
                None => Value::Null,
            },
            TextFn::SplitIndex => {
                let (Some(s), Some(sep), Value::Int(i)) =
                    (args[0].as_text(), args[1].as_text(), &args[2])
                else {
                    return Value::Null;
                };
                match usize::try_from(*i) {
                    Ok(i) if !sep.is_empty() => s
                        .split(&*sep)
                        .nth(i)
                        .map_or(Value::Null, |p| Value::Str(p.to_owned())),
                    _ => Value::Null,
                }
            }
            TextFn::RegexpExtract(re) => {
                let Some(s) = args[0].as_text() else {
                    return Value::Null;
                };
                let group = match args.get(2) {
                    None => 1,
                    Some(Value::Int(g)) => match usize::try_from(*g) {
                        Ok(g) => g,
                        Err(_) => return Value::Null,
                    },
                    Some(_) => return Value::Null,
                };
                re.captures(&s)
                    .and_then(|c| c.get(group))
                    .map_or(Value::Null, |m| Value::Str(m.as_str().to_owned()))
            }
            TextFn::DateFormat(pattern, _) => match args[0].millis() {
                Some(t) => Value::Str(format_date(pattern, t)),
                None => Value::Null,
            },
            TextFn::CastString => match args[0].as_text() {
                Some(s) => Value::Str(s.into_owned()),
                None => Value::Null,
            },
            TextFn::Registered(r) => (r.body)(args),
        }
    }
}

fn text_map(v: &Value, f: impl Fn(&str) -> String) -> Value {
    match v.as_text() {
        Some(s) => Value::Str(f(&s)),
        None => Value::Null,
    }
}

/// The built-in string functions by name, with how many arguments each takes.
pub(super) const BUILT_IN: [(&str, usize, usize); 6] = [
    ("CONCAT", 1, usize::MAX),
    ("LOWER", 1, 1),
    ("UPPER", 1, 1),
    ("CHAR_LENGTH", 1, 1),
    ("SPLIT_INDEX", 3, 3),
    ("REGEXP_EXTRACT", 2, 3),
];

/// A piece of a `DATE_FORMAT` pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Text printed as it is (a quoted run, or a character that is no letter).
    Literal(String),
    /// A field, zero-padded to the width of its run of letters (`yyyy`, `MM`, `dd`, `HH`,
    /// `mm`, `ss`, `SSS`).
    Field(DateField, usize),
}

/// The pattern letters `DATE_FORMAT` supports (Java's `SimpleDateFormat` letters).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DateField {
    /// `y`: year.
    Year,
    /// `M`: month, 1-12.
    Month,
    /// `d`: day of the month.
    Day,
    /// `H`: hour of the day, 0-23.
    Hour,
    /// `m`: minute.
    Minute,
    /// `s`: second.
    Second,
    /// `S`: millisecond.
    Milli,
}

/// The pattern letters supported, as the docs list them.
pub const DATE_LETTERS: &str = "y M d H m s S";

/// Reads a `DATE_FORMAT` pattern; an unsupported letter is refused by name.
pub fn date_pattern(text: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut literal = String::new();
    while let Some(c) = chars.next() {
        if c == '\'' {
            // `''` is a quote; `'...'` quoted text.
            if chars.peek() == Some(&'\'') {
                chars.next();
                literal.push('\'');
                continue;
            }
            loop {
                match chars.next() {
                    None => return Err(format!("date pattern `{text}`: a quote is not closed")),
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        literal.push('\'');
                    }
                    Some('\'') => break,
                    Some(q) => literal.push(q),
                }
            }
            continue;
        }
        if !c.is_ascii_alphabetic() {
            literal.push(c);
            continue;
        }
        let field = match c {
            'y' => DateField::Year,
            'M' => DateField::Month,
            'd' => DateField::Day,
            'H' => DateField::Hour,
            'm' => DateField::Minute,
            's' => DateField::Second,
            'S' => DateField::Milli,
            other => {
                return Err(format!(
                    "date pattern letter `{other}` is not supported (supported: {DATE_LETTERS}; quote text with '...')"
                ))
            }
        };
        let mut width = 1;
        while chars.peek() == Some(&c) {
            chars.next();
            width += 1;
        }
        if !literal.is_empty() {
            out.push(Piece::Literal(std::mem::take(&mut literal)));
        }
        out.push(Piece::Field(field, width));
    }
    if !literal.is_empty() {
        out.push(Piece::Literal(literal));
    }
    Ok(out)
}

/// Epoch milliseconds printed by a pattern, in UTC (proleptic Gregorian calendar).
pub fn format_date(pattern: &[Piece], t: i64) -> String {
    let days = t.div_euclid(86_400_000);
    let ms = t.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let mut out = String::new();
    for p in pattern {
        match p {
            Piece::Literal(s) => out.push_str(s),
            Piece::Field(f, width) => {
                let v = match f {
                    DateField::Year => y,
                    DateField::Month => m,
                    DateField::Day => d,
                    DateField::Hour => ms / 3_600_000,
                    DateField::Minute => ms / 60_000 % 60,
                    DateField::Second => ms / 1000 % 60,
                    DateField::Milli => ms % 1000,
                };
                // Java prints `yy` as the year's last two digits.
                let v = if *f == DateField::Year && *width == 2 {
                    v.rem_euclid(100)
                } else {
                    v
                };
                if v < 0 {
                    out.push('-');
                }
                out.push_str(&format!("{:0width$}", v.abs(), width = *width));
            }
        }
    }
    out
}

/// Year, month, day of a day count from 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// A string function's body: its arguments' values to its value.
pub type TextBody = fn(&[Value]) -> Value;

/// A function registered with [`register_text`].
#[derive(Clone, Copy)]
pub struct Registered {
    name: &'static str,
    /// How many arguments it takes.
    pub arity: usize,
    body: TextBody,
}

impl fmt::Debug for Registered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

fn registry() -> &'static RwLock<BTreeMap<String, Registered>> {
    static REGISTRY: OnceLock<RwLock<BTreeMap<String, Registered>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(BTreeMap::new()))
}

/// Registers a function of string (and number) values under `name`, taking `arity`
/// arguments: its arguments are strings where a call passes a field, so
/// `count_char(extra, 'c')` reads `extra` as text. Refused for a name already known.
///
/// ```
/// use streamlab_core::ops::expr::text::{TextExpr, Value};
/// use streamlab_core::ops::expr::text_fns::register_text;
/// use streamlab_core::model::value::FieldValue;
///
/// /// NEXMark Q14's `count_char(s, c)`: how often the character `c` occurs in `s`.
/// fn count_char(args: &[Value]) -> Value {
///     match (args[0].as_text(), args[1].as_text()) {
///         (Some(s), Some(c)) => match c.chars().next() {
///             Some(c) => Value::Int(s.chars().filter(|&x| x == c).count() as i64),
///             None => Value::Null,
///         },
///         _ => Value::Null,
///     }
/// }
/// register_text("count_char", 2, count_char).unwrap();
/// let e = TextExpr::parse("COUNT_CHAR(extra, 'c')", &mut |_| None).unwrap();
/// assert_eq!(e.inputs(), [("extra".to_string(), true)]);
/// assert_eq!(e.eval(&[FieldValue::Str("cacc".into())]), Value::Int(3));
/// ```
pub fn register_text(name: &str, arity: usize, body: TextBody) -> Result<(), String> {
    let upper = name.to_ascii_uppercase();
    let ok = upper
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && upper.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        return Err(format!("`{name}` is not a function name"));
    }
    let taken = BUILT_IN.iter().any(|(n, ..)| *n == upper)
        || upper == "DATE_FORMAT"
        || super::functions::lookup(&upper, 1).is_ok()
        || super::functions::lookup(&upper, 2).is_ok();
    let mut functions = registry().write().unwrap_or_else(|e| e.into_inner());
    if taken || functions.contains_key(&upper) {
        return Err(format!("a function `{upper}` exists already"));
    }
    let leaked: &'static str = Box::leak(upper.clone().into_boxed_str());
    functions.insert(
        upper,
        Registered {
            name: leaked,
            arity,
            body,
        },
    );
    Ok(())
}

/// The registered string function called `name` (any case).
pub(super) fn registered(name: &str) -> Option<Registered> {
    let functions = registry().read().unwrap_or_else(|e| e.into_inner());
    functions.get(&name.to_ascii_uppercase()).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_patterns_print_utc_fields() {
        let p = date_pattern("yyyy-MM-dd").unwrap();
        assert_eq!(format_date(&p, 0), "1970-01-01");
        // 2015-07-15 04:02:03.045 UTC (NEXMark's base time).
        let t = 1_436_932_923_045;
        assert_eq!(format_date(&p, t), "2015-07-15");
        assert_eq!(format_date(&date_pattern("HH:mm").unwrap(), t), "04:02");
        assert_eq!(
            format_date(&date_pattern("yy/M/d H:m:s.SSS 'at' ''").unwrap(), t),
            "15/7/15 4:2:3.045 at '"
        );
        // Before 1970 and a leap day.
        assert_eq!(format_date(&p, -1), "1969-12-31");
        assert_eq!(format_date(&p, 951_782_400_000), "2000-02-29");
    }

    #[test]
    fn unsupported_letters_are_refused_by_name() {
        let e = date_pattern("yyyy-MM-dd EEE").unwrap_err();
        assert!(e.contains("letter `E` is not supported"), "{e}");
        assert!(date_pattern("'open").unwrap_err().contains("not closed"));
    }

    #[test]
    fn split_index_is_null_out_of_range() {
        let s = |x: &str| Value::Str(x.into());
        let f = TextFn::SplitIndex;
        assert_eq!(f.call(&[s("a/b/c"), s("/"), Value::Int(1)]), s("b"));
        assert_eq!(f.call(&[s("a/b/c"), s("/"), Value::Int(3)]), Value::Null);
        assert_eq!(f.call(&[s("a/b/c"), s("/"), Value::Int(-1)]), Value::Null);
        assert_eq!(f.call(&[Value::Null, s("/"), Value::Int(0)]), Value::Null);
        assert_eq!(f.call(&[s("a//b"), s("/"), Value::Int(1)]), s(""));
    }

    #[test]
    fn regexp_extract_takes_a_group() {
        let s = |x: &str| Value::Str(x.into());
        let f = TextFn::RegexpExtract(Regex::new("(&|^)channel_id=([^&]*)").unwrap());
        let url = s("https://x/a?q=1&channel_id=42&b=1");
        assert_eq!(f.call(&[url.clone(), s("_"), Value::Int(2)]), s("42"));
        assert_eq!(f.call(&[url.clone(), s("_"), Value::Int(1)]), s("&"));
        assert_eq!(f.call(&[url.clone(), s("_"), Value::Int(9)]), Value::Null);
        assert_eq!(f.call(&[s("none"), s("_"), Value::Int(2)]), Value::Null);
        // A group that did not take part in the match has no value.
        let g = TextFn::RegexpExtract(Regex::new("a(x)?").unwrap());
        assert_eq!(g.call(&[s("a"), s("_")]), Value::Null);
    }

    #[test]
    fn concat_lower_upper_length() {
        let s = |x: &str| Value::Str(x.into());
        assert_eq!(TextFn::Concat.call(&[s("a"), Value::Int(1)]), s("a1"));
        assert_eq!(TextFn::Concat.call(&[s("a"), Value::Null]), Value::Null);
        assert_eq!(TextFn::Lower.call(&[s("ÄB")]), s("äb"));
        assert_eq!(TextFn::Upper.call(&[s("äb")]), s("ÄB"));
        assert_eq!(TextFn::CharLength.call(&[s("äb")]), Value::Int(2));
        assert_eq!(TextFn::CastString.call(&[Value::Float(2.0)]), s("2.0"));
    }
}
