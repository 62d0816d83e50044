//! Reading and decoding a whole input into memory before a run: what replays and
//! engine-only benchmarks measure from (`streamlab run` decodes a file while the engine
//! runs instead, see [`crate::pipeline`]).
//!
//! Lines are decoded with the plan's [`Decoder`]; malformed ones are skipped and counted,
//! and the first few are reported with their line number (semantics.md, "Events and
//! time"). With `strict`, the first malformed line stops the run with that message.

use crate::json_lines::Decoder;
use crate::pipeline::{DecodeOptions, LineStream, Lines};
use anyhow::{anyhow, bail, Context, Result};
use std::io::{Read, Write};
use std::sync::Arc;
use streamlab_core::model::event::Malformed;
use streamlab_core::{Event, KeyTable, Plan};

/// How many malformed lines are reported one by one before only the count is.
pub const MALFORMED_SHOWN: u64 = 5;

/// Decoded input, held in memory.
pub struct DecodedInput {
    /// Valid events in arrival order.
    pub events: Vec<Event>,
    /// Lines skipped as malformed.
    pub malformed: u64,
    /// Group keys of the events.
    pub keys: Arc<KeyTable>,
    /// Time spent reading and decoding.
    pub decode_time: std::time::Duration,
    /// Source partitions the events come from (the query's named inputs; 1 for a file).
    pub partitions: streamlab_core::Part,
    /// Lines dropped by the stream-static join (no table row) or by their input's own
    /// filters (`[[input.filter]]`): counted as filtered.
    pub unmatched: u64,
    /// Part of `decode_time` spent restoring a checkpoint's dictionary (zero from the top).
    pub restore_time: std::time::Duration,
}

/// How many distinct reasons [`MalformedReport`] tallies (a cap against unbounded memory
/// on hostile input; reasons past it still count in the total).
const REASONS_KEPT: usize = 32;

/// Reports malformed lines: the first few in full, then only a total; and a warning when
/// most lines were malformed (a mistyped field name makes every line so).
pub struct MalformedReport<W: Write> {
    out: W,
    source: String,
    count: u64,
    /// Lines per reason, in order of first appearance.
    reasons: Vec<(String, u64)>,
}

impl<W: Write> MalformedReport<W> {
    /// Reports to `out` (stderr in the CLI) about lines of `source`.
    pub fn new(out: W, source: &str) -> Self {
        MalformedReport {
            out,
            source: source.to_owned(),
            count: 0,
            reasons: Vec::new(),
        }
    }

    /// Notes one malformed line (1-based `line`).
    pub fn line(&mut self, line: u64, why: &Malformed) {
        let source = std::mem::take(&mut self.source);
        self.line_in(&source, line, why);
        self.source = source;
    }

    /// Notes one malformed line (1-based `line`) of `file`, a part of the input (a file
    /// of a `dir://` input), which the message names in place of the input.
    pub fn line_in(&mut self, file: &str, line: u64, why: &Malformed) {
        self.count += 1;
        // The parser's detail (a column) differs line by line; the kind is the reason.
        let reason = match why {
            Malformed::NotJson(_) => "not JSON".to_owned(),
            Malformed::NotCsv(_) => "not a CSV record".to_owned(),
            other => other.to_string(),
        };
        match self.reasons.iter().position(|(r, _)| *r == reason) {
            Some(i) => self.reasons[i].1 += 1,
            None if self.reasons.len() < REASONS_KEPT => self.reasons.push((reason, 1)),
            None => {}
        }
        if self.count <= MALFORMED_SHOWN {
            let _ = writeln!(
                self.out,
                "streamlab: {file}:{line}: skipped malformed line: {why}"
            );
        }
    }

    /// Writes the closing count, if more lines were skipped than shown, and a warning
    /// when more than half the lines were malformed (`good`: the lines that were not),
    /// which the run's exit status does not show (only `--strict` stops on them).
    pub fn finish(mut self, good: u64) -> u64 {
        if self.count > MALFORMED_SHOWN {
            let _ = writeln!(
                self.out,
                "streamlab: {}: {} malformed lines skipped in all (first {MALFORMED_SHOWN} shown)",
                self.source, self.count
            );
        }
        let lines = self.count.saturating_add(good);
        if self.count > lines / 2 {
            // The first of the most frequent (`max_by_key` keeps the last of equals).
            let (reason, n) = self
                .reasons
                .iter()
                .rev()
                .max_by_key(|(_, n)| *n)
                .map_or(("", 0), |(r, n)| (r.as_str(), *n));
            // A field every line lacks is most often a typo in the query.
            let hint = if reason.starts_with("missing field") {
                " Does the query name the input's fields?"
            } else {
                ""
            };
            let _ = writeln!(
                self.out,
                "streamlab: warning: {}: {} of {lines} lines were malformed and skipped; \
                 most common: {reason} ({n} lines).{hint}",
                self.source, self.count
            );
        }
        self.count
    }
}

/// Reads every line of `reader` and decodes it for `plan`, on the decoding pipeline's
/// default threads (one a core). Event `seq` is the 0-based line index, so it doubles as
/// the replay offset.
pub fn decode_all(
    reader: impl Read + Send,
    source_name: &str,
    plan: &Plan,
    strict: bool,
    report: &mut dyn Write,
) -> Result<DecodedInput> {
    decode_with(
        reader,
        source_name,
        plan,
        strict,
        report,
        DecodeOptions::default(),
    )
}

/// [`decode_all`] with the pipeline's `options` (threads, chunk size): the events are the
/// same whatever they are.
pub fn decode_with(
    reader: impl Read + Send,
    source_name: &str,
    plan: &Plan,
    strict: bool,
    report: &mut dyn Write,
    options: DecodeOptions,
) -> Result<DecodedInput> {
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        let (mut stream, tasks) = LineStream::new(reader, source_name, plan, options, None, false)?;
        for (name, task) in tasks {
            std::thread::Builder::new()
                .name(name)
                .spawn_scoped(scope, task)
                .context("cannot start a thread to decode the input")?;
        }
        let mut report = MalformedReport::new(report, source_name);
        let mut events = Vec::new();
        let mut unmatched = 0;
        while let Some(Lines { first_line, chunk }) = stream.next_chunk()? {
            for s in chunk.skipped {
                let line = first_line + s.line + 1;
                match s.why {
                    why if why.is_filtered() => unmatched += 1,
                    why if strict => {
                        bail!("{source_name}:{line}: malformed line: {why} (stopped: --strict)")
                    }
                    why => report.line(line, &why),
                }
            }
            events.extend(chunk.events);
        }
        Ok(DecodedInput {
            malformed: report.finish(events.len() as u64 + unmatched),
            events,
            keys: stream.keys().clone(),
            decode_time: started.elapsed(),
            partitions: 1,
            unmatched,
            restore_time: Default::default(),
        })
    })
}

/// Reads and decodes the query's named inputs (`[[input]]`; relative paths from `base`,
/// the query file's directory) into one stream, each event tagged with its input as its
/// partition. The union arrives as concurrent sources would deliver it: each input in its
/// own line order, the inputs interleaved in proportion to their lengths (deterministic,
/// so a replay is reproducible). `seq` numbers the merged stream.
pub fn decode_inputs(
    plan: &Plan,
    base: &std::path::Path,
    strict: bool,
    report: &mut dyn Write,
) -> Result<DecodedInput> {
    let started = std::time::Instant::now();
    // Inputs reading one file (NEXMark's persons and auctions) share one copy of it.
    let mut files: Vec<(std::path::PathBuf, Vec<u8>)> = Vec::new();
    let mut which = Vec::new();
    for input in &plan.inputs {
        let path = base.join(&input.path);
        let at = match files.iter().position(|(p, _)| *p == path) {
            Some(at) => at,
            None => {
                let text = std::fs::read(&path).with_context(|| {
                    format!("cannot read input `{}` ({})", input.name, path.display())
                })?;
                files.push((path.clone(), text));
                files.len() - 1
            }
        };
        which.push((format!("input `{}` ({})", input.name, path.display()), at));
    }
    let texts: Vec<(String, &[u8])> = which
        .into_iter()
        .map(|(name, at)| (name, &files[at].1[..]))
        .collect();
    merge_inputs(plan, &texts, strict, report, started)
}

/// Decodes a generated stream for `plan`: a plan without `[[input]]`s reads it as its one
/// input; one with `[[input]]`s reads it as the file of every input (NEXMark Q3 and Q8
/// read persons and auctions from one stream, each input keeping its own lines), merged
/// as [`decode_inputs`] merges files.
pub fn decode_generated(
    bytes: &[u8],
    plan: &Plan,
    strict: bool,
    report: &mut dyn Write,
) -> Result<DecodedInput> {
    if plan.inputs.is_empty() {
        return decode_all(bytes, "<generated>", plan, strict, report);
    }
    let texts: Vec<(String, &[u8])> = plan
        .inputs
        .iter()
        .map(|i| (format!("input `{}` (<generated>)", i.name), bytes))
        .collect();
    merge_inputs(plan, &texts, strict, report, std::time::Instant::now())
}

/// The merge of [`decode_inputs`], over each input's text (named for messages).
fn merge_inputs(
    plan: &Plan,
    texts: &[(String, &[u8])],
    strict: bool,
    report: &mut dyn Write,
    started: std::time::Instant,
) -> Result<DecodedInput> {
    // Per input: its name, its text and the (start, end) of every line in it.
    let mut files = Vec::new();
    for (name, text) in texts {
        let mut lines = Vec::new();
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', text) {
            lines.push((start, i));
            start = i + 1;
        }
        if start < text.len() {
            lines.push((start, text.len())); // a last line without a newline
        }
        let n = lines.len();
        files.push((name, (*text, lines), n));
    }
    let mut decoder = Decoder::new(plan);
    let mut taken = vec![0usize; files.len()];
    if decoder.needs_header() {
        // A CSV input (one: CSV queries name no [[input]]s): line 0 names the columns.
        if let Some((name, (text, lines), _)) = files.first().filter(|f| f.2 > 0) {
            let (a, b) = lines[0];
            let header = std::str::from_utf8(&text[a..b])
                .map_err(|e| anyhow!("{name}:1: bad CSV header: not UTF-8: {e}"))?;
            decoder
                .set_header(header)
                .map_err(|e| anyhow!("{name}:1: bad CSV header: {e}"))?;
            taken[0] = 1;
        }
    }
    let mut events = Vec::new();
    let mut unmatched = 0;
    let malformed;
    // Every input reads one file (NEXMark's persons and auctions): each line is parsed
    // once for all of them, when the first input reaches it.
    let one_file = files.len() > 1 && files.iter().all(|f| std::ptr::eq(f.1 .0, files[0].1 .0));
    let mut shared: Vec<Result<streamlab_core::Event, Malformed>> = Vec::new();
    let mut shared_line = usize::MAX;
    {
        let mut report = MalformedReport::new(&mut *report, "");
        let total: usize = files.iter().map(|f| f.2).sum::<usize>() - taken.iter().sum::<usize>();
        for seq in 0..total as u64 {
            // The input furthest behind its share of the merged stream goes next.
            let i = (0..files.len())
                .filter(|&i| taken[i] < files[i].2)
                .min_by(|&a, &b| {
                    let at = |i: usize| (taken[i] as f64 + 0.5) / files[i].2 as f64;
                    at(a).total_cmp(&at(b))
                })
                .expect("lines remain");
            let (name, (text, lines), _) = &files[i];
            let k = taken[i];
            let (a, b) = lines[k];
            let line = &text[a..b];
            taken[i] += 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let decoded = match std::str::from_utf8(line) {
                Ok(text) if one_file => {
                    if shared_line != k {
                        decoder.decode_shared(text, seq, &mut shared);
                        shared_line = k;
                    }
                    let mut r = std::mem::replace(&mut shared[i], Err(Malformed::Empty));
                    if let Ok(e) = &mut r {
                        e.seq = seq;
                    }
                    r
                }
                Ok(text) => decoder.decode_input(i as streamlab_core::Part, text, seq),
                Err(e) => Err(decoder.not_utf8(e)),
            };
            match decoded {
                Ok(e) => events.push(e),
                Err(why) if why.is_filtered() => unmatched += 1,
                Err(why) if strict => bail!(
                    "{name}:{}: malformed line: {why} (stopped: --strict)",
                    taken[i]
                ),
                Err(why) => {
                    report.source = name.to_string();
                    report.line(taken[i] as u64, &why);
                }
            }
        }
        report.source = "the query's inputs".into(); // the closing count covers them all
        malformed = report.finish(events.len() as u64 + unmatched);
    }
    Ok(DecodedInput {
        events,
        malformed,
        keys: decoder.key_table().clone(),
        decode_time: started.elapsed(),
        partitions: plan.inputs.len() as streamlab_core::Part,
        unmatched,
        restore_time: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        Plan::builder()
            .event_time("ts")
            .group_by(["k"])
            .tumbling_ms(10)
            .count("n")
            .build()
            .unwrap()
    }

    #[test]
    fn malformed_lines_are_counted_and_the_first_few_reported() {
        let mut text = String::new();
        for i in 0..8 {
            text.push_str(&format!("{{\"ts\": {i}, \"k\": \"a\"}}\n"));
            text.push_str("oops\n");
        }
        let mut err = Vec::new();
        let input = decode_all(text.as_bytes(), "in.jsonl", &plan(), false, &mut err).unwrap();
        assert_eq!(input.events.len(), 8);
        assert_eq!(input.malformed, 8);
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains("in.jsonl:2: skipped malformed line: not JSON"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 6, "{err}");
        assert!(err.contains("8 malformed lines skipped in all"), "{err}");
        assert_eq!(input.events[1].seq, 2, "seq counts every line");
    }

    /// A mistyped field in the query makes every line malformed: warned loudly, with the
    /// reason, not only counted; half the lines or fewer is no warning.
    #[test]
    fn mostly_malformed_input_is_warned_about_with_its_most_common_reason() {
        let mut text = String::from("oops\n");
        for i in 0..3 {
            text.push_str(&format!("{{\"ts\": {i}, \"kk\": \"a\"}}\n"));
        }
        text.push_str("{\"ts\": 9, \"k\": \"a\"}\n");
        let mut err = Vec::new();
        let input = decode_all(text.as_bytes(), "in.jsonl", &plan(), false, &mut err).unwrap();
        assert_eq!((input.events.len(), input.malformed), (1, 4));
        let err = String::from_utf8(err).unwrap();
        assert!(
            err.contains(
                "streamlab: warning: in.jsonl: 4 of 5 lines were malformed and skipped; \
                 most common: missing field `k` (3 lines). Does the query name the input's fields?"
            ),
            "{err}"
        );
        let half = "oops\n{\"ts\": 1, \"k\": \"a\"}\n";
        let mut err = Vec::new();
        decode_all(half.as_bytes(), "in.jsonl", &plan(), false, &mut err).unwrap();
        assert!(!String::from_utf8(err).unwrap().contains("warning"));
    }

    #[test]
    fn strict_stops_at_the_first_malformed_line() {
        let text = "{\"ts\": 1, \"k\": \"a\"}\n{\"ts\": \"x\", \"k\": \"a\"}\n";
        let err = decode_all(text.as_bytes(), "in.jsonl", &plan(), true, &mut Vec::new())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in.jsonl:2") && err.contains("`ts`"), "{err}");
    }

    #[test]
    fn a_trailing_newline_is_not_an_empty_line_but_a_blank_line_is() {
        let text = "{\"ts\": 1, \"k\": \"a\"}\n\n{\"ts\": 2, \"k\": \"a\"}\n";
        let input = decode_all(text.as_bytes(), "x", &plan(), false, &mut Vec::new()).unwrap();
        assert_eq!(input.events.len(), 2);
        assert_eq!(input.malformed, 1);
    }
}
