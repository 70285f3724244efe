//! Domain services of Strongroom, one folder per capability: `access` (Cedar engine, the guard
//! every operation passes, the policy API), `auth` (login, sessions, passwords, throttle,
//! hashing), `tenancy` (tenants, users, groups, the caller's account, demo), `keys` (key
//! hierarchy, rotation, key backup), `records` (schemas with legal retention, collections,
//! records, sealing, files), `privacy` (the log: writer, chain, verification, views), `rights`
//! (export, forget), `lifecycle` (deletion, holds, purges, licence rules, notices, tenant end),
//! `clients` (integration clients and their token endpoint) and `jobs` (the durable job
//! runner).
//!
//! Front ends (HTTP, CLI) call these services and nothing below them. The services enforce the
//! rules: level 1 of the access check (every store call names the caller's tenant), levels 2
//! to 4 through Cedar, password policy, lockout, token life cycles. No HTTP types here; no SQL
//! here.

pub mod access;
pub mod auth;
pub mod backup;
pub mod clients;
pub mod clock;
pub mod error;
pub mod jobs;
pub mod keys;
pub mod lifecycle;
pub mod mail;
pub mod privacy;
pub mod records;
pub mod registers;
pub mod reports;
pub mod rights;
pub mod support;
pub mod tenancy;

pub use auth::{AuthSettings, Principal, TokenPair};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::CoreError;

use std::sync::Arc;
use strongroom_store::Store;

/// Everything a request needs, built once at start and shared.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<auth::HashPool>,
    pub mailer: Arc<mail::Mailer>,
    pub clock: Arc<dyn Clock>,
    pub throttle: Arc<auth::IpThrottle>,
    /// How long a tenant may object to a disclosure request (`disclosure.objection_days`).
    pub disclosure_window: time::Duration,
    /// How the server is reached (for the TOM report).
    pub transport: reports::TransportSettings,
    /// The processors the configuration implies, and where their hosts are.
    pub processor_settings: registers::ProcessorSettings,
    /// How long a support request waits for an administrator's answer (`support.pending_hours`).
    pub support_pending: std::time::Duration,
    /// The token endpoint's limits (per address, per client).
    pub client_throttle: Arc<clients::ClientThrottle>,
    pub auth: Arc<AuthSettings>,
    pub keyring: Arc<keys::Keyring>,
    pub privacy: Arc<privacy::PrivacyLog>,
    pub access: Arc<access::Access>,
    pub blobs: strongroom_blobs::Blobs,
    /// Largest file one upload may store.
    pub max_file_bytes: u64,
    /// Backups (`backup.*`): with a target, a forget rewrites the key snapshot and the erasure
    /// ledger there, through a durable job; with an interval, `serve` takes snapshots.
    pub backup: backup::BackupSettings,
    /// `blobs.replica_url`: every blob written or deleted is replicated there by a job.
    pub replica: Option<strongroom_blobs::Blobs>,
    /// Wakes the installation worker (an upload to replicate, a forget to carry into the
    /// backup target) without waiting for its next tick.
    pub wake: Arc<tokio::sync::Notify>,
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: mail::Mailer,
        clock: Arc<dyn Clock>,
        auth: AuthSettings,
        keyring: keys::Keyring,
        blobs: strongroom_blobs::Blobs,
    ) -> Result<Self, CoreError> {
        let hasher = auth::HashPool::new(auth.hash_concurrency)?;
        let privacy = Arc::new(privacy::PrivacyLog::start(
            store.clone(),
            keyring.audit_signing_key().cloned(),
            clock.clone(),
        ));
        Ok(Self {
            privacy,
            access: Arc::new(access::Access::new()?),
            blobs,
            max_file_bytes: 2 * 1024 * 1024 * 1024,
            backup: backup::BackupSettings::default(),
            replica: None,
            support_pending: support::DEFAULT_PENDING,
            processor_settings: registers::ProcessorSettings::default(),
            transport: reports::TransportSettings::default(),
            disclosure_window: registers::DEFAULT_OBJECTION_WINDOW,
            wake: Arc::new(tokio::sync::Notify::new()),
            store,
            hasher: Arc::new(hasher),
            mailer: Arc::new(mailer),
            clock,
            throttle: Arc::new(auth::IpThrottle::new(
                auth.ip_attempts_per_minute,
                auth.ip_burst,
            )),
            client_throttle: Arc::new(clients::ClientThrottle::new(
                auth.token_requests_per_minute,
                auth.client_tokens_per_minute,
            )),
            auth: Arc::new(auth),
            keyring: Arc::new(keyring),
        })
    }
}
