//! The dataflow's operators, one per module, in data-flow order:
//! [`source`] → [`window`] → [`sink`].

pub mod sink;
pub mod source;
pub mod window;
