//! What the lifecycle of data stores: deletion, holds, purges, tombstones, retention rules,
//! deletion notices.

pub mod deletion;
pub mod notices;

pub use deletion::DeletionStore;
pub use notices::NoticeStore;
