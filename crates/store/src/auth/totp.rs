//! The second factor as stored: a user's TOTP secret (sealed by the core under the user's
//! subject key: the store sees only ciphertext), pending until confirmed, the last accepted
//! time step — moved only forward, in one statement, so a code is accepted once even by two
//! instances at the same moment — and the recovery codes' digests, each spent once.

use crate::exec::{Access, Backend, Exec, args};
use crate::{ChangeLog, Result, UserTotp, sql};
use async_trait::async_trait;
use strongroom_domain::{TenantId, Timestamp, UserId};

#[async_trait]
pub trait TotpStore: Send + Sync {
    /// The user's factor, pending or active.
    async fn user_totp(&self, tenant: TenantId, user: UserId) -> Result<Option<UserTotp>>;
    /// Stores a new, pending secret (replacing a pending one); `false` while a factor is active.
    async fn put_pending_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        sealed: &[u8],
        now: Timestamp,
    ) -> Result<bool>;
    /// Activates a pending factor with the step of the code that confirmed it, and replaces
    /// the recovery codes, in one transaction; `false` if nothing was pending.
    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
        recovery_digests: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<bool>;
    /// Accepts a code's time step if it is later than the last accepted one (an active factor
    /// only); `false` for a replay.
    async fn accept_totp_step(&self, tenant: TenantId, user: UserId, step: i64) -> Result<bool>;
    /// Spends an unused recovery code; `false` if it is unknown or spent.
    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool>;
    async fn recovery_codes_left(&self, tenant: TenantId, user: UserId) -> Result<u64>;
    /// Removes the factor and its recovery codes, with the change's privacy-log entry.
    async fn remove_totp(&self, tenant: TenantId, user: UserId, log: &ChangeLog) -> Result<()>;
}

#[async_trait]
impl<B: Backend> TotpStore for B {
    async fn user_totp(&self, tenant: TenantId, user: UserId) -> Result<Option<UserTotp>> {
        self.run(Access::Point, move |c| {
            Box::pin(async move {
                c.query_opt(sql::USER_TOTP, args![tenant, user], |r| {
                    Ok(UserTotp {
                        sealed: r.get(0)?,
                        confirmed_at: r.get(1)?,
                        last_step: r.get(2)?,
                    })
                })
                .await
            })
        })
        .await
    }

    async fn put_pending_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        sealed: &[u8],
        now: Timestamp,
    ) -> Result<bool> {
        let sealed = sealed.to_vec();
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::PUT_PENDING_TOTP, args![tenant, user, &sealed, now])
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn confirm_totp(
        &self,
        tenant: TenantId,
        user: UserId,
        step: i64,
        recovery_digests: &[[u8; 32]],
        now: Timestamp,
    ) -> Result<bool> {
        let digests = recovery_digests.to_vec();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::CONFIRM_TOTP, args![now, step, tenant, user])
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                c.execute(sql::DELETE_RECOVERY_CODES, args![tenant, user])
                    .await?;
                for d in &digests {
                    c.execute(sql::INSERT_RECOVERY_CODE, args![tenant, user, d])
                        .await?;
                }
                Ok(true)
            })
        })
        .await
    }

    async fn accept_totp_step(&self, tenant: TenantId, user: UserId, step: i64) -> Result<bool> {
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::ACCEPT_TOTP_STEP, args![step, tenant, user])
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        tenant: TenantId,
        user: UserId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<bool> {
        let digest = *digest;
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::USE_RECOVERY_CODE, args![now, tenant, user, &digest])
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn recovery_codes_left(&self, tenant: TenantId, user: UserId) -> Result<u64> {
        self.run(Access::Point, move |c| {
            Box::pin(async move {
                c.query_one(sql::RECOVERY_CODES_LEFT, args![tenant, user], |r| r.get(0))
                    .await
            })
        })
        .await
    }

    async fn remove_totp(&self, tenant: TenantId, user: UserId, log: &ChangeLog) -> Result<()> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                for stmt in [sql::DELETE_USER_TOTP, sql::DELETE_RECOVERY_CODES] {
                    c.execute(stmt, args![tenant, user]).await?;
                }
                crate::privacy::append_log(c, &log).await
            })
        })
        .await
    }
}
