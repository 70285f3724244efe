//! Runs Argon2id off the async runtime, on tokio's blocking threads, at most `concurrency` at a
//! time. The bound caps memory (19 MiB per hash in flight) and keeps a burst of logins from
//! starving the runtime; excess requests wait their turn.

use crate::CoreError;
use crate::error::failed;
use secrecy::SecretString;
use std::sync::Arc;
use strongroom_crypto::PasswordHasher;
use tokio::sync::Semaphore;

pub struct HashPool {
    hasher: Arc<PasswordHasher>,
    permits: Semaphore,
}

impl HashPool {
    pub fn new(concurrency: usize) -> Result<Self, CoreError> {
        let hasher =
            PasswordHasher::owasp().map_err(|e| CoreError::internal("argon2 setup failed", e))?;
        Ok(Self {
            hasher: Arc::new(hasher),
            permits: Semaphore::new(concurrency.max(1)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> Result<T, CoreError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(failed("the hashing pool is closed"))?;
        let hasher = self.hasher.clone();
        tokio::task::spawn_blocking(move || f(&hasher))
            .await
            .map_err(failed("a hashing task failed"))
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, CoreError> {
        self.run(move |h| h.hash(&password))
            .await?
            .map_err(|e| CoreError::internal("password hashing failed", e))
    }

    /// `false` for a wrong password or an unreadable stored hash (which is logged).
    pub async fn verify(&self, phc: String, password: SecretString) -> Result<bool, CoreError> {
        Ok(self
            .run(move |h| h.verify(&phc, &password))
            .await?
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "stored password hash unreadable");
                false
            }))
    }

    /// The cost of a verification without an account to verify against.
    pub async fn verify_dummy(&self, password: SecretString) -> Result<bool, CoreError> {
        self.run(move |h| h.verify_dummy(&password)).await
    }
}
