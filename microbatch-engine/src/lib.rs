//! Micro-batch engine (the Spark model). Under construction (issue 8).
