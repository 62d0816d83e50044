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
