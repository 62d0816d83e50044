//! The three joins a query can have (`[[join]] kind = ...`), each where its work is:
//!
//! - [`static_table`] (`static`): every event enriched with a fixed table's row; a lookup
//!   while decoding, the same in every execution model.
//! - [`window`] (`window`): the inputs joined per window and key; no state of its own,
//!   only the rule of which rows a (window, key) produces.
//! - [`regular`] (`regular`): two inputs paired on a key at any distance in time; the
//!   symmetric hash join state every engine runs.

pub mod regular;
pub mod static_table;
pub mod window;
