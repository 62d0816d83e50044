//! Output by mode: which rows a batch emits and what they carry (semantics.md, "Output
//! modes"; measurement.md, "Latency").
//!
//! | mode | rows of batch k | `emit` | `trigger` | closed state |
//! | --- | --- | --- | --- | --- |
//! | append | windows closed by batch k, final values | `None` | `None` | evicted |
//! | update | every (window, key) batch k changed | `Some(k)` | last event that changed it | evicted |
//! | complete | the whole table | `Some(k)` | last event of batch k | kept, nothing late |

use crate::state_store::Entry;
use streamlab_core::ops::joins::window::RowRule;
use streamlab_core::{KeyId, OutRow, OutputMode, Window};

/// What one batch emits, for one output mode. A (window, key) has a row only where the
/// plan's [`RowRule`] gives it one (a window join: every input has an event there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Emission<'p> {
    /// The plan's output mode.
    pub mode: OutputMode,
    /// The batch id (the `emit` of update and complete rows).
    pub batch: u64,
    /// Arrival `seq` of the last event of the run so far (complete mode's trigger).
    pub last_seq: Option<u64>,
    /// The plan's rule for which (window, key)s make a row.
    pub rule: &'p RowRule,
}

impl Emission<'_> {
    /// Whether closed windows are evicted from the state store (append, update).
    pub fn evicts(&self) -> bool {
        self.mode != OutputMode::Complete
    }

    /// Whether assignments to closed windows are dropped (append, update; complete keeps
    /// every window, so nothing is ever late).
    pub fn drops_late(&self) -> bool {
        self.mode != OutputMode::Complete
    }

    /// The mark [`Entry::changed`] carries for rows this batch changed.
    pub fn mark(&self) -> u64 {
        self.batch + 1
    }

    /// Append: the final row of a window closed by this batch.
    #[inline]
    pub fn closed(&self, window: Window, key: KeyId, entry: &Entry) -> Option<OutRow> {
        Some(OutRow {
            window,
            key,
            values: self.rule.values(&entry.accs)?,
            emit: None,
            trigger: None,
        })
    }

    /// Update: a row this batch changed, triggered by the last event that changed it.
    #[inline]
    pub fn changed(&self, window: Window, key: KeyId, entry: &Entry) -> Option<OutRow> {
        Some(OutRow {
            window,
            key,
            values: self.rule.values(&entry.accs)?,
            emit: Some(self.batch),
            trigger: Some(entry.trigger),
        })
    }

    /// Complete: one row of the whole table, triggered by the batch's last event.
    #[inline]
    pub fn table(&self, window: Window, key: KeyId, entry: &Entry) -> Option<OutRow> {
        Some(OutRow {
            window,
            key,
            values: self.rule.values(&entry.accs)?,
            emit: Some(self.batch),
            trigger: self.last_seq,
        })
    }
}
