//! The query a command is given: a TOML file, a `.sql` script or `--sql` text, compiled
//! into the plan (its join table loaded), with the command line's SQL options.

use crate::args::QueryArgs;
use anyhow::{bail, Result};
use std::path::Path;
use streamlab_core::query::sql::{is_sql_file, SqlOptions};
use streamlab_core::Plan;
use streamlab_io::tables::with_join_table;

impl QueryArgs {
    /// The query file, or an empty path for `--sql` text.
    pub fn path(&self) -> &Path {
        self.file.as_deref().unwrap_or(Path::new(""))
    }

    /// The folder a relative path in the query is read from: the file's, or the current
    /// one for `--sql` text.
    pub fn base(&self) -> &Path {
        match self.path().parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        }
    }

    /// How messages name the query.
    pub fn shown(&self) -> String {
        match &self.file {
            Some(f) => f.display().to_string(),
            None => "the --sql query".to_owned(),
        }
    }

    /// Whether the query is SQL (a `.sql` file or `--sql`).
    pub fn is_sql(&self) -> bool {
        self.sql.is_some() || self.file.as_deref().is_some_and(is_sql_file)
    }

    /// The compiled plan, its join table loaded; the SQL options are refused for TOML.
    pub fn load(&self) -> Result<Plan> {
        let options = SqlOptions {
            output_mode: self.output_mode,
            watermark: self.watermark,
        };
        let plan = match (&self.sql, &self.file) {
            (Some(text), _) => Plan::from_sql(text, &options)?,
            (None, Some(file)) if is_sql_file(file) => Plan::from_sql_file(file, &options)?,
            (None, Some(file)) => {
                if self.output_mode.is_some() {
                    bail!(
                        "--output-mode is for SQL queries: {} (TOML) sets output_mode in its file",
                        file.display()
                    );
                }
                if self.watermark.is_some() {
                    bail!("--watermark is for SQL queries: {} (TOML) sets [watermark] delay in its file", file.display());
                }
                Plan::from_file(file)?
            }
            (None, None) => bail!("give the query: --query FILE (TOML or .sql) or --sql 'TEXT'"),
        };
        with_join_table(plan, self.base())
    }
}
