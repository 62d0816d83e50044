//! `[window]`: the window shape in ms (tumbling, sliding, session) and the clock that
//! places events in windows, with the event-time field an event-time window needs.

use crate::model::duration::DurationMs;
use crate::model::window::{WindowSpec, MAX_WINDOWS_PER_EVENT};
use crate::query::error::{invalid, QueryError};
use crate::query::spec::{Query, TimeDomain, WindowKind, WindowQuery};

/// The window and its clock. A query without `[window]` (a projection) gets an unused 1 ms
/// tumbling window.
pub(super) fn compile(query: &Query) -> Result<(WindowSpec, TimeDomain), QueryError> {
    let projected = query.window.is_none();
    const NO_WINDOW: WindowQuery = WindowQuery {
        kind: WindowKind::Tumbling,
        size: Some(DurationMs(1)),
        slide: None,
        gap: None,
        time: TimeDomain::Event,
    };
    let w = query.window.as_ref().unwrap_or(&NO_WINDOW);
    let positive = |key: &str, d: Option<DurationMs>| -> Result<i64, QueryError> {
        match d {
            None => Err(invalid(
                key,
                format!("required for a {:?} window", w.kind).to_lowercase(),
            )),
            Some(d) if d.ms() <= 0 => Err(invalid(key, "must be greater than zero")),
            Some(d) => Ok(d.ms()),
        }
    };
    let unused = |key: &str, d: Option<DurationMs>| -> Result<(), QueryError> {
        match d {
            Some(_) => Err(invalid(
                key,
                format!("not used by a {:?} window", w.kind).to_lowercase(),
            )),
            None => Ok(()),
        }
    };
    let window = match w.kind {
        WindowKind::Tumbling => {
            unused("window.slide", w.slide)?;
            unused("window.gap", w.gap)?;
            WindowSpec::Tumbling {
                size: positive("window.size", w.size)?,
            }
        }
        WindowKind::Sliding => {
            unused("window.gap", w.gap)?;
            let size = positive("window.size", w.size)?;
            let slide = positive("window.slide", w.slide)?;
            if size % slide != 0 {
                return Err(invalid(
                    "window.slide",
                    format!(
                        "must divide window.size ({} does not divide {})",
                        DurationMs(slide),
                        DurationMs(size)
                    ),
                ));
            }
            if size / slide > MAX_WINDOWS_PER_EVENT {
                return Err(invalid(
                    "window.slide",
                    format!(
                        "puts every event in {} windows (window.size {} / window.slide {}), more than the limit of {MAX_WINDOWS_PER_EVENT} windows per event: use a larger slide",
                        size / slide,
                        DurationMs(size),
                        DurationMs(slide)
                    ),
                ));
            }
            WindowSpec::Sliding { size, slide }
        }
        WindowKind::Session => {
            unused("window.size", w.size)?;
            unused("window.slide", w.slide)?;
            WindowSpec::Session {
                gap: positive("window.gap", w.gap)?,
            }
        }
    };
    let every_input_has_time =
        !query.inputs.is_empty() && query.inputs.iter().all(|i| i.event_time.is_some());
    if !projected
        && w.time == TimeDomain::Event
        && query.event_time.is_none()
        && !every_input_has_time
    {
        return Err(invalid(
            "event_time",
            "required for event-time windows: name the integer millisecond field",
        ));
    }
    Ok((window, w.time))
}
