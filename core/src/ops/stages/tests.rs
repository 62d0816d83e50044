//! Changelog tests: stages fed inserts, update-before/after and deletes by hand give the
//! rows docs/semantics.md ("Multi-stage queries") says.

use super::*;
use crate::model::window::Window;
use crate::query::Plan;
use smallvec::smallvec;
use ChangeKind::*;

/// Bids as a projection (auction, bidder, price, ts), then a later stage.
fn plan(stages: &str) -> Plan {
    Plan::from_toml(&format!(
        "output_mode = \"update\"\n[[select]]\nfield = \"auction\"\n[[select]]\nfield = \"bidder\"\n[[select]]\nfield = \"price\"\n[[select]]\nfield = \"ts\"\n{stages}"
    ))
    .unwrap()
}

fn row(values: &[i64]) -> StageRow {
    StageRow {
        key: 0,
        values: values.iter().map(|v| AggValue::Int(*v)).collect(),
        time: 0,
        trigger: None,
    }
}

fn change(kind: ChangeKind, values: &[i64]) -> Change {
    Change {
        kind,
        row: row(values),
    }
}

/// Changes as (op, values), floats shown as integers when whole.
fn shown(changes: &[Change]) -> Vec<(&'static str, Vec<String>)> {
    changes
        .iter()
        .map(|c| {
            let v = c
                .row
                .values
                .iter()
                .map(|v| match v {
                    AggValue::Int(i) => i.to_string(),
                    AggValue::Float(f) => format!("{f}"),
                })
                .collect();
            (c.kind.op(), v)
        })
        .collect()
}

fn ops(expected: &[(&'static str, &[&str])]) -> Vec<(&'static str, Vec<String>)> {
    expected
        .iter()
        .map(|(op, v)| (*op, v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

const AGG: &str = "[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"auction\"]\n[[stage.aggregate]]\nfn = \"count\"\nas = \"bids\"\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"top\"\n[[stage.aggregate]]\nfn = \"count\"\nas = \"cheap\"\nwhere = \"price < 10\"\n";

#[test]
fn an_aggregate_inserts_then_revises_then_deletes_its_group() {
    let p = plan(AGG);
    let stages = p.stages.as_ref().unwrap();
    let stage = &stages.stages[0];
    let mut state = stage.state();
    let out = state.apply(stage, vec![change(Insert, &[1, 7, 5, 100])]);
    assert_eq!(shown(&out), ops(&[("+I", &["1", "1", "5", "1"])]));
    // A second bid revises the group: the old row taken back, the new one added.
    let out = state.apply(stage, vec![change(Insert, &[1, 8, 20, 101])]);
    assert_eq!(
        shown(&out),
        ops(&[
            ("-U", &["1", "1", "5", "1"]),
            ("+U", &["1", "2", "20", "1"])
        ])
    );
    // The input revises its own row (-U/+U): max falls back, count is unchanged.
    let out = state.apply(
        stage,
        vec![
            change(UpdateBefore, &[1, 8, 20, 101]),
            change(UpdateAfter, &[1, 8, 3, 101]),
        ],
    );
    assert_eq!(
        shown(&out),
        ops(&[
            ("-U", &["1", "2", "20", "1"]),
            ("+U", &["1", "2", "5", "2"])
        ])
    );
    // A batch that changes nothing in the end emits nothing.
    let out = state.apply(
        stage,
        vec![
            change(Insert, &[1, 9, 4, 102]),
            change(Delete, &[1, 9, 4, 102]),
        ],
    );
    assert!(out.is_empty(), "{:?}", shown(&out));
    // The group's last rows taken back: the group is deleted.
    let out = state.apply(
        stage,
        vec![
            change(Delete, &[1, 7, 5, 100]),
            change(Delete, &[1, 8, 3, 101]),
        ],
    );
    assert_eq!(shown(&out), ops(&[("-D", &["1", "2", "5", "2"])]));
    if let StageState::Aggregate(s) = &state {
        assert!(s.is_empty(), "a deleted group leaves no state");
    }
}

#[test]
fn a_retraction_that_overtakes_its_row_is_held_until_the_row_comes() {
    let p = plan(AGG);
    let stage = &p.stages.as_ref().unwrap().stages[0];
    let mut state = stage.state();
    let out = state.apply(stage, vec![change(Delete, &[1, 7, 5, 100])]);
    assert!(out.is_empty(), "no row while the group counts below one");
    let out = state.apply(stage, vec![change(Insert, &[1, 7, 5, 100])]);
    assert!(out.is_empty(), "the row and its retraction cancel");
    let out = state.apply(stage, vec![change(Insert, &[1, 9, 30, 100])]);
    assert_eq!(shown(&out), ops(&[("+I", &["1", "1", "30", "0"])]));
}

#[test]
fn an_aggregate_over_an_aggregate_follows_its_inputs_revisions() {
    // Q4's shape: max price per auction, then the average of those maxima per bidder
    // (as category here).
    let p = plan(
        "[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"auction\", \"bidder\"]\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"final\"\n[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"bidder\"]\n[[stage.aggregate]]\nfn = \"avg\"\nfield = \"final\"\nas = \"avg_final\"\n",
    );
    let stages = p.stages.as_ref().unwrap();
    let mut chain = stages.chain();
    let bid = |auction, bidder, price| OutRow {
        window: Window { start: 0, end: 0 },
        key: 0,
        values: smallvec![
            AggValue::Int(auction),
            AggValue::Int(bidder),
            AggValue::Int(price),
            AggValue::Int(0)
        ],
        emit: None,
        trigger: None,
    };
    let decode = |rows: Vec<OutRow>| {
        shown(
            &rows
                .into_iter()
                .map(|r| Change::from_out_row(r).unwrap())
                .collect::<Vec<_>>(),
        )
    };
    let out = decode(chain.apply(stages, vec![bid(1, 9, 10), bid(2, 9, 20)]));
    assert_eq!(out, ops(&[("+I", &["9", "15"])]));
    // A higher bid on auction 1: its maximum is revised, so is the average.
    let out = decode(chain.apply(stages, vec![bid(1, 9, 40)]));
    assert_eq!(out, ops(&[("-U", &["9", "15"]), ("+U", &["9", "30"])]));
}

#[test]
fn top_n_with_rank_revises_rank_by_rank() {
    let p = plan(
        "[[stage]]\nkind = \"top_n\"\npartition_by = [\"auction\"]\norder_by = [\"price desc\"]\nn = 2\nrank = \"rank\"\n",
    );
    let stage = &p.stages.as_ref().unwrap().stages[0];
    let mut state = stage.state();
    let out = state.apply(
        stage,
        vec![
            change(Insert, &[1, 7, 5, 100]),
            change(Insert, &[1, 8, 9, 101]),
        ],
    );
    assert_eq!(
        shown(&out),
        ops(&[
            ("+I", &["1", "8", "9", "101", "1"]),
            ("+I", &["1", "7", "5", "100", "2"])
        ])
    );
    // A bid between them pushes the 5 out and takes rank 2.
    let out = state.apply(stage, vec![change(Insert, &[1, 6, 7, 102])]);
    assert_eq!(
        shown(&out),
        ops(&[
            ("-U", &["1", "7", "5", "100", "2"]),
            ("+U", &["1", "6", "7", "102", "2"])
        ])
    );
    // A bid below the top 2 changes nothing.
    assert!(state
        .apply(stage, vec![change(Insert, &[1, 5, 1, 103])])
        .is_empty());
    // The top bid taken back: every rank moves up, the 5 comes back at rank 2.
    let out = state.apply(stage, vec![change(Delete, &[1, 8, 9, 101])]);
    assert_eq!(
        shown(&out),
        ops(&[
            ("-U", &["1", "8", "9", "101", "1"]),
            ("+U", &["1", "6", "7", "102", "1"]),
            ("-U", &["1", "6", "7", "102", "2"]),
            ("+U", &["1", "7", "5", "100", "2"]),
        ])
    );
}

#[test]
fn dedup_keeps_the_last_row_per_key() {
    // Q18's shape: the last bid per (bidder, auction), by time.
    let p = plan(
        "[[stage]]\nkind = \"top_n\"\npartition_by = [\"bidder\", \"auction\"]\norder_by = [\"ts desc\"]\nn = 1\n",
    );
    let stage = &p.stages.as_ref().unwrap().stages[0];
    let mut state = stage.state();
    let out = state.apply(stage, vec![change(Insert, &[1, 7, 5, 100])]);
    assert_eq!(shown(&out), ops(&[("+I", &["1", "7", "5", "100"])]));
    // An older bid arriving late does not replace it; a newer one does.
    assert!(state
        .apply(stage, vec![change(Insert, &[1, 7, 8, 90])])
        .is_empty());
    let out = state.apply(stage, vec![change(Insert, &[1, 7, 6, 110])]);
    assert_eq!(
        shown(&out),
        ops(&[
            ("-U", &["1", "7", "5", "100"]),
            ("+U", &["1", "7", "6", "110"])
        ])
    );
    // Taking every row back deletes the partition's row.
    let out = state.apply(
        stage,
        vec![
            change(Delete, &[1, 7, 6, 110]),
            change(Delete, &[1, 7, 5, 100]),
            change(Delete, &[1, 7, 8, 90]),
        ],
    );
    assert_eq!(shown(&out), ops(&[("-D", &["1", "7", "6", "110"])]));
}

#[test]
fn changes_travel_as_rows_and_back() {
    let c = change(UpdateAfter, &[1, 2]);
    let back = Change::from_out_row(c.clone().into_out_row()).unwrap();
    assert_eq!(back, c);
}

#[test]
fn stage_errors_name_the_key() {
    let err = |stages: &str| {
        Plan::from_toml(&format!(
            "output_mode = \"update\"\n[[select]]\nfield = \"a\"\n[[select]]\nfield = \"s\"\ntype = \"string\"\n{stages}"
        ))
        .unwrap_err()
        .to_string()
    };
    let agg = "[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"a\"]\n[[stage.aggregate]]\nfn = \"count\"\nas = \"n\"\n";
    let e = err(&agg.replace("[\"a\"]", "[\"b\"]"));
    assert!(
        e.contains("stage[0].group_by") && e.contains("no column `b`"),
        "{e}"
    );
    let e = err(&agg.replace("kind = \"aggregate\"", "kind = \"aggregate\"\nn = 3"));
    assert!(
        e.contains("stage[0].n") && e.contains("`aggregate` stage"),
        "{e}"
    );
    let e = err("[[stage]]\nkind = \"top_n\"\npartition_by = [\"a\"]\norder_by = [\"a\"]\n");
    assert!(e.contains("stage[0].n"), "{e}");
    let e = err("[[stage]]\nkind = \"top_n\"\npartition_by = [\"a\"]\norder_by = [\"s\"]\nn = 1\n");
    assert!(
        e.contains("stage[0].order_by[0]") && e.contains("not a number"),
        "{e}"
    );
    let e = err(
        "[[stage]]\nkind = \"top_n\"\npartition_by = [\"a\"]\norder_by = [\"a sideways\"]\nn = 1\n",
    );
    assert!(e.contains("sideways"), "{e}");
    let e = err(&format!("{agg}[[stage]]\ninput = \"first\"\nkind = \"aggregate\"\n[[stage.aggregate]]\nfn = \"count\"\nas = \"m\"\n"));
    assert!(e.contains("stage[1].input") && e.contains("chain"), "{e}");
    let e = err(&agg.replace("fn = \"count\"", "fn = \"sum\""));
    assert!(e.contains("stage[0].aggregate[0].field"), "{e}");
    let e = err(&agg.replace("fn = \"count\"", "fn = \"count_distinct\"\nfield = \"a\""));
    assert!(e.contains("count_distinct"), "{e}");
    let e = err(&format!(
        "{agg}[[stage.compute]]\nas = \"x\"\nexpr = \"s + 1\"\n"
    ));
    assert!(
        e.contains("stage[0].compute[0].expr") && e.contains("not a number"),
        "{e}"
    );
    let append = Plan::from_toml(&format!("[[select]]\nfield = \"a\"\n{agg}"))
        .unwrap_err()
        .to_string();
    assert!(
        append.contains("`output_mode`") && append.contains("changelog"),
        "{append}"
    );
}

#[test]
fn one_stage_queries_compile_as_before_and_stages_round_trip() {
    let one = Plan::from_toml("[[select]]\nfield = \"a\"\n").unwrap();
    assert!(one.stages.is_none());
    let p = plan(AGG);
    assert_eq!(
        p.mode,
        crate::semantics::row::OutputMode::Append,
        "the first stage appends"
    );
    assert_eq!(Plan::from_toml(&p.to_toml()).unwrap(), p);
}
