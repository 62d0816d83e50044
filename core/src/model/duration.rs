//! Durations in query files: `"500ms"`, `"10s"`, `"1m"`, `"1h"` or an integer number of
//! milliseconds. Everything inside streamlab is integer milliseconds, like event times.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A non-negative span of time in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DurationMs(pub i64);

impl DurationMs {
    /// Parses `"500ms"`, `"10s"`, `"1m"`, `"1h"` or a bare integer (milliseconds).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = text.split_at(split);
        if digits.is_empty() {
            return Err(format!(
                "`{text}` is not a duration: expected a whole number and a unit, like \"500ms\", \"10s\", \"1m\" or \"1h\""
            ));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{text}` is too large a duration"))?;
        let scale = match unit.trim() {
            "" | "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            other => {
                return Err(format!(
                    "`{text}` has unknown unit `{other}`: expected ms, s, m or h"
                ))
            }
        };
        n.checked_mul(scale)
            .map(DurationMs)
            .ok_or_else(|| format!("`{text}` is too large a duration"))
    }

    /// The span in milliseconds.
    pub fn ms(self) -> i64 {
        self.0
    }
}

impl fmt::Display for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms != 0 && ms % 3_600_000 == 0 {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms != 0 && ms % 60_000 == 0 {
            write!(f, "{}m", ms / 60_000)
        } else if ms != 0 && ms % 1_000 == 0 {
            write!(f, "{}s", ms / 1_000)
        } else {
            write!(f, "{ms}ms")
        }
    }
}

impl std::str::FromStr for DurationMs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl Serialize for DurationMs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationMs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration such as \"500ms\", \"10s\", \"1m\", \"1h\" or whole milliseconds",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationMs, E> {
                if v < 0 {
                    return Err(E::custom(format!("duration {v} is negative")));
                }
                Ok(DurationMs(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationMs, E> {
                i64::try_from(v)
                    .map(DurationMs)
                    .map_err(|_| E::custom("duration too large"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationMs, E> {
                DurationMs::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(DurationMs::parse("500ms").unwrap().ms(), 500);
        assert_eq!(DurationMs::parse("10s").unwrap().ms(), 10_000);
        assert_eq!(DurationMs::parse("1m").unwrap().ms(), 60_000);
        assert_eq!(DurationMs::parse("1h").unwrap().ms(), 3_600_000);
        assert_eq!(DurationMs::parse("250").unwrap().ms(), 250);
    }

    #[test]
    fn rejects_bad_text() {
        assert!(DurationMs::parse("ten seconds").is_err());
        assert!(DurationMs::parse("10 parsecs").is_err());
        assert!(DurationMs::parse("-5s").is_err());
        assert!(DurationMs::parse("").is_err());
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(DurationMs(10_000).to_string(), "10s");
        assert_eq!(DurationMs(1_500).to_string(), "1500ms");
        assert_eq!(DurationMs(7_200_000).to_string(), "2h");
    }
}
