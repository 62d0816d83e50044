//! Golden cases on every registered engine configuration. One line per configuration:
//! `golden_test!(test_name, EngineKind::X, "label", RunOptions { .. })`.

use harness::engines::EngineKind;
use streamlab_core::engine::RunOptions;

macro_rules! golden_test {
    ($name:ident, $kind:expr, $label:expr, $options:expr) => {
        #[test]
        fn $name() {
            let n = harness::golden::check_all($kind, $label, &$options)
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert!(n >= 15, "only {n} golden cases found");
        }
    };
}

golden_test!(oracle, EngineKind::Oracle, "oracle", RunOptions::default());
golden_test!(
    baseline,
    EngineKind::Baseline,
    "baseline",
    RunOptions::default()
);
golden_test!(
    microbatch_b1,
    EngineKind::Microbatch,
    "microbatch-b1",
    RunOptions {
        max_records_per_batch: Some(1),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b7,
    EngineKind::Microbatch,
    "microbatch-b7",
    RunOptions {
        max_records_per_batch: Some(7),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b100,
    EngineKind::Microbatch,
    "microbatch-b100",
    RunOptions {
        max_records_per_batch: Some(100),
        ..Default::default()
    }
);
golden_test!(
    microbatch_b10000,
    EngineKind::Microbatch,
    "microbatch-b10000",
    RunOptions {
        max_records_per_batch: Some(10000),
        ..Default::default()
    }
);
golden_test!(
    microbatch_w2,
    EngineKind::Microbatch,
    "microbatch-w2",
    RunOptions {
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(
    microbatch_w2_b1,
    EngineKind::Microbatch,
    "microbatch-w2-b1",
    RunOptions {
        workers: Some(2),
        max_records_per_batch: Some(1),
        ..Default::default()
    }
);
golden_test!(
    record_i1,
    EngineKind::Record,
    "record-i1",
    RunOptions {
        watermark_interval: Some(1),
        ..Default::default()
    }
);
golden_test!(
    record_i1_w2,
    EngineKind::Record,
    "record-i1-w2",
    RunOptions {
        watermark_interval: Some(1),
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(record, EngineKind::Record, "record", RunOptions::default());
golden_test!(
    record_w2,
    EngineKind::Record,
    "record-w2",
    RunOptions {
        workers: Some(2),
        ..Default::default()
    }
);
golden_test!(
    record_i2_w3,
    EngineKind::Record,
    "record-i2-w3",
    RunOptions {
        watermark_interval: Some(2),
        workers: Some(3),
        ..Default::default()
    }
);

#[test]
fn every_example_query_compiles() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../queries");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|x| x == "toml") {
            streamlab_core::Plan::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            n += 1;
        }
    }
    assert!(n >= 7, "only {n} example queries");
}
