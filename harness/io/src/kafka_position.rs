//! Where a Kafka input stands, for checkpoints: the Kafka offset behind every line the
//! engine was handed, so that an engine's cut "every event with `seq < S`" becomes the next
//! offset of each partition (the position a restart seeks to), as Flink's Kafka source
//! keeps split offsets in its state and Spark writes partition offsets to its offset log.
//!
//! The log is compact: a fetch delivers consecutive offsets of one partition as
//! consecutive lines, which is one run `(partition, first seq, first offset, length)`.
//! Runs wholly before a position already asked for are folded into a per-partition base:
//! an engine's checkpoints only move forward.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use streamlab_core::engine::SourcePosition;
use streamlab_core::Dictionary;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Run {
    part: usize,
    seq: u64,
    offset: i64,
    len: u64,
}

/// Which offset each delivered line had; see the module doc.
#[derive(Debug, Default)]
pub struct OffsetLog {
    runs: VecDeque<Run>,
    /// Per partition index, the next offset after the lines folded out of `runs`.
    base: Vec<Option<i64>>,
}

impl OffsetLog {
    /// A log that goes on from a checkpoint's next offsets (by partition index), so that a
    /// partition silent since the restart keeps its place in later checkpoints.
    pub fn resumed(next: Vec<Option<i64>>) -> OffsetLog {
        OffsetLog {
            runs: VecDeque::new(),
            base: next,
        }
    }

    /// Notes that line `seq` was the message at `offset` of partition index `part`.
    pub fn record(&mut self, part: usize, seq: u64, offset: i64) {
        if let Some(last) = self.runs.back_mut() {
            if last.part == part
                && last.seq + last.len == seq
                && last.offset + last.len as i64 == offset
            {
                last.len += 1;
                return;
            }
        }
        self.runs.push_back(Run {
            part,
            seq,
            offset,
            len: 1,
        });
    }

    /// The next offset of each partition index once every line with `seq < next_seq` is
    /// consumed (`None`: nothing of that partition before `next_seq`). Forgets what no
    /// later position can need.
    pub fn next_offsets(&mut self, next_seq: u64, partitions: usize) -> Vec<Option<i64>> {
        let mut next = self.base.clone();
        next.resize(partitions.max(next.len()), None);
        for r in &self.runs {
            if r.seq >= next_seq {
                break;
            }
            let taken = (next_seq - r.seq).min(r.len);
            next[r.part] = Some(r.offset + taken as i64);
        }
        while let Some(r) = self.runs.front().copied() {
            if r.seq + r.len > next_seq {
                break;
            }
            if self.base.len() <= r.part {
                self.base.resize(r.part + 1, None);
            }
            self.base[r.part] = Some(r.offset + r.len as i64);
            self.runs.pop_front();
        }
        next
    }
}

/// A Kafka position as checkpoints hold it: `{"topic": T, "offsets": {"0": 812, ...},
/// "dictionary": ...}`, offsets by partition id; a partition that had delivered nothing is
/// absent (a restart starts it where the input's `start` says). The decoder's dictionary
/// goes with it: events carry interned key ids, and a reader that starts mid-topic must
/// give every key the id the checkpointed state knows it by.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KafkaPosition {
    /// Topic read.
    pub topic: String,
    /// Next offset per partition id.
    pub offsets: BTreeMap<i32, i64>,
    /// Keys and strings interned so far.
    #[serde(default)]
    pub dictionary: Dictionary,
}

impl KafkaPosition {
    /// As a checkpoint stores it.
    pub fn to_position(&self) -> SourcePosition {
        SourcePosition::encode(self).expect("a Kafka position is plain data")
    }

    /// Reads a checkpoint's position for `topic`; a position of another topic or another
    /// kind of input is an error naming both.
    pub fn from_position(position: &SourcePosition, topic: &str) -> Result<KafkaPosition> {
        let p: KafkaPosition = position.decode().with_context(|| {
            format!("the checkpoint's input position {position} is not a Kafka position")
        })?;
        if p.topic != topic {
            bail!(
                "the checkpoint was written reading topic `{}`, not `{topic}`",
                p.topic
            );
        }
        Ok(p)
    }
}

/// Refuses, before a run over `topic` opens it, a newest checkpoint in `dir` taken over
/// another topic (or another kind of input), naming both. A seek would refuse it too, but
/// a finished run's checkpoint is not sought: without this check a run reusing it with
/// another topic would hand back the old topic's rows as its own.
pub fn check_resume(
    dir: &std::path::Path,
    on_corrupt: streamlab_checkpoint::OnCorrupt,
    topic: &str,
) -> Result<()> {
    let Some((id, position)) = streamlab_checkpoint::resume_position(dir, on_corrupt)? else {
        return Ok(());
    };
    KafkaPosition::from_position(&SourcePosition::from_json(position), topic).with_context(
        || {
            format!(
                "checkpoint {id} in {} cannot resume a run over topic `{topic}`; use a new --checkpoint directory",
                dir.display()
            )
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cut_by_seq_becomes_the_next_offset_of_every_partition() {
        let mut log = OffsetLog::default();
        // Partition 0 offsets 10..13 as seq 0..3, partition 1 offsets 0..2 as seq 3..5,
        // partition 0 offset 14 (13 was an end marker or a gap) as seq 5.
        for (seq, off) in (0..3).zip(10..) {
            log.record(0, seq, off);
        }
        log.record(1, 3, 0);
        log.record(1, 4, 1);
        log.record(0, 5, 14);
        assert_eq!(
            log.runs.len(),
            3,
            "consecutive lines of one partition are one run"
        );
        assert_eq!(log.next_offsets(0, 2), vec![None, None]);
        assert_eq!(log.next_offsets(2, 2), vec![Some(12), None]);
        assert_eq!(log.next_offsets(4, 2), vec![Some(13), Some(1)]);
        assert_eq!(
            log.runs.len(),
            2,
            "the run before seq 4 is folded into the base"
        );
        assert_eq!(log.next_offsets(6, 3), vec![Some(15), Some(2), None]);
        assert!(log.runs.is_empty());
        assert_eq!(log.next_offsets(9, 2), vec![Some(15), Some(2)]);

        let mut resumed = OffsetLog::resumed(vec![Some(15), None]);
        assert_eq!(resumed.next_offsets(9, 2), vec![Some(15), None]);
        resumed.record(1, 9, 2);
        assert_eq!(resumed.next_offsets(10, 2), vec![Some(15), Some(3)]);
    }

    #[test]
    fn positions_round_trip_and_name_a_wrong_topic() {
        let p = KafkaPosition {
            topic: "logs".into(),
            offsets: BTreeMap::from([(0, 5), (2, 9)]),
            dictionary: Dictionary::default(),
        };
        let json = p.to_position();
        assert_eq!(
            json.as_str(),
            r#"{"topic":"logs","offsets":{"0":5,"2":9},"dictionary":{"keys":[],"strings":[]}}"#
        );
        let back = KafkaPosition::from_position(&json, "logs").unwrap();
        assert_eq!((back.topic, back.offsets), (p.topic, p.offsets));
        let err = KafkaPosition::from_position(&json, "other").unwrap_err();
        assert!(err.to_string().contains("`logs`, not `other`"), "{err}");
        let err = KafkaPosition::from_position(&SourcePosition::from_json("17".into()), "logs")
            .unwrap_err();
        assert!(err.to_string().contains("not a Kafka position"), "{err}");
    }

    #[test]
    fn a_checkpoint_of_another_topic_is_refused_before_the_run_naming_both() {
        let dir =
            std::env::temp_dir().join(format!("streamlab-kafka-resume-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let on_corrupt = streamlab_checkpoint::OnCorrupt::Previous;
        check_resume(&dir, on_corrupt, "clicks").expect("no checkpoint: nothing to check");
        let store = streamlab_checkpoint::CheckpointStore::open(&dir, 3, on_corrupt).unwrap();
        // A finished run's checkpoint: the position where the topic ended.
        let finished = KafkaPosition {
            topic: "logs".into(),
            offsets: BTreeMap::from([(0, 600)]),
            dictionary: Dictionary::default(),
        };
        store
            .write_state(0, Some(finished.to_position().as_str()), &7u32)
            .unwrap();
        check_resume(&dir, on_corrupt, "logs").expect("the same topic resumes");
        let err = format!(
            "{:#}",
            check_resume(&dir, on_corrupt, "clicks").unwrap_err()
        );
        assert!(err.contains("topic `clicks`"), "{err}");
        assert!(err.contains("reading topic `logs`, not `clicks`"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
