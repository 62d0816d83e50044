//! The query model: a TOML file (see `queries/*.toml`) or the same plan built in Rust.
//!
//! [`Query`] mirrors the file one to one (unknown keys are errors); [`Plan`] is the
//! validated, compiled form the engines run: it knows which input fields each event must
//! carry ([`Slot`]s), with which type, and resolves filters and aggregates to them.

use crate::duration::DurationMs;
use crate::value::Scalar;
use crate::window::WindowSpec;
pub use crate::window_join::RowRule;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::Path;

/// When results are emitted and what is kept (semantics.md, "Output modes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputMode {
    /// Each (window, key) once, when its window closes.
    #[default]
    Append,
    /// Every changed (window, key) at each emission point.
    Update,
    /// The whole table at each emission point; nothing evicted, nothing late.
    Complete,
}

impl OutputMode {
    /// Whether rows of this mode carry an `emit` number.
    pub fn has_emit(self) -> bool {
        !matches!(self, OutputMode::Append)
    }
}

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

/// Comparison operators of `[[filter]]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CmpOp {
    /// equal
    Eq,
    /// not equal
    Ne,
    /// less than
    Lt,
    /// less than or equal
    Le,
    /// greater than
    Gt,
    /// greater than or equal
    Ge,
    /// equal to one of a list (`value = ["OR", "ID", "CA"]`, SQL's `IN`); filters only
    In,
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

/// Aggregate functions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AggFn {
    /// Number of events.
    Count,
    /// Sum of a numeric field (integer while every input is an integer).
    Sum,
    /// Smallest value of a numeric field.
    Min,
    /// Largest value of a numeric field.
    Max,
    /// Mean of a numeric field, as a float.
    Avg,
    /// Number of distinct values of a field.
    CountDistinct,
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
    /// `count` counts joined pairs; see [`crate::window_join`]).
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
    /// (persons' `id`, auctions' `seller`); see [`crate::regular_join`].
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
    /// With a fixed table (stream-static join, see [`crate::join`]).
    Static,
    /// The query's `[[input]]`s with each other, per window and key (stream-stream
    /// window join, see [`crate::window_join`]).
    Window,
    /// Two `[[input]]`s on their `on` fields, without windows: every pair of events with
    /// equal keys, whenever each arrived (Flink's regular join, Spark's stream-stream
    /// inner join without a time bound; see [`crate::regular_join`]).
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
    /// Window settings (absent: a projection, one row per event; see [`crate::projection`]).
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
    pub select: Vec<crate::projection::SelectQuery>,
    /// A projection's condition on computed values, e.g. `auction % 123 = 0`.
    #[serde(default, rename = "where", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// A query that cannot run, naming the file (when there is one) and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The file could not be read.
    #[error("cannot read query file {path}: {source}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not valid TOML, or keys/types not of the query format.
    #[error("bad query file {path}: {message}")]
    Syntax {
        /// File.
        path: String,
        /// The parser's message (it names the key, line and column).
        message: String,
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

fn invalid(key: impl Into<String>, message: impl Into<String>) -> QueryError {
    QueryError::Invalid {
        path: None,
        key: key.into(),
        message: message.into(),
    }
}

/// The type a slot's field must have in every event (else the event is malformed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SlotType {
    /// A JSON number.
    Number,
    /// A JSON string.
    String,
    /// A JSON boolean.
    Bool,
    /// Any scalar (string, number or boolean), for `count_distinct`.
    Any,
}

/// A field carried in [`crate::event::Event::fields`], in slot order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// Input field name.
    pub field: String,
    /// Type every event must have there.
    pub ty: SlotType,
    /// The one input whose events must carry it (an aggregate of a window join that
    /// names its input); `None`: every event.
    #[serde(default)]
    pub input: Option<crate::event::Part>,
}

/// A compiled filter: `fields[slot] op value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicate {
    /// Index into the event's fields.
    pub slot: usize,
    /// Comparison.
    pub op: CmpOp,
    /// Constant; strings are interned with ids `0..` in [`Plan::string_constants`] order.
    /// For `in`, the list's first constant.
    pub value: Scalar,
    /// For `in`: every constant of the list (empty otherwise).
    pub one_of: std::sync::Arc<[Scalar]>,
}

impl Predicate {
    /// Whether the event field satisfies the predicate. The decoder guarantees the field
    /// has the type of the constant, so only like types are ever compared here.
    #[inline]
    pub fn holds(&self, field: Scalar) -> bool {
        use std::cmp::Ordering::*;
        match self.op {
            CmpOp::Eq => field == self.value || field.cmp_numeric(self.value) == Some(Equal),
            CmpOp::Ne => !(field == self.value || field.cmp_numeric(self.value) == Some(Equal)),
            CmpOp::Lt => field.cmp_numeric(self.value) == Some(Less),
            CmpOp::Le => matches!(field.cmp_numeric(self.value), Some(Less | Equal)),
            CmpOp::Gt => field.cmp_numeric(self.value) == Some(Greater),
            CmpOp::Ge => matches!(field.cmp_numeric(self.value), Some(Greater | Equal)),
            CmpOp::In => self
                .one_of
                .iter()
                .any(|v| field == *v || field.cmp_numeric(*v) == Some(Equal)),
        }
    }
}

/// A compiled aggregate.
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    /// Function.
    pub func: AggFn,
    /// Index into the event's fields (`None` for `count`).
    pub slot: Option<usize>,
    /// Output column name.
    pub name: String,
    /// Only events of this input are folded in (window join); `None`: every event.
    pub input: Option<crate::event::Part>,
}

/// A compiled `[[input]]`.
#[derive(Clone, Debug, PartialEq)]
pub struct InputSpec {
    /// Name.
    pub name: String,
    /// File, as written in the query (relative to the query file).
    pub path: String,
    /// Event-time field (None only for processing-time plans without one).
    pub time_field: Option<String>,
    /// Watermark delay in ms.
    pub delay_ms: i64,
    /// Group-key fields, in the order of the query's `group_by`.
    pub group_by: Vec<String>,
    /// Which lines of the file belong to the input: the decoder drops the others
    /// (counted as filtered), as a source that reads only its own records would, so the
    /// engines never see them. Their slots are the input's own.
    pub filters: Vec<Predicate>,
}

/// A validated query, ready for the engines.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The query it was compiled from (printed into results folders).
    pub query: Query,
    /// Window shape.
    pub window: WindowSpec,
    /// Clock that places events in windows.
    pub time: TimeDomain,
    /// Watermark delay D in ms.
    pub delay_ms: i64,
    /// Output mode.
    pub mode: OutputMode,
    /// Fields each event carries, in order.
    pub slots: Vec<Slot>,
    /// All must hold.
    pub filters: Vec<Predicate>,
    /// The result columns, in output order.
    pub aggregates: Vec<AggSpec>,
    /// What the state of every (window, key) holds: the accumulators engines create and
    /// fold events into (`Accs::new(&plan.accumulators)`). The aggregates themselves,
    /// except in a window join, which also counts each input's events.
    pub accumulators: Vec<AggSpec>,
    /// How a (window, key)'s accumulators become its row, if it has one: the one rule
    /// every engine and the oracle apply (see [`RowRule::values`]).
    pub row_rule: RowRule,
    /// String constants of the filters; constant `i` is interned as id `i`.
    pub string_constants: Vec<String>,
    /// Named inputs, whose index is their events' [`crate::event::Event::part`] (empty:
    /// one input from the command line).
    pub inputs: Vec<InputSpec>,
    /// The stream-static join's table, once loaded (the harness reads the file named by
    /// `query.joins`; see [`Plan::with_table`]).
    pub table: Option<LoadedTable>,
    /// A query without `[window]`: its columns. Engines branch on it before anything
    /// windowed; `window` is then an unused 1 ms tumbling window and `aggregates` empty.
    pub projection: Option<crate::projection::Projection>,
}

/// A loaded join table, shared by every decoder of the plan.
#[derive(Clone, Debug)]
pub struct LoadedTable(pub std::sync::Arc<crate::join::StaticTable>);

impl PartialEq for LoadedTable {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

const RESERVED: [&str; 3] = ["window_start", "window_end", "emit"];

impl Plan {
    /// Reads and compiles a query file; errors name the file and the key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Plan, QueryError> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| QueryError::Read {
            path: shown.clone(),
            source,
        })?;
        Plan::from_toml(&text).map_err(|e| match e {
            QueryError::Syntax { message, .. } => QueryError::Syntax {
                path: shown,
                message,
            },
            QueryError::Invalid { key, message, .. } => QueryError::Invalid {
                path: Some(shown),
                key,
                message,
            },
            other => other,
        })
    }

    /// Parses and compiles query text.
    pub fn from_toml(text: &str) -> Result<Plan, QueryError> {
        let query: Query = toml::from_str(text).map_err(|e| QueryError::Syntax {
            path: "<text>".into(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        Plan::compile(query)
    }

    /// Validates a query and resolves its fields.
    pub fn compile(query: Query) -> Result<Plan, QueryError> {
        let projected = query.window.is_none();
        if projected {
            crate::projection::check_query(&query)?;
        } else if !query.select.is_empty() {
            return Err(invalid(
                "select",
                "a query with [window] aggregates: its columns are the [[aggregate]]s (leave out [window] for one row per event)",
            ));
        } else if query.condition.is_some() {
            return Err(invalid(
                "where",
                "only for queries without [window]; a windowed query filters with [[filter]]",
            ));
        }
        const NO_WINDOW: WindowQuery = WindowQuery {
            kind: WindowKind::Tumbling,
            size: Some(DurationMs(1)),
            slide: None,
            gap: None,
            time: TimeDomain::Event,
        };
        let w = query.window.as_ref().unwrap_or(&NO_WINDOW);
        let positive = |key: &str, d: Option<DurationMs>| -> Result<i64, QueryError> {
            match d {
                None => Err(invalid(
                    key,
                    format!("required for a {:?} window", w.kind).to_lowercase(),
                )),
                Some(d) if d.ms() <= 0 => Err(invalid(key, "must be greater than zero")),
                Some(d) => Ok(d.ms()),
            }
        };
        let unused = |key: &str, d: Option<DurationMs>| -> Result<(), QueryError> {
            match d {
                Some(_) => Err(invalid(
                    key,
                    format!("not used by a {:?} window", w.kind).to_lowercase(),
                )),
                None => Ok(()),
            }
        };
        let window = match w.kind {
            WindowKind::Tumbling => {
                unused("window.slide", w.slide)?;
                unused("window.gap", w.gap)?;
                WindowSpec::Tumbling {
                    size: positive("window.size", w.size)?,
                }
            }
            WindowKind::Sliding => {
                unused("window.gap", w.gap)?;
                let size = positive("window.size", w.size)?;
                let slide = positive("window.slide", w.slide)?;
                if size % slide != 0 {
                    return Err(invalid(
                        "window.slide",
                        format!(
                            "must divide window.size ({} does not divide {})",
                            DurationMs(slide),
                            DurationMs(size)
                        ),
                    ));
                }
                WindowSpec::Sliding { size, slide }
            }
            WindowKind::Session => {
                unused("window.size", w.size)?;
                unused("window.slide", w.slide)?;
                WindowSpec::Session {
                    gap: positive("window.gap", w.gap)?,
                }
            }
        };
        let every_input_has_time =
            !query.inputs.is_empty() && query.inputs.iter().all(|i| i.event_time.is_some());
        if !projected
            && w.time == TimeDomain::Event
            && query.event_time.is_none()
            && !every_input_has_time
        {
            return Err(invalid(
                "event_time",
                "required for event-time windows: name the integer millisecond field",
            ));
        }
        let mut inputs = Vec::new();
        for (i, input) in query.inputs.iter().enumerate() {
            let key = format!("input[{i}]");
            if input.name.is_empty() {
                return Err(invalid(format!("{key}.name"), "must not be empty"));
            }
            if query.inputs[..i].iter().any(|o| o.name == input.name) {
                return Err(invalid(
                    format!("{key}.name"),
                    format!("`{}` names two inputs", input.name),
                ));
            }
            if input.path.is_empty() {
                return Err(invalid(format!("{key}.path"), "must not be empty"));
            }
            if input.event_time.as_deref() == Some("") {
                return Err(invalid(format!("{key}.event_time"), "must not be empty"));
            }
            let delay_ms = input.watermark_delay.unwrap_or(query.watermark.delay).ms();
            if delay_ms < 0 {
                return Err(invalid(
                    format!("{key}.watermark_delay"),
                    "must not be negative",
                ));
            }
            let group_by = match &input.group_by {
                None => query.group_by.clone(),
                Some(fields) => {
                    if fields.len() != query.group_by.len() {
                        return Err(invalid(
                            format!("{key}.group_by"),
                            format!(
                                "names {} fields, the query's group_by {}: each input's key must have the same arity",
                                fields.len(),
                                query.group_by.len()
                            ),
                        ));
                    }
                    for (j, f) in fields.iter().enumerate() {
                        if f.is_empty() {
                            return Err(invalid(
                                format!("{key}.group_by"),
                                "field names must not be empty",
                            ));
                        }
                        if fields[..j].contains(f) {
                            return Err(invalid(
                                format!("{key}.group_by"),
                                format!("`{f}` is listed twice"),
                            ));
                        }
                    }
                    fields.clone()
                }
            };
            inputs.push(InputSpec {
                name: input.name.clone(),
                path: input.path.clone(),
                time_field: input
                    .event_time
                    .clone()
                    .or_else(|| query.event_time.clone()),
                delay_ms,
                group_by,
                filters: Vec::new(),
            });
        }
        let window_join = match query.joins.as_slice() {
            [] => false,
            [j] if j.kind == JoinKind::Static => {
                for (k, v) in [("table", &j.table), ("on", &j.on)] {
                    match v.as_deref() {
                        None => {
                            return Err(invalid(
                                format!("join[0].{k}"),
                                "required for a static join",
                            ))
                        }
                        Some("") => {
                            return Err(invalid(format!("join[0].{k}"), "must not be empty"))
                        }
                        Some(_) => {}
                    }
                }
                false
            }
            [j] if j.kind == JoinKind::Regular => {
                crate::regular_join::check_query(&query, j)?;
                for (spec, input) in inputs.iter_mut().zip(&query.inputs) {
                    spec.group_by = vec![input.on.clone().expect("checked")];
                }
                false
            }
            [j] => {
                for (k, v) in [("table", &j.table), ("on", &j.on)] {
                    if v.is_some() {
                        return Err(invalid(
                            format!("join[0].{k}"),
                            "not used by a window join: it joins the [[input]]s on their group_by fields",
                        ));
                    }
                }
                if inputs.len() < 2 {
                    return Err(invalid(
                        "join[0].kind",
                        "a window join joins two or more [[input]]s; name them in the query",
                    ));
                }
                true
            }
            _ => return Err(invalid("join", "one [[join]] per query for now")),
        };
        let regular_join = query
            .joins
            .first()
            .is_some_and(|j| j.kind == JoinKind::Regular);
        if !regular_join {
            if let Some(i) = query.inputs.iter().position(|i| i.on.is_some()) {
                return Err(invalid(
                    format!("input[{i}].on"),
                    "only a regular join ([[join]] kind = \"regular\") joins inputs on a field",
                ));
            }
        }
        if inputs.len() > usize::from(crate::event::Part::MAX) {
            return Err(invalid("input", "too many inputs"));
        }
        if query.event_time.as_deref() == Some("") {
            return Err(invalid("event_time", "must not be empty"));
        }
        for (i, g) in query.group_by.iter().enumerate() {
            if g.is_empty() {
                return Err(invalid("group_by", "field names must not be empty"));
            }
            if query.group_by[..i].contains(g) {
                return Err(invalid("group_by", format!("`{g}` is listed twice")));
            }
            if RESERVED.contains(&g.as_str()) {
                return Err(invalid(
                    "group_by",
                    format!("`{g}` clashes with a result column"),
                ));
            }
        }
        if query.aggregates.is_empty() && !projected {
            return Err(invalid(
                "aggregate",
                "at least one [[aggregate]] is required",
            ));
        }

        let mut slots: Vec<Slot> = Vec::new();
        // One slot per field and scope (every event, or one input's events only).
        let mut slot_for = |field: &str,
                            ty: SlotType,
                            key: &str,
                            input: Option<crate::event::Part>|
         -> Result<usize, QueryError> {
            if let Some(i) = slots
                .iter()
                .position(|s| s.field == field && s.input == input)
            {
                let have = slots[i].ty;
                let merged = match (have, ty) {
                    (a, b) if a == b => a,
                    (SlotType::Any, b) => b,
                    (a, SlotType::Any) => a,
                    (a, b) => {
                        return Err(invalid(
                            key,
                            format!(
                                "field `{field}` is used both as {a:?} and as {b:?}: no event could satisfy both"
                            )
                            .to_lowercase(),
                        ))
                    }
                };
                slots[i].ty = merged;
                Ok(i)
            } else {
                slots.push(Slot {
                    field: field.to_owned(),
                    ty,
                    input,
                });
                Ok(slots.len() - 1)
            }
        };

        let mut string_constants = Vec::new();
        // `[[filter]]`s hold for every event; an input's `[[input.filter]]`s select the
        // lines of its file that belong to it (checked while decoding, see InputSpec).
        let scoped_filters = std::iter::once((None, "filter".to_owned(), &query.filters)).chain(
            query.inputs.iter().enumerate().map(|(i, input)| {
                (
                    Some(i as crate::event::Part),
                    format!("input[{i}].filter"),
                    &input.filters,
                )
            }),
        );
        let mut filters = Vec::new();
        for (scope, prefix, list) in scoped_filters {
            for (i, f) in list.iter().enumerate() {
                let key = format!("{prefix}[{i}]");
                if f.field.is_empty() {
                    return Err(invalid(format!("{key}.field"), "must not be empty"));
                }
                let ordered = !matches!(f.op, CmpOp::Eq | CmpOp::Ne | CmpOp::In);
                let literals: &[Literal] = match (&f.value, f.op) {
                    (FilterValue::List(list), CmpOp::In) if list.is_empty() => {
                        return Err(invalid(
                            format!("{key}.value"),
                            "`in` needs at least one value",
                        ))
                    }
                    (FilterValue::List(list), CmpOp::In) => list,
                    (FilterValue::One(_), CmpOp::In) => {
                        return Err(invalid(
                            format!("{key}.value"),
                            "`in` takes a list of values, e.g. value = [\"OR\", \"ID\"]",
                        ))
                    }
                    (FilterValue::List(_), op) => {
                        return Err(invalid(
                            format!("{key}.value"),
                            format!("a list of values is for `in`; {op:?} compares with one")
                                .to_lowercase(),
                        ))
                    }
                    (FilterValue::One(one), _) => std::slice::from_ref(one),
                };
                let mut ty = None;
                let mut values = Vec::with_capacity(literals.len());
                for literal in literals {
                    let (t, value) = match literal {
                        Literal::Int(v) => (SlotType::Number, Scalar::Int(*v)),
                        Literal::Float(v) => (SlotType::Number, Scalar::Float(*v)),
                        Literal::Bool(v) if !ordered => (SlotType::Bool, Scalar::Bool(*v)),
                        Literal::Str(v) if !ordered => {
                            let id = match string_constants.iter().position(|s| s == v) {
                                Some(id) => id,
                                None => {
                                    string_constants.push(v.clone());
                                    string_constants.len() - 1
                                }
                            };
                            (SlotType::String, Scalar::Str(id as u32))
                        }
                        _ => {
                            return Err(invalid(
                                format!("{key}.op"),
                                format!(
                                    "{:?} compares numbers only; use eq, ne or in for strings and booleans",
                                    f.op
                                )
                                .to_lowercase(),
                            ))
                        }
                    };
                    if ty.is_some_and(|have| have != t) {
                        return Err(invalid(
                            format!("{key}.value"),
                            "the values of one `in` list must all have one type",
                        ));
                    }
                    ty = Some(t);
                    values.push(value);
                }
                let ty = ty.expect("at least one value");
                let slot = slot_for(&f.field, ty, &format!("{key}.field"), scope)?;
                let predicate = Predicate {
                    slot,
                    op: f.op,
                    value: values[0],
                    one_of: if f.op == CmpOp::In {
                        values.into()
                    } else {
                        std::sync::Arc::from([])
                    },
                };
                match scope {
                    None => filters.push(predicate),
                    Some(p) => inputs[usize::from(p)].filters.push(predicate),
                }
            }
        }

        let mut aggregates = Vec::new();
        for (i, a) in query.aggregates.iter().enumerate() {
            let key = format!("aggregate[{i}]");
            if a.name.is_empty() {
                return Err(invalid(format!("{key}.as"), "must not be empty"));
            }
            if RESERVED.contains(&a.name.as_str()) || query.group_by.contains(&a.name) {
                return Err(invalid(
                    format!("{key}.as"),
                    format!("`{}` clashes with another result column", a.name),
                ));
            }
            if query.aggregates[..i].iter().any(|b| b.name == a.name) {
                return Err(invalid(
                    format!("{key}.as"),
                    format!("`{}` is used twice", a.name),
                ));
            }
            let input = match &a.input {
                None => None,
                Some(_) if !window_join => return Err(invalid(
                    format!("{key}.input"),
                    "only a window join ([[join]] kind = \"window\") has aggregates of one input",
                )),
                Some(name) => match inputs.iter().position(|i| i.name == *name) {
                    Some(i) => Some(i as crate::event::Part),
                    None => {
                        return Err(invalid(
                            format!("{key}.input"),
                            format!("no [[input]] is named `{name}`"),
                        ))
                    }
                },
            };
            if window_join && input.is_none() && a.func != AggFn::Count {
                return Err(invalid(
                    format!("{key}.input"),
                    format!(
                        "in a window join {:?} must name the input whose field it reads (input = \"...\"); only count (of joined pairs) may leave it out",
                        a.func
                    )
                    .to_lowercase(),
                ));
            }
            let slot = match (a.func, &a.field) {
                (AggFn::Count, None) => None,
                (AggFn::Count, Some(_)) => {
                    return Err(invalid(
                        format!("{key}.field"),
                        "count takes no field (it counts events)",
                    ))
                }
                (_, None) => {
                    return Err(invalid(
                        format!("{key}.field"),
                        format!("{:?} needs a field", a.func).to_lowercase(),
                    ))
                }
                (func, Some(field)) => {
                    let ty = if func == AggFn::CountDistinct {
                        SlotType::Any
                    } else {
                        SlotType::Number
                    };
                    Some(slot_for(field, ty, &format!("{key}.field"), input)?)
                }
            };
            aggregates.push(AggSpec {
                func: a.func,
                slot,
                name: a.name.clone(),
                input,
            });
        }
        let (accumulators, row_rule) = if window_join {
            crate::window_join::compile(inputs.len(), &aggregates)
        } else {
            (aggregates.clone(), RowRule::default())
        };

        let projection = if projected {
            let joined: Vec<&str> = if regular_join {
                inputs.iter().map(|i| i.name.as_str()).collect()
            } else {
                Vec::new()
            };
            let p = crate::projection::compile(
                &query.select,
                query.condition.as_deref(),
                &joined,
                &mut |field, ty, key, input| slot_for(field, ty, key, input),
            )?;
            for (field, ty) in &p.text {
                if let Some(s) = slots.iter().find(|s| s.field == *field && s.ty != *ty) {
                    return Err(invalid(
                        "select",
                        format!(
                            "field `{field}` is selected as {ty:?} but used as {:?}: no event could satisfy both",
                            s.ty
                        )
                        .to_lowercase(),
                    ));
                }
            }
            Some(p)
        } else {
            None
        };
        Ok(Plan {
            projection,
            window,
            time: w.time,
            delay_ms: query.watermark.delay.ms(),
            mode: query.output_mode,
            slots,
            filters,
            aggregates,
            accumulators,
            row_rule,
            string_constants,
            inputs,
            table: None,
            query,
        })
    }

    /// The plan with its join table loaded: decoders then read the table's columns as
    /// fields of every event. Fails when the table was made for another `on` column.
    pub fn with_table(mut self, table: crate::join::StaticTable) -> Result<Plan, QueryError> {
        match self.static_join() {
            Some((_, on)) if on == table.on() => {
                self.table = Some(LoadedTable(std::sync::Arc::new(table)));
                Ok(self)
            }
            Some((_, on)) => Err(invalid(
                "join[0].on",
                format!("the table was indexed by `{}`, not `{on}`", table.on()),
            )),
            None => Err(invalid(
                "join",
                "the query has no static [[join]] for a table",
            )),
        }
    }

    /// The stream-static join's table file and `on` field, if the query has one.
    pub fn static_join(&self) -> Option<(&str, &str)> {
        match self.query.joins.first()? {
            JoinQuery {
                kind: JoinKind::Static,
                table: Some(table),
                on: Some(on),
            } => Some((table, on)),
            _ => None,
        }
    }

    /// Whether the query joins its inputs per window and key (`[[join]] kind = "window"`).
    pub fn is_window_join(&self) -> bool {
        self.row_rule.is_join()
    }

    /// Starts a plan in Rust instead of TOML.
    pub fn builder() -> PlanBuilder {
        PlanBuilder::default()
    }

    /// The query as TOML text (for results folders).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.query).expect("a query always serializes to TOML")
    }

    /// Group-by field names.
    pub fn group_by(&self) -> &[String] {
        &self.query.group_by
    }

    /// Event-time field name.
    pub fn event_time_field(&self) -> Option<&str> {
        self.query.event_time.as_deref()
    }
}

/// Builds the same plan a query file describes.
///
/// ```
/// use streamlab_core::query::{Plan, OutputMode};
/// let plan = Plan::builder()
///     .event_time("ts")
///     .group_by(["key"])
///     .tumbling_ms(10_000)
///     .watermark_ms(5_000)
///     .count("n")
///     .sum("value", "total")
///     .output_mode(OutputMode::Append)
///     .build()
///     .unwrap();
/// assert_eq!(plan.aggregates.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PlanBuilder {
    event_time: Option<String>,
    group_by: Vec<String>,
    mode: OutputMode,
    delay: i64,
    window: Option<WindowQuery>,
    filters: Vec<FilterQuery>,
    aggregates: Vec<AggregateQuery>,
}

impl PlanBuilder {
    /// Event-time field.
    pub fn event_time(mut self, field: &str) -> Self {
        self.event_time = Some(field.into());
        self
    }
    /// Group-by fields.
    pub fn group_by<'a>(mut self, fields: impl IntoIterator<Item = &'a str>) -> Self {
        self.group_by = fields.into_iter().map(String::from).collect();
        self
    }
    /// Output mode.
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.mode = mode;
        self
    }
    /// Watermark delay in ms.
    pub fn watermark_ms(mut self, delay: i64) -> Self {
        self.delay = delay;
        self
    }
    fn window(
        mut self,
        kind: WindowKind,
        size: Option<i64>,
        slide: Option<i64>,
        gap: Option<i64>,
    ) -> Self {
        self.window = Some(WindowQuery {
            kind,
            size: size.map(DurationMs),
            slide: slide.map(DurationMs),
            gap: gap.map(DurationMs),
            time: self.window.as_ref().map(|w| w.time).unwrap_or_default(),
        });
        self
    }
    /// Tumbling event-time windows.
    pub fn tumbling_ms(self, size: i64) -> Self {
        self.window(WindowKind::Tumbling, Some(size), None, None)
    }
    /// Sliding windows.
    pub fn sliding_ms(self, size: i64, slide: i64) -> Self {
        self.window(WindowKind::Sliding, Some(size), Some(slide), None)
    }
    /// Session windows.
    pub fn session_ms(self, gap: i64) -> Self {
        self.window(WindowKind::Session, None, None, Some(gap))
    }
    /// Use processing time for the window (call after choosing the window shape).
    pub fn processing_time(mut self) -> Self {
        if let Some(w) = self.window.as_mut() {
            w.time = TimeDomain::Processing;
        }
        self
    }
    /// Adds a filter.
    pub fn filter(mut self, field: &str, op: CmpOp, value: Literal) -> Self {
        self.filters.push(FilterQuery {
            field: field.into(),
            op,
            value: FilterValue::One(value),
        });
        self
    }
    /// Adds any aggregate.
    pub fn aggregate(mut self, func: AggFn, field: Option<&str>, name: &str) -> Self {
        self.aggregates.push(AggregateQuery {
            func,
            field: field.map(String::from),
            name: name.into(),
            input: None,
        });
        self
    }
    /// Adds `count`.
    pub fn count(self, name: &str) -> Self {
        self.aggregate(AggFn::Count, None, name)
    }
    /// Adds `sum(field)`.
    pub fn sum(self, field: &str, name: &str) -> Self {
        self.aggregate(AggFn::Sum, Some(field), name)
    }
    /// Validates and compiles.
    pub fn build(self) -> Result<Plan, QueryError> {
        let window = self
            .window
            .ok_or_else(|| invalid("window", "choose a window shape"))?;
        Plan::compile(Query {
            event_time: self.event_time,
            group_by: self.group_by,
            output_mode: self.mode,
            watermark: WatermarkQuery {
                delay: DurationMs(self.delay),
            },
            window: Some(window),
            filters: self.filters,
            aggregates: self.aggregates,
            inputs: Vec::new(),
            joins: Vec::new(),
            select: Vec::new(),
            condition: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W1: &str = r#"
event_time = "ts"
group_by = ["key"]
output_mode = "append"
[watermark]
delay = "5s"
[window]
kind = "tumbling"
size = "10s"
time = "event"
[[filter]]
field = "kind"
op = "eq"
value = "view"
[[aggregate]]
fn = "count"
as = "n"
[[aggregate]]
fn = "sum"
field = "value"
as = "total"
"#;

    #[test]
    fn parses_the_documented_format() {
        let plan = Plan::from_toml(W1).unwrap();
        assert_eq!(plan.window, WindowSpec::Tumbling { size: 10_000 });
        assert_eq!(plan.delay_ms, 5_000);
        assert_eq!(plan.slots.len(), 2);
        assert_eq!(plan.string_constants, vec!["view".to_string()]);
        assert_eq!(plan.filters[0].value, Scalar::Str(0));
        assert_eq!(plan.aggregates[1].slot, Some(1));
    }

    #[test]
    fn round_trips_through_toml() {
        let plan = Plan::from_toml(W1).unwrap();
        let again = Plan::from_toml(&plan.to_toml()).unwrap();
        assert_eq!(plan, again);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_the_key() {
        let text = W1.replace("size = \"10s\"", "size = \"10s\"\nsise = 3");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("sise"), "{err}");
    }

    #[test]
    fn inconsistent_windows_are_errors_that_name_the_key() {
        let text = W1.replace("kind = \"tumbling\"", "kind = \"sliding\"\nslide = \"3s\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(
            err.contains("window.slide") && err.contains("divide"),
            "{err}"
        );
        let text = W1.replace("kind = \"tumbling\"", "kind = \"session\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("window.size"), "{err}");
    }

    #[test]
    fn aggregates_are_checked() {
        let text = W1.replace("fn = \"count\"", "fn = \"count\"\nfield = \"x\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("aggregate[0].field"), "{err}");
        let text = W1.replace("as = \"total\"", "as = \"n\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("aggregate[1].as"), "{err}");
        let text = W1.replace("fn = \"sum\"", "fn = \"median\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("median"), "{err}");
    }

    #[test]
    fn filters_on_strings_allow_only_equality() {
        let text = W1.replace("op = \"eq\"", "op = \"lt\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("filter[0].op"), "{err}");
    }

    #[test]
    fn conflicting_field_types_are_errors() {
        let text = W1.replace("field = \"value\"", "field = \"kind\"");
        let err = Plan::from_toml(&text).unwrap_err().to_string();
        assert!(err.contains("aggregate[1].field"), "{err}");
    }

    #[test]
    fn file_errors_name_the_file() {
        let err = Plan::from_file("/no/such/query.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/no/such/query.toml"), "{err}");
    }

    #[test]
    fn builder_matches_the_file() {
        let built = Plan::builder()
            .event_time("ts")
            .group_by(["key"])
            .tumbling_ms(10_000)
            .watermark_ms(5_000)
            .filter("kind", CmpOp::Eq, Literal::Str("view".into()))
            .count("n")
            .sum("value", "total")
            .build()
            .unwrap();
        let parsed = Plan::from_toml(W1).unwrap();
        assert_eq!(built.slots, parsed.slots);
        assert_eq!(built.window, parsed.window);
        assert_eq!(built.filters, parsed.filters);
        assert_eq!(built.aggregates, parsed.aggregates);
    }
}
