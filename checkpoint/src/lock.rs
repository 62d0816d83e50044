//! One run at a time on a checkpoint directory. Two runs on one directory would race
//! (each renaming and pruning the other's files), so a run holds an exclusive advisory
//! lock (`flock`) on a lock file in the directory for its whole life, with its pid
//! written in it; a second run fails at once naming the directory and that pid. The OS
//! drops the lock when the process ends, however it ends, so a run killed with SIGKILL
//! leaves nothing to clean up before the restart.
//!
//! The processes of a timely cluster share one directory (process 0 writes the
//! checkpoints, every process reads them): each takes the lock of its own process index,
//! `run-<index>.lock`, so they do not exclude each other, while a second cluster (or a
//! single-process run, index 0) on the same directory is refused.

use crate::{io, CheckpointError};
use nix::fcntl::{Flock, FlockArg};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The lock a run holds on its checkpoint directory; released when dropped (or when the
/// process ends).
#[derive(Debug)]
pub struct DirLock {
    _file: Flock<File>,
    path: PathBuf,
}

impl DirLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Locks checkpoint directory `dir` (creating it) for process `process` of a cluster (0
/// for a run of one process), or fails naming the directory and the pid of the run that
/// holds it.
pub fn lock_dir(dir: &Path, process: usize) -> Result<DirLock, CheckpointError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(format!("run-{process}.lock"));
    // Not truncated before the lock is ours: the pid in it is the holder's.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io(&path))?;
    let lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            let _ = file.read_to_string(&mut text);
            let pid = match text.trim() {
                "" => "pid not yet written".to_owned(),
                pid => format!("pid {pid}"),
            };
            return Err(CheckpointError::InUse {
                dir: dir.to_owned(),
                holder: format!("{pid}, lock file {}", path.display()),
            });
        }
        Err((_, errno)) => {
            return Err(CheckpointError::Io {
                path,
                cause: errno.into(),
            })
        }
    };
    let mut f: &File = &lock;
    f.set_len(0)
        .and_then(|()| f.write_all(format!("{}\n", std::process::id()).as_bytes()))
        .map_err(io(&path))?;
    Ok(DirLock { _file: lock, path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = std::env::temp_dir().join(format!("streamlab-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let held = lock_dir(&dir, 0).expect("the first lock");
        // flock locks belong to the open file: a second open in this process conflicts too.
        let err = lock_dir(&dir, 0).expect_err("held").to_string();
        let pid = std::process::id().to_string();
        assert!(err.contains(&dir.display().to_string()), "{err}");
        assert!(err.contains(&format!("pid {pid}")), "{err}");
        // Another process index of a cluster takes its own lock.
        let other = lock_dir(&dir, 1).expect("process 1's lock");
        drop((held, other));
        lock_dir(&dir, 0).expect("free again");
        std::fs::remove_dir_all(&dir).expect("cleaned up");
    }
}
