//! Why a query cannot run: every error names the file (when there is one) and the key at
//! fault, e.g. `window.slide`, so that a person can fix the file without reading code.

/// A query that cannot run, naming the file (when there is one) and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The file could not be read.
    #[error("cannot read query file {path}: {cause}")]
    Read {
        /// File.
        path: String,
        /// Cause (not a `source`: the message says it already, and a caller printing the
        /// error's chain would say it twice).
        cause: std::io::Error,
    },
    /// Not valid TOML, or keys/types not of the query format.
    #[error("bad query file {path}: {message}")]
    Syntax {
        /// File.
        path: String,
        /// The parser's message (it names the key, line and column).
        message: String,
    },
    /// A SQL script the lab cannot run, at a line and column of its text (see
    /// [`crate::query::sql`]).
    #[error("bad query{}: {}{snippet}", path.as_ref().map(|p| format!(" file {p}")).unwrap_or_default(), error.located())]
    Sql {
        /// File, when the script came from one.
        path: Option<String>,
        /// Where and what.
        error: crate::query::sql::SqlError,
        /// The line at fault with a caret under the column (empty without a place).
        snippet: String,
    },
    /// Well-formed but inconsistent.
    #[error("bad query{}: `{key}`: {message}", path.as_ref().map(|p| format!(" file {p}")).unwrap_or_default())]
    Invalid {
        /// File, when the query came from one.
        path: Option<String>,
        /// The offending key, e.g. `window.slide`.
        key: String,
        /// What was expected.
        message: String,
    },
}

/// A [`QueryError::Invalid`] of `key` (the file is added by
/// [`Plan::from_file`](crate::query::Plan::from_file)).
pub(crate) fn invalid(key: impl Into<String>, message: impl Into<String>) -> QueryError {
    QueryError::Invalid {
        path: None,
        key: key.into(),
        message: message.into(),
    }
}
