//! The oracle's later stages (docs/semantics.md, "Multi-stage queries"): each stage is
//! evaluated over its input's final table at once, as a batch query would, with no
//! changelog, no state kept between rows and nothing taken back: an aggregate groups the
//! whole table and computes each function from its rows; a top-N sorts each partition and
//! keeps its first `n`. The engines' incremental, retracting state
//! (`streamlab_core::ops::stages::{aggregate, top_n}`) is not used, so a mistake in
//! retraction shows up as a difference. Shared with the engines: the compiled stage
//! (which columns, which order), expressions and the value order.

use std::collections::BTreeMap;
use streamlab_core::model::value::AggValue;
use streamlab_core::ops::stages::aggregate::{present, AggregateSpec};
use streamlab_core::ops::stages::change::extend;
use streamlab_core::ops::stages::order::Ordered;
use streamlab_core::ops::stages::top_n::TopNSpec;
use streamlab_core::ops::stages::{Change, Stage, StageOp, StageRow, Stages};
use streamlab_core::semantics::aggregate::{AggFn, AggValues};
use streamlab_core::semantics::changelog::ChangeKind;
use streamlab_core::{KeyId, OutRow};

/// The last stage's final table for the first stage's final rows, as inserts.
pub fn answer(stages: &Stages, first: Vec<OutRow>) -> Vec<OutRow> {
    let mut table: Vec<StageRow> = first
        .into_iter()
        .map(|r| stages.first_change(r).row)
        .collect();
    for stage in &stages.stages {
        table = evaluate(stage, &table);
    }
    table
        .into_iter()
        .map(|row| {
            Change {
                kind: ChangeKind::Insert,
                row,
            }
            .into_out_row()
        })
        .collect()
}

/// One stage over its whole input table.
pub fn evaluate(stage: &Stage, input: &[StageRow]) -> Vec<StageRow> {
    let rows: Vec<(AggValues, &StageRow)> = input
        .iter()
        .map(|r| (extend(&stage.computed, r), r))
        .filter(|(values, _)| stage.keeps(values))
        .collect();
    match &stage.op {
        StageOp::Aggregate(spec) => aggregate(spec, &rows),
        StageOp::TopN(spec) => top_n(spec, &rows),
    }
}

/// Groups ordered by key and values (a `BTreeMap`, so the oracle's rows come out sorted).
type Groups<'a> = BTreeMap<(KeyId, Vec<Ordered>), Vec<&'a (AggValues, &'a StageRow)>>;

fn aggregate(spec: &AggregateSpec, rows: &[(AggValues, &StageRow)]) -> Vec<StageRow> {
    let mut groups: Groups = BTreeMap::new();
    for r in rows {
        let key = if spec.key_in_group { r.1.key } else { 0 };
        let id = spec.group.iter().map(|&i| Ordered(r.0[i])).collect();
        groups.entry((key, id)).or_default().push(r);
    }
    groups
        .into_iter()
        .map(|((key, group), members)| {
            let mut values: AggValues = group.iter().map(|o| o.0).collect();
            for a in &spec.aggs {
                let seen: Vec<&AggValues> = members
                    .iter()
                    .map(|m| &m.0)
                    .filter(|v| spec.sees(a, v))
                    .collect();
                let inputs: Vec<AggValue> = match a.input {
                    Some(i) => seen.iter().filter_map(|v| present(v[i])).collect(),
                    None => Vec::new(),
                };
                values.push(finish(a.func, a.input.is_none(), seen.len(), &inputs));
            }
            StageRow {
                key,
                values,
                time: members.iter().map(|m| m.1.time).max().unwrap_or(0),
                trigger: members.iter().filter_map(|m| m.1.trigger).max(),
            }
        })
        .collect()
}

/// One aggregate over the rows it sees: `count` of rows (`rows_only`) or of values; the
/// others over the values present, none when there are none.
fn finish(func: AggFn, rows_only: bool, rows: usize, values: &[AggValue]) -> AggValue {
    let none = AggValue::Float(f64::NAN);
    match func {
        AggFn::Count | AggFn::CountDistinct if rows_only => AggValue::Int(rows as i64),
        AggFn::Count | AggFn::CountDistinct => AggValue::Int(values.len() as i64),
        _ if values.is_empty() => none,
        AggFn::Min => values
            .iter()
            .map(|v| Ordered(*v))
            .min()
            .map_or(none, |o| o.0),
        AggFn::Max => values
            .iter()
            .map(|v| Ordered(*v))
            .max()
            .map_or(none, |o| o.0),
        AggFn::Sum | AggFn::Avg => {
            let ints: i128 = values
                .iter()
                .filter_map(|v| match v {
                    AggValue::Int(i) => Some(i128::from(*i)),
                    AggValue::Float(_) => None,
                })
                .sum();
            let floats: Vec<f64> = values
                .iter()
                .filter_map(|v| match v {
                    AggValue::Float(f) => Some(*f),
                    AggValue::Int(_) => None,
                })
                .collect();
            let total = ints as f64 + floats.iter().sum::<f64>();
            match func {
                AggFn::Avg => AggValue::Float(total / values.len() as f64),
                _ if floats.is_empty() => i64::try_from(ints).map_or(none, AggValue::Int),
                _ => AggValue::Float(total),
            }
        }
    }
}

fn top_n(spec: &TopNSpec, rows: &[(AggValues, &StageRow)]) -> Vec<StageRow> {
    let mut partitions: Groups = BTreeMap::new();
    for r in rows {
        let key = if spec.key_in_partition { r.1.key } else { 0 };
        let id = spec.partition.iter().map(|&i| Ordered(r.0[i])).collect();
        partitions.entry((key, id)).or_default().push(r);
    }
    let mut out = Vec::new();
    for (_, mut members) in partitions {
        members.sort_by(|a, b| {
            spec.order
                .iter()
                .map(|&(i, desc)| {
                    let o = Ordered(a.0[i]).cmp(&Ordered(b.0[i]));
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| {
                    let x: Vec<Ordered> = a.0.iter().map(|v| Ordered(*v)).collect();
                    let y: Vec<Ordered> = b.0.iter().map(|v| Ordered(*v)).collect();
                    x.cmp(&y)
                })
                .then(a.1.key.cmp(&b.1.key))
        });
        for (rank, m) in members.into_iter().take(spec.n).enumerate() {
            let mut values = m.0.clone();
            if spec.rank {
                values.push(AggValue::Int(rank as i64 + 1));
            }
            out.push(StageRow {
                values,
                ..m.1.clone()
            });
        }
    }
    out
}
