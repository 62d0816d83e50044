//! The engines' side of the store: a run's `--checkpoint` options open it, and the newest
//! checkpoint of the run's query is what a restarted run resumes from. Both engines and
//! the baseline open their checkpoints here, so they resume by one rule.

use crate::{CheckpointError, CheckpointStore, OnCorrupt};
use streamlab_core::engine::{CheckpointOptions, EngineError, SourcePosition};

/// A checkpoint that cannot be written or read stops the run, saying why.
impl From<CheckpointError> for EngineError {
    fn from(e: CheckpointError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

/// The checkpoint a run resumes from: the engine's state and the source position stored
/// beside it.
pub type Resume<T> = (T, Option<SourcePosition>);

/// Opens the store `options` name for a run of `query` by `engine` (the name its warnings
/// carry) and reads the newest good checkpoint in it, with the source position stored
/// beside it: what the run resumes from (`None`: it starts afresh). `query_of` reads the
/// query a checkpoint was taken for; another query's is refused.
pub fn open_run<T: serde::de::DeserializeOwned>(
    options: &CheckpointOptions,
    engine: &str,
    query: &str,
    query_of: impl Fn(&T) -> &str,
) -> Result<(CheckpointStore, Option<Resume<T>>), EngineError> {
    let on_corrupt = OnCorrupt::previous_if(options.fall_back_on_corrupt);
    let store = CheckpointStore::open(&options.dir, options.retain, on_corrupt)?;
    let latest = store
        .latest_state(engine, query, query_of)?
        .map(|(state, position)| (state, position.map(SourcePosition::from_json)));
    Ok((store, latest))
}
