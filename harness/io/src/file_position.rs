//! Resuming a file input where a checkpoint left it, without reading what came before.
//!
//! A checkpointed run over a file records, with each checkpoint, the line it resumes at,
//! that line's byte offset, the malformed and unmatched lines before it (so the counts of
//! a resumed run are those of a clean one) and the decoder's [`Dictionary`]: events carry
//! interned key ids, so a decoder that starts mid-file must give every key the id the
//! checkpointed state knows it by. A restart reads that position from the checkpoint
//! store before the engine starts ([`resume_at`]), seeks the file there
//! ([`seek_resumed`]) and decodes only the rest; with a large input this, not the
//! engine's state, was most of a restart.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::{Arc, Mutex};
use streamlab_checkpoint::OnCorrupt;
use streamlab_core::engine::{CheckpointOptions, Poll, Source, SourcePosition, VecSource};
use streamlab_core::{Dictionary, EngineError, Event, KeyTable, Part};

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
/// pick), checking that the file is still the one the checkpoint was taken over. `None`:
/// no checkpoint, or none written yet; the file stays at its start.
pub fn seek_resumed(
    file: &mut std::fs::File,
    path: &str,
    checkpoint: Option<&CheckpointOptions>,
) -> Result<Option<FilePosition>> {
    use std::io::{Read, Seek, SeekFrom};
    let resume = match checkpoint {
        Some(c) => resume_at(&c.dir, OnCorrupt::previous_if(c.fall_back_on_corrupt), path)?,
        None => None,
    };
    if let Some(at) = &resume {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if at.byte > len {
            bail!(
                "{}: the checkpoint resumes at byte {} of line {}, but the file has only {len} bytes: it is not the file the checkpoint was taken over",
                path,
                at.byte,
                at.line + 1
            );
        }
        // The byte before a line start is a newline: a cheap check that the file is
        // still the one the checkpoint was taken over.
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
        file.seek(SeekFrom::Start(at.byte))
            .with_context(|| format!("cannot seek in input file {}", path))?;
    }
    Ok(resume)
}

/// Where each decoded line of a file starts, and which were skipped, so a checkpoint
/// can name the byte offset and counts of any line the engine resumes at.
#[derive(Debug, Default)]
pub struct LineIndex {
    /// The file, as named on the command line.
    pub file: String,
    /// The first line decoded (0 unless the run resumed).
    pub first_line: u64,
    /// Byte offset of lines `first_line..`, and the end of the file last.
    pub starts: Vec<u64>,
    /// Malformed and unmatched lines before `first_line`.
    pub malformed_before: u64,
    /// See `malformed_before`.
    pub unmatched_before: u64,
    /// Malformed lines from `first_line` on, ascending.
    pub malformed: Vec<u64>,
    /// Unmatched lines from `first_line` on, ascending.
    pub unmatched: Vec<u64>,
}

/// A [`FilePosition`] without its dictionary, which [`FileSource`] adds as cached JSON.
#[derive(Serialize)]
struct LineAt<'a> {
    file: &'a str,
    line: u64,
    byte: u64,
    malformed: u64,
    unmatched: u64,
}

impl LineIndex {
    /// Where line `line` (`first_line..=` the number of lines) stands.
    fn at(&self, line: u64) -> Option<LineAt<'_>> {
        let i = usize::try_from(line.checked_sub(self.first_line)?).ok()?;
        let before = |lines: &[u64]| lines.partition_point(|&l| l < line) as u64;
        Some(LineAt {
            file: &self.file,
            line,
            byte: *self.starts.get(i)?,
            malformed: self.malformed_before + before(&self.malformed),
            unmatched: self.unmatched_before + before(&self.unmatched),
        })
    }
}

/// A decoded file as a source that can say where it stands.
pub struct FileSource {
    events: VecSource,
    index: LineIndex,
    keys: Arc<KeyTable>,
    /// The dictionary as JSON, with the table sizes it was taken at: a file is decoded
    /// before the run, so the dictionary is encoded once, not at every checkpoint.
    dictionary: Mutex<Option<CachedDictionary>>,
}

/// A dictionary's JSON and the key-table sizes it was encoded at.
struct CachedDictionary {
    sizes: (usize, usize),
    json: Arc<str>,
}

impl FileSource {
    /// Serves a decoded file's `events` (keys interned in `keys`), whose lines `index`
    /// describes.
    pub fn new(events: Vec<Event>, keys: Arc<KeyTable>, index: LineIndex) -> FileSource {
        FileSource {
            events: VecSource::new(events),
            index,
            keys,
            dictionary: Mutex::new(None),
        }
    }

    fn dictionary_json(&self) -> Arc<str> {
        let mut cached = self.dictionary.lock().unwrap_or_else(|e| e.into_inner());
        let sizes = self.keys.sizes();
        match &*cached {
            Some(c) if c.sizes == sizes => c.json.clone(),
            _ => {
                let json: Arc<str> = serde_json::to_string(&self.keys.dictionary())
                    .expect("a dictionary is plain data")
                    .into();
                *cached = Some(CachedDictionary {
                    sizes,
                    json: json.clone(),
                });
                json
            }
        }
    }
}

impl Source for FileSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        self.events.poll(buf, max)
    }

    fn partitions(&self) -> Part {
        1
    }

    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        let at = serde_json::to_string(&self.index.at(next_seq)?).ok()?;
        // `{...}` + `,"dictionary":{...}}`: the same object as a FilePosition.
        let dictionary = self.dictionary_json();
        let mut json = String::with_capacity(at.len() + dictionary.len() + 16);
        json.push_str(at.strip_suffix('}')?);
        json.push_str(",\"dictionary\":");
        json.push_str(&dictionary);
        json.push('}');
        Some(SourcePosition::from_json(json))
    }

    /// The harness opened the file at the checkpoint's line before the run; this only
    /// checks that the engine resumes at that same line.
    fn seek(&mut self, position: &SourcePosition, next_seq: u64) -> Result<(), EngineError> {
        /// The fields checked here (not the dictionary, which the decoder has restored).
        #[derive(Deserialize)]
        struct Line {
            file: String,
            line: u64,
        }
        let p: Line = position.decode().map_err(|_| {
            EngineError::Internal(format!(
                "the checkpoint was taken reading another kind of input, not the file {}",
                self.index.file
            ))
        })?;
        if p.file != self.index.file {
            return Err(EngineError::Internal(format!(
                "the checkpoint was taken reading {}, not {}",
                p.file, self.index.file
            )));
        }
        if p.line != next_seq || p.line != self.index.first_line {
            return Err(EngineError::Internal(format!(
                "{}: the input was opened at line {} but the checkpoint resumes at line {} (seq {next_seq})",
                self.index.file,
                self.index.first_line + 1,
                p.line + 1
            )));
        }
        Ok(())
    }
}
