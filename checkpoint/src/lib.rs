//! streamlab-checkpoint: where engines keep their checkpoints.
//!
//! A checkpoint is an opaque payload (the engine's state and source offsets, encoded by
//! the engine) stored as one file `chk-<id>.bin` in a directory:
//!
//! ```text
//! magic "SLCK" | format version u32 | checkpoint id u64 | payload length u64 | CRC-32 u32 | payload
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
//! One module: [`CheckpointStore`] (open, write, latest) with its error type.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 4] = b"SLCK";
/// The format version written; files of another version are refused, not misread.
pub const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 4 + 4 + 8 + 8 + 4;

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
    #[error("checkpoint {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Ids of the checkpoint files in `dir`, unordered.
fn ids_in(dir: &Path) -> Result<Vec<u64>, CheckpointError> {
    Ok(fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            name.strip_prefix("chk-")?
                .strip_suffix(".bin")?
                .parse()
                .ok()
        })
        .collect())
}

/// The newest checkpoint id in `dir`, read from outside the process that writes them
/// (no directory is created; none, or an unreadable one, gives `None`).
pub fn newest_id(dir: &Path) -> Option<u64> {
    ids_in(dir).ok()?.into_iter().max()
}

/// A checkpoint read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Its id (increasing with each checkpoint of a run).
    pub id: u64,
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

    /// Writes checkpoint `id` durably and atomically, then prunes old ones.
    pub fn write(&self, id: u64, payload: &[u8]) -> Result<Written, CheckpointError> {
        let started = Instant::now();
        let path = self.path_of(id);
        let tmp = self.dir.join(format!(".chk-{id:020}.tmp"));
        let mut header = Vec::with_capacity(HEADER_LEN);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        header.extend_from_slice(&id.to_le_bytes());
        header.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        header.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&header).map_err(io(&tmp))?;
            f.write_all(payload).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.prune()?;
        Ok(Written {
            bytes: (HEADER_LEN + payload.len()) as u64,
            duration: started.elapsed(),
        })
    }

    /// Ids of the checkpoint files present, newest first.
    pub fn ids(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut ids = ids_in(&self.dir)?;
        ids.sort_unstable_by(|a, b| b.cmp(a));
        Ok(ids)
    }

    /// Reads and checks checkpoint `id`.
    pub fn read(&self, id: u64) -> Result<Vec<u8>, CheckpointError> {
        let path = self.path_of(id);
        let corrupt = |reason: String| CheckpointError::Corrupt {
            path: path.clone(),
            reason,
        };
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io(&path))?;
        if bytes.len() < HEADER_LEN {
            return Err(corrupt(format!(
                "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
                bytes.len()
            )));
        }
        if &bytes[..4] != MAGIC {
            return Err(corrupt("not a streamlab checkpoint (bad magic)".into()));
        }
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        let version = u32_at(4);
        if version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {version}, this streamlab reads version {FORMAT_VERSION}"
            )));
        }
        if u64_at(8) != id {
            return Err(corrupt(format!("holds checkpoint {}, not {id}", u64_at(8))));
        }
        let len = u64_at(16) as usize;
        let payload = &bytes[HEADER_LEN..];
        if payload.len() != len {
            return Err(corrupt(format!(
                "truncated: payload of {} bytes, header says {len}",
                payload.len()
            )));
        }
        if crc32fast::hash(payload) != u32_at(24) {
            return Err(corrupt("checksum mismatch".into()));
        }
        Ok(payload.to_vec())
    }

    /// The newest good checkpoint, if any. A corrupt one is an error with
    /// [`OnCorrupt::Fail`]; with [`OnCorrupt::Previous`] it is skipped and named in
    /// [`Loaded::skipped`].
    pub fn latest(&self) -> Result<Option<Loaded>, CheckpointError> {
        let mut skipped = Vec::new();
        for id in self.ids()? {
            match self.read(id) {
                Ok(payload) => {
                    return Ok(Some(Loaded {
                        id,
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

    /// The newest good checkpoint decoded as JSON of `T`, for a run of `query` by
    /// `engine`: a payload that does not decode, or one taken for another query
    /// (`query_of` reads it from the payload), is an error naming the directory; corrupt
    /// newer files skipped on the way are warned about on stderr.
    pub fn latest_json<T: serde::de::DeserializeOwned>(
        &self,
        engine: &str,
        query: &str,
        query_of: impl Fn(&T) -> &str,
    ) -> Result<Option<T>, CheckpointError> {
        let Some(loaded) = self.latest()? else {
            return Ok(None);
        };
        let payload: T =
            serde_json::from_slice(&loaded.payload).map_err(|e| CheckpointError::Corrupt {
                path: self.path_of(loaded.id),
                reason: format!("cannot decode: {e}"),
            })?;
        if query_of(&payload) != query {
            return Err(CheckpointError::Corrupt {
                path: self.dir.clone(),
                reason: "holds checkpoints of another query".into(),
            });
        }
        for skipped in &loaded.skipped {
            eprintln!(
                "streamlab {engine}: warning: {skipped}; using checkpoint {}",
                loaded.id
            );
        }
        Ok(Some(payload))
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn store(name: &str, on_corrupt: OnCorrupt) -> CheckpointStore {
        let dir = std::env::temp_dir().join(format!("slck-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        CheckpointStore::open(dir, 3, on_corrupt).unwrap()
    }

    #[derive(serde::Deserialize)]
    struct Payload {
        query: String,
        n: u64,
    }

    #[test]
    fn json_payloads_are_checked_against_the_query() {
        let s = store("json", OnCorrupt::Fail);
        let query_of = |p: &Payload| p.query.clone();
        assert!(s
            .latest_json("test", "q1", |p: &Payload| &p.query)
            .unwrap()
            .is_none());
        s.write(1, br#"{"query": "q1", "n": 7}"#).unwrap();
        let p: Payload = s
            .latest_json("test", "q1", |p: &Payload| &p.query)
            .unwrap()
            .unwrap();
        assert_eq!((query_of(&p), p.n), ("q1".to_string(), 7));
        let other = s
            .latest_json("test", "q2", |p: &Payload| &p.query)
            .err()
            .unwrap()
            .to_string();
        assert!(other.contains("another query"), "{other}");
        s.write(2, b"not json").unwrap();
        let bad = s
            .latest_json("test", "q1", |p: &Payload| &p.query)
            .err()
            .unwrap()
            .to_string();
        assert!(
            bad.contains("chk-00000000000000000002.bin") && bad.contains("cannot decode"),
            "{bad}"
        );
        fs::remove_dir_all(s.dir()).unwrap();
    }

    #[test]
    fn writes_read_back_and_old_ones_are_pruned() {
        let s = store("prune", OnCorrupt::Fail);
        for id in 1..=5u64 {
            let w = s.write(id, format!("state {id}").as_bytes()).unwrap();
            assert_eq!(w.bytes, (HEADER_LEN + 7) as u64);
        }
        assert_eq!(s.ids().unwrap(), vec![5, 4, 3]);
        let l = s.latest().unwrap().unwrap();
        assert_eq!((l.id, l.payload.as_slice()), (5, b"state 5".as_slice()));
        assert!(!s.dir().join(".chk-00000000000000000005.tmp").exists());
        fs::remove_dir_all(s.dir()).unwrap();
    }

    #[test]
    fn a_corrupt_checkpoint_falls_back_to_the_previous_one_by_name() {
        let s = store("fallback", OnCorrupt::Previous);
        s.write(1, b"one").unwrap();
        s.write(2, b"two").unwrap();
        let newest = s.path_of(2);
        let mut bytes = fs::read(&newest).unwrap();
        *bytes.last_mut().unwrap() ^= 0xff;
        fs::write(&newest, &bytes).unwrap();
        let l = s.latest().unwrap().unwrap();
        assert_eq!(l.id, 1);
        assert_eq!(l.payload, b"one");
        assert!(
            l.skipped[0].contains("chk-00000000000000000002.bin")
                && l.skipped[0].contains("checksum"),
            "{:?}",
            l.skipped
        );
        fs::remove_dir_all(s.dir()).unwrap();
    }

    #[test]
    fn fail_mode_names_the_file_and_truncation_is_caught() {
        let s = store("fail", OnCorrupt::Fail);
        s.write(7, b"payload").unwrap();
        let path = s.path_of(7);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = s.latest().unwrap_err().to_string();
        assert!(
            err.contains("chk-00000000000000000007.bin") && err.contains("truncated"),
            "{err}"
        );
        fs::write(&path, &bytes[..10]).unwrap();
        assert!(s.latest().unwrap_err().to_string().contains("header"));
        fs::write(&path, b"XXXX-not-a-checkpoint-at-all-xxxxxxxx").unwrap();
        assert!(s.latest().unwrap_err().to_string().contains("bad magic"));
        fs::remove_dir_all(s.dir()).unwrap();
    }

    #[test]
    fn all_corrupt_is_an_error_not_a_silent_fresh_start() {
        let s = store("allbad", OnCorrupt::Previous);
        s.write(1, b"x").unwrap();
        fs::write(s.path_of(1), b"garbage").unwrap();
        assert!(s
            .latest()
            .unwrap_err()
            .to_string()
            .contains("no good checkpoint left"));
        let empty = store("empty", OnCorrupt::Previous);
        assert_eq!(empty.latest().unwrap(), None);
        fs::remove_dir_all(s.dir()).unwrap();
        fs::remove_dir_all(empty.dir()).unwrap();
    }
}
