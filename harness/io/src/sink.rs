//! Sinks the harness gives engines: JSON Lines to a file or stdout, the exactly-once file
//! sink of checkpointed runs, and the sink an `--output` address names ([`open_sink`]).

use crate::part_manifest::{self, PartEntry};
use std::io::Write;
use std::sync::Arc;
use streamlab_core::engine::{EngineError, Sink};
use streamlab_core::row_format::RowFormat;
use streamlab_core::{KeyTable, OutRow, Plan};

/// Set once a write to stdout failed because its reader went away (`--output - | head`).
static STDOUT_CLOSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether stdout's reader went away during the run: the binary then exits quietly with
/// status 0, as Unix tools do, instead of reporting the run's "Broken pipe" error.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Stdout that records a broken pipe in [`stdout_closed`] (the error still stops the run).
struct Stdout(std::io::Stdout);

impl Stdout {
    fn note<T>(r: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &r {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                STDOUT_CLOSED.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        r
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Self::note(self.0.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Self::note(self.0.flush())
    }
}

/// An output file, or stdout for `-`, buffered.
pub fn open_output(path: &str) -> anyhow::Result<Box<dyn Write + Send>> {
    use anyhow::Context;
    Ok(if path == "-" {
        Box::new(std::io::BufWriter::new(Stdout(std::io::stdout())))
    } else {
        let file = std::fs::File::create(path)
            .with_context(|| format!("cannot create output file {path}"))?;
        Box::new(std::io::BufWriter::with_capacity(1 << 20, file))
    })
}

/// The sink of `--output`: JSON Lines to a file or stdout, or rows to a Kafka topic.
pub fn open_sink(plan: &Plan, keys: Arc<KeyTable>, output: &str) -> anyhow::Result<Box<dyn Sink>> {
    if output.starts_with("kafka://") {
        #[cfg(feature = "kafka")]
        {
            let addr = crate::kafka::KafkaAddr::parse(output)?;
            return Ok(Box::new(crate::kafka::KafkaSink::new(plan, keys, &addr)?));
        }
        #[cfg(not(feature = "kafka"))]
        return Err(crate::address::without_kafka(output));
    }
    let out = open_output(output)?;
    Ok(Box::new(JsonLinesSink::new(plan, keys, out, output)))
}

/// Rows of a process that has no output (a timely cluster's processes other than 0).
pub struct DiscardSink;

impl Sink for DiscardSink {
    fn emit(&mut self, _: &[OutRow]) -> Result<(), EngineError> {
        Ok(())
    }
}

/// Writes rows as JSON Lines (semantics.md, "Result rows").
pub struct JsonLinesSink {
    out: Box<dyn Write + Send>,
    format: RowFormat,
    keys: Arc<KeyTable>,
    buf: Vec<u8>,
    what: String,
}

impl JsonLinesSink {
    /// Rows of `plan`, keys from `keys`, written to `out` (named `what` in errors).
    pub fn new(plan: &Plan, keys: Arc<KeyTable>, out: Box<dyn Write + Send>, what: &str) -> Self {
        JsonLinesSink {
            out,
            format: RowFormat::new(plan),
            keys,
            buf: Vec::with_capacity(1 << 16),
            what: what.to_owned(),
        }
    }

    fn fail(&self, e: std::io::Error) -> EngineError {
        EngineError::Sink(format!("writing {}: {e}", self.what))
    }
}

impl Sink for JsonLinesSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        self.buf.clear();
        self.format.write_all(rows, &self.keys, &mut self.buf);
        let res = self.out.write_all(&self.buf);
        res.map_err(|e| self.fail(e))
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        let res = self.out.flush();
        res.map_err(|e| self.fail(e))
    }
}

/// A `Write` that appends into shared memory (tests, in-process comparisons).
#[derive(Clone, Default)]
pub struct SharedBuffer(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl SharedBuffer {
    /// Everything written so far.
    pub fn contents(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Write for SharedBuffer {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Exactly-once JSON Lines output for checkpointed runs (see the [`Sink`] protocol).
///
/// Rows of an epoch go to `<output>.parts/part-<epoch>.inprogress`; prepare fsyncs it,
/// renames it to `.pending` and records its length and CRC-32 in the parts' manifest
/// ([`crate::part_manifest`]); commit renames it to `part-<epoch>.jsonl`. The committed
/// parts, in epoch order, are the output so far; when the run finishes they are checked
/// against the manifest and joined into `<output>` (written to a temporary name and
/// renamed, so it appears whole or not at all). A restart from the checkpoint of epoch
/// `k` needs the manifest to record `k` and every part up to it intact: a missing or
/// damaged part (or manifest) stops the run naming it.
pub struct TransactionalFileSink {
    output: std::path::PathBuf,
    parts: std::path::PathBuf,
    format: RowFormat,
    keys: Arc<KeyTable>,
    current: Option<std::fs::File>,
    buf: Vec<u8>,
    /// Length and CRC-32 of the part in progress.
    written: u64,
    crc: crc32fast::Hasher,
    /// The prepared parts, in epoch order (the manifest's contents).
    manifest: Vec<PartEntry>,
}

fn sink_err(what: &std::path::Path, e: std::io::Error) -> EngineError {
    EngineError::Sink(format!("{}: {e}", what.display()))
}

impl TransactionalFileSink {
    /// Output to `output` (its parts beside it in `<output>.parts/`).
    pub fn new(
        plan: &Plan,
        keys: Arc<KeyTable>,
        output: &std::path::Path,
    ) -> Result<Self, EngineError> {
        let parts = std::path::PathBuf::from(format!("{}.parts", output.display()));
        std::fs::create_dir_all(&parts).map_err(|e| sink_err(&parts, e))?;
        Ok(TransactionalFileSink {
            output: output.to_owned(),
            parts,
            format: RowFormat::new(plan),
            keys,
            current: None,
            buf: Vec::new(),
            written: 0,
            crc: crc32fast::Hasher::new(),
            manifest: Vec::new(),
        })
    }

    fn part(&self, epoch: u64, state: &str) -> std::path::PathBuf {
        self.parts.join(format!("part-{epoch:020}.{state}"))
    }

    fn in_progress(&self) -> std::path::PathBuf {
        self.parts.join("current.inprogress")
    }

    /// Epochs of the parts in `state` (`jsonl`, `pending`), ascending.
    fn epochs(&self, state: &str) -> Result<Vec<u64>, EngineError> {
        let mut v: Vec<u64> = std::fs::read_dir(&self.parts)
            .map_err(|e| sink_err(&self.parts, e))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().to_string();
                name.strip_prefix("part-")?
                    .strip_suffix(&format!(".{state}"))?
                    .parse()
                    .ok()
            })
            .collect();
        v.sort_unstable();
        Ok(v)
    }

    fn sync_dir(&self) -> Result<(), EngineError> {
        std::fs::File::open(&self.parts)
            .and_then(|d| d.sync_all())
            .map_err(|e| sink_err(&self.parts, e))
    }

    fn store_manifest(&self) -> Result<(), EngineError> {
        part_manifest::store(&self.parts, &self.manifest)
            .map_err(|e| sink_err(&part_manifest::path_in(&self.parts), e))
    }

    /// The manifest a restart from the checkpoint of `epoch` needs: it must exist and
    /// record `epoch` (a checkpoint is written only after its part is in the manifest).
    fn manifest_for(&self, epoch: u64) -> Result<Vec<PartEntry>, EngineError> {
        let path = part_manifest::path_in(&self.parts);
        let entries = part_manifest::load(&self.parts)
            .map_err(EngineError::Sink)?
            .ok_or_else(|| {
                EngineError::Sink(format!(
                    "cannot resume: the checkpoint (epoch {epoch}) says output parts were committed to {}, but {} is missing (the parts were removed, or written by a streamlab without part checksums); remove the checkpoint directory to start afresh",
                    self.parts.display(),
                    path.display()
                ))
            })?;
        if !entries.iter().any(|e| e.epoch == epoch) {
            return Err(EngineError::Sink(format!(
                "cannot resume: {} has no part of epoch {epoch}, the epoch of the checkpoint resumed from",
                path.display()
            )));
        }
        Ok(entries)
    }

    /// Every committed part is one the manifest records.
    fn no_strays(&self) -> Result<(), EngineError> {
        for e in self.epochs("jsonl")? {
            if !self.manifest.iter().any(|m| m.epoch == e) {
                return Err(EngineError::Sink(format!(
                    "output part {} is not in {}",
                    self.part(e, "jsonl").display(),
                    part_manifest::path_in(&self.parts).display()
                )));
            }
        }
        Ok(())
    }

    /// Every part the manifest records is there, intact.
    fn check_parts(&self) -> Result<(), EngineError> {
        self.no_strays()?;
        for entry in &self.manifest {
            part_manifest::read_checked(&self.part(entry.epoch, "jsonl"), entry)
                .map_err(EngineError::Sink)?;
        }
        Ok(())
    }

    /// The committed parts joined into `out`, each checked again as it is read: a part
    /// may have changed since the restart.
    fn join_into(&self, out: &mut std::fs::File, tmp: &std::path::Path) -> Result<(), EngineError> {
        self.no_strays()?;
        for entry in &self.manifest {
            let bytes = part_manifest::read_checked(&self.part(entry.epoch, "jsonl"), entry)
                .map_err(EngineError::Sink)?;
            out.write_all(&bytes).map_err(|err| sink_err(tmp, err))?;
        }
        out.sync_all().map_err(|e| sink_err(tmp, e))
    }
}

impl Sink for TransactionalFileSink {
    fn emit(&mut self, rows: &[OutRow]) -> Result<(), EngineError> {
        if self.current.is_none() {
            let path = self.in_progress();
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| sink_err(&path, e))?;
            self.current = Some(f);
        }
        self.buf.clear();
        self.format.write_all(rows, &self.keys, &mut self.buf);
        let path = self.in_progress();
        self.current
            .as_mut()
            .expect("opened above")
            .write_all(&self.buf)
            .map_err(|e| sink_err(&path, e))?;
        self.written += self.buf.len() as u64;
        self.crc.update(&self.buf);
        Ok(())
    }

    fn transactional(&self) -> bool {
        true
    }

    fn prepare(&mut self, epoch: u64) -> Result<(), EngineError> {
        let src = self.in_progress();
        let dst = self.part(epoch, "pending");
        match self.current.take() {
            Some(f) => f.sync_all().map_err(|e| sink_err(&src, e))?,
            // An epoch with no rows still gets its (empty) part: commit must find it.
            None => drop(std::fs::File::create(&src).map_err(|e| sink_err(&src, e))?),
        }
        std::fs::rename(&src, &dst).map_err(|e| sink_err(&dst, e))?;
        let crc = std::mem::take(&mut self.crc).finalize();
        let entry = PartEntry {
            epoch,
            len: std::mem::take(&mut self.written),
            crc,
        };
        if self.manifest.last().is_some_and(|e| e.epoch >= epoch) {
            // An epoch prepared again (not in order): the list is rewritten whole.
            self.manifest.retain(|e| e.epoch < epoch);
            self.manifest.push(entry);
            self.store_manifest()?;
        } else {
            self.manifest.push(entry);
            part_manifest::append(&self.parts, &entry)
                .map_err(|e| sink_err(&part_manifest::path_in(&self.parts), e))?;
        }
        self.sync_dir()
    }

    fn commit(&mut self, epoch: u64) -> Result<(), EngineError> {
        let src = self.part(epoch, "pending");
        let dst = self.part(epoch, "jsonl");
        std::fs::rename(&src, &dst).map_err(|e| sink_err(&src, e))?;
        self.sync_dir()
    }

    fn recover(&mut self, epoch: Option<u64>) -> Result<(), EngineError> {
        self.current = None;
        self.written = 0;
        self.crc = crc32fast::Hasher::new();
        let stale = self.in_progress();
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(|e| sink_err(&stale, e))?;
        }
        self.manifest = match epoch {
            Some(c) => self.manifest_for(c)?,
            None => Vec::new(),
        };
        for e in self.epochs("pending")? {
            if epoch.is_some_and(|c| e <= c) {
                self.commit(e)?;
            } else {
                let p = self.part(e, "pending");
                std::fs::remove_file(&p).map_err(|err| sink_err(&p, err))?;
            }
        }
        for e in self.epochs("jsonl")? {
            if epoch.is_none_or(|c| e > c) {
                let p = self.part(e, "jsonl");
                std::fs::remove_file(&p).map_err(|err| sink_err(&p, err))?;
            }
        }
        self.manifest
            .retain(|e| epoch.is_some_and(|c| e.epoch <= c));
        self.store_manifest()?;
        self.sync_dir()?;
        self.check_parts()
    }

    fn finish(&mut self) -> Result<(), EngineError> {
        let tmp = std::path::PathBuf::from(format!("{}.tmp", self.output.display()));
        let mut out = std::fs::File::create(&tmp).map_err(|e| sink_err(&tmp, e))?;
        if let Err(e) = self.join_into(&mut out, &tmp) {
            // No output rather than a shorter or corrupt one.
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.output).map_err(|e| sink_err(&self.output, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::smallvec;
    use streamlab_core::model::value::AggValue;
    use streamlab_core::Window;

    fn setup(name: &str) -> (Plan, Arc<KeyTable>, std::path::PathBuf) {
        let plan = Plan::builder()
            .event_time("ts")
            .group_by(["k"])
            .tumbling_ms(10)
            .count("n")
            .build()
            .unwrap();
        let mut d = crate::json_lines::Decoder::new(&plan);
        d.decode(r#"{"ts": 1, "k": "a"}"#, 0).unwrap();
        let dir =
            std::env::temp_dir().join(format!("streamlab-txsink-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        (plan, d.key_table().clone(), dir.join("out.jsonl"))
    }

    fn row(start: i64) -> OutRow {
        OutRow {
            window: Window {
                start,
                end: start + 10,
            },
            key: 0,
            values: smallvec![AggValue::Int(1)],
            emit: None,
            trigger: None,
        }
    }

    #[test]
    fn a_crash_between_checkpoint_and_commit_keeps_the_epoch_and_drops_later_work() {
        let (plan, keys, out) = setup("crash");
        let mut s = TransactionalFileSink::new(&plan, keys.clone(), &out).unwrap();
        s.emit(&[row(0)]).unwrap();
        s.prepare(0).unwrap();
        s.commit(0).unwrap();
        s.emit(&[row(10)]).unwrap();
        s.prepare(1).unwrap(); // checkpoint 1 written, then the crash: no commit
        s.emit(&[row(20)]).unwrap(); // epoch 2 in progress: lost with the crash
        drop(s);

        let mut again = TransactionalFileSink::new(&plan, keys, &out).unwrap();
        again.recover(Some(1)).unwrap(); // the checkpoint names epoch 1
        again.emit(&[row(20)]).unwrap(); // the replay produces epoch 2 again
        again.prepare(2).unwrap();
        again.commit(2).unwrap();
        again.finish().unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let starts: Vec<&str> = text.lines().map(|l| &l[16..18]).collect();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert_eq!(starts, vec!["0,", "10", "20"], "{text}");
    }

    #[test]
    fn recovering_to_an_older_checkpoint_discards_later_committed_parts() {
        let (plan, keys, out) = setup("older");
        let mut s = TransactionalFileSink::new(&plan, keys.clone(), &out).unwrap();
        for e in 0..3 {
            s.emit(&[row(e as i64 * 10)]).unwrap();
            s.prepare(e).unwrap();
            s.commit(e).unwrap();
        }
        // The newest checkpoint (2) was corrupt: the engine fell back to checkpoint 0.
        s.recover(Some(0)).unwrap();
        s.finish().unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1);
    }

    #[test]
    fn a_part_damaged_after_its_commit_is_named_and_no_output_is_written() {
        let (plan, keys, out) = setup("damaged");
        let mut s = TransactionalFileSink::new(&plan, keys, &out).unwrap();
        s.recover(None).unwrap();
        for e in 0..2 {
            s.emit(&[row(e as i64 * 10)]).unwrap();
            s.prepare(e).unwrap();
            s.commit(e).unwrap();
        }
        let part = s.part(1, "jsonl");
        let bytes = std::fs::read(&part).unwrap();
        std::fs::write(&part, &bytes[..bytes.len() - 3]).unwrap();
        let err = s.finish().unwrap_err().to_string();
        assert!(err.contains(&part.display().to_string()), "{err}");
        assert!(err.contains("the manifest records"), "{err}");
        assert!(!out.exists(), "a corrupt output was written");
        // A restart counts the parts against the checkpoint: part 1 missing is refused.
        std::fs::remove_file(&part).unwrap();
        let err = s.recover(Some(1)).unwrap_err().to_string();
        assert!(err.contains("is missing"), "{err}");
    }
}
