//! The test macros of the suites.

/// One test running every golden case on one engine configuration:
/// `golden_test!(test_name, EngineKind::X, "label", RunOptions { .. })`.
macro_rules! golden_test {
    ($name:ident, $kind:expr, $label:expr, $options:expr) => {
        #[test]
        fn $name() {
            let n = crate::golden::check_all($kind, $label, &$options)
                .unwrap_or_else(|e| panic!("{e:#}"));
            assert!(n >= 15, "only {n} golden cases found");
        }
    };
}
