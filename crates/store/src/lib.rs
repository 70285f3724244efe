//! Persistence for Strongroom behind narrow, capability-sized traits.
//!
//! Every trait lives in the folder of its capability (the same names as `strongroom-core`'s:
//! `tenancy/`, `keys/`, `auth/`, `privacy/`, `records/`, `lifecycle/`, `jobs/`, `access/`,
//! `clients/`, `support/`, `registers/`)
//! and is implemented there once, for every [`exec::Backend`]: each operation is written once
//! over [`exec::Exec`]. Two backends run them: [`sqlite::SqliteStore`] (rusqlite, the
//! embedded default) and [`postgres::PgStore`] (sqlx), with the same SQL text from [`sql`],
//! and pass the same test suite (`store/tests/`).
//!
//! Invariants:
//! * every query names a `tenant_id` (only `tenant_by_slug` and `tenant_by_id` find a tenant);
//! * every multi-statement change is one transaction: a failed call leaves nothing half-written;
//! * no backend error text reaches a client: [`StoreError::Backend`] is logged, not shown.

pub mod access;
pub mod auth;
pub mod backup;
pub mod clients;
pub mod exec;
pub mod jobs;
pub mod keys;
pub mod lifecycle;
pub mod model;
pub mod postgres;
pub mod privacy;
pub mod records;
pub mod registers;
mod rows;
pub mod sql;
pub mod sqlite;
pub mod support;
mod tables;
pub mod tenancy;

pub use access::PolicyStore;
pub use auth::{LoginHistoryStore, PasswordResetStore, SessionStore, TotpStore};
pub use backup::BackupStore;
pub use clients::{ClientStore, OAuthStore};
pub use jobs::{JobStore, Queue};
pub use keys::KeyStore;
pub use lifecycle::{DeletionStore, NoticeStore};
pub use privacy::PrivacyLogStore;
pub use records::{FileStore, RecordStore};
pub use registers::{BreachStore, DisclosureStore, RegisterStore};
pub use support::{SupportDecision, SupportStore};
pub use tenancy::{GroupStore, TenantStore, UserStore};

pub use model::*;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint failed: the named thing already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A referenced row does not exist (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database failed or holds something we cannot read. Logged, never shown to clients.
    #[error("store: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the core services need from persistence.
pub trait Store:
    TenantStore
    + KeyStore
    + PrivacyLogStore
    + UserStore
    + GroupStore
    + LoginHistoryStore
    + SessionStore
    + PasswordResetStore
    + TotpStore
    + RecordStore
    + FileStore
    + JobStore
    + DeletionStore
    + PolicyStore
    + NoticeStore
    + BackupStore
    + ClientStore
    + OAuthStore
    + SupportStore
    + RegisterStore
    + BreachStore
    + DisclosureStore
    + Send
    + Sync
{
}
impl<T> Store for T where
    T: TenantStore
        + KeyStore
        + PrivacyLogStore
        + UserStore
        + GroupStore
        + LoginHistoryStore
        + SessionStore
        + PasswordResetStore
        + TotpStore
        + RecordStore
        + FileStore
        + JobStore
        + DeletionStore
        + PolicyStore
        + NoticeStore
        + BackupStore
        + ClientStore
        + OAuthStore
        + SupportStore
        + RegisterStore
        + BreachStore
        + DisclosureStore
        + Send
        + Sync
{
}

/// Opens the store a URL names (`sqlite://PATH` or `postgres://…`) and runs its migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Backend(
            "database URL must start with sqlite:// or postgres://".to_owned(),
        ))
    }
}
