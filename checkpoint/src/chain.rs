//! Incremental checkpoints: increments beside the full checkpoints, and restoring a chain.
//!
//! An increment `inc-<id>.bin` holds what changed since the checkpoint before it (its
//! parent), as the engine's [`Incremental::Delta`] in bincode, beside the source's
//! position at `id`:
//!
//! ```text
//! magic "SLCI" | increment version u32 | id u64 | parent id u64 | base id u64
//!   | position length u64 | payload length u64 | CRC-32 u32 of position and payload
//!   | position | payload
//! ```
//!
//! `base` is the full checkpoint the chain starts at, `parent` the checkpoint (full or
//! increment) it follows. Written like full checkpoints (temporary name, fsync, rename,
//! directory fsync). A chain is restored by reading the base and applying each increment
//! in id order; an increment that fails its checks, or whose parent is not the one before
//! it (a missing file), ends the chain there with a warning naming the file: the run
//! resumes from the newest consistent prefix, and the sink drops what later epochs
//! prepared, as after a corrupt full checkpoint. Once a newer full checkpoint is durable,
//! the increments before it are removed.

use crate::delta::Incremental;
use crate::{
    check_file, io, CheckpointError, CheckpointStore, FileKind, Loaded, OnCorrupt, Position,
    Written,
};
use std::fs;
use std::path::PathBuf;

const INC_MAGIC: &[u8; 4] = b"SLCI";
/// The increment format version written; another is refused by name.
pub const INCREMENT_VERSION: u32 = 1;
const INC_HEADER_LEN: usize = 4 + 4 + 8 + 8 + 8 + 8 + 8 + 4;
/// An increment's layout: its id, its parent's and its base's.
const INCREMENT_FILE: FileKind = FileKind {
    magic: INC_MAGIC,
    version: INCREMENT_VERSION,
    ids: 3,
    kind: "checkpoint increment",
    version_word: "increment format version",
    holds: "increment",
};

/// An increment read back and checked (not yet decoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Increment {
    /// Its id.
    pub id: u64,
    /// The checkpoint it follows.
    pub parent: u64,
    /// The full checkpoint its chain starts at.
    pub base: u64,
    /// The source's position at `id`.
    pub position: Option<Position>,
    /// The engine's delta, bincode.
    pub payload: Vec<u8>,
}

/// The newest consistent chain: a full checkpoint and the increments after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    /// The full checkpoint (its `skipped`: every corrupt or missing file passed over).
    pub full: Loaded,
    /// The increments, in order.
    pub increments: Vec<Increment>,
}

impl Chain {
    /// The id the chain ends at: the epoch a run resumes from.
    pub fn head(&self) -> u64 {
        self.increments.last().map_or(self.full.id, |i| i.id)
    }

    /// The source position at the head.
    pub fn position(&self) -> Option<&Position> {
        match self.increments.last() {
            Some(i) => i.position.as_ref(),
            None => self.full.position.as_ref(),
        }
    }
}

impl CheckpointStore {
    /// The file name of increment `id`.
    pub fn increment_path(&self, id: u64) -> PathBuf {
        self.dir.join(format!("inc-{id:020}.bin"))
    }

    /// Ids of the increment files present, oldest first.
    pub fn increment_ids(&self) -> Result<Vec<u64>, CheckpointError> {
        let mut ids = crate::ids_with(&self.dir, "inc-")?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Writes increment `id` (following `parent`, in the chain of full checkpoint `base`)
    /// durably and atomically.
    pub fn write_increment(
        &self,
        id: u64,
        parent: u64,
        base: u64,
        position: Option<&str>,
        payload: &[u8],
    ) -> Result<Written, CheckpointError> {
        let position = position.map_or(&[][..], |p| p.as_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(position);
        crc.update(payload);
        let mut header = Vec::with_capacity(INC_HEADER_LEN);
        header.extend_from_slice(INC_MAGIC);
        header.extend_from_slice(&INCREMENT_VERSION.to_le_bytes());
        for n in [
            id,
            parent,
            base,
            position.len() as u64,
            payload.len() as u64,
        ] {
            header.extend_from_slice(&n.to_le_bytes());
        }
        header.extend_from_slice(&crc.finalize().to_le_bytes());
        let tmp = self.dir.join(format!(".inc-{id:020}.tmp"));
        self.write_file(
            id,
            &tmp,
            &self.increment_path(id),
            &[&header, position, payload],
        )
    }

    /// Reads and checks increment `id`.
    pub fn read_increment(&self, id: u64) -> Result<Increment, CheckpointError> {
        let path = self.increment_path(id);
        let corrupt = |reason: String| CheckpointError::Corrupt {
            path: path.clone(),
            reason,
        };
        let bytes = fs::read(&path).map_err(io(&path))?;
        let header = check_file(&bytes, &INCREMENT_FILE, id, corrupt)?;
        let [parent, base] = header.more_ids[..] else {
            unreachable!("an increment's header has two more ids")
        };
        let position = header.position;
        let payload = &bytes[header.payload_at..];
        Ok(Increment {
            id,
            parent,
            base,
            position,
            payload: payload.to_vec(),
        })
    }

    /// The newest consistent chain: the newest good full checkpoint and the increments
    /// that follow it without a gap. A corrupt full checkpoint, or a corrupt or missing
    /// increment, is an error with [`OnCorrupt::Fail`]; with [`OnCorrupt::Previous`] it
    /// is passed over and named in the full checkpoint's `skipped`.
    pub fn latest_chain(&self) -> Result<Option<Chain>, CheckpointError> {
        let Some(mut full) = self.latest()? else {
            return Ok(None);
        };
        let mut increments: Vec<Increment> = Vec::new();
        let mut parent = full.id;
        for id in self.increment_ids()?.into_iter().filter(|&i| i > full.id) {
            let problem = match self.read_increment(id) {
                Ok(inc) if inc.base != full.id => break, // another (older) chain's
                Ok(inc) if inc.parent != parent => CheckpointError::Corrupt {
                    path: self.increment_path(id),
                    reason: format!(
                        "follows checkpoint {}, which is missing (the chain is good up to {parent})",
                        inc.parent
                    ),
                },
                Ok(inc) => {
                    parent = inc.id;
                    increments.push(inc);
                    continue;
                }
                Err(e @ CheckpointError::Corrupt { .. }) => e,
                Err(e) => return Err(e),
            };
            match self.on_corrupt {
                OnCorrupt::Fail => return Err(problem),
                OnCorrupt::Previous => {
                    full.skipped.push(problem.to_string());
                    break;
                }
            }
        }
        Ok(Some(Chain { full, increments }))
    }

    /// The newest consistent chain decoded: the full checkpoint's state of type `T` with
    /// every increment applied, and the position at its head (`None`: no checkpoint).
    /// A delta that does not decode ends the chain there, as a corrupt increment does.
    pub fn restore_chain<T>(&self) -> Result<Option<(Chain, T)>, CheckpointError>
    where
        T: Incremental + serde::de::DeserializeOwned,
    {
        let Some(mut chain) = self.latest_chain()? else {
            return Ok(None);
        };
        let mut state: T =
            bincode::deserialize(&chain.full.payload).map_err(|e| CheckpointError::Corrupt {
                path: self.path_of(chain.full.id),
                reason: format!("cannot decode the engine's state: {e}"),
            })?;
        chain.full.payload = Vec::new();
        let mut applied = 0;
        for inc in &chain.increments {
            match bincode::deserialize::<T::Delta>(&inc.payload) {
                Ok(delta) => state.apply(delta),
                Err(e) => {
                    let problem = CheckpointError::Corrupt {
                        path: self.increment_path(inc.id),
                        reason: format!("cannot decode the engine's changes: {e}"),
                    };
                    if self.on_corrupt == OnCorrupt::Fail {
                        return Err(problem);
                    }
                    chain.full.skipped.push(problem.to_string());
                    break;
                }
            }
            applied += 1;
        }
        chain.increments.truncate(applied);
        for inc in &mut chain.increments {
            inc.payload = Vec::new();
        }
        Ok(Some((chain, state)))
    }

    /// Removes the increments before full checkpoint `full` (durable now, so no chain
    /// needs them any more).
    pub(crate) fn prune_increments(&self, full: u64) -> Result<(), CheckpointError> {
        self.remove_increments(|i| i < full)
    }

    /// Removes the increments with ids from `from` on: left by a run that fell back to an
    /// earlier checkpoint, they name ids this run writes anew.
    pub fn remove_increments_from(&self, from: u64) -> Result<(), CheckpointError> {
        self.remove_increments(|i| i >= from)
    }

    fn remove_increments(&self, which: impl Fn(u64) -> bool) -> Result<(), CheckpointError> {
        for id in self.increment_ids()?.into_iter().filter(|&i| which(i)) {
            let path = self.increment_path(id);
            fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }
}
