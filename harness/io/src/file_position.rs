//! Resuming a file input where a checkpoint left it, without reading what came before.
//!
//! A checkpointed run over a file records, with each checkpoint, the line it resumes at,
//! that line's byte offset, the malformed and unmatched lines before it (so the counts of
//! a resumed run are those of a clean one) and the decoder's [`Dictionary`]: events carry
//! interned key ids, so a decoder that starts mid-file must give every key the id the
//! checkpointed state knows it by. A restart reads that position from the checkpoint
//! store before the engine starts ([`resume_at`]), seeks the file there
//! ([`seek_resumed`]) and decodes only the rest, while the engine runs
//! ([`crate::pipeline::source::StreamSource`] says where it stands at each checkpoint).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use streamlab_checkpoint::OnCorrupt;
use streamlab_core::engine::{CheckpointOptions, SourcePosition};
use streamlab_core::Dictionary;

use crate::file_prefix::FilePrefix;

/// Where a file input resumes, as a checkpoint stores it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FilePosition {
    /// The input file, as named on the command line.
    pub file: String,
    /// 0-based line the input resumes at (the engines' next `seq`).
    pub line: u64,
    /// Byte offset of that line.
    pub byte: u64,
    /// Malformed lines before it.
    pub malformed: u64,
    /// Lines before it the stream-static join dropped.
    pub unmatched: u64,
    /// Keys and strings the decoder had interned.
    pub dictionary: Dictionary,
    /// CRC-32 of the file's bytes before `byte` ([`FilePrefix`]); absent in checkpoints
    /// written before it was kept, which are resumed without that check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_crc32: Option<u32>,
}

impl FilePosition {
    /// Reads a checkpoint's position for `file`; a position of another input is an error
    /// naming both.
    pub fn from_position(position: &SourcePosition, file: &str) -> Result<FilePosition> {
        let p: FilePosition = position.decode().map_err(|_| {
            anyhow::anyhow!(
                "the checkpoint was taken reading another kind of input (not a file); \
                 use a new --checkpoint directory for {file}"
            )
        })?;
        if p.file != file {
            bail!(
                "the checkpoint was taken reading {}, not {file}; use a new --checkpoint directory",
                p.file
            );
        }
        Ok(p)
    }
}

/// The position a restart over `file` resumes at: that of the newest good checkpoint in
/// `dir`, which the engine will also pick. `None`: start from the top.
pub fn resume_at(dir: &Path, on_corrupt: OnCorrupt, file: &str) -> Result<Option<FilePosition>> {
    let Some((id, position)) = streamlab_checkpoint::resume_position(dir, on_corrupt)? else {
        return Ok(None);
    };
    let p = FilePosition::from_position(&SourcePosition::from_json(position), file)
        .with_context(|| format!("checkpoint {id} in {}", dir.display()))?;
    Ok(Some(p))
}

/// Positions `file` (the input file `path`, open at its start) where a run with
/// `checkpoint` resumes: at the line of the newest good checkpoint (the one the engine will
/// pick), checking that the file is still the one the checkpoint was taken over: long
/// enough, a line starting at the checkpoint's byte, and the same bytes before it (their
/// checksum, read again: returned, for the run's next checkpoints to carry on). `None`: no
/// checkpoint, or none written yet; the file stays at its start.
pub fn seek_resumed(
    file: &mut std::fs::File,
    path: &str,
    checkpoint: Option<&CheckpointOptions>,
) -> Result<Option<(FilePosition, FilePrefix)>> {
    use std::io::{Read, Seek, SeekFrom};
    let resume = match checkpoint {
        Some(c) => resume_at(&c.dir, OnCorrupt::previous_if(c.fall_back_on_corrupt), path)?,
        None => None,
    };
    let Some(at) = resume else {
        return Ok(None);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if at.byte > len {
        bail!(
            "{}: the checkpoint resumes at byte {} of line {}, but the file has only {len} bytes: it is not the file the checkpoint was taken over",
            path,
            at.byte,
            at.line + 1
        );
    }
    // The byte before a line start is a newline: a cheap check first, whose message says
    // where the file stopped matching.
    let mut before = [b'\n'];
    if at.byte > 0 {
        file.seek(SeekFrom::Start(at.byte - 1))
            .and_then(|_| file.read_exact(&mut before))
            .with_context(|| format!("cannot seek in input file {}", path))?;
    }
    if before[0] != b'\n' {
        bail!(
            "{}: byte {} is not the start of a line: it is not the file the checkpoint (line {}) was taken over",
            path,
            at.byte,
            at.line + 1
        );
    }
    let prefix = FilePrefix::read(file, at.byte)
        .with_context(|| format!("cannot read input file {path} up to byte {}", at.byte))?;
    if let Some(kept) = at.prefix_crc32 {
        if prefix.crc32() != kept {
            bail!(
                "{}: its first {} bytes (lines 1-{}) are not those the checkpoint was taken over \
                 (CRC-32 {:08x}, the checkpoint's {kept:08x}): the file was changed; restore it, \
                 or use a new --checkpoint directory",
                path,
                at.byte,
                at.line,
                prefix.crc32()
            );
        }
    }
    file.seek(SeekFrom::Start(at.byte))
        .with_context(|| format!("cannot seek in input file {}", path))?;
    Ok(Some((at, prefix)))
}
