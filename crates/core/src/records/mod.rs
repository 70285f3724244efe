//! Collections and records: typed schemas with their legal retention (`schema`), collections,
//! the record operations with search and history (`record`), field sealing and blind indexes
//! (`sealing`), and encrypted files (`files`).

pub mod collections;
pub mod files;
pub mod record;
pub mod schema;
pub mod sealing;

pub use collections::*;
pub use files::*;
pub use record::*;
pub use schema::*;
