//! Domain services of Strongroom: tenants, users and groups, authentication, mail.
//!
//! Front ends (HTTP, CLI) call these services and nothing below them. The services enforce the
//! rules: level 1 of the access check (every store call names the caller's tenant), role checks,
//! password policy, lockout, token life cycles. No HTTP types here; no SQL here.

pub mod access;
pub mod auth;
pub mod clock;
pub mod deletion;
pub mod demo;
pub mod error;
pub mod export;
pub mod files;
pub mod forget;
pub mod hashing;
pub mod key_backup;
pub mod keyring;
pub mod mail;
pub mod password_policy;
pub mod privacy;
pub mod records;
pub mod retention;
pub mod tenants;
pub mod throttle;
pub mod users;

pub use auth::{AuthSettings, Principal, TokenPair};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::CoreError;

use std::sync::Arc;
use strongroom_store::Store;

/// Everything a request needs, built once at start and shared.
#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub hasher: Arc<hashing::HashPool>,
    pub mailer: Arc<mail::Mailer>,
    pub clock: Arc<dyn Clock>,
    pub throttle: Arc<throttle::IpThrottle>,
    pub auth: Arc<AuthSettings>,
    pub keyring: Arc<keyring::Keyring>,
    pub privacy: Arc<privacy::PrivacyLog>,
    pub access: Arc<access::Access>,
    pub blobs: strongroom_store::blobs::Blobs,
    /// Largest file one upload may store.
    pub max_file_bytes: u64,
}

impl Services {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: mail::Mailer,
        clock: Arc<dyn Clock>,
        auth: AuthSettings,
        keyring: keyring::Keyring,
        blobs: strongroom_store::blobs::Blobs,
    ) -> Result<Self, CoreError> {
        let hasher = hashing::HashPool::new(auth.hash_concurrency)?;
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
            store,
            hasher: Arc::new(hasher),
            mailer: Arc::new(mailer),
            clock,
            throttle: Arc::new(throttle::IpThrottle::new(
                auth.ip_attempts_per_minute,
                auth.ip_burst,
            )),
            auth: Arc::new(auth),
            keyring: Arc::new(keyring),
        })
    }
}
