//! Errors that point into the SQL text: the line and column of the token at fault, what is
//! wrong, and for a misspelt name the closest one declared ("did you mean").

use sqlparser::parser::ParserError;
use sqlparser::tokenizer::{Location, Span};

/// A fault in a SQL script at a line and column (1-based; 0 when the place is unknown).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    /// Line, from 1 (0: the whole script).
    pub line: u64,
    /// Column, from 1.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl SqlError {
    /// An error at `span`'s start.
    pub fn at(span: Span, message: impl Into<String>) -> SqlError {
        SqlError::at_location(span.start, message)
    }

    /// An error at `location`.
    pub fn at_location(location: Location, message: impl Into<String>) -> SqlError {
        SqlError {
            line: location.line,
            column: location.column,
            message: message.into(),
        }
    }

    /// An error of the script as a whole (no place to point at).
    pub fn whole(message: impl Into<String>) -> SqlError {
        SqlError {
            line: 0,
            column: 0,
            message: message.into(),
        }
    }

    /// "line L, column C: message", or the message alone without a place.
    pub fn located(&self) -> String {
        if self.line == 0 {
            self.message.clone()
        } else {
            format!(
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// sqlparser's error, whose text ends in "at Line: L, Column: C", as a [`SqlError`] at
/// that place with the place cut from the message.
impl From<ParserError> for SqlError {
    fn from(e: ParserError) -> SqlError {
        let text = match e {
            ParserError::TokenizerError(s) | ParserError::ParserError(s) => s,
            ParserError::RecursionLimitExceeded => {
                return SqlError::whole("the statement nests too deeply (sqlparser's limit)")
            }
        };
        let Some(at) = text.rfind(" at Line: ") else {
            return SqlError::whole(text);
        };
        let place = &text[at + " at Line: ".len()..];
        let mut numbers = place
            .split(", Column: ")
            .map(|n| n.trim().parse::<u64>().ok());
        match (numbers.next().flatten(), numbers.next().flatten()) {
            (Some(line), Some(column)) => SqlError {
                line,
                column,
                message: text[..at].trim_end_matches(',').to_owned(),
            },
            _ => SqlError::whole(text),
        }
    }
}

/// "; did you mean `x`?" for the declared name closest to `name` (at most two edits
/// away, ignoring case), or nothing.
pub fn did_you_mean<'a>(name: &str, declared: impl IntoIterator<Item = &'a str>) -> String {
    let lower = name.to_lowercase();
    declared
        .into_iter()
        .map(|d| (edit_distance(&lower, &d.to_lowercase()), d))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, d)| format!("; did you mean `{d}`?"))
        .unwrap_or_default()
}

/// Levenshtein distance (two rows).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut row = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            row.push((prev[j] + cost).min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_near_name_is_suggested_and_a_far_one_is_not() {
        assert_eq!(
            did_you_mean("vlaue", ["key", "value"]),
            "; did you mean `value`?"
        );
        assert_eq!(did_you_mean("price", ["key", "value"]), "");
    }

    #[test]
    fn the_parsers_place_becomes_the_errors() {
        let e = SqlError::from(ParserError::ParserError(
            "Expected: ), found: clicks at Line: 3, Column: 65".into(),
        ));
        assert_eq!((e.line, e.column), (3, 65));
        assert_eq!(e.message, "Expected: ), found: clicks");
    }
}
