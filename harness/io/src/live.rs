//! Live inputs: lines that arrive while the engine runs (a socket, a directory that
//! receives files, a Kafka topic). A reader thread decodes each line as it arrives and
//! hands chunks of events to the engine through a queue, so the engine sees the same
//! [`Source`] interface as for a replay. Malformed lines are counted and the first few
//! reported, as for files; a read error ends the input with that error.

use crate::decode::MalformedReport;
use crate::json_lines::Decoder;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamlab_core::engine::{EngineError, Poll, Source, SourcePosition};
use streamlab_core::model::event::Malformed;
use streamlab_core::semantics::watermark::Watermark;
use streamlab_core::{Event, KeyTable, Part, Plan};

/// Lines are handed over in chunks of at most this many events, or sooner when the input
/// pauses (a chunk is sent as soon as no further line is immediately available).
const CHUNK: usize = 1024;

/// The longest line a live line input (`tcp://`, `dir://`) keeps by default, in bytes; a
/// longer line is skipped as malformed. Its address's `max_line=BYTES` changes it.
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// What a reader thread reports when it stops.
#[derive(Debug, Default)]
pub struct LiveStats {
    /// Malformed lines skipped.
    pub malformed: AtomicU64,
    /// Valid events decoded.
    pub events: AtomicU64,
    /// Lines dropped by the stream-static join (counted as filtered).
    pub unmatched: AtomicU64,
    /// The error that ended the input, if any.
    pub error: Mutex<Option<String>>,
    /// For latency across a broker: when each line (by seq) was produced, ms since the
    /// epoch, where the input knows it (Kafka's message timestamp).
    pub produced_ms: Mutex<Vec<i64>>,
    /// (the watermark's M so far: the smallest of the partitions' largest event times,
    /// seq of the event that raised it): what append-row triggers are looked up in (see
    /// `metrics::AppendTriggers`).
    pub max_steps: Mutex<Vec<(i64, u64)>>,
}

/// Builds events from lines and sends them in chunks; shared by every live input.
pub struct LineFeed {
    decoder: Decoder,
    report: MalformedReport<std::io::Stderr>,
    tx: Sender<Vec<Event>>,
    chunk: Vec<Event>,
    seq: u64,
    stats: Arc<LiveStats>,
    strict: bool,
    /// The watermark's M as the input delivers it (min over partitions of their largest
    /// event time), for `max_steps`.
    maxima: Watermark,
    /// The file the lines come from (a `dir://` input), the `seq` of its line
    /// `first_line + 1`: messages name the file and its line, not the input's line count.
    file: Option<(String, u64, u64)>,
}

impl LineFeed {
    /// Decodes one line (without newline); returns false when the engine has gone or
    /// `--strict` met a malformed line.
    pub fn line(&mut self, line: &[u8]) -> bool {
        self.line_produced_at(0, line, None)
    }

    /// As [`Self::line`], for a line of source partition `part`, noting when the line was
    /// produced (ms since the epoch).
    pub fn line_produced_at(&mut self, part: Part, line: &[u8], produced_ms: Option<i64>) -> bool {
        let seq = self.seq;
        self.seq += 1;
        if let Some(ms) = produced_ms {
            let mut p = self
                .stats
                .produced_ms
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            p.resize(seq as usize, ms);
            p.push(ms);
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let decoded = match std::str::from_utf8(line) {
            Ok(text) => self.decoder.decode(text, seq),
            Err(e) => Err(self.decoder.not_utf8(e)),
        };
        self.take(part, seq, decoded)
    }

    /// Skips a line longer than the input's `limit` as malformed (its bytes were not kept).
    pub fn too_long(&mut self, limit: usize) -> bool {
        let seq = self.seq;
        self.seq += 1;
        self.take(0, seq, Err(Malformed::LineTooLong { limit }))
    }

    /// Hands a decoded line on, or counts and reports why it is not an event.
    fn take(&mut self, part: Part, seq: u64, decoded: Result<Event, Malformed>) -> bool {
        match decoded {
            Ok(mut e) => {
                e.part = part;
                let before = self.maxima.max_event_time();
                self.maxima.observe(part, e.time);
                let m = self.maxima.max_event_time();
                if m > before {
                    let mut steps = self
                        .stats
                        .max_steps
                        .lock()
                        .unwrap_or_else(|e| e.into_inner());
                    steps.push((m, e.seq));
                }
                self.chunk.push(e);
                self.stats.events.fetch_add(1, Ordering::Relaxed);
                if self.chunk.len() >= CHUNK {
                    return self.flush();
                }
            }
            Err(Malformed::Unmatched { .. }) => {
                self.stats.unmatched.fetch_add(1, Ordering::Relaxed);
            }
            Err(why) => {
                let (file, line) = self.place(seq);
                if self.strict {
                    let at = file.map_or_else(|| format!("line {line}"), |f| format!("{f}:{line}"));
                    self.fail(format!("{at}: malformed line: {why} (stopped: --strict)"));
                    return false;
                }
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                match file.map(str::to_owned) {
                    Some(file) => self.report.line_in(&file, line, &why),
                    None => self.report.line(line, &why),
                }
            }
        }
        true
    }

    /// The next lines come from file `name`, from its line `first_line + 1` on.
    pub fn set_file(&mut self, name: String, first_line: u64) {
        self.file = Some((name, self.seq, first_line));
    }

    /// Where line `seq` is, for a message: `FILE:LINE` within a `dir://` input's file,
    /// else `line N` of the input.
    fn place(&self, seq: u64) -> (Option<&str>, u64) {
        match &self.file {
            Some((name, from, first)) => (Some(name), first + (seq - from) + 1),
            None => (None, seq + 1),
        }
    }

    /// The `seq` the next line gets.
    pub fn next_seq(&self) -> u64 {
        self.seq
    }

    /// Goes on from a checkpoint: the next line is number `seq`, and keys and strings keep
    /// the ids `dictionary` gave them.
    pub fn resume(
        &mut self,
        seq: u64,
        dictionary: &streamlab_core::Dictionary,
    ) -> Result<(), String> {
        self.seq = seq;
        self.decoder.restore(dictionary.clone())
    }

    /// Sends what is gathered; false when the engine has gone.
    pub fn flush(&mut self) -> bool {
        if self.chunk.is_empty() {
            return true;
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK));
        self.tx.send(chunk).is_ok()
    }

    /// Ends the input with an error the run will report.
    pub fn fail(&mut self, message: String) {
        *self.stats.error.lock().unwrap_or_else(|e| e.into_inner()) = Some(message);
    }
}

impl Drop for LineFeed {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Starts `read` on its own thread with a [`LineFeed`]; returns the engine's source, which
/// has `partitions` partitions (see [`Source::partitions`]).
pub fn spawn_live(
    plan: &Plan,
    keys: Arc<KeyTable>,
    name: &str,
    strict: bool,
    partitions: Part,
    read: impl FnOnce(&mut LineFeed) + Send + 'static,
) -> LiveSource {
    let (tx, rx) = crossbeam_channel::unbounded();
    let stats = Arc::new(LiveStats::default());
    let mut feed = LineFeed {
        decoder: Decoder::with_key_table(plan, keys),
        report: MalformedReport::new(std::io::stderr(), name),
        tx,
        chunk: Vec::with_capacity(CHUNK),
        seq: 0,
        stats: stats.clone(),
        strict,
        maxima: Watermark::new(0, partitions),
        file: None,
    };
    let thread = std::thread::Builder::new()
        .name(format!("input {name}"))
        .spawn(move || {
            read(&mut feed);
            feed.flush();
        })
        .expect("spawning the input thread");
    LiveSource {
        rx,
        pending: Vec::new().into_iter(),
        stats,
        thread: Some(thread),
        partitions,
        rewind: None,
        started: false,
    }
}

/// What a live input that can be read again from a position (Kafka) adds to its
/// [`LiveSource`]: its reader waits for [`Rewind::start`] before reading.
pub trait Rewind: Send {
    /// See [`Source::position`].
    fn position(&self, next_seq: u64) -> Option<SourcePosition>;
    /// Lets the reader begin: where the input's address says (`None`), or at a
    /// checkpoint's position, numbering lines from its `seq`.
    fn start(&mut self, from: Option<(&SourcePosition, u64)>) -> Result<(), EngineError>;
}

/// The engine's end of a live input.
pub struct LiveSource {
    rx: Receiver<Vec<Event>>,
    pending: std::vec::IntoIter<Event>,
    stats: Arc<LiveStats>,
    thread: Option<std::thread::JoinHandle<()>>,
    partitions: Part,
    rewind: Option<Box<dyn Rewind>>,
    started: bool,
}

impl LiveSource {
    /// Counters of the reader.
    pub fn stats(&self) -> Arc<LiveStats> {
        self.stats.clone()
    }

    /// Makes the source replayable from a position (its reader waits for `rewind`).
    pub fn with_rewind(mut self, rewind: Box<dyn Rewind>) -> LiveSource {
        self.rewind = Some(rewind);
        self
    }

    fn begin(&mut self, from: Option<(&SourcePosition, u64)>) -> Result<(), EngineError> {
        self.started = true;
        match self.rewind.as_mut() {
            Some(r) => r.start(from),
            None => Ok(()),
        }
    }
}

impl Source for LiveSource {
    fn partitions(&self) -> Part {
        self.partitions
    }

    fn position(&self, next_seq: u64) -> Option<SourcePosition> {
        self.rewind.as_ref()?.position(next_seq)
    }

    fn seek(&mut self, position: &SourcePosition, next_seq: u64) -> Result<(), EngineError> {
        if self.started {
            return Err(EngineError::Internal(
                "a source can only seek before it is read".into(),
            ));
        }
        if self.rewind.is_none() {
            return Err(EngineError::Source(
                "the checkpoint names a position in a replayable input (Kafka), but this input cannot seek: resume with the input the checkpoint was written for".into(),
            ));
        }
        self.begin(Some((position, next_seq)))
    }

    fn poll(&mut self, buf: &mut Vec<Event>, max: usize) -> Result<Poll, EngineError> {
        if !self.started {
            self.begin(None)?;
        }
        let before = buf.len();
        while buf.len() - before < max {
            if self.pending.len() > 0 {
                let room = max - (buf.len() - before);
                buf.extend(self.pending.by_ref().take(room));
                continue;
            }
            match self.rx.try_recv() {
                Ok(chunk) => self.pending = chunk.into_iter(),
                Err(_) => break,
            }
        }
        if buf.len() > before {
            return Ok(Poll::Ready);
        }
        match self.rx.recv_timeout(Duration::from_millis(1)) {
            Ok(chunk) => {
                self.pending = chunk.into_iter();
                self.poll(buf, max)
            }
            Err(RecvTimeoutError::Timeout) => Ok(Poll::Pending),
            Err(RecvTimeoutError::Disconnected) => {
                if let Some(t) = self.thread.take() {
                    let _ = t.join();
                }
                match self
                    .stats
                    .error
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take()
                {
                    Some(e) => Err(EngineError::Source(e)),
                    None => Ok(Poll::End),
                }
            }
        }
    }
}

/// Reads lines from `reader` until it ends (a socket closing, a file's end), keeping at
/// most `max_line` bytes of a line: a longer one is skipped as malformed.
pub fn read_lines(
    mut reader: impl BufRead,
    feed: &mut LineFeed,
    what: &str,
    max_line: usize,
) -> bool {
    let mut line = Vec::new();
    let mut lines = 0u64;
    loop {
        lines += 1;
        let more = match read_line(&mut reader, &mut line, max_line) {
            Ok(LineRead::Line) => feed.line(&line),
            Ok(LineRead::TooLong) => feed.too_long(max_line),
            Ok(LineRead::End) => return feed.flush(),
            Err(e) => {
                feed.fail(read_error(what, &e, lines > 1));
                return false;
            }
        };
        if !more {
            return false;
        }
    }
}

/// What [`read_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// A line, in the buffer.
    Line,
    /// A line longer than the limit, consumed but not kept.
    TooLong,
    /// The end of the input.
    End,
}

/// Reads the next line (without its `\n`; the last one may lack it) into `line`, which
/// never holds more than `max` bytes: the rest of a longer line is read and dropped up to
/// its newline, so a peer that never sends one costs no memory.
fn read_line(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    read_line_counted(reader, line, max, &mut 0)
}

/// As [`read_line`], adding to `consumed` the bytes it took from `reader` (the line's,
/// with its newline, also for a line too long to keep).
pub(crate) fn read_line_counted(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    max: usize,
    consumed: &mut u64,
) -> std::io::Result<LineRead> {
    line.clear();
    let (mut any, mut too_long) = (false, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(match (any, too_long) {
                (false, _) => LineRead::End,
                (true, false) => LineRead::Line,
                (true, true) => LineRead::TooLong,
            });
        }
        any = true;
        let (part, used, ends) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long && line.len() + part.len() > max {
            too_long = true;
            *line = Vec::new();
        }
        if !too_long {
            line.extend_from_slice(part);
        }
        reader.consume(used);
        *consumed += used as u64;
        if ends {
            return Ok(if too_long {
                LineRead::TooLong
            } else {
                LineRead::Line
            });
        }
    }
}

/// `tcp://HOST:PORT`: connects to a server that writes JSON lines (Spark's socket source;
/// `nc -lk 9999` in class) and reads until it closes the connection.
pub fn tcp_reader(addr: String, max_line: usize) -> impl FnOnce(&mut LineFeed) + Send + 'static {
    move |feed: &mut LineFeed| {
        let resolved = match std::net::ToSocketAddrs::to_socket_addrs(&addr.as_str()) {
            Ok(mut a) => a.next(),
            Err(e) => {
                feed.fail(format!("cannot resolve {addr}: {e}"));
                return;
            }
        };
        let Some(sock) = resolved else {
            feed.fail(format!("cannot resolve {addr}"));
            return;
        };
        match std::net::TcpStream::connect_timeout(&sock, Duration::from_secs(10)) {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                read_lines(
                    std::io::BufReader::new(stream),
                    feed,
                    &format!("tcp://{addr}"),
                    max_line,
                );
            }
            Err(e) => feed.fail(connect_error(&addr, &e)),
        }
    }
}

/// Why reading `what` failed. A connection reset before anything arrived is most often
/// no peer at all: a proxy or a firewall that accepted the connection for an address
/// that does not answer (connecting to a blackholed address here "succeeds", and the
/// read is reset 10 s later).
fn read_error(what: &str, e: &std::io::Error, anything_read: bool) -> String {
    if e.kind() == std::io::ErrorKind::ConnectionReset && !anything_read {
        return format!(
            "{what}: the connection was reset before any line arrived: nothing seems to answer at that address (a proxy or firewall may have accepted the connection in its place): {e}"
        );
    }
    format!("reading {what}: {e}")
}

/// Why `tcp://ADDR` could not be connected to, in words that tell a silent address (a
/// firewall that drops the packets) from one that refuses or resets.
fn connect_error(addr: &str, e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => format!(
            "timed out connecting to tcp://{addr}: no answer within 10 s (is the address right, and does a firewall let it through?)"
        ),
        ErrorKind::ConnectionRefused => format!(
            "cannot connect to tcp://{addr}: connection refused (is a server listening there? `nc -lk PORT`)"
        ),
        _ => format!("cannot connect to tcp://{addr}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Read};

    fn lines(text: &[u8], max: usize) -> Vec<(LineRead, Vec<u8>)> {
        let mut reader = BufReader::with_capacity(4, text);
        let mut line = Vec::new();
        let mut out = Vec::new();
        loop {
            let read = read_line(&mut reader, &mut line, max).expect("in memory");
            if read == LineRead::End {
                return out;
            }
            out.push((read, line.clone()));
        }
    }

    #[test]
    fn a_silent_address_is_said_to_time_out_not_to_reset() {
        let timed_out = std::io::Error::from(std::io::ErrorKind::TimedOut);
        assert_eq!(
            connect_error("10.255.255.1:9", &timed_out),
            "timed out connecting to tcp://10.255.255.1:9: no answer within 10 s (is the address right, and does a firewall let it through?)"
        );
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(connect_error("h:1", &refused).contains("connection refused"));
        // The repro: a blackholed address is accepted by the sandbox's proxy, and the
        // read is reset 10 s later: "connection reset by peer" alone read as a peer.
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        let said = read_error("tcp://10.255.255.1:9", &reset, false);
        assert!(
            said.starts_with("tcp://10.255.255.1:9: the connection was reset before any line arrived: nothing seems to answer"),
            "{said}"
        );
        assert!(read_error("tcp://h:1", &reset, true).starts_with("reading tcp://h:1: "));
    }

    #[test]
    fn lines_split_as_before_and_long_ones_are_skipped_whole() {
        let line = |s: &str| (LineRead::Line, s.as_bytes().to_vec());
        assert_eq!(
            lines(b"ab\n\ncdef\r\ng", 8),
            vec![line("ab"), line(""), line("cdef\r"), line("g")]
        );
        assert_eq!(
            lines(b"123456789\nok\n123456789", 8),
            vec![
                (LineRead::TooLong, vec![]),
                line("ok"),
                (LineRead::TooLong, vec![])
            ]
        );
        assert_eq!(lines(b"12345678\n", 8), vec![line("12345678")]);
        assert_eq!(lines(b"", 8), vec![]);
    }

    /// The repro: a peer that sends 400 MB without a newline grew the line without bound
    /// (940 MB resident). Here 256 MiB pass through a 1 KiB limit while the line buffer
    /// never holds more than the limit.
    #[test]
    fn a_line_without_an_end_costs_no_more_than_the_limit() {
        let endless = std::io::repeat(b'x').take(256 << 20);
        let mut reader = BufReader::new(endless.chain(&b"\n{}\n"[..]));
        let mut line = Vec::new();
        assert_eq!(
            read_line(&mut reader, &mut line, 1024).expect("read"),
            LineRead::TooLong
        );
        assert!(line.capacity() <= 1024, "{}", line.capacity());
        assert_eq!(
            read_line(&mut reader, &mut line, 1024).expect("read"),
            LineRead::Line
        );
        assert_eq!(line, b"{}");
    }
}
