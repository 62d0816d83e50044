//! Decoding an input while the engine runs: read in chunks of whole lines, decoded on
//! several threads, delivered in file order with the ids one decoder would have given.
//!
//! ```text
//!   reader thread          decoding threads (N)            the engine's thread
//!   ChunkReader ──jobs──▶ Decoder per thread ──result──▶ LineStream::next_chunk
//!        └──────── order (one slot per chunk, bounded) ────────▶ (renumber, in order)
//! ```
//!
//! Memory is bounded by the window of chunks in flight (`window` chunks read, being
//! decoded or waiting to be taken), not by the input: the reader waits for a free slot.
//! The answer is the same for any number of threads and any chunk size: events arrive in
//! file order, each with `seq` = its line, and the [`renumber`] step gives keys and
//! strings the ids of a single decoder; malformed lines are reported in file order.
//!
//! - [`chunks`]: cutting the input into chunks of whole lines.
//! - [`workers`]: the decoding threads.
//! - [`renumber`]: the run's ids for each chunk, in file order.
//! - [`source`]: the pipeline as the engines' [`Source`](streamlab_core::Source), with
//!   the file position a checkpoint keeps.

pub mod chunks;
pub mod renumber;
pub mod source;
pub mod workers;

use crate::file_position::FilePosition;
use crate::json_lines::Decoder;
use anyhow::{anyhow, Result};
use chunks::{Chunk, ChunkReader};
use crossbeam_channel::{bounded, unbounded, Receiver};
use renumber::Renumber;
use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;
use streamlab_core::{KeyTable, Plan};
use workers::{DecodedChunk, Job};

/// How the pipeline decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Decoding threads.
    pub threads: usize,
    /// Bytes a chunk holds at least (whole lines: a chunk ends at the first newline from
    /// there).
    pub chunk_bytes: usize,
    /// Chunks in flight at most; with `chunk_bytes`, what bounds the memory.
    pub window: usize,
}

impl DecodeOptions {
    /// 1 MiB chunks: large enough that handing one over costs nothing next to decoding
    /// it, small enough that the first events reach the engine within milliseconds.
    pub const DEFAULT_CHUNK_BYTES: usize = 1 << 20;

    /// `threads` decoding threads, default chunks, a window of two chunks per thread
    /// (one being decoded, one waiting) and two more.
    pub fn with_threads(threads: usize) -> DecodeOptions {
        let threads = threads.max(1);
        DecodeOptions {
            threads,
            chunk_bytes: Self::DEFAULT_CHUNK_BYTES,
            window: 2 * threads + 2,
        }
    }
}

impl Default for DecodeOptions {
    /// One decoding thread per core.
    fn default() -> DecodeOptions {
        DecodeOptions::with_threads(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// A chunk in file order, with the run's ids.
pub struct Lines {
    /// The input's line number of its first line (0-based).
    pub first_line: u64,
    /// The decoded chunk; its events' `seq` is their line.
    pub chunk: DecodedChunk,
}

/// Work for one of the pipeline's threads.
pub type Task<'a> = Box<dyn FnOnce() + Send + 'a>;

/// What the reader thread hands over for each chunk, in order: where its decoded form
/// will arrive, or why reading stopped.
type Slot = std::result::Result<Receiver<DecodedChunk>, String>;

/// An input being decoded in parallel; take its chunks in order with
/// [`LineStream::next_chunk`].
pub struct LineStream {
    order: Receiver<Slot>,
    renumber: Renumber,
    next_line: u64,
    name: String,
}

impl LineStream {
    /// Starts reading `reader` (the input `name`, for messages) and decoding it for
    /// `plan`, on threads of its own. With `resume`, the reader is already positioned at
    /// the checkpoint's byte, the dictionary is restored and lines are numbered from its
    /// line. With `track_lines`, every chunk says where its lines start (for checkpoints).
    pub fn start(
        reader: Box<dyn Read + Send>,
        name: &str,
        plan: &Plan,
        options: DecodeOptions,
        resume: Option<&FilePosition>,
        track_lines: bool,
    ) -> Result<LineStream> {
        let (stream, tasks) = LineStream::new(reader, name, plan, options, resume, track_lines)?;
        for (name, task) in tasks {
            std::thread::Builder::new()
                .name(name)
                .spawn(task)
                .map_err(|e| anyhow!("cannot start a thread to read the input: {e}"))?;
        }
        Ok(stream)
    }

    /// The stream and the tasks that feed it (the reader and the decoding threads, each
    /// named), for the caller to run on threads: [`LineStream::start`] spawns them, a
    /// caller that decodes a borrowed reader runs them in a thread scope.
    pub fn new<'a>(
        reader: impl Read + Send + 'a,
        name: &str,
        plan: &Plan,
        options: DecodeOptions,
        resume: Option<&FilePosition>,
        track_lines: bool,
    ) -> Result<(LineStream, Vec<(String, Task<'a>)>)> {
        let mut run = Decoder::new(plan);
        let (mut first_line, mut first_byte) = (0, 0);
        let mut reader = BufReader::new(reader);
        let mut header = None;
        if let Some(at) = resume {
            run.restore(at.dictionary.clone())
                .map_err(|e| anyhow!("resuming {name} at line {}: {e}", at.line + 1))?;
            (first_line, first_byte) = (at.line, at.byte);
            if run.needs_header() && at.byte > 0 {
                return Err(anyhow!(
                    "resuming {name} at line {}: its CSV columns come from its header line, \
                     which a restart does not read again; declare them in the query \
                     (columns = [...])",
                    at.line + 1
                ));
            }
        }
        if run.needs_header() {
            // Line 0 names the columns: read once here, given to every thread's decoder,
            // and counted as a line (the first record is line 1, as in an editor).
            let mut line = String::new();
            let bytes = reader.read_line(&mut line).map_err(|e| match e.kind() {
                std::io::ErrorKind::InvalidData => {
                    anyhow!("{name}:1: bad CSV header: it is not UTF-8 text")
                }
                _ => anyhow!("reading the CSV header of {name}: {e}"),
            })?;
            let text = line.strip_suffix('\n').unwrap_or(&line);
            if bytes > 0 {
                run.set_header(text)
                    .map_err(|e| anyhow!("{name}:1: bad CSV header: {e}"))?;
                (first_line, first_byte) = (1, bytes as u64);
                header = Some(Arc::<str>::from(text));
            }
        }
        let threads = options.threads.max(1);
        let (jobs_tx, jobs_rx) = unbounded::<Job>();
        let mut tasks: Vec<(String, Task<'a>)> = Vec::new();
        let shared = Arc::new(plan.clone());
        for thread in 0..threads {
            let (plan, jobs, header) = (shared.clone(), jobs_rx.clone(), header.clone());
            tasks.push((
                format!("decode-{thread}"),
                Box::new(move || {
                    workers::decode_thread(thread, &plan, header.as_deref(), jobs, track_lines)
                }),
            ));
        }
        let (order_tx, order_rx) = bounded::<Slot>(options.window.max(1));
        let chunk_bytes = options.chunk_bytes;
        tasks.push((
            "read".into(),
            Box::new(move || {
                let mut chunks = ChunkReader::new(reader, chunk_bytes, first_byte);
                loop {
                    let chunk: Chunk = match chunks.next_chunk() {
                        Ok(Some(chunk)) => chunk,
                        Ok(None) => return,
                        Err(e) => {
                            let _ = order_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let (done_tx, done_rx) = bounded(1);
                    // A free slot first: this is what bounds the chunks in memory.
                    if order_tx.send(Ok(done_rx)).is_err()
                        || jobs_tx.send((chunk, done_tx)).is_err()
                    {
                        return; // the run stopped reading
                    }
                }
            }),
        ));
        let stream = LineStream {
            order: order_rx,
            renumber: Renumber::new(run, threads, plan.string_constants.len()),
            next_line: first_line,
            name: name.to_owned(),
        };
        Ok((stream, tasks))
    }

    /// The table the run's keys are interned in (sinks print keys from it).
    pub fn keys(&self) -> &Arc<KeyTable> {
        self.renumber.decoder().key_table()
    }

    /// The input's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next chunk in file order, `None` after the last. Waits for it to be decoded.
    pub fn next_chunk(&mut self) -> Result<Option<Lines>> {
        let slot = match self.order.recv() {
            Ok(slot) => slot,
            Err(_) => return Ok(None), // the reader has read everything
        };
        let done = slot.map_err(|e| anyhow!("reading {}: {e}", self.name))?;
        let mut chunk = done
            .recv()
            .map_err(|_| anyhow!("decoding {}: a decoding thread failed", self.name))?;
        let first_line = self.next_line;
        self.renumber.apply(&mut chunk, first_line);
        self.next_line += chunk.lines;
        Ok(Some(Lines { first_line, chunk }))
    }
}
