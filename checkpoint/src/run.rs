//! The engines' side of the store: a run's `--checkpoint` options open it, and the newest
//! checkpoint of the run's query is what a restarted run resumes from. Both engines and
//! the baseline open their checkpoints here, so they resume by one rule.

use crate::{CheckpointError, CheckpointStore, OnCorrupt};
use streamlab_core::engine::{CheckpointOptions, EngineError, SourcePosition};

/// How `options` say checkpoints are written.
pub fn writer_options(options: &CheckpointOptions) -> crate::WriterOptions {
    crate::WriterOptions {
        mode: if options.sync_writes {
            crate::WriteMode::Sync
        } else {
            crate::WriteMode::Async
        },
        full_every: options.full_every,
    }
}

/// A checkpoint that cannot be written or read stops the run, saying why.
impl From<CheckpointError> for EngineError {
    fn from(e: CheckpointError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

/// The checkpoint a run resumes from: the engine's state and the source position stored
/// beside it.
pub type Resume<T> = (T, Option<SourcePosition>);

/// The file in a checkpoint directory naming the engine whose checkpoints it holds: each
/// engine encodes its own state, and another engine's bytes may decode as garbage rather
/// than fail (a baseline checkpoint read as micro-batch state ran on with wrong counts).
pub const ENGINE_FILE: &str = "ENGINE";

/// Opens the store `options` name for a run of `query` by `engine` (the name its warnings
/// carry) and reads the newest good checkpoint in it, with the source position stored
/// beside it: what the run resumes from (`None`: it starts afresh). `query_of` reads the
/// query a checkpoint was taken for; another query's is refused, and so is a directory
/// of another engine's checkpoints ([`ENGINE_FILE`]; a directory without one, from an
/// earlier streamlab, is taken as this engine's).
pub fn open_run<T: serde::de::DeserializeOwned + crate::Incremental>(
    options: &CheckpointOptions,
    engine: &str,
    query: &str,
    query_of: impl Fn(&T) -> &str,
) -> Result<(CheckpointStore, Option<Resume<T>>), EngineError> {
    let on_corrupt = OnCorrupt::previous_if(options.fall_back_on_corrupt);
    let store = CheckpointStore::open(&options.dir, options.retain, on_corrupt)?;
    claim_for_engine(&options.dir, engine)?;
    let latest = store
        .latest_state(engine, query, query_of)?
        .map(|(state, position)| (state, position.map(SourcePosition::from_json)));
    Ok((store, latest))
}

/// Refuses a directory of another engine's checkpoints, and marks it as `engine`'s.
fn claim_for_engine(dir: &std::path::Path, engine: &str) -> Result<(), EngineError> {
    let marker = dir.join(ENGINE_FILE);
    match std::fs::read_to_string(&marker) {
        Ok(owner) if owner.trim() == engine => return Ok(()),
        Ok(owner) => {
            return Err(EngineError::Internal(format!(
                "checkpoint directory {} holds checkpoints of engine `{}` ({}), not `{engine}`: \
                 resume it with --engine {}, or give this run another --checkpoint directory",
                dir.display(),
                owner.trim(),
                marker.display(),
                owner.trim()
            )))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(EngineError::Internal(format!(
                "cannot read {}: {e}",
                marker.display()
            )))
        }
    }
    // Written whole under another name, then renamed: a reader never sees half of it
    // (the processes of a cluster may write it at once, with the same text).
    let tmp = dir.join(format!(".{ENGINE_FILE}.{}", std::process::id()));
    std::fs::write(&tmp, format!("{engine}\n"))
        .and_then(|()| std::fs::rename(&tmp, &marker))
        .map_err(|e| EngineError::Internal(format!("cannot write {}: {e}", marker.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_claimed_by_its_first_engine_and_refused_to_another() {
        let dir = std::env::temp_dir().join(format!("slck-engine-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temp dir");
        claim_for_engine(&dir, "baseline").expect("a fresh directory");
        claim_for_engine(&dir, "baseline").expect("its own engine again");
        let err = claim_for_engine(&dir, "microbatch")
            .expect_err("another engine")
            .to_string();
        assert!(
            err.contains("engine `baseline`") && err.contains("not `microbatch`"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
