//! Per-record dataflow engine on timely (the Flink model). Under construction (issue 9).
