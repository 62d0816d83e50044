//! The decoding pipeline as the engines' [`Source`]: a file or stdin read, decoded and
//! delivered while the engine runs. Like a file decoded beforehand, it never answers
//! `Pending`: a poll waits for the next chunk, so batches and answers are those of the
//! whole input being there.
//!
//! With checkpoints it says where it stands after any delivered line (its byte offset,
//! the malformed and filtered lines before it, the run's dictionary and, given the file
//! with [`StreamSource::checksum_prefix`], the checksum of the bytes before the line),
//! keeping those marks only for chunks the last checkpoint has not passed.

use super::{LineStream, Lines};
use crate::decode::MalformedReport;
use crate::file_position::FilePosition;
use crate::file_prefix::FilePrefix;
use crate::live::LiveStats;
use serde::Deserialize;
use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use streamlab_core::engine::{Poll, Source, SourcePosition};
use streamlab_core::{EngineError, Event, KeyTable};

/// A pipeline-decoded input as a [`Source`].
pub struct StreamSource {
    stream: LineStream,
    /// The current chunk's events not delivered yet.
    pending: std::vec::IntoIter<Event>,
    report: Option<MalformedReport<Box<dyn Write + Send>>>,
    strict: bool,
    stats: Arc<LiveStats>,
    /// The line the input was opened at (a checkpoint's, or 0).
    first_line: u64,
    positions: Option<Mutex<Marks>>,
    ended: bool,
}

impl StreamSource {
    /// Delivers `stream`'s events, reporting malformed lines to `report` (with `strict`,
    /// the first one stops the run). `resume`: the checkpoint the stream was opened at
    /// (its counts carry on). With `track`, positions are kept for checkpoints (the
    /// stream must have been started with `track_lines`).
    pub fn new(
        stream: LineStream,
        report: Box<dyn Write + Send>,
        strict: bool,
        resume: Option<&FilePosition>,
        track: bool,
    ) -> StreamSource {
        let stats = Arc::new(LiveStats::default());
        let (first_line, start_byte, malformed, unmatched) = resume.map_or((0, 0, 0, 0), |at| {
            (at.line, at.byte, at.malformed, at.unmatched)
        });
        stats.malformed.store(malformed, Ordering::Relaxed);
        stats.unmatched.store(unmatched, Ordering::Relaxed);
        let positions = track.then(|| {
            Mutex::new(Marks {
                file: stream.name().to_owned(),
                start_byte,
                chunks: VecDeque::new(),
                malformed_before: malformed,
                unmatched_before: unmatched,
                dictionary: None,
                prefix: None,
            })
        });
        let name = stream.name().to_owned();
        StreamSource {
            stream,
            pending: Vec::new().into_iter(),
            report: Some(MalformedReport::new(report, &name)),
            strict,
            stats,
            first_line,
            positions,
            ended: false,
        }
    }

    /// Makes every checkpoint position carry the CRC-32 of the input's bytes before its
    /// line, `file` being the input (read again for the part of a chunk before the line)
    /// and `prefix` the checksum of its bytes before the line the run started at (empty
    /// from the top; a restart's, read when it checked the file). Without it, positions
    /// carry no checksum. Only with tracking.
    pub fn checksum_prefix(self, file: std::fs::File, prefix: FilePrefix) -> StreamSource {
        if let Some(positions) = &self.positions {
            positions.lock().unwrap_or_else(|e| e.into_inner()).prefix = Some((file, prefix));
        }
        self
    }

    /// The counts of malformed and filtered lines (read them after the run).
    pub fn stats(&self) -> Arc<LiveStats> {
        self.stats.clone()
    }

    /// The run's key table (sinks print keys from it).
    pub fn keys(&self) -> Arc<KeyTable> {
        self.stream.keys().clone()
    }

    /// Takes the next chunk: reports its skipped lines, notes its marks. `false` at the end.
    fn next_chunk(&mut self) -> Result<bool, EngineError> {
        let Some(Lines { first_line, chunk }) = self
            .stream
            .next_chunk()
            .map_err(|e| EngineError::Source(format!("{e:#}")))?
        else {
            return Ok(false);
        };
        let mut marks = ChunkMarks {
            first_line,
            first_byte: chunk.first_byte,
            bytes: chunk.bytes,
            line_starts: chunk.line_starts.unwrap_or_default(),
            crc: chunk.crc,
            malformed: Vec::new(),
            unmatched: Vec::new(),
        };
        for s in chunk.skipped {
            let line = first_line + s.line;
            match s.why {
                why if why.is_filtered() => {
                    self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
                    marks.unmatched.push(line);
                }
                why if self.strict => {
                    return Err(EngineError::Source(format!(
                        "{}:{}: malformed line: {why} (stopped: --strict)",
                        self.stream.name(),
                        line + 1
                    )))
                }
                why => {
                    self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                    if let Some(report) = &mut self.report {
                        report.line(line + 1, &why);
                    }
                    marks.malformed.push(line);
                }
            }
        }
        self.stats
            .events
            .fetch_add(chunk.events.len() as u64, Ordering::Relaxed);
        if let Some(positions) = &self.positions {
            let mut p = positions.lock().unwrap_or_else(|e| e.into_inner());
            p.chunks.push_back(marks);
        }
        self.pending = chunk.events.into_iter();
        Ok(true)
    }
}

impl Source for StreamSource {
    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        let before = buf.len();
        while buf.len() - before < max {
            let want = max - (buf.len() - before);
            buf.extend(self.pending.by_ref().take(want));
            if buf.len() - before >= max || self.ended {
                break;
            }
            if !self.next_chunk()? {
                self.ended = true;
                if let Some(report) = self.report.take() {
                    let good = self.stats.events.load(Ordering::Relaxed)
                        + self.stats.unmatched.load(Ordering::Relaxed);
                    report.finish(good);
                }
            }
        }
        Ok(if buf.len() > before {
            Poll::Ready
        } else {
            Poll::End
        })
    }

    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        let positions = self.positions.as_ref()?;
        let mut marks = positions.lock().unwrap_or_else(|e| e.into_inner());
        let at = marks.at(next_seq, self.first_line)?;
        let at = serde_json::to_string(&at).ok()?;
        // `{...}` + `,"dictionary":{...}}`: the same object as a FilePosition.
        let dictionary = marks.dictionary_json(self.stream.keys());
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
        let name = self.stream.name();
        let p: Line = position.decode().map_err(|_| {
            EngineError::Internal(format!(
                "the checkpoint was taken reading another kind of input, not the file {name}"
            ))
        })?;
        if p.file != name {
            return Err(EngineError::Internal(format!(
                "the checkpoint was taken reading {}, not {name}",
                p.file
            )));
        }
        if p.line != next_seq || p.line != self.first_line {
            return Err(EngineError::Internal(format!(
                "{name}: the input was opened at line {} but the checkpoint resumes at line {} (seq {next_seq})",
                self.first_line + 1,
                p.line + 1
            )));
        }
        Ok(())
    }
}

/// Where the lines of one delivered chunk start, and which of them gave no event.
struct ChunkMarks {
    first_line: u64,
    first_byte: u64,
    bytes: u64,
    /// Byte offset of each line inside the chunk.
    line_starts: Vec<u64>,
    /// The chunk's checksum, for [`Marks::prefix`].
    crc: Option<crc32fast::Hasher>,
    /// Malformed lines (input line numbers), ascending.
    malformed: Vec<u64>,
    /// Filtered lines (stream-static join, input filters), ascending.
    unmatched: Vec<u64>,
}

impl ChunkMarks {
    fn end_line(&self) -> u64 {
        self.first_line + self.line_starts.len() as u64
    }
}

/// The delivered chunks a checkpoint may still resume in.
struct Marks {
    file: String,
    /// Byte offset the input was opened at.
    start_byte: u64,
    chunks: VecDeque<ChunkMarks>,
    malformed_before: u64,
    unmatched_before: u64,
    /// The dictionary's JSON and the key-table sizes it was encoded at.
    dictionary: Option<((usize, usize), Arc<str>)>,
    /// The input file and the checksum of its bytes before the first chunk kept here.
    prefix: Option<(std::fs::File, FilePrefix)>,
}

/// A [`FilePosition`] without its dictionary, which is added as cached JSON.
#[derive(serde::Serialize)]
struct LineAt<'a> {
    file: &'a str,
    line: u64,
    byte: u64,
    malformed: u64,
    unmatched: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix_crc32: Option<u32>,
}

impl Marks {
    /// Where line `line` stands, forgetting the chunks before it (checkpoints only move
    /// forward). `None` for a line not delivered yet or forgotten.
    fn at(&mut self, line: u64, first_line: u64) -> Option<LineAt<'_>> {
        while self.chunks.len() > 1 && self.chunks[0].end_line() <= line {
            let gone = self.chunks.pop_front().expect("two or more");
            self.malformed_before += gone.malformed.len() as u64;
            self.unmatched_before += gone.unmatched.len() as u64;
            self.checksum_to(gone.first_byte, |prefix, file| match &gone.crc {
                Some(crc) if prefix.len() == gone.first_byte => {
                    prefix.append(crc, gone.bytes);
                    Ok(())
                }
                // Bytes no chunk holds (a CSV header line), or no chunk checksum.
                _ => prefix.read_to(file, gone.first_byte + gone.bytes),
            });
        }
        let before = |lines: &[u64]| lines.partition_point(|&l| l < line) as u64;
        let Some(c) = self.chunks.front() else {
            // Nothing delivered yet: only the line the input was opened at.
            let prefix_crc32 = self.prefix_crc32(self.start_byte);
            return (line == first_line).then_some(LineAt {
                file: &self.file,
                line,
                byte: self.start_byte,
                malformed: self.malformed_before,
                unmatched: self.unmatched_before,
                prefix_crc32,
            });
        };
        if line < c.first_line || line > c.end_line() {
            return None;
        }
        let byte = match c.line_starts.get((line - c.first_line) as usize) {
            Some(start) => c.first_byte + start,
            None => c.first_byte + c.bytes, // the end of the chunk
        };
        let (malformed, unmatched) = (
            self.malformed_before + before(&c.malformed),
            self.unmatched_before + before(&c.unmatched),
        );
        let prefix_crc32 = self.prefix_crc32(byte);
        Some(LineAt {
            file: &self.file,
            line,
            byte,
            malformed,
            unmatched,
            prefix_crc32,
        })
    }

    /// Carries the prefix checksum on with `extend` (given the file) when it ends before
    /// `end`. A file that can no longer be read back ends the checksums: later positions
    /// carry none (a restart then checks less), and stderr says why.
    fn checksum_to(
        &mut self,
        end: u64,
        extend: impl FnOnce(&mut FilePrefix, &std::fs::File) -> std::io::Result<()>,
    ) {
        let Some((file, prefix)) = &mut self.prefix else {
            return;
        };
        if prefix.len() > end {
            return;
        }
        if let Err(e) = extend(prefix, file) {
            eprintln!(
                "streamlab: warning: cannot read {} again to checksum it ({e}); its next checkpoints keep no checksum of the file",
                self.file
            );
            self.prefix = None;
        }
    }

    /// The checksum of the input's bytes before byte `byte` (of the kept chunks' first,
    /// read back from the file), if checksums are kept.
    fn prefix_crc32(&mut self, byte: u64) -> Option<u32> {
        let mut crc = None;
        self.checksum_to(byte, |prefix, file| {
            let mut upto = prefix.clone();
            upto.read_to(file, byte)?;
            crc = Some(upto.crc32());
            Ok(())
        });
        crc
    }

    fn dictionary_json(&mut self, keys: &KeyTable) -> Arc<str> {
        let sizes = keys.sizes();
        match &self.dictionary {
            Some((at, json)) if *at == sizes => json.clone(),
            _ => {
                let json: Arc<str> = serde_json::to_string(&keys.dictionary())
                    .expect("a dictionary is plain data")
                    .into();
                self.dictionary = Some((sizes, json.clone()));
                json
            }
        }
    }
}
