//! NEXMark queries the single-stage plan reaches, over generated streams: the oracle
//! equals the answer computed here directly from the lines with serde_json, and every
//! engine configuration (baseline, micro-batch at several batch sizes and workers,
//! record at 1 and 2+ workers) equals the oracle.
//! - Q11 (`queries/nexmark_q11_user_sessions.toml`): bids per bidder in 10 s sessions;
//! - Q20 (`queries/nexmark_q20_expand_bid_with_auction.toml`): bids joined to their
//!   category-10 auction;
//! - Q21 (`queries/nexmark_q21_add_channel_id.toml`): string `where` and `CASE` over the
//!   channel and `REGEXP_EXTRACT` of the URL;
//! - Q22 (`queries/nexmark_q22_get_url_directories.toml`): `SPLIT_INDEX` of the URL.

use crate::fixtures::{beside_the_oracle, default_of, Configuration};
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

/// A final row: window, text columns, numbers.
type Row = ((i64, i64), Vec<FieldValue>, Vec<AggValue>);

/// The query, and NEXMark lines of the given kinds (5 % up to 1 s out of order), at
/// `rate` events per second when given.
fn nexmark(file: &str, kinds: &[NexmarkKind], events: u64, rate: Option<f64>) -> (Plan, Vec<u8>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../queries")
        .join(file);
    let plan = Plan::from_file(&path).unwrap();
    let mut cfg = GenConfig::new(Workload::Nexmark, events, 5);
    cfg.disorder = 0.05;
    cfg.max_delay_ms = 1_000;
    cfg.kinds = kinds.to_vec();
    if let Some(rate) = rate {
        cfg.rate = rate;
    }
    (plan, generate_to_vec(&cfg).unwrap().0)
}

fn lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    std::str::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn int(v: &serde_json::Value, field: &str) -> i64 {
    v[field]
        .as_i64()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

fn text(v: &serde_json::Value, field: &str) -> FieldValue {
    FieldValue::Str(v[field].as_str().unwrap().into())
}

/// The final rows of a run over the lines, decoded as `experiment nexmark` decodes them,
/// sorted.
fn run(config: &Configuration, plan: &Plan, bytes: &[u8]) -> (RunSummary, Vec<Row>) {
    let input = decode_generated(bytes, plan, false, &mut std::io::sink()).unwrap();
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        config.engine().as_ref(),
        plan,
        &config.options,
        input,
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap_or_else(|e| panic!("{config}: {e:#}"));
    let rows = parse_rows(&String::from_utf8(buffer.contents()).unwrap(), plan, "out").unwrap();
    let mut rows: Vec<Row> = plan
        .final_rows(&rows)
        .into_iter()
        .map(|r: ResultRow| ((r.window.start, r.window.end), r.group, r.values))
        .collect();
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    (summary, rows)
}

/// The oracle's answer equals `direct`, and every engine's the oracle's.
fn check(plan: &Plan, bytes: &[u8], mut direct: Vec<Row>) {
    let (summary, exact) = run(&default_of(EngineKind::Oracle), plan, bytes);
    assert_eq!(summary.late_dropped, 0, "the test promises nothing late");
    assert!(exact.len() > 50, "few rows to compare: {}", exact.len());
    direct.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    assert_eq!(
        exact.len(),
        direct.len(),
        "the oracle's rows against the direct ones"
    );
    assert!(
        exact == direct,
        "the oracle differs from the direct computation"
    );
    for config in beside_the_oracle() {
        let (_, got) = run(&config, plan, bytes);
        assert!(got == exact, "{config} differs from the oracle");
    }
}

#[test]
fn q11_bids_per_bidder_session_equal_the_sessions_of_the_lines() {
    let (plan, bytes) = nexmark(
        "nexmark_q11_user_sessions.toml",
        &[NexmarkKind::Bid],
        30_000,
        // 50 events a second (the default is 1 000): a bidder other than the hot ones
        // bids tens of seconds apart, so sessions split.
        Some(50.0),
    );
    // A watermark 4 s behind and at most 1 s of disorder: no bid is late, so the
    // sessions are those of each bidder's sorted times, split where 10 s or more apart.
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for b in &lines(&bytes) {
        times
            .entry(int(b, "bidder"))
            .or_default()
            .push(int(b, "ts"));
    }
    let gap = 10_000;
    let mut direct = Vec::new();
    let mut split = 0;
    for (bidder, mut ts) in times {
        ts.sort_unstable();
        let (mut start, mut last, mut n) = (ts[0], ts[0], 0);
        for t in ts {
            if t - last >= gap {
                direct.push((
                    (start, last + gap),
                    vec![FieldValue::Int(bidder)],
                    vec![AggValue::Int(n)],
                ));
                split += 1;
                (start, n) = (t, 0);
            }
            last = t;
            n += 1;
        }
        direct.push((
            (start, last + gap),
            vec![FieldValue::Int(bidder)],
            vec![AggValue::Int(n)],
        ));
    }
    assert!(split > 10, "the stream splits few sessions: {split}");
    check(&plan, &bytes, direct);
}

#[test]
fn q20_bids_joined_to_their_category_10_auction() {
    let (plan, bytes) = nexmark(
        "nexmark_q20_expand_bid_with_auction.toml",
        &[NexmarkKind::Auction, NexmarkKind::Bid],
        30_000,
        None,
    );
    let all = lines(&bytes);
    let auctions: BTreeMap<i64, &serde_json::Value> = all
        .iter()
        .filter(|e| e["kind"] == "auction" && e["category"] == 10)
        .map(|a| (int(a, "id"), a))
        .collect();
    let direct = all
        .iter()
        .filter(|e| e["kind"] == "bid")
        .filter_map(|b| {
            let a = auctions.get(&int(b, "auction"))?;
            let numbers = [(b, "auction"), (b, "bidder"), (b, "price"), (b, "ts")]
                .into_iter()
                .chain([
                    (*a, "initial_bid"),
                    (*a, "reserve"),
                    (*a, "ts"),
                    (*a, "expires"),
                    (*a, "seller"),
                    (*a, "category"),
                ])
                .map(|(o, f)| AggValue::Int(int(o, f)))
                .collect();
            let start = 0;
            Some((
                (start, start),
                vec![text(b, "channel"), text(b, "url"), text(a, "item_name")],
                numbers,
            ))
        })
        .collect();
    check(&plan, &bytes, direct);
}

/// A generated bid's numbers as Q21 and Q22 select them.
fn bid_numbers(b: &serde_json::Value) -> Vec<AggValue> {
    ["auction", "bidder", "price"]
        .iter()
        .map(|f| AggValue::Int(int(b, f)))
        .collect()
}

#[test]
fn q22_url_directories_are_the_pieces_of_the_lines_urls() {
    let (plan, bytes) = nexmark(
        "nexmark_q22_get_url_directories.toml",
        &[NexmarkKind::Bid],
        20_000,
        None,
    );
    let direct = lines(&bytes)
        .iter()
        .map(|b| {
            let url = b["url"].as_str().unwrap();
            let pieces: Vec<&str> = url.split('/').collect();
            let mut group = vec![text(b, "channel")];
            // SPLIT_INDEX is null past the last piece (none here: every URL has seven).
            group.extend((3..6).map(|i| match pieces.get(i) {
                Some(p) => FieldValue::Str((*p).into()),
                None => FieldValue::Float(f64::NAN),
            }));
            ((0, 0), group, bid_numbers(b))
        })
        .collect();
    check(&plan, &bytes, direct);
}

#[test]
fn q21_channel_ids_follow_the_lines_channels_and_urls() {
    let (plan, bytes) = nexmark(
        "nexmark_q21_add_channel_id.toml",
        &[NexmarkKind::Bid],
        20_000,
        None,
    );
    let (mut hot, mut by_url, mut dropped) = (0, 0, 0);
    let direct: Vec<Row> = lines(&bytes)
        .iter()
        .filter_map(|b| {
            let channel = b["channel"].as_str().unwrap();
            let url = b["url"].as_str().unwrap();
            // `(&|^)channel_id=([^&]*)`, group 2, by hand.
            let from_url = url
                .split(['?', '&'])
                .skip(1)
                .find_map(|p| p.strip_prefix("channel_id="))
                .filter(|_| url.contains("&channel_id=") || url.starts_with("channel_id="));
            let hot_id = ["apple", "google", "facebook", "baidu"]
                .iter()
                .position(|h| *h == channel.to_lowercase());
            let id = match (hot_id, from_url) {
                (Some(i), _) => {
                    hot += 1;
                    i.to_string()
                }
                (None, Some(id)) => {
                    by_url += 1;
                    id.to_string()
                }
                (None, None) => {
                    dropped += 1;
                    return None;
                }
            };
            Some((
                (0, 0),
                vec![text(b, "channel"), FieldValue::Str(id.into())],
                bid_numbers(b),
            ))
        })
        .collect();
    assert!(
        hot > 100 && by_url > 100 && dropped > 10,
        "every branch is taken: {hot} hot, {by_url} by URL, {dropped} dropped"
    );
    check(&plan, &bytes, direct);
    // The dropped bids are counted as filtered, on every engine as on the oracle.
    let (summary, _) = run(&default_of(EngineKind::Oracle), &plan, &bytes);
    assert_eq!(summary.filtered, dropped as u64);
}
