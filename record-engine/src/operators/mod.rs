//! The dataflow's operators, one per module, in data-flow order:
//! [`source`] (one logical input, stamped with [`watermark`]'s clock) read in turns by a
//! [`reader`] on every worker of process 0 → [`window`] (with [`arrival_order`] when there
//! are several readers) → [`sink`], or [`source`] → [`project`] → [`sink`] for a query
//! without windows, or [`source`] → [`join`] → [`sink`] for a regular join (both read by
//! worker 0 alone). A multi-stage query puts [`stages`] (one operator per later stage)
//! between the first stage's operator and the sink.

pub mod arrival_order;
pub mod join;
pub mod project;
pub mod reader;
pub mod sink;
pub mod source;
pub mod stages;
pub mod watermark;
pub mod window;
