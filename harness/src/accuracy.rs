//! Window accuracy: how far an engine's final rows are from the exact answer
//! (measurement.md, "Window accuracy").

use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use streamlab_core::row::final_rows;
use streamlab_core::value::FieldValue;
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
        let (n, d) = (err_num[i], err_den[i]);
        let rel = if n == 0.0 {
            0.0
        } else if d == 0.0 {
            f64::INFINITY
        } else {
            n / d
        };
        report.relative_error.insert(name, rel);
    }
    report
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
    use streamlab_core::value::AggValue;

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
}
