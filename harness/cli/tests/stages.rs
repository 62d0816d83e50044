//! Multi-stage queries (`[[stage]]`, docs/semantics.md "Multi-stage queries") on the
//! engines:
//! - random two- and three-stage plans (aggregate over a projection, aggregate over an
//!   aggregate, top-N over an aggregate, top-N and aggregate over a window aggregate) on
//!   random streams with disorder and late events: every engine configuration (1 and 2
//!   workers) has the oracle's final answer wherever its first stage dropped nothing late;
//! - the NEXMark queries Q4, Q9, Q17, Q18 and Q19 over a generated stream: the oracle
//!   equals the answer computed here directly from the lines with serde_json, and every
//!   engine configuration equals the oracle;
//! - the baseline refuses a query with stages, by name.

use crate::fixtures::{default_of, Configuration};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use streamlab_core::engine::RunSummary;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::{Plan, ResultRow};
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
use streamlab_io::decode::decode_generated;
use streamlab_io::sink::SharedBuffer;
use streamlab_workloads::gen::{generate_to_vec, GenConfig, NexmarkKind, Workload};

/// The engine configurations compared with the oracle: each engine on 1 and 2 workers,
/// per-record and batched.
fn engines() -> Vec<Configuration> {
    [
        ("record", "--engine record"),
        ("record-w2", "--engine record --workers 2"),
        (
            "record-i1-w2",
            "--engine record --watermark-interval 1 --workers 2",
        ),
        (
            "microbatch-b1",
            "--engine microbatch --max-records-per-batch 1",
        ),
        (
            "microbatch-b7",
            "--engine microbatch --max-records-per-batch 7",
        ),
        (
            "microbatch-w2-b9",
            "--engine microbatch --workers 2 --max-records-per-batch 9",
        ),
    ]
    .into_iter()
    .map(|(label, flags)| Configuration::parse(label, flags))
    .collect()
}

/// A final answer: the collapsed changelog, sorted.
fn answer(plan: &Plan, rows: &[ResultRow]) -> Vec<(Vec<FieldValue>, Vec<AggValue>)> {
    plan.final_rows(rows)
        .into_iter()
        .map(|r| (r.group, r.values))
        .collect()
}

fn run_text(config: &Configuration, plan: &Plan, text: &str) -> (RunSummary, Vec<ResultRow>) {
    config
        .run_text(plan, text)
        .unwrap_or_else(|e| panic!("{config}: {e:#}"))
}

/// First stages: bids as a projection (auction, bidder, price, ts), or counts per key in
/// 10 ms tumbling windows with a watermark delay.
fn projection() -> &'static str {
    "output_mode = \"update\"\n[[select]]\nfield = \"auction\"\n[[select]]\nfield = \"bidder\"\n[[select]]\nfield = \"price\"\n[[select]]\nfield = \"ts\"\n"
}

fn windowed(delay: i64) -> String {
    format!("output_mode = \"update\"\nevent_time = \"ts\"\ngroup_by = [\"key\"]\n[watermark]\ndelay = {delay}\n[window]\nkind = \"tumbling\"\nsize = 10\n[[aggregate]]\nfn = \"count\"\nas = \"n\"\n[[aggregate]]\nfn = \"sum\"\nfield = \"price\"\nas = \"s\"\n")
}

/// A random plan: which shape, and its parameters.
fn plan_text(shape: u8, n: u32, bound: i64, delay: i64) -> String {
    match shape {
        // Aggregate over a projection, filtered counts and every function.
        0 => format!("{}[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"auction\"]\n[[stage.aggregate]]\nfn = \"count\"\nas = \"bids\"\n[[stage.aggregate]]\nfn = \"count\"\nas = \"cheap\"\nwhere = \"price < {bound}\"\n[[stage.aggregate]]\nfn = \"sum\"\nfield = \"price\"\nas = \"total\"\n[[stage.aggregate]]\nfn = \"min\"\nfield = \"price\"\nas = \"low\"\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"high\"\n[[stage.aggregate]]\nfn = \"avg\"\nfield = \"price\"\nas = \"mean\"\n", projection()),
        // Aggregate over an aggregate (Q4's shape): the highest price per (auction,
        // bidder), then per bidder the average, sum and count of those maxima, over a
        // computed key and a filter.
        1 => format!("{}[[stage]]\nkind = \"aggregate\"\nfilter = [\"price > -{bound}\"]\ngroup_by = [\"auction\", \"bidder\"]\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"top\"\n[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"parity\"]\n[[stage.compute]]\nas = \"parity\"\nexpr = \"bidder % 2\"\n[[stage.aggregate]]\nfn = \"avg\"\nfield = \"top\"\nas = \"mean\"\n[[stage.aggregate]]\nfn = \"sum\"\nfield = \"top\"\nas = \"total\"\n[[stage.aggregate]]\nfn = \"min\"\nfield = \"top\"\nas = \"low\"\n[[stage.aggregate]]\nfn = \"count\"\nas = \"auctions\"\n", projection()),
        // Top-N over a projection, with ranks (Q19's shape).
        2 => format!("{}[[stage]]\nkind = \"top_n\"\npartition_by = [\"auction\"]\norder_by = [\"price desc\", \"ts\"]\nn = {n}\nrank = \"rank\"\n", projection()),
        // Top-N over an aggregate: the N auctions of highest maximum, over everything.
        3 => format!("{}[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"auction\"]\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"price\"\nas = \"top\"\n[[stage]]\nkind = \"top_n\"\norder_by = [\"top desc\"]\nn = {n}\nrank = \"rank\"\n", projection()),
        // Top-1 over a window aggregate (Q5's shape): the busiest key per window.
        4 => format!("{}[[stage]]\nkind = \"top_n\"\npartition_by = [\"window_end\"]\norder_by = [\"n desc\"]\nn = 1\n", windowed(delay)),
        // Aggregate over a window aggregate: per window, the total and the largest sum;
        // then over the windows, how many had each total (three stages).
        _ => format!("{}[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"window_end\"]\n[[stage.aggregate]]\nfn = \"sum\"\nfield = \"n\"\nas = \"events\"\n[[stage.aggregate]]\nfn = \"max\"\nfield = \"s\"\nas = \"largest\"\n[[stage]]\nkind = \"aggregate\"\ngroup_by = [\"events\"]\n[[stage.aggregate]]\nfn = \"count\"\nas = \"windows\"\n", windowed(delay)),
    }
}

/// One bid: auction, bidder, price, event time; a key for the windowed plans.
type Bid = (u8, u8, i64, i64);

fn bids(n: usize, disorder: i64) -> impl Strategy<Value = Vec<Bid>> {
    proptest::collection::vec((0..4u8, 0..3u8, -20i64..50, 0..=disorder, 0..4i64), 1..n).prop_map(
        |raw| {
            let mut t = 0i64;
            raw.into_iter()
                .map(|(auction, bidder, price, back, step)| {
                    t += step;
                    (auction, bidder, price, t - back)
                })
                .collect()
        },
    )
}

fn text(bids: &[Bid]) -> String {
    bids.iter()
        .map(|(a, b, p, t)| {
            format!(
                "{{\"ts\":{t},\"auction\":{a},\"bidder\":{b},\"price\":{p},\"key\":\"k{}\"}}\n",
                a % 3
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn every_engine_has_the_oracles_final_answer_where_nothing_was_late(
        shape in 0..6u8,
        n in 1..4u32,
        bound in 0..40i64,
        delay in prop::sample::select(vec![0i64, 4, 30]),
        input in bids(120, 25),
    ) {
        let plan = Plan::from_toml(&plan_text(shape, n, bound, delay)).unwrap();
        let text = text(&input);
        let (_, rows) = run_text(&default_of(EngineKind::Oracle), &plan, &text);
        let exact = answer(&plan, &rows);
        for config in engines() {
            let (summary, rows) = run_text(&config, &plan, &text);
            if summary.late_dropped > 0 {
                // Late data is dropped by the first stage, as in a one-stage query: the
                // answer is then the engine's own, not the oracle's.
                continue;
            }
            prop_assert_eq!(&answer(&plan, &rows), &exact, "{} on shape {}", config, shape);
        }
    }
}

#[test]
fn the_baseline_refuses_a_query_with_stages() {
    let plan = Plan::from_toml(&plan_text(0, 1, 10, 0)).unwrap();
    let err = default_of(EngineKind::Baseline)
        .run_text(
            &plan,
            "{\"ts\":1,\"auction\":1,\"bidder\":1,\"price\":3,\"key\":\"k\"}\n",
        )
        .unwrap_err();
    assert!(format!("{err:#}").contains("[[stage]]"), "{err:#}");
}

/// NEXMark lines of the given kinds (5 % up to 1 s out of order), and the query.
fn nexmark(file: &str, kinds: &[NexmarkKind], events: u64) -> (Plan, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../queries")
        .join(file);
    let plan = Plan::from_file(&path).unwrap();
    let mut cfg = GenConfig::new(Workload::Nexmark, events, 11);
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 1_000;
    cfg.kinds = kinds.to_vec();
    (plan, generate_to_vec(&cfg).unwrap().0)
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs over the generated lines as `experiment nexmark` decodes them.
fn run_generated(config: &Configuration, plan: &Plan, bytes: &[u8]) -> Vec<ResultRow> {
    let input = decode_generated(bytes, plan, false, &mut std::io::sink()).unwrap();
    let buffer = SharedBuffer::default();
    run_decoded(
        config.engine().as_ref(),
        plan,
        &config.options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap_or_else(|e| panic!("{config}: {e:#}"));
    parse_rows(&String::from_utf8(buffer.contents()).unwrap(), plan, "out").unwrap()
}

/// The oracle's answer equals `direct`, and every engine's the oracle's.
fn check(plan: &Plan, bytes: &[u8], direct: Vec<(Vec<FieldValue>, Vec<AggValue>)>) {
    let exact = answer(
        plan,
        &run_generated(&default_of(EngineKind::Oracle), plan, bytes),
    );
    assert!(!exact.is_empty());
    let mut direct = direct;
    direct.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| format!("{:?}", a.1).cmp(&format!("{:?}", b.1)))
    });
    let mut sorted = exact.clone();
    sorted.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| format!("{:?}", a.1).cmp(&format!("{:?}", b.1)))
    });
    assert_eq!(
        sorted.len(),
        direct.len(),
        "the oracle's rows against the direct answer's"
    );
    assert_eq!(
        sorted, direct,
        "the oracle differs from the direct computation"
    );
    for config in engines() {
        let got = answer(plan, &run_generated(&config, plan, bytes));
        assert_eq!(got, exact, "{config}");
    }
}

fn int(v: &serde_json::Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn text_of(v: &serde_json::Value, field: &str) -> FieldValue {
    FieldValue::Str(v[field].as_str().unwrap().into())
}

fn bid_row(b: &serde_json::Value) -> (Vec<FieldValue>, Vec<AggValue>) {
    (
        vec![text_of(b, "channel"), text_of(b, "url")],
        ["auction", "bidder", "price", "ts"]
            .iter()
            .map(|f| AggValue::Int(int(b, f)))
            .collect(),
    )
}

/// A bid's place in its ordering: the order columns, then (as the stage) every other
/// column: numbers, then the interned text, whose ids follow first appearance in the file.
fn ranked(bids: &mut [&serde_json::Value], order: impl Fn(&serde_json::Value) -> (i64, i64)) {
    bids.sort_by(|a, b| {
        order(a).cmp(&order(b)).then_with(|| {
            ["auction", "bidder", "price", "ts"]
                .map(|f| int(a, f))
                .cmp(&["auction", "bidder", "price", "ts"].map(|f| int(b, f)))
        })
    });
}

#[test]
fn q18_the_last_bid_per_bidder_and_auction() {
    let (plan, bytes) = nexmark("nexmark_q18_last_bid.toml", &[NexmarkKind::Bid], 20_000);
    let all = lines(&bytes);
    let mut by_pair: BTreeMap<(i64, i64), Vec<&serde_json::Value>> = BTreeMap::new();
    for b in &all {
        by_pair
            .entry((int(b, "bidder"), int(b, "auction")))
            .or_default()
            .push(b);
    }
    let mut ties = 0;
    let direct = by_pair
        .into_values()
        .filter_map(|mut bids| {
            ranked(&mut bids, |b| (-int(b, "ts"), 0));
            // A tie at the latest time is broken by the other columns; skip none, but
            // count them, so the test says whether it exercised the rule.
            ties += usize::from(bids.len() > 1 && int(bids[0], "ts") == int(bids[1], "ts"));
            bids.first().map(|b| bid_row(b))
        })
        .collect();
    eprintln!("q18: {ties} pairs with two bids at the latest time");
    check(&plan, &bytes, direct);
}

#[test]
fn q19_the_top_ten_bids_per_auction() {
    let (plan, bytes) = nexmark("nexmark_q19_top_bids.toml", &[NexmarkKind::Bid], 20_000);
    let all = lines(&bytes);
    let mut by_auction: BTreeMap<i64, Vec<&serde_json::Value>> = BTreeMap::new();
    for b in &all {
        by_auction.entry(int(b, "auction")).or_default().push(b);
    }
    let direct = by_auction
        .into_values()
        .flat_map(|mut bids| {
            ranked(&mut bids, |b| (-int(b, "price"), 0));
            bids.into_iter()
                .take(10)
                .enumerate()
                .map(|(i, b)| {
                    let (text, mut values) = bid_row(b);
                    values.push(AggValue::Int(i as i64 + 1));
                    (text, values)
                })
                .collect::<Vec<_>>()
        })
        .collect();
    check(&plan, &bytes, direct);
}

#[test]
fn q17_auction_statistics_per_day() {
    let (plan, bytes) = nexmark(
        "nexmark_q17_auction_statistics.toml",
        &[NexmarkKind::Bid],
        20_000,
    );
    let mut groups: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    for b in &lines(&bytes) {
        groups
            .entry((int(b, "auction"), int(b, "ts").div_euclid(86_400_000)))
            .or_default()
            .push(int(b, "price"));
    }
    let direct = groups
        .into_iter()
        .map(|((auction, day), prices)| {
            let n = prices.len() as i64;
            let count = |f: &dyn Fn(i64) -> bool| {
                AggValue::Int(prices.iter().filter(|p| f(**p)).count() as i64)
            };
            let sum: i64 = prices.iter().sum();
            (
                vec![],
                vec![
                    AggValue::Int(auction),
                    AggValue::Int(day),
                    AggValue::Int(n),
                    count(&|p| p < 10_000),
                    count(&|p| (10_000..1_000_000).contains(&p)),
                    count(&|p| p >= 1_000_000),
                    AggValue::Int(*prices.iter().min().unwrap()),
                    AggValue::Int(*prices.iter().max().unwrap()),
                    AggValue::Float(sum as f64 / n as f64),
                    AggValue::Int(sum),
                ],
            )
        })
        .collect();
    check(&plan, &bytes, direct);
}

/// Auctions and bids: each auction's bids placed while it was open.
fn open_bids(
    all: &[serde_json::Value],
) -> BTreeMap<i64, (&serde_json::Value, Vec<&serde_json::Value>)> {
    let mut auctions: BTreeMap<i64, (&serde_json::Value, Vec<&serde_json::Value>)> =
        BTreeMap::new();
    for a in all.iter().filter(|l| l["kind"] == "auction") {
        auctions.insert(int(a, "id"), (a, Vec::new()));
    }
    for b in all.iter().filter(|l| l["kind"] == "bid") {
        if let Some((a, bids)) = auctions.get_mut(&int(b, "auction")) {
            if int(b, "ts") >= int(a, "ts") && int(b, "ts") <= int(a, "expires") {
                bids.push(b);
            }
        }
    }
    auctions
}

#[test]
fn q4_average_winning_price_per_category() {
    let kinds = [NexmarkKind::Auction, NexmarkKind::Bid];
    let (plan, bytes) = nexmark("nexmark_q4_average_price_per_category.toml", &kinds, 20_000);
    let all = lines(&bytes);
    let mut per_category: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (a, bids) in open_bids(&all).into_values() {
        if let Some(max) = bids.iter().map(|b| int(b, "price")).max() {
            per_category
                .entry(int(a, "category"))
                .or_default()
                .push(max);
        }
    }
    let direct = per_category
        .into_iter()
        .map(|(category, maxima)| {
            let mean = maxima.iter().map(|m| *m as f64).sum::<f64>() / maxima.len() as f64;
            (vec![], vec![AggValue::Int(category), AggValue::Float(mean)])
        })
        .collect();
    check(&plan, &bytes, direct);
}

#[test]
fn q9_the_winning_bid_of_every_auction() {
    let kinds = [NexmarkKind::Auction, NexmarkKind::Bid];
    let (plan, bytes) = nexmark("nexmark_q9_winning_bids.toml", &kinds, 20_000);
    let all = lines(&bytes);
    let direct = open_bids(&all)
        .into_values()
        .filter_map(|(a, mut bids)| {
            bids.sort_by_key(|b| (-int(b, "price"), int(b, "ts"), int(b, "bidder")));
            let b = bids.first()?;
            Some((
                vec![text_of(a, "item_name")],
                [
                    (a, "id"),
                    (a, "initial_bid"),
                    (a, "reserve"),
                    (a, "ts"),
                    (a, "expires"),
                    (a, "seller"),
                    (a, "category"),
                    (b, "bidder"),
                    (b, "price"),
                    (b, "ts"),
                ]
                .iter()
                .map(|(v, f)| AggValue::Int(int(v, f)))
                .collect(),
            ))
        })
        .collect();
    check(&plan, &bytes, direct);
}
