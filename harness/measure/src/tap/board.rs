//! The board: every run of this process that the live view shows, in the order they
//! started. Installed once, by `--serve`; without it [`board`] is `None` and
//! [`observe`] hands the source and sink back untouched.

use super::{BatchFeed, EngineTap, TappedSink, TappedSource};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use streamlab_core::{Sink, Source};

static BOARD: OnceLock<Arc<Board>> = OnceLock::new();

/// The runs the live view shows.
#[derive(Default)]
pub struct Board {
    runs: Mutex<Vec<Arc<EngineTap>>>,
    feeds: Mutex<HashMap<String, Arc<Mutex<BatchFeed>>>>,
    /// The label the next runs get after their engine's name (an experiment's point).
    context: Mutex<String>,
    finished: AtomicBool,
}

/// The board, once `--serve` installed it.
pub fn board() -> Option<&'static Arc<Board>> {
    BOARD.get()
}

/// Installs the board (once per process; later calls return the first).
pub fn install() -> Arc<Board> {
    BOARD.get_or_init(|| Arc::new(Board::default())).clone()
}

/// A run's source and sink, tapped when the live view is on.
pub struct Observed {
    /// The source to run.
    pub source: Box<dyn Source>,
    /// The sink to run.
    pub sink: Box<dyn Sink>,
    /// The run's tap (`None` without `--serve`).
    pub tap: Option<Arc<EngineTap>>,
}

/// Taps a run of `engine` (watermark delay `delay_ms`) when the board is installed; else
/// returns `source` and `sink` as they are.
pub fn observe(
    engine: &str,
    delay_ms: i64,
    source: Box<dyn Source>,
    sink: Box<dyn Sink>,
) -> Observed {
    let Some(board) = board() else {
        return Observed {
            source,
            sink,
            tap: None,
        };
    };
    let tap = board.start_run(engine, delay_ms);
    Observed {
        source: Box::new(TappedSource::new(source, tap.clone())),
        sink: Box::new(TappedSink::new(sink, tap.clone())),
        tap: Some(tap),
    }
}

impl Board {
    /// A new run of `engine`, shown from now on.
    pub fn start_run(&self, engine: &str, delay_ms: i64) -> Arc<EngineTap> {
        let context = super::lock(&self.context).clone();
        let label = if context.is_empty() {
            engine.to_owned()
        } else {
            format!("{engine} {context}")
        };
        let tap = Arc::new(EngineTap::new(engine, &label, delay_ms));
        super::lock(&self.runs).push(tap.clone());
        tap
    }

    /// Every run so far, oldest first.
    pub fn runs(&self) -> Vec<Arc<EngineTap>> {
        super::lock(&self.runs).clone()
    }

    /// What the next runs are labelled with after their engine's name (`at 50000/s`).
    pub fn set_context(&self, context: &str) {
        *super::lock(&self.context) = context.to_owned();
    }

    /// Registers where `engine`'s micro-batches are read from (its batch log).
    pub fn set_batch_feed(&self, engine: &str, feed: BatchFeed) {
        super::lock(&self.feeds).insert(engine.to_owned(), Arc::new(Mutex::new(feed)));
    }

    /// The batches `engine` logged since the last call.
    pub fn new_batches(&self, engine: &str) -> Vec<super::BatchMark> {
        let feed = super::lock(&self.feeds).get(engine).cloned();
        feed.map(|f| (super::lock(&f))()).unwrap_or_default()
    }

    /// Marks the whole command finished (no more runs will start).
    pub fn finish(&self) {
        self.finished.store(true, Ordering::SeqCst);
    }

    /// Whether the command has finished.
    pub fn is_finished(&self) -> bool {
        self.finished.load(Ordering::SeqCst)
    }
}
