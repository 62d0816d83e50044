//! Stages after the first (docs/semantics.md, "Multi-stage queries"): a plan is a chain
//! of stages, the first being today's query (a window aggregate, a projection or a
//! regular join), each later one reading the stage before it as a changelog and emitting
//! one.
//!
//! - [`change`]: a stage's rows and the changes between stages.
//! - [`schema`]: the columns of a stage's rows and where each lives in a row.
//! - [`order`]: a total order on numbers, for min/max and top-N state.
//! - [`aggregate`]: GROUP BY without a window (NEXMark Q15-Q17, Q4's two aggregates).
//! - [`top_n`]: the first N rows per partition (Q9 winning bid, Q18 dedup, Q19).
//!
//! A stage's rows are [`StageRow`]s: the number columns as values (text columns that
//! travel as interned ids too), the text columns of the first stage as its interned key,
//! passed through unchanged. Both engines and the state here are Z-sets: every change adds
//! or takes back one copy of a row, state counts copies (a count may go below zero for a
//! while when a retraction overtakes its row between workers), and the rows a stage shows
//! are a pure function of the counts. So the answer after the last change does not depend
//! on the order changes arrived in, which is what lets the record engine's workers and
//! the micro-batch engine's batches differ in order and still agree with the oracle.
//!
//! # Design decisions
//! - **Hash maps that emit retractions, not differential's arrangements (yet).** Both
//!   engines already move plain rows; a stage's state here is a hash map of groups (or
//!   partitions) that the engines call per batch, with no timestamps of its own. Whether
//!   differential's `reduce` would be faster for these stages is what
//!   `harness/experiments/benches/stage_aggregate.rs` measures (Q4's two aggregates over
//!   1M bids); it has not been run on the project's machine yet, so this choice is not a
//!   measured one. For the regular join, the same comparison found the hash map 2.7-7.3x
//!   faster (`benches/regular_join.rs`).
//! - **A change travels as a plain row** ([`Change::into_out_row`]: its kind's code as the
//!   first value), so the engines' exchanges, sinks and the row format move it without a
//!   new row type.
//! - **Ties in a top-N are broken by the rest of the row**, so that every engine and the
//!   oracle agree on one answer (Flink keeps arrival order, which differs run to run).

pub mod aggregate;
pub mod change;
pub mod order;
pub mod schema;
pub mod top_n;

pub use change::{Change, Computed, StageRow};

use crate::model::value::AggValue;
use crate::ops::expr::Condition;
use crate::semantics::aggregate::AggValues;
use crate::semantics::changelog::ChangeKind;
use crate::semantics::row::OutRow;
use schema::Schema;

/// Where the first stage's rows become stage rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstStage {
    /// A window aggregate: `window_start`, `window_end`, then the aggregates; its time is
    /// the window's last instant, `window_end - 1` (Flink's `window_time`).
    Windowed,
    /// A projection or regular join: its number values as they are; its time is the
    /// event's.
    Projected,
}

/// What a later stage does.
#[derive(Clone, Debug, PartialEq)]
pub enum StageOp {
    /// GROUP BY without a window.
    Aggregate(aggregate::AggregateSpec),
    /// The first N rows per partition.
    TopN(top_n::TopNSpec),
}

/// One compiled later stage.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Its name.
    pub name: String,
    /// Computed columns, appended to the input's values in order.
    pub computed: Vec<Computed>,
    /// Conditions over the row with its computed columns: rows failing one never reach
    /// the stage.
    pub filter: Vec<Condition>,
    /// What it does.
    pub op: StageOp,
    /// The columns of its output rows.
    pub output: Schema,
}

impl Stage {
    /// The input row with the computed columns appended.
    pub fn extend(&self, row: &StageRow) -> AggValues {
        change::extend(&self.computed, row)
    }

    /// Whether a row (with its computed columns) meets every condition of the filter.
    pub fn keeps(&self, values: &[AggValue]) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let scalars: Vec<_> = values.iter().map(|v| change::scalar(*v)).collect();
        self.filter.iter().all(|c| c.holds(&scalars))
    }

    /// The hash a changed row is routed by: equal for rows of one group or partition.
    pub fn route(&self, row: &StageRow) -> u64 {
        let values = self.extend(row);
        let (cols, by_key) = match &self.op {
            StageOp::Aggregate(a) => (&a.group, a.key_in_group),
            StageOp::TopN(t) => (&t.partition, t.key_in_partition),
        };
        let mut h = rustc_hash::FxHasher::default();
        use std::hash::{Hash, Hasher};
        for &c in cols {
            order::bits(values[c]).hash(&mut h);
        }
        if by_key {
            row.key.hash(&mut h);
        }
        h.finish()
    }

    /// A fresh state for this stage.
    pub fn state(&self) -> StageState {
        match &self.op {
            StageOp::Aggregate(a) => StageState::Aggregate(aggregate::AggregateState::new(a)),
            StageOp::TopN(t) => StageState::TopN(top_n::TopNState::new(t)),
        }
    }
}

/// The state of one later stage in one engine worker or state store.
#[derive(Debug)]
pub enum StageState {
    /// An aggregate's groups.
    Aggregate(aggregate::AggregateState),
    /// A top-N's partitions.
    TopN(top_n::TopNState),
}

impl StageState {
    /// Applies a batch of input changes (those the stage's filter lets through); the
    /// output changes, group by group (or partition by partition) in the order they were
    /// first touched.
    pub fn apply(&mut self, stage: &Stage, mut changes: Vec<Change>) -> Vec<Change> {
        if !stage.filter.is_empty() {
            changes.retain(|c| stage.keeps(&stage.extend(&c.row)));
        }
        match self {
            StageState::Aggregate(s) => match &stage.op {
                StageOp::Aggregate(spec) => s.apply(spec, &stage.computed, changes),
                StageOp::TopN(_) => unreachable!("a state is made by its own stage"),
            },
            StageState::TopN(s) => match &stage.op {
                StageOp::TopN(spec) => s.apply(spec, &stage.computed, changes),
                StageOp::Aggregate(_) => unreachable!("a state is made by its own stage"),
            },
        }
    }
}

/// The later stages of a plan, in order, and how the first stage's rows enter them.
#[derive(Clone, Debug, PartialEq)]
pub struct Stages {
    /// How the first stage's rows become stage rows.
    pub first: FirstStage,
    /// The first stage's columns.
    pub input: Schema,
    /// The later stages, each reading the one before.
    pub stages: Vec<Stage>,
}

impl Stages {
    /// A first-stage row as an insert.
    pub fn first_change(&self, row: OutRow) -> Change {
        let values = match self.first {
            FirstStage::Windowed => {
                let mut v = AggValues::with_capacity(row.values.len() + 2);
                v.push(AggValue::Int(row.window.start));
                v.push(AggValue::Int(row.window.end));
                v.extend(row.values);
                v
            }
            FirstStage::Projected => row.values,
        };
        let time = match self.first {
            // Flink's `window_time`: the window's last instant.
            FirstStage::Windowed => row.window.end.saturating_sub(1),
            FirstStage::Projected => row.window.start,
        };
        Change {
            kind: ChangeKind::Insert,
            row: StageRow {
                key: row.key,
                values,
                time,
                trigger: row.trigger,
            },
        }
    }

    /// The columns the query prints: the last stage's.
    pub fn output(&self) -> &Schema {
        self.stages.last().map_or(&self.input, |s| &s.output)
    }

    /// A fresh state for every stage.
    pub fn chain(&self) -> StageChain {
        StageChain {
            states: self.stages.iter().map(Stage::state).collect(),
        }
    }
}

/// Every later stage's state, run one after the other over a batch (the micro-batch
/// engine's stage-by-stage execution inside a batch).
#[derive(Debug)]
pub struct StageChain {
    states: Vec<StageState>,
}

impl StageChain {
    /// The first stage's rows of one batch through every later stage: the last stage's
    /// changes, as rows to emit.
    pub fn apply(&mut self, stages: &Stages, rows: Vec<OutRow>) -> Vec<OutRow> {
        let mut changes: Vec<Change> = rows.into_iter().map(|r| stages.first_change(r)).collect();
        for (state, stage) in self.states.iter_mut().zip(&stages.stages) {
            if changes.is_empty() {
                break;
            }
            changes = state.apply(stage, changes);
        }
        changes.into_iter().map(Change::into_out_row).collect()
    }
}

#[cfg(test)]
mod tests;
