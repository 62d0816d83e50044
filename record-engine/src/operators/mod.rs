//! The dataflow's operators, one per module, in data-flow order:
//! [`source`] (stamping records with [`watermark`]'s clock) → [`window`] → [`sink`], or [`source`] → [`project`] → [`sink`] for a query
//! without windows, or [`source`] → [`join`] → [`sink`] for a regular join.

pub mod join;
pub mod project;
pub mod sink;
pub mod source;
pub mod watermark;
pub mod window;
