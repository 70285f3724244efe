//! The data subject's rights: everything about a person as a zip (`export`), and the right to
//! be forgotten (`forget`).

pub mod export;
pub mod forget;

pub use export::*;
pub use forget::*;
