#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
//! The stream-stream window join (`[[join]] kind = "window"`) on every engine against the
//! oracle, on random two-input streams (inputs interleaved at random, each with its own
//! event-time field, key field and watermark delay; disorder, late events, negative times):
//! - the oracle equals a join computed naively here from the events (fixed windows): a row
//!   per (window, key) where both inputs have events, `pairs` = the product of the counts;
//! - with each input's disorder within its delay nothing is late, and every engine
//!   configuration equals the oracle in every window kind and output mode;
//! - with late events, complete mode equals the oracle; the baseline and the record engine
//!   at `--watermark-interval 1` give the same rows and drops; and every engine differs
//!   from the oracle only by counted drops: with none it is exact, otherwise every row
//!   has both inputs and `pairs` = na x nb, and (fixed windows) is an oracle row with at
//!   most the oracle's counts.

use crate::fixtures::{
    answer, beside_the_oracle, default_of, Answer, Configuration, MODES, WINDOWS,
};
use proptest::prelude::*;
use std::collections::BTreeMap;
use streamlab_core::engine::RunSummary;
use streamlab_core::model::value::{AggValue, FieldValue};
use streamlab_core::{Plan, Window, WindowSpec};
use streamlab_engines::runner::{parse_rows, run_decoded};
use streamlab_engines::EngineKind;
use streamlab_io::decode::DecodedInput;
use streamlab_io::json_lines::Decoder;
use streamlab_io::sink::SharedBuffer;

/// One event in arrival order: input (0 `a`, 1 `b`), key index, event time, value.
type Item = (u8, u8, i64, i64);

/// The join of inputs `a` (key `key`, time `ts`, value `v`) and `b` (key `k`, time `time`,
/// value `w`, its own delay) per key: pairs, a's and b's counts, a's sum, b's max.
fn plan(window: &str, mode: &str, delay_a: i64, delay_b: i64) -> Plan {
    Plan::from_toml(&format!(
        "event_time = \"ts\"\ngroup_by = [\"key\"]\noutput_mode = \"{mode}\"\n\
         [watermark]\ndelay = {delay_a}\n[window]\n{window}\n[[join]]\nkind = \"window\"\n\
         [[input]]\nname = \"a\"\npath = \"a.jsonl\"\n\
         [[input]]\nname = \"b\"\npath = \"b.jsonl\"\nevent_time = \"time\"\ngroup_by = [\"k\"]\nwatermark_delay = {delay_b}\n\
         [[aggregate]]\nfn = \"count\"\nas = \"pairs\"\n\
         [[aggregate]]\nfn = \"count\"\ninput = \"a\"\nas = \"na\"\n\
         [[aggregate]]\nfn = \"count\"\ninput = \"b\"\nas = \"nb\"\n\
         [[aggregate]]\nfn = \"sum\"\nfield = \"v\"\ninput = \"a\"\nas = \"sa\"\n\
         [[aggregate]]\nfn = \"max\"\nfield = \"w\"\ninput = \"b\"\nas = \"hb\"\n"
    ))
    .unwrap()
}

/// Arrival-ordered events of both inputs: nominal time rising by 0..4 ms, each event moved
/// back by up to `disorder` ms, and with probability `late_pct`% by `late_by` ms more.
fn stream(
    n: usize,
    keys: u8,
    disorder: i64,
    late_pct: u32,
    late_by: i64,
) -> impl Strategy<Value = Vec<Item>> {
    proptest::collection::vec(
        (
            0..2u8,
            0..keys,
            0..=disorder,
            -20i64..20,
            0..4i64,
            0..100u32,
        ),
        1..n,
    )
    .prop_map(move |raw| {
        let mut t = -100i64;
        raw.into_iter()
            .map(|(input, key, back, v, step, roll)| {
                t += step;
                let late = if roll < late_pct { late_by } else { 0 };
                (input, key, t - back - late, v)
            })
            .collect()
    })
}

fn line(&(input, key, t, v): &Item) -> String {
    match input {
        0 => format!("{{\"ts\":{t},\"key\":\"k{key}\",\"v\":{v}}}"),
        _ => format!("{{\"time\":{t},\"k\":\"k{key}\",\"w\":{v}}}"),
    }
}

/// The items decoded as the harness decodes `[[input]]`s: each event tagged with its input.
fn decoded(plan: &Plan, items: &[Item]) -> DecodedInput {
    let mut decoder = Decoder::new(plan);
    let events = items
        .iter()
        .enumerate()
        .map(|(seq, item)| {
            decoder
                .decode_input(u16::from(item.0), &line(item), seq as u64)
                .unwrap()
        })
        .collect();
    DecodedInput {
        events,
        malformed: 0,
        keys: decoder.key_table().clone(),
        decode_time: std::time::Duration::ZERO,
        partitions: 2,
        unmatched: 0,
        restore_time: std::time::Duration::ZERO,
    }
}

fn run(config: &Configuration, plan: &Plan, items: &[Item]) -> (RunSummary, Answer) {
    let buffer = SharedBuffer::default();
    let summary = run_decoded(
        config.engine().as_ref(),
        plan,
        &config.options,
        decoded(plan, items),
        Box::new(buffer.clone()),
        "<memory>",
    )
    .unwrap();
    let rows = parse_rows(&String::from_utf8(buffer.contents()).unwrap(), plan, "out").unwrap();
    (summary, answer(&rows, plan.mode))
}

/// The join computed naively from the items, for fixed windows.
fn naive(items: &[Item], spec: WindowSpec) -> Answer {
    // (na, nb, sum of a's v, max of b's w)
    let mut cells: BTreeMap<(Window, u8), (i64, i64, i64, i64)> = BTreeMap::new();
    for &(input, key, t, v) in items {
        for w in spec.windows_of(t) {
            let c = cells.entry((w, key)).or_insert((0, 0, 0, i64::MIN));
            if input == 0 {
                c.0 += 1;
                c.2 += v;
            } else {
                c.1 += 1;
                c.3 = c.3.max(v);
            }
        }
    }
    cells
        .into_iter()
        .filter(|(_, c)| c.0 > 0 && c.1 > 0)
        .map(|((w, key), (na, nb, sa, hb))| {
            (
                w,
                vec![FieldValue::Str(format!("k{key}").into())],
                vec![
                    AggValue::Int(na * nb),
                    AggValue::Int(na),
                    AggValue::Int(nb),
                    AggValue::Int(sa),
                    AggValue::Int(hb),
                ],
            )
        })
        .collect()
}

fn int(v: &AggValue) -> i64 {
    match v {
        AggValue::Int(i) => *i,
        other => panic!("not an integer: {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn the_oracle_is_the_naive_join(
        items in stream(200, 5, 30, 5, 40), w in 0..2usize,
    ) {
        let plan = plan(WINDOWS[w], "append", 0, 0);
        let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, &items);
        prop_assert!(!plan.window.is_session());
        prop_assert_eq!(exact, naive(&items, plan.window));
    }

    #[test]
    fn within_the_delays_every_engine_gives_the_exact_join(
        items in stream(200, 5, 12, 0, 0), w in 0..3usize, m in 0..3usize,
    ) {
        // a's own disorder is at most 12 ms, b's too; b's delay covers it, a's as well.
        let plan = plan(WINDOWS[w], MODES[m], 12, 15);
        let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, &items);
        for config in beside_the_oracle() {
            let (summary, got) = run(&config, &plan, &items);
            prop_assert_eq!(summary.late_dropped, 0, "{}", config);
            prop_assert_eq!(&got, &exact, "{}", config);
        }
    }

    #[test]
    fn late_events_only_remove_counted_joins(
        items in stream(250, 4, 10, 8, 60), w in 0..3usize, m in 0..3usize,
    ) {
        let plan = plan(WINDOWS[w], MODES[m], 3, 0);
        let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, &items);
        let oracle: BTreeMap<_, _> = exact.iter().map(|(w, k, v)| ((*w, k.clone()), v.clone())).collect();
        let (base_summary, base) = run(&default_of(EngineKind::Baseline), &plan, &items);
        for config in beside_the_oracle() {
            let (summary, got) = run(&config, &plan, &items);
            let label = config.to_string();
            if config.engines.record.watermark_interval == Some(1) {
                prop_assert_eq!(summary.late_dropped, base_summary.late_dropped, "{}", label);
                prop_assert_eq!(&got, &base, "{}", label);
            }
            if plan.mode == streamlab_core::OutputMode::Complete || summary.late_dropped == 0 {
                prop_assert_eq!(summary.late_dropped, 0, "{}", label);
                prop_assert_eq!(&got, &exact, "{}", label);
                continue;
            }
            for (window, key, values) in &got {
                let (na, nb) = (int(&values[1]), int(&values[2]));
                prop_assert!(na >= 1 && nb >= 1, "{}: a row needs both inputs", label);
                prop_assert_eq!(int(&values[0]), na * nb, "{}", label);
                // A dropped event may have bridged two sessions: only fixed windows
                // are the oracle's windows minus drops.
                if !plan.window.is_session() {
                    let want = oracle.get(&(*window, key.clone()));
                    prop_assert!(want.is_some(), "{}: row {:?} {:?} not in the oracle", label, window, key);
                    let want = want.unwrap();
                    prop_assert!(na <= int(&want[1]) && nb <= int(&want[2]), "{}: {:?} > {:?}", label, values, want);
                }
            }
        }
    }
}

#[test]
fn a_late_event_is_counted_and_only_its_join_is_lost() {
    let plan = plan(WINDOWS[0], "append", 3, 0);
    let items = [
        (0, 0, 0, 1),
        (1, 0, 1, 7),
        (0, 0, 100, 1),
        (1, 0, 100, 1),
        (0, 1, 101, 1), // k1 has no b: no row
        (1, 0, 2, 9),   // W = min(100 - 3, 100 - 0): [0, 10) has closed
    ];
    let (_, exact) = run(&default_of(EngineKind::Oracle), &plan, &items);
    let row = |start: i64, n: [i64; 5]| {
        (
            Window {
                start,
                end: start + 10,
            },
            vec![FieldValue::Str("k0".into())],
            n.map(AggValue::Int).to_vec(),
        )
    };
    assert_eq!(
        exact,
        vec![row(0, [2, 1, 2, 1, 9]), row(100, [1, 1, 1, 1, 1])]
    );
    for config in beside_the_oracle() {
        let (summary, got) = run(&config, &plan, &items);
        // Only where the watermark moves before the last event has [0, 10) closed when it
        // arrives: per record; every N records when the last step before the sixth
        // record (at N * floor(5 / N)) comes after both inputs' time 100 (the fourth
        // record), N in {1, 2, 4, 5}; batches of one, whose lateness bound lags one batch.
        let interval = config.engines.record.watermark_interval;
        let moves = config.kind == EngineKind::Baseline
            || (config.kind == EngineKind::Record && interval.is_some_and(|n| n * (5 / n) >= 4))
            || config.engines.microbatch.max_records_per_batch == Some(1);
        if moves {
            assert_eq!(summary.late_dropped, 1, "{config}");
            assert_eq!(
                got,
                vec![row(0, [1, 1, 1, 1, 7]), row(100, [1, 1, 1, 1, 1])],
                "{config}"
            );
        } else {
            assert_eq!((summary.late_dropped, &got), (0, &exact), "{config}");
        }
    }
}

/// A bad window-join query is refused before anything runs, naming the file and the key.
#[test]
fn bad_join_queries_are_refused_naming_the_file_and_key() {
    let dir = std::env::temp_dir().join(format!("streamlab-join-errors-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = plan(WINDOWS[0], "append", 0, 0).to_toml();
    let cases = [
        (
            good.replace("as = \"hb\"\ninput = \"b\"", "as = \"hb\""),
            "aggregate[4].input",
            "must name the input",
        ),
        (
            good.replace("as = \"na\"\ninput = \"a\"", "as = \"na\"\ninput = \"c\""),
            "aggregate[1].input",
            "no [[input]] is named `c`",
        ),
        (
            good.replace("group_by = [\"k\"]", "group_by = []"),
            "input[1].group_by",
            "same arity",
        ),
        (
            good.replace("kind = \"window\"", "kind = \"window\"\ntable = \"t.csv\""),
            "join[0].table",
            "not used by a window join",
        ),
    ];
    for (i, (text, key, message)) in cases.iter().enumerate() {
        assert_ne!(text, &good, "case {i} changed nothing");
        let q = dir.join(format!("bad{i}.toml"));
        std::fs::write(&q, text).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamlab"))
            .args(["run", "--engine", "oracle", "--query", q.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "case {i} ran");
        assert!(
            stderr.contains(&format!("bad{i}.toml"))
                && stderr.contains(key)
                && stderr.contains(message),
            "case {i}: {stderr}"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
