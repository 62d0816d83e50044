//! Changelogs (docs/semantics.md, "Multi-stage queries"): the rows a stage that can
//! revise its answer emits. Each row is a [`ChangeKind`] (Flink's `RowKind`: `+I`, `-U`,
//! `+U`, `-D`) and a row's values; the table a changelog stands for is the multiset of
//! rows added (`+I`, `+U`) minus the rows taken back (`-U`, `-D`), which is what
//! [`collapse`] computes from a printed changelog.

use crate::model::value::{AggValue, FieldValue};
use crate::semantics::row::ResultRow;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a changelog row does to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ChangeKind {
    /// `+I`: a new row.
    Insert,
    /// `-U`: the old version of a row about to be revised.
    UpdateBefore,
    /// `+U`: the new version of a revised row.
    UpdateAfter,
    /// `-D`: a row taken back.
    Delete,
}

impl ChangeKind {
    /// Every kind, in code order.
    pub const ALL: [ChangeKind; 4] = [
        ChangeKind::Insert,
        ChangeKind::UpdateBefore,
        ChangeKind::UpdateAfter,
        ChangeKind::Delete,
    ];

    /// +1 for a row added, -1 for a row taken back.
    pub fn sign(self) -> i64 {
        match self {
            ChangeKind::Insert | ChangeKind::UpdateAfter => 1,
            ChangeKind::UpdateBefore | ChangeKind::Delete => -1,
        }
    }

    /// The printed form, as Flink prints it (`op` column).
    pub fn op(self) -> &'static str {
        match self {
            ChangeKind::Insert => "+I",
            ChangeKind::UpdateBefore => "-U",
            ChangeKind::UpdateAfter => "+U",
            ChangeKind::Delete => "-D",
        }
    }

    /// The kind printed as `op`.
    pub fn from_op(op: &str) -> Option<ChangeKind> {
        ChangeKind::ALL.into_iter().find(|k| k.op() == op)
    }

    /// Its code, as an [`AggValue`]: engines move a change as a plain row whose first
    /// value is the code, so every exchange and sink moves it unchanged.
    pub fn code(self) -> AggValue {
        AggValue::Int(self as i64)
    }

    /// The kind of a code; `None` for a value no [`ChangeKind::code`] gives.
    pub fn from_code(v: AggValue) -> Option<ChangeKind> {
        match v {
            AggValue::Int(i) => ChangeKind::ALL.get(usize::try_from(i).ok()?).copied(),
            AggValue::Float(_) => None,
        }
    }
}

/// The table a changelog read back stands for: each row's last group value is its `op`,
/// dropped here; rows added count +1, rows taken back -1, and each row is kept as many
/// times as its count. A row taken back more often than added (a wrong changelog) is kept
/// with the op `"-"` and the excess as copies, so that a comparison shows it.
pub fn collapse(rows: &[ResultRow]) -> Vec<ResultRow> {
    let mut counts: Vec<(ResultRow, i64)> = Vec::new();
    let mut index: BTreeMap<(Vec<FieldValue>, Vec<OrdBits>), usize> = BTreeMap::new();
    for r in rows {
        let mut row = r.clone();
        let sign = match row.group.pop() {
            Some(FieldValue::Str(op)) => ChangeKind::from_op(&op).map_or(1, ChangeKind::sign),
            other => {
                row.group.extend(other);
                1
            }
        };
        let id = (
            row.group.clone(),
            row.values.iter().map(|v| bits(*v)).collect(),
        );
        let i = *index.entry(id).or_insert_with(|| {
            counts.push((row, 0));
            counts.len() - 1
        });
        counts[i].1 += sign;
    }
    let mut out = Vec::new();
    for (row, n) in counts {
        if n < 0 {
            let mut wrong = row.clone();
            wrong.group.push(FieldValue::Str("-".into()));
            out.extend(std::iter::repeat_n(wrong, n.unsigned_abs() as usize));
        }
        out.extend(std::iter::repeat_n(row, n.max(0) as usize));
    }
    out
}

/// A value's identity in [`collapse`]: integers exactly, floats by their bits.
type OrdBits = (bool, u64);

fn bits(v: AggValue) -> OrdBits {
    match v {
        AggValue::Int(i) => (false, i as u64),
        AggValue::Float(f) => (true, f.to_bits()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::window::Window;

    fn row(key: &str, n: i64, op: ChangeKind) -> ResultRow {
        ResultRow {
            window: Window { start: 0, end: 0 },
            group: vec![FieldValue::Str(key.into()), FieldValue::Str(op.op().into())],
            values: vec![AggValue::Int(n)],
            emit: None,
        }
    }

    #[test]
    fn codes_and_ops_round_trip() {
        for k in ChangeKind::ALL {
            assert_eq!(ChangeKind::from_code(k.code()), Some(k));
            assert_eq!(ChangeKind::from_op(k.op()), Some(k));
        }
        assert_eq!(ChangeKind::from_code(AggValue::Int(4)), None);
        assert_eq!(ChangeKind::from_code(AggValue::Int(-1)), None);
    }

    #[test]
    fn a_collapsed_changelog_is_its_final_table() {
        use ChangeKind::*;
        let log = vec![
            row("a", 1, Insert),
            row("b", 1, Insert),
            row("a", 1, UpdateBefore),
            row("a", 2, UpdateAfter),
            row("b", 1, Delete),
        ];
        let table = collapse(&log);
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].group, vec![FieldValue::Str("a".into())]);
        assert_eq!(table[0].values, vec![AggValue::Int(2)]);
    }

    #[test]
    fn a_retraction_without_its_row_shows_up() {
        let table = collapse(&[row("a", 1, ChangeKind::Delete)]);
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].group.last(), Some(&FieldValue::Str("-".into())));
    }
}
