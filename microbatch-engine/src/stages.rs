//! The later stages of a multi-stage query (`[[stage]]`, core's
//! [`streamlab_core::ops::stages`]), stage by stage inside each batch: the first stage's
//! rows of the batch (every partition's, in partition order) become inserts, then each
//! later stage takes the whole batch of changes, shuffled by its group (or partition)
//! hash into one state store per partition, the way Spark gives every stateful operator
//! its own state store per shuffle partition; the last stage's changes are the batch's
//! output. The stores run one after another on the driver's thread.

use streamlab_core::ops::stages::{Change, StageState, Stages};
use streamlab_core::OutRow;

/// The state stores of every later stage: `stores[stage][partition]`.
#[derive(Debug)]
pub struct StageStores {
    stores: Vec<Vec<StageState>>,
}

impl StageStores {
    /// Empty stores, `partitions` for each stage.
    pub fn new(stages: &Stages, partitions: usize) -> StageStores {
        StageStores {
            stores: stages
                .stages
                .iter()
                .map(|s| (0..partitions.max(1)).map(|_| s.state()).collect())
                .collect(),
        }
    }

    /// One batch's first-stage rows through every later stage: the rows to emit.
    pub fn apply(&mut self, stages: &Stages, rows: Vec<OutRow>) -> Vec<OutRow> {
        let mut changes: Vec<Change> = rows.into_iter().map(|r| stages.first_change(r)).collect();
        for (stage, stores) in stages.stages.iter().zip(&mut self.stores) {
            if changes.is_empty() {
                break;
            }
            let n = stores.len() as u64;
            let mut shuffled: Vec<Vec<Change>> = (0..stores.len()).map(|_| Vec::new()).collect();
            for c in changes {
                shuffled[(stage.route(&c.row) % n) as usize].push(c);
            }
            changes = stores
                .iter_mut()
                .zip(shuffled)
                .flat_map(|(store, part)| store.apply(stage, part))
                .collect();
        }
        changes.into_iter().map(Change::into_out_row).collect()
    }
}
