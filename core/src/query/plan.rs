//! The [`Plan`]: a validated query, compiled into what engines run. It knows which input
//! fields every event must carry ([`Slot`]s, with their types), and holds the compiled
//! filters, aggregates, inputs, the join table and the projection, each a part defined in
//! the layer that gives it meaning (a [`Predicate`] in ops, an [`AggSpec`] in semantics).
//! Reading and compiling ([`Plan::from_file`], [`Plan::from_toml`], [`Plan::compile`]) are
//! `compile/`'s, building in Rust ([`Plan::builder`]) is `builder.rs`'s.

use crate::model::event::{Part, SlotType};
use crate::model::window::WindowSpec;
use crate::ops::filter::Predicate;
use crate::ops::joins::static_table::StaticTable;
use crate::ops::joins::window::RowRule;
use crate::ops::projection::Projection;
use crate::ops::stages::Stages;
use crate::query::error::{invalid, QueryError};
use crate::query::spec::{JoinKind, JoinQuery, Query, TimeDomain};
use crate::semantics::aggregate::AggSpec;
use crate::semantics::row::{final_rows, OutputMode, ResultRow};
use crate::semantics::watermark::Watermark;
use serde::{Deserialize, Serialize};

/// A field carried in [`Event::fields`](crate::model::event::Event::fields), in slot order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Slot {
    /// Input field name.
    pub field: String,
    /// Type every event must have there.
    pub ty: SlotType,
    /// The one input whose events must carry it (an aggregate of a window join that
    /// names its input); `None`: every event.
    #[serde(default)]
    pub input: Option<Part>,
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
    /// Named inputs, whose index is their events'
    /// [`Event::part`](crate::model::event::Event::part) (empty: one input from the command
    /// line).
    pub inputs: Vec<InputSpec>,
    /// The stream-static join's table, once loaded (the harness reads the file named by
    /// `query.joins`; see [`Plan::with_table`]).
    pub table: Option<LoadedTable>,
    /// A query without `[window]`: its columns. Engines branch on it before anything
    /// windowed; `window` is then an unused 1 ms tumbling window and `aggregates` empty.
    pub projection: Option<Projection>,
    /// The input the query names for itself, read when a run has no `--input`: a SQL
    /// source table's `'path'` (relative to the script's folder) or Kafka address.
    pub default_input: Option<String>,
    /// `[[stage]]`s after the first (the first is everything above, emitting in append
    /// mode: `mode` is then the first stage's); `None`: a one-stage query.
    pub stages: Option<Stages>,
}

/// A loaded join table, shared by every decoder of the plan.
#[derive(Clone, Debug)]
pub struct LoadedTable(pub std::sync::Arc<StaticTable>);

impl PartialEq for LoadedTable {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Plan {
    /// The plan with its join table loaded: decoders then read the table's columns as
    /// fields of every event. Fails when the table was made for another `on` column.
    pub fn with_table(mut self, table: StaticTable) -> Result<Plan, QueryError> {
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

    /// The query as TOML text (for results folders).
    pub fn to_toml(&self) -> String {
        toml::to_string(&self.query).expect("a query always serializes to TOML")
    }

    /// Group-by field names.
    pub fn group_by(&self) -> &[String] {
        &self.query.group_by
    }

    /// The final answer a run's rows stand for: a multi-stage query's printed changelog
    /// collapsed into its table (see [`crate::semantics::changelog::collapse`]), else
    /// [`final_rows`] under the output mode. Sorted as `final_rows` sorts.
    pub fn final_rows(&self, rows: &[ResultRow]) -> Vec<ResultRow> {
        match &self.stages {
            Some(_) => {
                let table = crate::semantics::changelog::collapse(rows);
                final_rows(&table, OutputMode::Append)
            }
            None => final_rows(rows, self.mode),
        }
    }

    /// Event-time field name.
    pub fn event_time_field(&self) -> Option<&str> {
        self.query.event_time.as_deref()
    }
}

impl Watermark {
    /// The watermark of `plan` over a source of `partitions` partitions: with named inputs
    /// (`[[input]]`, one partition each) every input has its own delay (see
    /// [`Watermark::with_input_delays`]). Defined beside the plan it reads: the
    /// watermark's own module sits below the query layer.
    pub fn for_plan(plan: &Plan, partitions: Part) -> Self {
        let delays: Vec<i64> = plan.inputs.iter().map(|i| i.delay_ms).collect();
        Watermark::with_input_delays(plan.delay_ms, &delays, partitions)
    }
}
