//! streamlab-checkpoint: where engines keep their checkpoints.
//!
//! A checkpoint is the source's position (JSON: where the input resumes, readable without
//! the engine, so the harness can open the input there before the engine starts) and an
//! opaque payload (the engine's state, encoded by the engine; [`CheckpointStore::write_state`]
//! uses bincode, because large state must load in well under a second), stored as one file
//! `chk-<id>.bin` in a directory:
//!
//! ```text
//! magic "SLCK" | format version u32 | checkpoint id u64 | position length u64
//!   | payload length u64 | CRC-32 u32 of position and payload | position | payload
//! ```
//!
//! Files are written to a temporary name, fsynced, renamed into place and the directory
//! fsynced, so a crash leaves either the old set of checkpoints or the new one, never a
//! half-written file under a real name. A file that fails its checks (truncated, bad
//! magic, unknown version, wrong checksum) is reported by name; [`OnCorrupt::Previous`]
//! falls back to the newest good one (with a warning), [`OnCorrupt::Fail`] stops.
//! Old checkpoints beyond `retain` are pruned after each write.
//!
//! # Layout
//! - this module: [`CheckpointStore`] (open, write, latest) with its error type;
//! - [`chain`]: incremental checkpoints (increment files, restoring a chain);
//! - [`delta`]: what changed between two snapshots ([`Incremental`]);
//! - [`writer`]: taking checkpoints synchronously or on a background thread;
//! - [`test_hook`]: a pause inside a write, for tests that kill a run there;
//! - [`lock`]: one run at a time on a directory (an OS lock held for the run's life).
//! - [`run`]: the engines' side: open the store a run's options name and read the
//!   checkpoint it resumes from;
//! - [`sized`]: deserializers that read large state collections in one allocation.

pub mod chain;
pub mod delta;
pub mod lock;
pub mod run;
pub mod sized;
pub mod test_hook;
pub mod writer;

pub use chain::{Chain, Increment};
pub use delta::Incremental;
pub use lock::{lock_dir, DirLock};
pub use run::{open_run, writer_options};
pub use writer::{Done, WriteMode, Writer, WriterOptions};

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"SLCK";
/// The format version written; files of another version are refused, not misread.
pub const FORMAT_VERSION: u32 = 2;
const HEADER_LEN: usize = 4 + 4 + 8 + 8 + 8 + 4;

/// Where a source resumes: JSON text the source defines (file line and byte offset, Kafka
/// partition offsets, with the decoder's dictionary).
pub type Position = String;

/// What to do with a corrupt or truncated checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OnCorrupt {
    /// Stop with an error naming the file.
    Fail,
    /// Warn, and use the newest good checkpoint before it.
    #[default]
    Previous,
}

impl OnCorrupt {
    /// [`OnCorrupt::Previous`] when `fall_back` (the engines' option), else `Fail`.
    pub fn previous_if(fall_back: bool) -> OnCorrupt {
        if fall_back {
            OnCorrupt::Previous
        } else {
            OnCorrupt::Fail
        }
    }
}

impl std::str::FromStr for OnCorrupt {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fail" => Ok(OnCorrupt::Fail),
            "previous" => Ok(OnCorrupt::Previous),
            _ => Err(format!("`{s}`: expected `fail` or `previous`")),
        }
    }
}

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// A file system operation failed.
    #[error("checkpoint {path}: {cause}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause (not a `source`: the message says it, and a printer of the error's
        /// chain would say it twice).
        cause: std::io::Error,
    },
    /// Another run holds the directory's lock.
    #[error("checkpoint directory {dir} is in use by another streamlab run ({holder}): wait for it to end, or give this run another --checkpoint directory")]
    InUse {
        /// The directory.
        dir: PathBuf,
        /// Who holds it: its pid and the lock file.
        holder: String,
    },
    /// A checkpoint file failed its checks.
    #[error("corrupt checkpoint {path}: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The layout of a checkpoint file's header: magic, version, then `ids` ids (the file's
/// own first), the position's and the payload's lengths, the body's CRC-32. Full
/// checkpoints and increments differ only in these, so one reader checks both.
pub(crate) struct FileKind {
    pub magic: &'static [u8; 4],
    pub version: u32,
    pub ids: usize,
    /// How messages name the file: bad magic ("checkpoint increment"), its version
    /// ("increment format version"), the id it holds ("increment").
    pub kind: &'static str,
    pub version_word: &'static str,
    pub holds: &'static str,
}

/// A full checkpoint's layout.
const FULL_FILE: FileKind = FileKind {
    magic: MAGIC,
    version: FORMAT_VERSION,
    ids: 1,
    kind: "checkpoint",
    version_word: "format version",
    holds: "checkpoint",
};

/// What a checked header says.
pub(crate) struct Header {
    /// The ids after the file's own (an increment's parent and base).
    pub more_ids: Vec<u64>,
    pub position: Option<String>,
    /// Where the payload starts in the file.
    pub payload_at: usize,
}

/// Checks file `id`'s header against `kind` (magic, version, id, lengths, checksum) and
/// reads its position; every failure is `corrupt(reason)`.
pub(crate) fn check_file(
    bytes: &[u8],
    kind: &FileKind,
    id: u64,
    corrupt: impl Fn(String) -> CheckpointError,
) -> Result<Header, CheckpointError> {
    let header_len = 4 + 4 + 8 * kind.ids + 8 + 8 + 4;
    if bytes.len() < header_len {
        return Err(corrupt(format!(
            "truncated: {} bytes, shorter than the {header_len}-byte header",
            bytes.len()
        )));
    }
    if &bytes[..4] != kind.magic {
        return Err(corrupt(format!(
            "not a streamlab {} (bad magic)",
            kind.kind
        )));
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
    let version = u32_at(4);
    if version != kind.version {
        return Err(corrupt(format!(
            "{} {version}, this streamlab reads version {}",
            kind.version_word, kind.version
        )));
    }
    if u64_at(8) != id {
        return Err(corrupt(format!(
            "holds {} {}, not {id}",
            kind.holds,
            u64_at(8)
        )));
    }
    let more_ids = (1..kind.ids).map(|i| u64_at(8 + 8 * i)).collect();
    let lengths_at = 8 + 8 * kind.ids;
    let (position_len, payload_len) = (u64_at(lengths_at), u64_at(lengths_at + 8));
    let body = &bytes[header_len..];
    if position_len.checked_add(payload_len) != Some(body.len() as u64) {
        return Err(corrupt(format!(
            "truncated: {} bytes after the header, header says {position_len} + {payload_len}",
            body.len()
        )));
    }
    if crc32fast::hash(body) != u32_at(lengths_at + 16) {
        return Err(corrupt("checksum mismatch".into()));
    }
    let position = &body[..position_len as usize];
    let position = if position.is_empty() {
        None
    } else {
        Some(
            String::from_utf8(position.to_vec())
                .map_err(|e| corrupt(format!("the source position is not text: {e}")))?,
        )
    };
    Ok(Header {
        more_ids,
        position,
        payload_at: header_len + position_len as usize,
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |cause| CheckpointError::Io {
        path: path.to_owned(),
        cause,
    }
}

/// Ids of the full checkpoint files in `dir`, unordered.
fn ids_in(dir: &Path) -> Result<Vec<u64>, CheckpointError> {
    ids_with(dir, "chk-")
}

/// Ids of the files `<prefix><id>.bin` in `dir`, unordered.
pub(crate) fn ids_with(dir: &Path, prefix: &str) -> Result<Vec<u64>, CheckpointError> {
    Ok(fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix(prefix)?
                .strip_suffix(".bin")?
                .parse()
                .ok()
        })
        .collect())
}

/// The newest checkpoint id in `dir` (full or increment), read from outside the process
/// that writes them (no directory is created; none, or an unreadable one, gives `None`).
pub fn newest_id(dir: &Path) -> Option<u64> {
    let fulls = ids_in(dir).ok()?;
    let increments = ids_with(dir, "inc-").ok()?;
    fulls.into_iter().chain(increments).max()
}

/// The source position of the newest good checkpoint in `dir` (the one a restarted
/// engine resumes from, chosen by the same rule), read by the harness before the run so
/// it can open the input there. `None`: no checkpoint, or one without a position.
pub fn resume_position(
    dir: &Path,
    on_corrupt: OnCorrupt,
) -> Result<Option<(u64, Position)>, CheckpointError> {
    if !dir.exists() {
        return Ok(None);
    }
    let store = CheckpointStore::open(dir, usize::MAX, on_corrupt)?;
    let Some(chain) = store.latest_chain()? else {
        return Ok(None);
    };
    let found = chain.position().cloned().map(|p| (chain.head(), p));
    let loaded = chain.full;
    let path = store.path_of(loaded.id);
    if let Some(stamp) = FileStamp::of(&path) {
        *PRELOADED.lock().unwrap_or_else(|e| e.into_inner()) = Some(Preloaded {
            path,
            stamp,
            position: loaded.position,
            payload: loaded.payload,
        });
    }
    Ok(found)
}

/// The checkpoint [`resume_position`] read, kept for the engine of the same process,
/// which reads the same file next: a checkpoint of large state is then read and checked
/// once, not twice, on the way to being back at work.
static PRELOADED: std::sync::Mutex<Option<Preloaded>> = std::sync::Mutex::new(None);

struct Preloaded {
    path: PathBuf,
    stamp: FileStamp,
    position: Option<Position>,
    payload: Vec<u8>,
}

/// What tells that a file has not changed since it was read.
#[derive(PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: std::time::SystemTime,
}

impl FileStamp {
    fn of(path: &Path) -> Option<FileStamp> {
        let m = fs::metadata(path).ok()?;
        Some(FileStamp {
            len: m.len(),
            modified: m.modified().ok()?,
        })
    }
}

/// The preloaded checkpoint at `path`, if it is that file unchanged (taken: used once).
fn take_preloaded(path: &Path) -> Option<(Option<Position>, Vec<u8>)> {
    let mut slot = PRELOADED.lock().unwrap_or_else(|e| e.into_inner());
    let p = slot.take()?;
    if p.path == path && FileStamp::of(path).is_some_and(|s| s == p.stamp) {
        Some((p.position, p.payload))
    } else {
        None
    }
}

/// A checkpoint read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Its id (increasing with each checkpoint of a run).
    pub id: u64,
    /// The source's position, when it has one.
    pub position: Option<Position>,
    /// The engine's payload.
    pub payload: Vec<u8>,
    /// Corrupt newer checkpoints skipped on the way (with `OnCorrupt::Previous`).
    pub skipped: Vec<String>,
}

/// What a write cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// Bytes on disk.
    pub bytes: u64,
    /// Wall time including the fsyncs.
    pub duration: Duration,
}

/// A directory of checkpoints.
#[derive(Clone, Debug)]
pub struct CheckpointStore {
    dir: PathBuf,
    retain: usize,
    on_corrupt: OnCorrupt,
}

impl CheckpointStore {
    /// Opens (creating) `dir`, keeping the newest `retain` (at least 1) checkpoints.
    pub fn open(
        dir: impl Into<PathBuf>,
        retain: usize,
        on_corrupt: OnCorrupt,
    ) -> Result<CheckpointStore, CheckpointError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        Ok(CheckpointStore {
            dir,
            retain: retain.max(1),
            on_corrupt,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file name of checkpoint `id`.
    pub fn path_of(&self, id: u64) -> PathBuf {
        self.dir.join(format!("chk-{id:020}.bin"))
    }

    /// Writes checkpoint `id` (the source's `position`, the engine's `payload`) durably
    /// and atomically, then prunes old ones (and the increments before it).
    pub fn write(
        &self,
        id: u64,
        position: Option<&str>,
        payload: &[u8],
    ) -> Result<Written, CheckpointError> {
        let position = position.map_or(&[][..], |p| p.as_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(position);
        crc.update(payload);
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&id.to_le_bytes());
        header.extend_from_slice(&(position.len() as u64).to_le_bytes());
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc.finalize().to_le_bytes());
        let tmp = self.dir.join(format!(".chk-{id:020}.tmp"));
        let written =
            self.write_file(id, &tmp, &self.path_of(id), &[&header, position, payload])?;
        self.prune()?;
        self.prune_increments(id)?;
        Ok(written)
    }

    /// Writes `parts` to `tmp`, fsyncs it, renames it to `path` and fsyncs the directory:
    /// a crash leaves the old set of files or the new one. (The test hook may pause here.)
    fn write_file(
        &self,
        id: u64,
        tmp: &Path,
        path: &Path,
        parts: &[&[u8]],
    ) -> Result<Written, CheckpointError> {
        let started = Instant::now();
        {
            let mut f =
                std::io::BufWriter::with_capacity(1 << 20, File::create(tmp).map_err(io(tmp))?);
            for part in parts {
                f.write_all(part).map_err(io(tmp))?;
            }
            let f = f.into_inner().map_err(|e| io(tmp)(e.into_error()))?;
            f.sync_all().map_err(io(tmp))?;
        }
        test_hook::pause(test_hook::Point::BeforeRename, &self.dir, id);
        fs::rename(tmp, path).map_err(io(path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        test_hook::pause(test_hook::Point::AfterRename, &self.dir, id);
        Ok(Written {
            bytes: parts.iter().map(|p| p.len() as u64).sum(),
            duration: started.elapsed(),
        })
    }

    /// Writes checkpoint `id` with the engine's `state` encoded as bincode.
    pub fn write_state<T: serde::Serialize>(
        &self,
        id: u64,
        position: Option<&str>,
        state: &T,
    ) -> Result<Written, CheckpointError> {
        let payload = bincode::serialize(state).map_err(|e| CheckpointError::Corrupt {
            path: self.path_of(id),
            reason: format!("cannot encode the engine's state: {e}"),
        })?;
        self.write(id, position, &payload)
    }

    /// Ids of the checkpoint files present, newest first.
    pub fn ids(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut ids = ids_in(&self.dir)?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// Reads and checks checkpoint `id`: its position and payload.
    pub fn read(&self, id: u64) -> Result<(Option<Position>, Vec<u8>), CheckpointError> {
        let path = self.path_of(id);
        if let Some(preloaded) = take_preloaded(&path) {
            return Ok(preloaded);
        }
        let corrupt = |reason: String| CheckpointError::Corrupt {
            path: path.clone(),
            reason,
        };
        // One allocation of the file's size: checkpoints of large state are tens of MB.
        let mut bytes = fs::read(&path).map_err(io(&path))?;
        let header = check_file(&bytes, &FULL_FILE, id, corrupt)?;
        // The payload stays in the buffer it was read into (tens of MB are not copied).
        bytes.drain(..header.payload_at);
        Ok((header.position, bytes))
    }

    /// The newest good checkpoint, if any. A corrupt one is an error with
    /// [`OnCorrupt::Fail`]; with [`OnCorrupt::Previous`] it is skipped and named in
    /// [`Loaded::skipped`].
    pub fn latest(&self) -> Result<Option<Loaded>, CheckpointError> {
        let mut skipped = Vec::new();
        for id in self.ids()? {
            match self.read(id) {
                Ok((position, payload)) => {
                    return Ok(Some(Loaded {
                        id,
                        position,
                        payload,
                        skipped,
                    }))
                }
                Err(e @ CheckpointError::Corrupt { .. }) => match self.on_corrupt {
                    OnCorrupt::Fail => return Err(e),
                    OnCorrupt::Previous => skipped.push(e.to_string()),
                },
                Err(e) => return Err(e),
            }
        }
        if skipped.is_empty() {
            Ok(None)
        } else {
            // Every checkpoint is corrupt: starting from scratch would silently redo
            // everything, so say so.
            Err(CheckpointError::Corrupt {
                path: self.dir.clone(),
                reason: format!("no good checkpoint left: {}", skipped.join("; ")),
            })
        }
    }

    /// The newest good checkpoint's state (bincode of `T`, see
    /// [`CheckpointStore::write_state`]) and source position, for a run of `query` by
    /// `engine`: a payload that does not decode, or one taken for another query
    /// (`query_of` reads it from the state), is an error naming the file; corrupt newer
    /// files skipped on the way are warned about on stderr.
    pub fn latest_state<T: serde::de::DeserializeOwned + Incremental>(
        &self,
        engine: &str,
        query: &str,
        query_of: impl Fn(&T) -> &str,
    ) -> Result<Option<(T, Option<Position>)>, CheckpointError> {
        let Some((chain, state)) = self.restore_chain::<T>()? else {
            return Ok(None);
        };
        if query_of(&state) != query {
            return Err(CheckpointError::Corrupt {
                path: self.dir.clone(),
                reason: "holds checkpoints of another query".into(),
            });
        }
        let head = chain.head();
        for skipped in &chain.full.skipped {
            eprintln!("streamlab {engine}: warning: {skipped}; using checkpoint {head}");
        }
        Ok(Some((state, chain.position().cloned())))
    }

    fn prune(&self) -> Result<(), CheckpointError> {
        for id in self.ids()?.into_iter().skip(self.retain) {
            let path = self.path_of(id);
            fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
