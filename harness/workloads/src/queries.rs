//! Built-in queries over the generated workloads.

/// W1, the main job's query (`queries/w1.toml`): 10 s tumbling count+sum per key over
/// clicks, watermark 5 s. The demo, `streamlab bench` and the experiments default to it.
pub const W1_QUERY: &str = include_str!("../../../queries/w1.toml");
