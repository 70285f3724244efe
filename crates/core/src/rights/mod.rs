//! The data subject's rights: everything about a person as a zip (`export`), the right to be
//! forgotten (`forget`), and who saw their data — the privacy log as a person reads their own
//! and as administrators read the tenant's (`privacy_log`).

pub mod export;
pub mod forget;
pub mod privacy_log;

pub use export::*;
pub use forget::*;
pub use privacy_log::*;
