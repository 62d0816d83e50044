//! The watermark rule, once for every engine (docs/semantics.md, "Watermarks and late
//! data").
//!
//! W = (largest event time seen) - delay, never decreasing; -infinity before any event,
//! +infinity at the end of a bounded input. A window closes when `end <= W`; an
//! assignment to a window that closed before the event was processed is late (both
//! tests are [`is_closed`](crate::model::window::is_closed) and
//! [`is_late`](crate::model::window::is_late), in [`crate::model::window`] beside the
//! windows they test).
//! Engines differ only in *when* they call [`Watermark::advance`]: per record or every N
//! records (record engine), at the end of each batch (micro-batch engine). With several
//! source partitions M is the minimum over the partitions (see [`Watermark`]).

use crate::model::event::Part;

/// The watermark value before any event: nothing has closed.
pub const MIN_WATERMARK: i64 = i64::MIN;
/// The watermark value at the end of a bounded input: everything closes.
pub const MAX_WATERMARK: i64 = i64::MAX;

/// Tracks the largest event time seen per source partition and the watermark derived
/// from them.
///
/// With several partitions (a Kafka topic's), M is the smallest of the partitions'
/// largest event times: each partition is a source with its own watermark and the
/// effective watermark is their minimum, as Flink combines parallel sources (Spark does
/// the same across input streams; within one Kafka stream it takes the global maximum).
/// So a partition that lags, or has not delivered anything yet, holds W back instead of
/// making the other partitions' records late. A partition that stops delivering holds it
/// back until the input ends (there is no idleness timeout).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    delay: i64,
    /// Largest event time per partition (`i64::MIN`: none yet).
    maxima: Vec<i64>,
    /// Delay per partition where they differ (a query's named inputs); empty: `delay`.
    #[serde(default)]
    delays: Vec<i64>,
    current: i64,
}

impl Watermark {
    /// A watermark with bounded out-of-orderness `delay` ms over `partitions` partitions
    /// (at least one), at -infinity.
    pub fn new(delay: i64, partitions: Part) -> Self {
        Watermark {
            delay,
            maxima: vec![i64::MIN; usize::from(partitions.max(1))],
            delays: Vec::new(),
            current: MIN_WATERMARK,
        }
    }

    /// A watermark over named inputs, one partition each, where input `i` has delay
    /// `input_delays[i]` (the others, `delay`): W is the minimum over the inputs of
    /// (largest event time - its delay). A plan's is [`Watermark::for_plan`] (in
    /// `query::plan`).
    pub fn with_input_delays(delay: i64, input_delays: &[i64], partitions: Part) -> Self {
        let mut w = Watermark::new(delay, partitions.max(input_delays.len() as Part));
        if input_delays.iter().any(|&d| d != delay) {
            w.delays = input_delays.to_vec();
        }
        w
    }

    /// Notes an event time from partition `part`. Does not move the watermark: see
    /// [`Self::advance`]. A partition beyond those declared joins from now on.
    #[inline]
    pub fn observe(&mut self, part: Part, event_time: i64) {
        match self.maxima.get_mut(usize::from(part)) {
            Some(max) => {
                if event_time > *max {
                    *max = event_time;
                }
            }
            None => self.join(part, event_time),
        }
    }

    #[cold]
    fn join(&mut self, part: Part, event_time: i64) {
        self.maxima.resize(usize::from(part) + 1, i64::MIN);
        self.maxima[usize::from(part)] = event_time;
    }

    /// Notes the largest event time of a group of events from partition `part`.
    #[inline]
    pub fn observe_max(&mut self, part: Part, max_event_time: i64) {
        if max_event_time != i64::MIN {
            self.observe(part, max_event_time);
        }
    }

    /// Moves the watermark to `M - delay` if that is later. Returns the new value when it
    /// moved.
    #[inline]
    pub fn advance(&mut self) -> Option<i64> {
        // One partition, one delay: the per-record path of the baseline and the record
        // engine at interval 1, kept as short as before partitions existed.
        let candidate = match (&self.maxima[..], self.delays.is_empty()) {
            ([i64::MIN], true) => return None,
            ([m], true) => m.saturating_sub(self.delay),
            _ => self.over_partitions()?,
        };
        if candidate > self.current {
            self.current = candidate;
            Some(candidate)
        } else {
            None
        }
    }

    /// min over partitions of (largest event time - its delay); None while one has none.
    fn over_partitions(&self) -> Option<i64> {
        let mut w = i64::MAX;
        for (p, &m) in self.maxima.iter().enumerate() {
            if m == i64::MIN {
                return None;
            }
            w = w.min(m.saturating_sub(self.delays.get(p).copied().unwrap_or(self.delay)));
        }
        Some(w)
    }

    /// Moves the watermark to +infinity: the input has ended, every window closes.
    pub fn finish(&mut self) {
        self.current = MAX_WATERMARK;
    }

    /// Raises the watermark to `w` if that is later (a restored or merged watermark).
    pub fn raise_to(&mut self, w: i64) {
        self.current = self.current.max(w);
    }

    /// The current watermark.
    #[inline]
    pub fn current(&self) -> i64 {
        self.current
    }

    /// M: the smallest of the partitions' largest event times (`i64::MIN` while some
    /// partition has delivered nothing).
    pub fn max_event_time(&self) -> i64 {
        self.maxima.iter().copied().min().unwrap_or(i64::MIN)
    }

    /// The delay D.
    pub fn delay(&self) -> i64 {
        self.delay
    }
}

/// Largest event time per partition of a group of events (a batch, a partition's share
/// of one), merged into a [`Watermark`] afterwards. Serializable so a partition in another
/// process can send its maxima to the micro-batch driver.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PartitionMaxima(Vec<i64>);

impl PartitionMaxima {
    /// Notes an event time from partition `part`.
    #[inline]
    pub fn observe(&mut self, part: Part, event_time: i64) {
        match self.0.get_mut(usize::from(part)) {
            Some(max) => *max = (*max).max(event_time),
            None => self.grow(part, event_time),
        }
    }

    #[cold]
    fn grow(&mut self, part: Part, event_time: i64) {
        self.0.resize(usize::from(part) + 1, i64::MIN);
        self.0[usize::from(part)] = event_time;
    }

    /// Takes in another group's maxima.
    pub fn merge(&mut self, other: &PartitionMaxima) {
        for (part, &t) in other.0.iter().enumerate() {
            self.observe(part as Part, t);
        }
    }

    /// Feeds the maxima into `w`.
    pub fn observe_into(&self, w: &mut Watermark) {
        for (part, &t) in self.0.iter().enumerate() {
            w.observe_max(part as Part, t);
        }
    }

    /// The largest event time over every partition (`i64::MIN` when empty).
    pub fn overall(&self) -> i64 {
        self.0.iter().copied().max().unwrap_or(i64::MIN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_trails_the_max_by_the_delay_and_never_decreases() {
        let mut w = Watermark::new(5, 1);
        assert_eq!(w.current(), MIN_WATERMARK);
        w.observe(0, 20);
        assert_eq!(w.current(), MIN_WATERMARK, "observe alone does not move it");
        assert_eq!(w.advance(), Some(15));
        w.observe(0, 10);
        assert_eq!(w.advance(), None);
        assert_eq!(w.current(), 15);
        w.finish();
        assert_eq!(w.current(), MAX_WATERMARK);
    }

    #[test]
    fn with_partitions_the_slowest_partition_sets_the_watermark() {
        let mut w = Watermark::new(0, 2);
        w.observe(0, 100);
        assert_eq!(w.advance(), None, "partition 1 has delivered nothing yet");
        w.observe(1, 40);
        assert_eq!(w.advance(), Some(40));
        w.observe(1, 70);
        assert_eq!(w.advance(), Some(70));
        w.observe(1, 500);
        assert_eq!(w.advance(), Some(100), "now partition 0 is the slowest");
        assert_eq!(w.max_event_time(), 100);
        w.observe(2, 10);
        assert_eq!(
            w.advance(),
            None,
            "a late-joining partition holds it, never lowers it"
        );
        assert_eq!(w.current(), 100);
    }

    #[test]
    fn each_named_input_trails_its_own_maximum_by_its_own_delay() {
        let plan = crate::query::Plan::from_toml(
            "event_time = \"ts\"\n[watermark]\ndelay = 10\n[window]\nkind = \"tumbling\"\nsize = 5\n\
             [[aggregate]]\nfn = \"count\"\nas = \"n\"\n\
             [[input]]\nname = \"web\"\npath = \"web.jsonl\"\n\
             [[input]]\nname = \"mobile\"\npath = \"m.jsonl\"\nwatermark_delay = 100\n",
        )
        .unwrap();
        let mut w = Watermark::for_plan(&plan, 1);
        w.observe(0, 1_000);
        assert_eq!(w.advance(), None, "the mobile input has delivered nothing");
        w.observe(1, 1_050);
        assert_eq!(
            w.advance(),
            Some(950),
            "mobile: 1050 - 100 is below web: 1000 - 10"
        );
        w.observe(1, 2_000);
        assert_eq!(w.advance(), Some(990));
    }

    #[test]
    fn partition_maxima_merge_into_the_watermark() {
        let (mut a, mut b) = (PartitionMaxima::default(), PartitionMaxima::default());
        a.observe(0, 5);
        b.observe(1, 9);
        b.observe(0, 3);
        a.merge(&b);
        assert_eq!(a.overall(), 9);
        let mut w = Watermark::new(1, 2);
        a.observe_into(&mut w);
        assert_eq!(w.advance(), Some(4));
    }

    #[test]
    fn closing_is_end_at_or_below_the_watermark() {
        use crate::model::window::{is_closed, is_late};
        assert!(is_closed(10, 10));
        assert!(!is_closed(11, 10));
        assert!(
            !is_late(0, MIN_WATERMARK),
            "nothing is late before the first event"
        );
        assert!(is_late(i64::MAX - 1, MAX_WATERMARK));
    }
}
