//! The data model.
pub mod duration;
pub mod event;
pub mod value;
pub mod window;
