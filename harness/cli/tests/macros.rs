//! The test macros of the suites, and the one list of engine configurations they run on.

/// Every engine configuration the suites run on, one a line: a test name, a label (the
/// golden cases' `expected.<label>.jsonl`) and the `streamlab run` flags that make it.
/// Adding a configuration is adding a line here: [`engine_test!`] makes a test of it and
/// [`crate::fixtures::configurations`] lists it.
///
/// `with_configurations!(m!(args))` calls `m! { args [(name, "label", "flags"), ...] }`.
macro_rules! with_configurations {
    ($callback:ident ! ( $($args:tt)* )) => {
        $callback! { $($args)* [
            (oracle, "oracle", "--engine oracle"),
            (baseline, "baseline", "--engine baseline"),
            (microbatch_b1, "microbatch-b1", "--engine microbatch --max-records-per-batch 1"),
            (microbatch_b7, "microbatch-b7", "--engine microbatch --max-records-per-batch 7"),
            (microbatch_b100, "microbatch-b100", "--engine microbatch --max-records-per-batch 100"),
            (microbatch_b10000, "microbatch-b10000", "--engine microbatch --max-records-per-batch 10000"),
            (microbatch_w2, "microbatch-w2", "--engine microbatch --workers 2"),
            (microbatch_w2_b1, "microbatch-w2-b1", "--engine microbatch --workers 2 --max-records-per-batch 1"),
            (microbatch_w2_b9, "microbatch-w2-b9", "--engine microbatch --workers 2 --max-records-per-batch 9"),
            (record, "record", "--engine record"),
            (record_w2, "record-w2", "--engine record --workers 2"),
            (record_i1, "record-i1", "--engine record --watermark-interval 1"),
            (record_i1_w2, "record-i1-w2", "--engine record --watermark-interval 1 --workers 2"),
            (record_i2_w3, "record-i2-w3", "--engine record --watermark-interval 2 --workers 3"),
            (record_i7_w2, "record-i7-w2", "--engine record --watermark-interval 7 --workers 2"),
            (record_i1024_w2, "record-i1024-w2", "--engine record --watermark-interval 1024 --workers 2"),
        ] }
    };
}

/// `engine_test!(name, |config| { ... })`: a module `name` with one test per engine
/// configuration of [`with_configurations!`], each calling the closure with its
/// [`crate::fixtures::Configuration`].
macro_rules! engine_test {
    ($name:ident, $body:expr) => {
        with_configurations!(engine_tests!($name, $body,));
    };
}

/// The tests of [`engine_test!`], from the list.
macro_rules! engine_tests {
    ($name:ident, $body:expr, [$(($test:ident, $label:literal, $flags:literal)),* $(,)?]) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[test]
                fn $test() {
                    let config = crate::fixtures::Configuration::parse($label, $flags);
                    let body: &dyn Fn(&crate::fixtures::Configuration) = &$body;
                    body(&config);
                }
            )*
        }
    };
}

/// The list of [`with_configurations!`] as a `Vec` of
/// [`crate::fixtures::Configuration`].
macro_rules! configuration_list {
    ([$(($test:ident, $label:literal, $flags:literal)),* $(,)?]) => {
        vec![$(crate::fixtures::Configuration::parse($label, $flags)),*]
    };
}
