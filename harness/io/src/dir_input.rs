//! `dir://` inputs: the files of a directory in name order, then new ones as they appear
//! (Spark's file source), resumed **per file** after a restart.
//!
//! A checkpoint's position names every file read so far by its name, the lines and bytes
//! read of it and the CRC-32 of those bytes, and whether it was read to its end; a
//! restart skips the files read to their end (archived ones may be gone), checks the
//! bytes of each file it finds again against the checkpoint, goes on with the file being
//! read at its byte, then reads the files it has not read, in name order. So archiving a
//! processed file or adding one that sorts earlier neither skips nor double-counts rows
//! (the position of a line count over the files in name order did); a file changed
//! before its checkpointed line, or the one being read removed, is refused by name.

use crate::file_prefix::FilePrefix;
use crate::live::{read_line_counted, LineFeed, LineRead, Rewind};
use crossbeam_channel::{Receiver, Sender};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamlab_core::engine::{EngineError, SourcePosition};
use streamlab_core::{Dictionary, KeyTable};

/// A line's byte offset is noted every this many lines of a file: a position finds its
/// line's offset by reading at most this many lines from the note before it.
const OFFSET_EVERY: u64 = 4096;

/// One file of a position: what of it was read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMark {
    /// File name, in the directory.
    pub name: String,
    /// Lines read.
    pub lines: u64,
    /// Bytes read (those lines, with their newlines).
    pub bytes: u64,
    /// CRC-32 of those bytes.
    pub crc32: u32,
    /// Read to its end: a restart does not read it again.
    pub done: bool,
}

/// A `dir://` position as checkpoints hold it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DirPosition {
    /// The directory (as the address gives it).
    pub dir: String,
    /// The files read, in the order they were read.
    pub files: Vec<FileMark>,
    /// Keys and strings interned so far: events carry their ids.
    #[serde(default)]
    pub dictionary: Dictionary,
}

impl DirPosition {
    /// Reads a checkpoint's position for directory `dir`; one of another input is an error
    /// naming both.
    pub fn from_position(position: &SourcePosition, dir: &str) -> Result<DirPosition, String> {
        let p: DirPosition = position.decode().map_err(|_| {
            format!("the checkpoint was taken reading another kind of input (not dir://); use a new --checkpoint directory for dir://{dir}")
        })?;
        if p.dir != dir {
            return Err(format!(
                "the checkpoint was taken reading dir://{}, not dir://{dir}; use a new --checkpoint directory",
                p.dir
            ));
        }
        Ok(p)
    }
}

/// One file as this run reads it.
struct Span {
    path: PathBuf,
    name: String,
    /// The `seq` of the first line this run read of it.
    first_seq: u64,
    /// Lines and bytes of it read before this run (a file resumed mid-way).
    first_line: u64,
    /// `(seq, byte)` of every [`OFFSET_EVERY`]th line read, from the first.
    offsets: Vec<(u64, u64)>,
    /// The byte this run began reading it at.
    start: u64,
    /// Lines read by this run.
    lines: u64,
    /// Bytes read, from the file's start.
    bytes: u64,
    done: bool,
    /// The checksum of the file's start, carried as positions move on.
    prefix: FilePrefix,
}

impl Span {
    /// The byte where line `seq` starts (`seq` among this span's lines, or just after).
    fn offset_of(&self, seq: u64) -> std::io::Result<u64> {
        if seq >= self.first_seq + self.lines {
            return Ok(self.bytes);
        }
        let &(from_seq, from_byte) = self
            .offsets
            .iter()
            .rev()
            .find(|(s, _)| *s <= seq)
            .unwrap_or(&(self.first_seq, self.start));
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(SeekFrom::Start(from_byte))?;
        let mut reader = std::io::BufReader::new(file);
        let mut at = from_byte;
        for _ in from_seq..seq {
            let mut line = Vec::new();
            at += reader.read_until(b'\n', &mut line)? as u64;
        }
        Ok(at)
    }

    /// What of the file is read once every line before `next_seq` is.
    fn mark(&mut self, next_seq: u64) -> std::io::Result<FileMark> {
        let taken = next_seq.saturating_sub(self.first_seq).min(self.lines);
        let whole = taken == self.lines;
        let bytes = self.offset_of(self.first_seq + taken)?;
        if bytes < self.prefix.len() {
            // Asked for an earlier position than the last: checksum from the start.
            self.prefix = FilePrefix::default();
        }
        let file = std::fs::File::open(&self.path)?;
        self.prefix.read_to(&file, bytes)?;
        Ok(FileMark {
            name: self.name.clone(),
            lines: self.first_line + taken,
            bytes,
            crc32: self.prefix.crc32(),
            done: whole && self.done,
        })
    }
}

/// The files read so far: carried over from the checkpoint resumed (read to their end
/// before this run), then this run's.
#[derive(Default)]
struct DirLog {
    carried: Vec<FileMark>,
    spans: Vec<Span>,
}

/// Where a restarted reader begins.
struct Resume {
    position: DirPosition,
    next_seq: u64,
}

/// The engine's side of a `dir://` input's positions.
pub struct DirRewind {
    dir: String,
    log: Arc<Mutex<DirLog>>,
    keys: Arc<KeyTable>,
    gate: Sender<Option<Resume>>,
}

impl Rewind for DirRewind {
    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        let mut files = log.carried.clone();
        for span in log.spans.iter_mut() {
            // Nothing of it read before `next_seq` (an empty file read whole is kept):
            // it and the files after it are new to a restart.
            let untouched = span.first_line == 0 && !(span.done && span.lines == 0);
            if span.first_seq > next_seq || (span.first_seq == next_seq && untouched) {
                break;
            }
            // A file that cannot be read back cannot be checkpointed: no position, and a
            // restart reads the directory again from its start.
            files.push(span.mark(next_seq).ok()?);
        }
        let position = DirPosition {
            dir: self.dir.clone(),
            files,
            dictionary: self.keys.dictionary(),
        };
        Some(SourcePosition::encode(&position).expect("a dir:// position is plain data"))
    }

    fn start(&mut self, from: Option<(&SourcePosition, u64)>) -> Result<(), EngineError> {
        let resume = match from {
            None => None,
            Some((position, next_seq)) => Some(Resume {
                position: DirPosition::from_position(position, &self.dir)
                    .map_err(EngineError::Source)?,
                next_seq,
            }),
        };
        let _ = self.gate.try_send(resume);
        Ok(())
    }
}

/// The reader of `dir://PATH[?idle=DURATION]` (`shown`: the path as the address gives it)
/// and its positions: every file of the directory in name order, then new files as they
/// appear, until none has arrived for `idle`. Files whose name starts with `.` or `_` are
/// skipped (write them under such a name and rename them when complete).
pub fn dir_input(
    dir: PathBuf,
    shown: String,
    idle: Duration,
    max_line: usize,
    keys: Arc<KeyTable>,
) -> (impl FnOnce(&mut LineFeed) + Send + 'static, DirRewind) {
    let log = Arc::new(Mutex::new(DirLog::default()));
    let (gate, wait) = crossbeam_channel::bounded::<Option<Resume>>(1);
    let rewind = DirRewind {
        dir: shown.clone(),
        log: log.clone(),
        keys,
        gate,
    };
    let read = move |feed: &mut LineFeed| {
        let reader = DirReader {
            dir,
            shown,
            idle,
            max_line,
            log,
        };
        if let Err(e) = reader.run(&wait, feed) {
            feed.fail(e);
        }
    };
    (read, rewind)
}

struct DirReader {
    dir: PathBuf,
    shown: String,
    idle: Duration,
    max_line: usize,
    log: Arc<Mutex<DirLog>>,
}

impl DirReader {
    fn lock(&self) -> std::sync::MutexGuard<'_, DirLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn run(&self, wait: &Receiver<Option<Resume>>, feed: &mut LineFeed) -> Result<(), String> {
        // Wait for the engine: it either starts the input or seeks it first.
        let Ok(from) = wait.recv() else {
            return Ok(());
        };
        let mut seen = std::collections::BTreeSet::new();
        if let Some(resume) = from {
            if !self.resume(resume, feed, &mut seen)? {
                return Ok(());
            }
        }
        let mut last_new = Instant::now();
        loop {
            let mut fresh = list_files(&self.dir)
                .map_err(|e| format!("cannot read directory {}: {e}", self.dir.display()))?;
            fresh.retain(|f| !seen.contains(f));
            if fresh.is_empty() {
                if last_new.elapsed() >= self.idle {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            for f in fresh {
                let name = file_name(&f);
                if !self.read_file(&f, name, 0, FilePrefix::default(), feed)? {
                    return Ok(());
                }
                seen.insert(f);
            }
            last_new = Instant::now();
        }
    }

    /// Goes on from a checkpoint's position: its files read to their end are skipped
    /// (checked when still there), the one being read is read on from its byte.
    fn resume(
        &self,
        resume: Resume,
        feed: &mut LineFeed,
        seen: &mut std::collections::BTreeSet<PathBuf>,
    ) -> Result<bool, String> {
        feed.resume(resume.next_seq, &resume.position.dictionary)
            .map_err(|e| format!("resuming from the checkpoint: {e}"))?;
        for mark in resume.position.files {
            let path = self.dir.join(&mark.name);
            let file = match std::fs::File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && mark.done => {
                    // Read to its end before the checkpoint, then archived: nothing to do.
                    self.lock().carried.push(mark);
                    continue;
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(format!(
                        "dir://{}: {} was being read when the checkpoint was taken (to line {}) and is gone: put it back, or use a new --checkpoint directory",
                        self.shown, path.display(), mark.lines
                    ));
                }
                Err(e) => return Err(format!("cannot open {}: {e}", path.display())),
            };
            let prefix = FilePrefix::read(&file, mark.bytes).ok();
            if prefix.as_ref().map(FilePrefix::crc32) != Some(mark.crc32) {
                let now = prefix.map_or_else(
                    || "it is shorter now".to_owned(),
                    |p| format!("CRC-32 {:08x}", p.crc32()),
                );
                return Err(format!(
                    "{}: its first {} bytes (lines 1-{}) are not those the checkpoint was taken over ({now}, the checkpoint's {:08x}): the file was changed; restore it, or use a new --checkpoint directory",
                    path.display(),
                    mark.bytes,
                    mark.lines,
                    mark.crc32
                ));
            }
            seen.insert(path.clone());
            if mark.done {
                self.lock().carried.push(mark);
                continue;
            }
            eprintln!(
                "streamlab: dir://{}: resuming {} at line {} (byte {}) from the checkpoint",
                self.shown,
                path.display(),
                mark.lines + 1,
                mark.bytes
            );
            let prefix = prefix.unwrap_or_default();
            if !self.read_file(&path, mark.name.clone(), mark.lines, prefix, feed)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads `path` from the byte `prefix` covers (line `first_line`) to its end; false
    /// when the run is over (the engine went, `--strict` met a malformed line).
    fn read_file(
        &self,
        path: &Path,
        name: String,
        first_line: u64,
        prefix: FilePrefix,
        feed: &mut LineFeed,
    ) -> Result<bool, String> {
        let mut file = std::fs::File::open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        let start = prefix.len();
        file.seek(SeekFrom::Start(start))
            .map_err(|e| format!("cannot seek in {}: {e}", path.display()))?;
        let first_seq = feed.next_seq();
        self.lock().spans.push(Span {
            path: path.to_owned(),
            name,
            first_seq,
            first_line,
            offsets: Vec::new(),
            start,
            lines: 0,
            bytes: start,
            done: false,
            prefix,
        });
        feed.set_file(path.display().to_string(), first_line);
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        loop {
            let mut consumed = 0;
            let read = read_line_counted(&mut reader, &mut line, self.max_line, &mut consumed)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            {
                let mut log = self.lock();
                let span = log.spans.last_mut().expect("pushed above");
                if read == LineRead::End {
                    span.done = true;
                    break;
                }
                if span.lines % OFFSET_EVERY == 0 {
                    span.offsets.push((first_seq + span.lines, span.bytes));
                }
                span.lines += 1;
                span.bytes += consumed;
            }
            let more = match read {
                LineRead::TooLong => feed.too_long(self.max_line),
                _ => feed.line(&line),
            };
            if !more {
                return Ok(false);
            }
        }
        Ok(feed.flush())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

fn list_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('.') && !name.starts_with('_')
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Ok(files)
}
