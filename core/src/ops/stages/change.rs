//! A stage's rows and the changes between stages: what every later stage reads and
//! emits, and how an engine moves a change as a plain [`OutRow`].

use crate::model::event::KeyId;
use crate::model::value::{AggValue, Scalar};
use crate::model::window::Window;
use crate::ops::expr::Expr;
use crate::semantics::aggregate::AggValues;
use crate::semantics::changelog::ChangeKind;
use crate::semantics::row::OutRow;
use serde::{Deserialize, Serialize};

/// One row of a stage: its number (and interned text) columns, its first-stage key, and
/// the event time it carries (a window's end, an event's time).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    /// The first stage's interned key (its text columns); 0 where no column uses it.
    pub key: KeyId,
    /// The value columns, in [`Schema`] value order.
    pub values: AggValues,
    /// Event time (a window's row: `window_end - 1`, Flink's `window_time`).
    pub time: i64,
    /// Arrival `seq` of the event that last changed it (latency).
    pub trigger: Option<u64>,
}

/// One row of a changelog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// What it does to the table.
    pub kind: ChangeKind,
    /// The row.
    pub row: StageRow,
}

impl Change {
    /// The change as a plain [`OutRow`]: its kind's code first, then the values; the
    /// window is the instant of its time. Engines move and emit it like any row.
    pub fn into_out_row(self) -> OutRow {
        let mut values = AggValues::with_capacity(self.row.values.len() + 1);
        values.push(self.kind.code());
        values.extend(self.row.values);
        OutRow {
            window: Window {
                start: self.row.time,
                end: self.row.time,
            },
            key: self.row.key,
            values,
            emit: None,
            trigger: self.row.trigger,
        }
    }

    /// A row made by [`Change::into_out_row`] back as a change; `None` for another row.
    pub fn from_out_row(row: OutRow) -> Option<Change> {
        let kind = ChangeKind::from_code(*row.values.first()?)?;
        Some(Change {
            kind,
            row: StageRow {
                key: row.key,
                values: row.values[1..].iter().copied().collect(),
                time: row.window.start,
                trigger: row.trigger,
            },
        })
    }
}

/// A computed column: an expression over the row's earlier value columns.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    /// Name.
    pub name: String,
    /// Expression, its fields resolved to value positions.
    pub expr: Expr,
}

/// The row's values with the computed columns appended, in order.
pub fn extend(computed: &[Computed], row: &StageRow) -> AggValues {
    let mut values = row.values.clone();
    if computed.is_empty() {
        return values;
    }
    let mut scalars: Vec<Scalar> = values.iter().map(|v| scalar(*v)).collect();
    for c in computed {
        let v = c.expr.eval(&scalars).to_agg();
        scalars.push(scalar(v));
        values.push(v);
    }
    values
}

/// A value as an expression operand.
pub fn scalar(v: AggValue) -> Scalar {
    match v {
        AggValue::Int(i) => Scalar::Int(i),
        AggValue::Float(f) => Scalar::Float(f),
    }
}
