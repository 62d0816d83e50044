//! Sinks the harness gives engines: JSON Lines to a file or stdout.

use std::io::Write;
use std::sync::Arc;
use streamlab_core::engine::{EngineError, Sink};
use streamlab_core::row::RowFormat;
use streamlab_core::{KeyTable, OutRow, Plan};

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
