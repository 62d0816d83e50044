//! A test hook: a pause at a chosen point of every checkpoint write, so a test can kill a
//! run (SIGKILL) exactly there, deterministically, instead of hoping a timer lands in a
//! window of a few milliseconds.
//!
//! `STREAMLAB_TEST_CHECKPOINT_PAUSE=<point>:<ms>` (unset in normal use) makes the writer
//! create `DIR/.test-paused-<id>` and sleep `ms` at `<point>` of writing checkpoint `id`:
//! - `before-rename`: the file is written and fsynced under its temporary name, not yet
//!   renamed into place, so the checkpoint is not durable and the sink has not committed
//!   its epoch (with asynchronous snapshots: the stream runs on meanwhile);
//! - `after-rename`: the checkpoint (full or increment) is durable, the sink's commit of
//!   its epoch has not happened yet.
//!
//! A test waits for the marker file, then kills the run; the restart must give the
//! uninterrupted run's rows (`harness/cli/tests/async_checkpoints.rs`).

use std::path::Path;
use std::time::Duration;

/// The environment variable that sets the pause.
pub const ENV: &str = "STREAMLAB_TEST_CHECKPOINT_PAUSE";

/// Where in a write the pause can be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Point {
    /// Written and fsynced under the temporary name.
    BeforeRename,
    /// Renamed into place and the directory fsynced.
    AfterRename,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::BeforeRename => "before-rename",
            Point::AfterRename => "after-rename",
        }
    }
}

/// The marker file a pause at checkpoint `id` creates in `dir`.
pub fn marker(dir: &Path, id: u64) -> std::path::PathBuf {
    dir.join(format!(".test-paused-{id}"))
}

/// Pauses if [`ENV`] names `point` (nothing otherwise; a malformed value is ignored, as
/// the hook exists for tests only).
pub fn pause(point: Point, dir: &Path, id: u64) {
    let Ok(value) = std::env::var(ENV) else {
        return;
    };
    let Some((at, ms)) = value.split_once(':') else {
        return;
    };
    let Ok(ms) = ms.parse::<u64>() else {
        return;
    };
    if at == point.name() {
        let _ = std::fs::write(marker(dir, id), b"");
        std::thread::sleep(Duration::from_millis(ms));
    }
}
