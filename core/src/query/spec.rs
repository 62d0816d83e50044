//! The query file, key for key: the serde mirror of `queries/*.toml` (unknown keys are
//! errors). Nothing here is checked beyond types; [`Plan::compile`](crate::query::Plan::compile)
//! validates a [`Query`] and resolves it into the plan engines run.
//!
//! The enums a query names whose meaning belongs to a lower layer are defined there and
//! used here: [`OutputMode`] (result rows), [`AggFn`] (accumulators), [`CmpOp`] (filters),
//! [`ColumnType`] (projection columns).

use crate::model::duration::DurationMs;
use crate::ops::column::ColumnType;
use crate::ops::filter::CmpOp;
use crate::semantics::aggregate::AggFn;
use crate::semantics::row::OutputMode;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Which clock places events in windows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TimeDomain {
    /// The event's own time field.
    #[default]
    Event,
    /// The wall clock when the engine handles the event (not reproducible by nature).
    Processing,
}

/// The three window shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WindowKind {
    /// Fixed, non-overlapping windows of `size`.
    Tumbling,
    /// Windows of `size` starting every `slide`.
    Sliding,
    /// Per-key activity periods separated by `gap`.
    Session,
}

/// `[watermark]` table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatermarkQuery {
    /// Bounded out-of-orderness D: the watermark is max event time - D.
    pub delay: DurationMs,
}

/// `[window]` table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowQuery {
    /// tumbling | sliding | session.
    pub kind: WindowKind,
    /// Window length (tumbling, sliding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<DurationMs>,
    /// Distance between window starts (sliding).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide: Option<DurationMs>,
    /// Inactivity gap that ends a session (session).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap: Option<DurationMs>,
    /// event | processing.
    #[serde(default)]
    pub time: TimeDomain,
}

/// A constant in a query file: string, integer, float or boolean.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `"view"`
    Str(String),
    /// `200`
    Int(i64),
    /// `0.5`
    Float(f64),
    /// `true`
    Bool(bool),
}

impl Serialize for Literal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Literal::Str(v) => s.serialize_str(v),
            Literal::Int(v) => s.serialize_i64(*v),
            Literal::Float(v) => s.serialize_f64(*v),
            Literal::Bool(v) => s.serialize_bool(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Literal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Literal;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Literal, E> {
                Ok(Literal::Str(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Literal, E> {
                Ok(Literal::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Literal, E> {
                i64::try_from(v)
                    .map(Literal::Int)
                    .map_err(|_| E::custom("integer too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Literal, E> {
                Ok(Literal::Float(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Literal, E> {
                Ok(Literal::Bool(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `[[filter]]` entry: keep events where `field op value`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterQuery {
    /// Input field compared.
    pub field: String,
    /// Comparison.
    pub op: CmpOp,
    /// Constant compared against (a list for `in`).
    pub value: FilterValue,
}

/// The right-hand side of a filter: one constant, or a list of them for `in`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// `value = ["OR", "ID", "CA"]`
    List(Vec<Literal>),
    /// `value = "view"`
    One(Literal),
}

/// `[[aggregate]]` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AggregateQuery {
    /// Function.
    #[serde(rename = "fn")]
    pub func: AggFn,
    /// Input field (not for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Output column name.
    #[serde(rename = "as")]
    pub name: String,
    /// Window join only: the `[[input]]` whose events this aggregate sees (without it,
    /// `count` counts joined pairs; see [`crate::ops::joins::window`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// `[[input]]`: one of several named inputs the query reads the union of, each a source
/// with its own event-time field and watermark delay (its own watermark; the query's is
/// the minimum over the inputs, as Spark's `multipleWatermarkPolicy = min` and Flink's
/// union of streams have it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputQuery {
    /// Name, unique among the inputs (for messages and results).
    pub name: String,
    /// JSON Lines file; a relative path is relative to the query file's directory.
    pub path: String,
    /// Its integer millisecond event-time field (default: the query's `event_time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// Its watermark delay (default: the query's `[watermark] delay`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watermark_delay: Option<DurationMs>,
    /// Its group-key fields, as many as the query's `group_by`, whose names the result
    /// columns keep (default: the query's `group_by`): a window join matches persons'
    /// `id` with auctions' `seller`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Regular join only: the field whose value must equal the other input's `on` field
    /// (persons' `id`, auctions' `seller`); see [`crate::ops::joins::regular`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
    /// `[[input.filter]]`: only the lines of the file where all hold belong to the input
    /// (so two inputs can read the persons and the auctions of one NEXMark file).
    #[serde(default, rename = "filter", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterQuery>,
}

/// How a `[[join]]` joins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JoinKind {
    /// With a fixed table (stream-static join, see [`crate::ops::joins::static_table`]).
    Static,
    /// The query's `[[input]]`s with each other, per window and key (stream-stream
    /// window join, see [`crate::ops::joins::window`]).
    Window,
    /// Two `[[input]]`s on their `on` fields, without windows: every pair of events with
    /// equal keys, whenever each arrived (Flink's regular join, Spark's stream-stream
    /// inner join without a time bound; see [`crate::ops::joins::regular`]).
    Regular,
}

/// `[[join]]`: enrich every event with a table's row (`static`), join the inputs
/// within each window (`window`), or pair their events on a key at any distance in time
/// (`regular`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinQuery {
    /// `static`, `window` or `regular`.
    pub kind: JoinKind,
    /// Static: CSV (with a header line) or JSON Lines file; relative to the query file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Static: the field of the events and the column of the table that must be equal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<String>,
}

/// A query file, key for key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    /// Integer millisecond field holding event time (required for event-time windows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    /// Group-by fields (zero or more).
    #[serde(default)]
    pub group_by: Vec<String>,
    /// append | update | complete.
    #[serde(default)]
    pub output_mode: OutputMode,
    /// Watermark settings (delay 0 when absent).
    #[serde(default)]
    pub watermark: WatermarkQuery,
    /// Window settings (absent: a projection, one row per event; see [`crate::ops::projection`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowQuery>,
    /// Filters, all of which must hold.
    #[serde(default, rename = "filter", skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<FilterQuery>,
    /// Aggregates (one or more).
    #[serde(default, rename = "aggregate")]
    pub aggregates: Vec<AggregateQuery>,
    /// Several inputs whose union is read (none: the input comes from `--input`).
    #[serde(default, rename = "input", skip_serializing_if = "Vec::is_empty")]
    pub inputs: Vec<InputQuery>,
    /// A stream-static join (at most one).
    #[serde(default, rename = "join", skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<JoinQuery>,
    /// Columns of a query without `[window]` (one row per event).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub select: Vec<SelectQuery>,
    /// A projection's condition on computed values, e.g. `auction % 123 = 0`.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// `format = "csv"`: how the input's lines are written (absent: JSON Lines, or CSV
    /// for an `--input` file named `*.csv`), so the lab reads the files Spark and Flink do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<InputFormat>,
    /// `columns = [...]`: a CSV input's column names in order, for files without a header
    /// line (absent: the file's line 0 is its header).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// `[[stage]]`: later stages, each reading the rows of an earlier one (see
    /// [`crate::ops::stages`]); none: today's one-stage query.
    #[serde(default, rename = "stage", skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageQuery>,
}

/// `format`: how an input's lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    /// One JSON object a line (JSON Lines).
    #[default]
    Json,
    /// Comma-separated values (RFC 4180 quoting), a header line or declared `columns`.
    Csv,
}

/// `[[select]]` entry: an input field (`field`, optional `as` and `type`) or a computed
/// column (`as` and `expr`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectQuery {
    /// Input field passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Output column name (default for a field: its name; required with `expr`).
    #[serde(default, rename = "as", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arithmetic over numeric fields (see [`crate::ops::expr`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// Type of `field` (number when absent).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub ty: Option<ColumnType>,
    /// Regular join only: the `[[input]]` whose event the column is read from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
}

/// What a `[[stage]]` does with the rows it reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// GROUP BY without a window: one row per group, revised as its input changes.
    Aggregate,
    /// The first `n` rows of each partition in an order (`ROW_NUMBER() <= n`; with
    /// `n = 1` and a time order, dedup).
    TopN,
}

/// `[[stage]]`: a stage after the first (the first is the query's top-level keys, named
/// `"first"`), reading an earlier stage's rows (its changelog).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageQuery {
    /// Name, for later stages' `input` and for messages (default `stage<i>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The stage whose rows it reads: `"first"` or an earlier stage's name (default:
    /// the stage before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `aggregate` or `top_n`.
    pub kind: StageKind,
    /// `[[stage.compute]]`: columns computed from the input row before anything else.
    #[serde(default, rename = "compute", skip_serializing_if = "Vec::is_empty")]
    pub computed: Vec<ComputeQuery>,
    /// Conditions (`expr op expr`, as a projection's `where`) every input row must meet
    /// to reach the stage, after `compute`; the others are dropped (a changelog row and
    /// its retraction alike, so they cancel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<String>,
    /// Aggregate: the group columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// Aggregate: `[[stage.aggregate]]`.
    #[serde(default, rename = "aggregate", skip_serializing_if = "Vec::is_empty")]
    pub aggregates: Vec<StageAggregateQuery>,
    /// Top-N: the partition columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partition_by: Vec<String>,
    /// Top-N: `"column"` or `"column desc"` (or `asc`), most significant first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order_by: Vec<String>,
    /// Top-N: rows kept per partition.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Top-N: the name of a column holding each row's rank (1..=n); absent: no rank
    /// column (Flink drops an unselected `ROW_NUMBER`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<String>,
}

/// `[[stage.compute]]`: a number computed from the row (see [`crate::ops::expr`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeQuery {
    /// Column name.
    #[serde(rename = "as")]
    pub name: String,
    /// Arithmetic over the row's number columns.
    pub expr: String,
}

/// `[[stage.aggregate]]`: like `[[aggregate]]`, over a stage's rows, optionally only
/// those where `where` holds (SQL's `FILTER (WHERE ...)`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageAggregateQuery {
    /// count | sum | min | max | avg.
    #[serde(rename = "fn")]
    pub func: AggFn,
    /// Input column (not for `count`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Output column name.
    #[serde(rename = "as")]
    pub name: String,
    /// Only rows where this condition holds are aggregated.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}
