//! Building a plan in Rust instead of TOML: [`PlanBuilder`] fills the same [`Query`] a
//! file would and compiles it, so both paths give the same [`Plan`].

use crate::model::duration::DurationMs;
use crate::ops::filter::CmpOp;
use crate::query::error::{invalid, QueryError};
use crate::query::plan::Plan;
use crate::query::spec::{
    AggregateQuery, FilterQuery, FilterValue, Literal, Query, TimeDomain, WatermarkQuery,
    WindowKind, WindowQuery,
};
use crate::semantics::aggregate::AggFn;
use crate::semantics::row::OutputMode;

impl Plan {
    /// Starts a plan in Rust instead of TOML.
    pub fn builder() -> PlanBuilder {
        PlanBuilder::default()
    }
}

/// Builds the same plan a query file describes.
///
/// ```
/// use streamlab_core::{OutputMode, Plan};
/// let plan = Plan::builder()
///     .event_time("ts")
///     .group_by(["key"])
///     .tumbling_ms(10_000)
///     .watermark_ms(5_000)
///     .count("n")
///     .sum("value", "total")
///     .output_mode(OutputMode::Append)
///     .build()
///     .unwrap();
/// assert_eq!(plan.aggregates.len(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PlanBuilder {
    event_time: Option<String>,
    group_by: Vec<String>,
    mode: OutputMode,
    delay: i64,
    window: Option<WindowQuery>,
    filters: Vec<FilterQuery>,
    aggregates: Vec<AggregateQuery>,
}

impl PlanBuilder {
    /// Event-time field.
    pub fn event_time(mut self, field: &str) -> Self {
        self.event_time = Some(field.into());
        self
    }
    /// Group-by fields.
    pub fn group_by<'a>(mut self, fields: impl IntoIterator<Item = &'a str>) -> Self {
        self.group_by = fields.into_iter().map(String::from).collect();
        self
    }
    /// Output mode.
    pub fn output_mode(mut self, mode: OutputMode) -> Self {
        self.mode = mode;
        self
    }
    /// Watermark delay in ms.
    pub fn watermark_ms(mut self, delay: i64) -> Self {
        self.delay = delay;
        self
    }
    fn window(
        mut self,
        kind: WindowKind,
        size: Option<i64>,
        slide: Option<i64>,
        gap: Option<i64>,
    ) -> Self {
        self.window = Some(WindowQuery {
            kind,
            size: size.map(DurationMs),
            slide: slide.map(DurationMs),
            gap: gap.map(DurationMs),
            time: self.window.as_ref().map(|w| w.time).unwrap_or_default(),
        });
        self
    }
    /// Tumbling event-time windows.
    pub fn tumbling_ms(self, size: i64) -> Self {
        self.window(WindowKind::Tumbling, Some(size), None, None)
    }
    /// Sliding windows.
    pub fn sliding_ms(self, size: i64, slide: i64) -> Self {
        self.window(WindowKind::Sliding, Some(size), Some(slide), None)
    }
    /// Session windows.
    pub fn session_ms(self, gap: i64) -> Self {
        self.window(WindowKind::Session, None, None, Some(gap))
    }
    /// Use processing time for the window (call after choosing the window shape).
    pub fn processing_time(mut self) -> Self {
        if let Some(w) = self.window.as_mut() {
            w.time = TimeDomain::Processing;
        }
        self
    }
    /// Adds a filter.
    pub fn filter(mut self, field: &str, op: CmpOp, value: Literal) -> Self {
        self.filters.push(FilterQuery {
            field: field.into(),
            op,
            value: FilterValue::One(value),
        });
        self
    }
    /// Adds any aggregate.
    pub fn aggregate(mut self, func: AggFn, field: Option<&str>, name: &str) -> Self {
        self.aggregates.push(AggregateQuery {
            func,
            field: field.map(String::from),
            name: name.into(),
            input: None,
        });
        self
    }
    /// Adds `count`.
    pub fn count(self, name: &str) -> Self {
        self.aggregate(AggFn::Count, None, name)
    }
    /// Adds `sum(field)`.
    pub fn sum(self, field: &str, name: &str) -> Self {
        self.aggregate(AggFn::Sum, Some(field), name)
    }
    /// Validates and compiles.
    pub fn build(self) -> Result<Plan, QueryError> {
        let window = self
            .window
            .ok_or_else(|| invalid("window", "choose a window shape"))?;
        Plan::compile(Query {
            event_time: self.event_time,
            group_by: self.group_by,
            output_mode: self.mode,
            watermark: WatermarkQuery {
                delay: DurationMs(self.delay),
            },
            window: Some(window),
            filters: self.filters,
            aggregates: self.aggregates,
            inputs: Vec::new(),
            joins: Vec::new(),
            select: Vec::new(),
            condition: None,
            format: None,
            columns: None,
            stages: Vec::new(),
        })
    }
}
