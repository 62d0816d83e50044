//! Window accuracy: how far an engine's final rows are from the exact answer
//! (measurement.md, "Window accuracy").

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::ops::projection::Projection;
use streamlab_core::semantics::row::final_rows;
use streamlab_core::{Plan, ResultRow, Window};

/// An accuracy report of `actual` against `expected`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Accuracy {
    /// Final rows in the exact answer.
    pub rows_expected: usize,
    /// Final rows in the answer checked (duplicates included).
    pub rows_actual: usize,
    /// Rows present in both with equal values (floats within 1e-9 relative).
    pub exact: usize,
    /// Rows of the exact answer that are absent.
    pub missing: usize,
    /// Rows that the exact answer does not have.
    pub extra: usize,
    /// Rows present in both with different values.
    pub wrong: usize,
    /// Further copies of a (window, key) row in append output.
    pub duplicated: usize,
    /// Per aggregate: sum |actual - exact| / sum |exact| (missing rows count as 0).
    pub relative_error: BTreeMap<String, f64>,
}

impl Accuracy {
    /// Whether the answers are the same.
    pub fn is_exact(&self) -> bool {
        self.missing == 0 && self.extra == 0 && self.wrong == 0 && self.duplicated == 0
    }
}

type RowId = (Window, Vec<FieldValue>);

/// Compares final answers. Both inputs are whole outputs; they are reduced to their final
/// rows by the plan's output mode first.
pub fn compare(actual: &[ResultRow], expected: &[ResultRow], plan: &Plan) -> Accuracy {
    if plan.stages.is_some() {
        return compare_tables(&plan.final_rows(actual), &plan.final_rows(expected));
    }
    if let Some(p) = &plan.projection {
        return compare_projected(actual, expected, p);
    }
    let actual = final_rows(actual, plan.mode);
    let expected = final_rows(expected, plan.mode);
    let names: Vec<String> = plan.aggregates.iter().map(|a| a.name.clone()).collect();
    let mut err_num = vec![0.0f64; names.len()];
    let mut err_den = vec![0.0f64; names.len()];

    let mut want: BTreeMap<RowId, &ResultRow> = BTreeMap::new();
    for r in &expected {
        want.insert(r.id(), r);
        for (i, v) in r.values.iter().enumerate() {
            err_den[i] += v.as_f64().abs();
        }
    }
    let mut report = Accuracy {
        rows_expected: expected.len(),
        rows_actual: actual.len(),
        ..Default::default()
    };
    let mut seen: BTreeMap<RowId, ()> = BTreeMap::new();
    for r in &actual {
        let id = r.id();
        if seen.insert(id.clone(), ()).is_some() {
            report.duplicated += 1;
            continue;
        }
        match want.get(&id) {
            Some(e) => {
                if e.values == r.values {
                    report.exact += 1;
                } else {
                    report.wrong += 1;
                }
                for (i, (a, x)) in r.values.iter().zip(&e.values).enumerate() {
                    err_num[i] += (a.as_f64() - x.as_f64()).abs();
                }
            }
            None => {
                report.extra += 1;
                for (i, a) in r.values.iter().enumerate() {
                    err_num[i] += a.as_f64().abs();
                }
            }
        }
    }
    for (id, e) in &want {
        if !seen.contains_key(id) {
            report.missing += 1;
            for (i, x) in e.values.iter().enumerate() {
                err_num[i] += x.as_f64().abs();
            }
        }
    }
    for (i, name) in names.into_iter().enumerate() {
        report
            .relative_error
            .insert(name, relative(err_num[i], err_den[i]));
    }
    report
}

/// A value as an exact sort key: integers by value, floats by bits, `null` (NaN) as one.
fn value_key(v: &AggValue) -> (u8, u64) {
    match v {
        AggValue::Int(i) => (0, *i as u64),
        AggValue::Float(f) if f.is_nan() => (2, 0),
        AggValue::Float(f) => (1, f.to_bits()),
    }
}

/// Rows of a query without windows, compared as multisets (several workers emit them in
/// another order, and two events may give equal rows). A row that matches no expected
/// row exactly is `wrong` when an expected row left over has the same selected input
/// fields (only computed values differ), else `extra`; expected rows left over are
/// `missing`. `relative_error` is per computed column, over the wrong, missing and extra
/// rows. Duplicates are not a separate count here: a second copy is an extra row.
/// A multi-stage query's final tables (its changelogs collapsed), as multisets: a row
/// of one matches a row of the other with the same text columns and values (floats
/// within 1e-9 relative); the rest are missing or extra.
fn compare_tables(actual: &[ResultRow], expected: &[ResultRow]) -> Accuracy {
    let mut report = Accuracy {
        rows_expected: expected.len(),
        rows_actual: actual.len(),
        ..Default::default()
    };
    let mut want: BTreeMap<&[FieldValue], Vec<&ResultRow>> = BTreeMap::new();
    for r in expected {
        want.entry(&r.group).or_default().push(r);
    }
    for r in actual {
        let found = want.get_mut(&r.group[..]).and_then(|rows| {
            let i = rows.iter().position(|e| e.values == r.values)?;
            Some(rows.swap_remove(i))
        });
        match found {
            Some(_) => report.exact += 1,
            None => report.extra += 1,
        }
    }
    report.missing = want.values().map(Vec::len).sum();
    report
}

fn compare_projected(actual: &[ResultRow], expected: &[ResultRow], p: &Projection) -> Accuracy {
    let computed: Vec<(usize, String)> = p
        .number_columns()
        .enumerate()
        .filter(|(_, (_, c))| *c)
        .map(|(i, (name, _))| (i, name.to_owned()))
        .collect();
    let inputs: Vec<usize> = p
        .number_columns()
        .enumerate()
        .filter(|(_, (_, c))| !*c)
        .map(|(i, _)| i)
        .collect();
    type Full = (Vec<FieldValue>, Vec<(u8, u64)>);
    let full =
        |r: &ResultRow| -> Full { (r.group.clone(), r.values.iter().map(value_key).collect()) };
    let selected = |r: &ResultRow| -> Full {
        (
            r.group.clone(),
            inputs.iter().map(|&i| value_key(&r.values[i])).collect(),
        )
    };
    let mut report = Accuracy {
        rows_expected: expected.len(),
        rows_actual: actual.len(),
        ..Default::default()
    };
    let size = |v: &AggValue| {
        if v.as_f64().is_finite() {
            v.as_f64().abs()
        } else {
            0.0
        }
    };
    let mut err_num = vec![0.0f64; computed.len()];
    let mut err_den = vec![0.0f64; computed.len()];
    let mut want: BTreeMap<Full, Vec<&ResultRow>> = BTreeMap::new();
    for r in expected {
        want.entry(full(r)).or_default().push(r);
        for (j, (i, _)) in computed.iter().enumerate() {
            err_den[j] += size(&r.values[*i]);
        }
    }
    let mut unmatched = Vec::new();
    for r in actual {
        match want.get_mut(&full(r)).and_then(Vec::pop) {
            Some(_) => report.exact += 1,
            None => unmatched.push(r),
        }
    }
    let mut left: BTreeMap<Full, Vec<&ResultRow>> = BTreeMap::new();
    for r in want.into_values().flatten() {
        left.entry(selected(r)).or_default().push(r);
    }
    for r in unmatched {
        match left.get_mut(&selected(r)).and_then(Vec::pop) {
            Some(e) => {
                report.wrong += 1;
                for (j, (i, _)) in computed.iter().enumerate() {
                    let (a, x) = (r.values[*i].as_f64(), e.values[*i].as_f64());
                    if a != x && !(a.is_nan() && x.is_nan()) {
                        err_num[j] += if (a - x).is_finite() {
                            (a - x).abs()
                        } else {
                            f64::INFINITY
                        };
                    }
                }
            }
            None => {
                report.extra += 1;
                for (j, (i, _)) in computed.iter().enumerate() {
                    err_num[j] += size(&r.values[*i]);
                }
            }
        }
    }
    for e in left.into_values().flatten() {
        report.missing += 1;
        for (j, (i, _)) in computed.iter().enumerate() {
            err_num[j] += size(&e.values[*i]);
        }
    }
    for (j, (_, name)) in computed.into_iter().enumerate() {
        report
            .relative_error
            .insert(name, relative(err_num[j], err_den[j]));
    }
    report
}

fn relative(n: f64, d: f64) -> f64 {
    if n == 0.0 {
        0.0
    } else if d == 0.0 {
        f64::INFINITY
    } else {
        n / d
    }
}

impl fmt::Display for Accuracy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "rows: expected {}, actual {}",
            self.rows_expected, self.rows_actual
        )?;
        writeln!(
            f,
            "  exact {} | missing {} | extra {} | wrong value {} | duplicated {}",
            self.exact, self.missing, self.extra, self.wrong, self.duplicated
        )?;
        let errs: Vec<String> = self
            .relative_error
            .iter()
            .map(|(k, v)| format!("{k} {v:.6}"))
            .collect();
        writeln!(f, "relative error: {}", errs.join(", "))?;
        write!(
            f,
            "{}",
            if self.is_exact() {
                "verdict: identical"
            } else {
                "verdict: different"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan::builder()
            .event_time("ts")
            .group_by(["k"])
            .tumbling_ms(10)
            .count("n")
            .build()
            .unwrap()
    }

    fn row(start: i64, k: &str, n: i64) -> ResultRow {
        ResultRow {
            window: Window {
                start,
                end: start + 10,
            },
            group: vec![FieldValue::Str(k.into())],
            values: vec![AggValue::Int(n)],
            emit: None,
        }
    }

    #[test]
    fn counts_each_kind_of_difference() {
        let exact = vec![row(0, "a", 4), row(0, "b", 2), row(10, "a", 4)];
        let got = vec![
            row(0, "a", 4),
            row(0, "b", 1),
            row(20, "c", 1),
            row(0, "a", 4),
        ];
        let acc = compare(&got, &exact, &plan());
        assert_eq!(
            (acc.exact, acc.missing, acc.extra, acc.wrong, acc.duplicated),
            (1, 1, 1, 1, 1)
        );
        // |1-2| + |4| (missing) + |1| (extra) over 4+2+4
        assert!((acc.relative_error["n"] - 0.6).abs() < 1e-12);
        assert!(!acc.is_exact());
        assert!(compare(&exact, &exact, &plan()).is_exact());
    }

    #[test]
    fn projected_rows_compare_as_multisets() {
        let plan = Plan::from_toml(
            "[[select]]\nfield = \"c\"\ntype = \"string\"\n[[select]]\nfield = \"a\"\n[[select]]\nas = \"x\"\nexpr = \"a * 0.5\"\n",
        )
        .unwrap();
        let row = |c: &str, a: i64, x: f64| ResultRow {
            window: Window { start: 0, end: 0 },
            group: vec![FieldValue::Str(c.into())],
            values: vec![AggValue::Int(a), AggValue::Float(x)],
            emit: None,
        };
        let exact = vec![
            row("p", 2, 1.0),
            row("p", 2, 1.0),
            row("q", 4, 2.0),
            row("r", 6, f64::NAN),
        ];
        // Another order, with the null row matching itself.
        let shuffled = vec![
            exact[3].clone(),
            exact[2].clone(),
            exact[0].clone(),
            exact[1].clone(),
        ];
        assert!(compare(&shuffled, &exact, &plan).is_exact());
        // One copy short, one computed value off, one row nobody expected.
        let got = vec![
            row("p", 2, 1.0),
            row("q", 4, 2.5),
            row("r", 6, f64::NAN),
            row("s", 1, 0.5),
        ];
        let acc = compare(&got, &exact, &plan);
        assert_eq!(
            (acc.exact, acc.missing, acc.extra, acc.wrong, acc.duplicated),
            (2, 1, 1, 1, 0)
        );
        // |2.5 - 2| + 1 (missing) + 0.5 (extra) over 1 + 1 + 2
        assert!((acc.relative_error["x"] - 0.5).abs() < 1e-12, "{acc:?}");
    }
}
