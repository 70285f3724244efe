//! Password resets: single-use tokens (stored as digests) and the reset itself.

use crate::exec::{Backend, Exec, args, named};
use crate::{Result, sql};
use async_trait::async_trait;
use strongroom_domain::{TenantId, Timestamp, UserId};

#[async_trait]
pub trait PasswordResetStore: Send + Sync {
    /// Stores a reset token, replacing any earlier unused one of the user.
    async fn insert_reset(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        user: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()>;
    /// Spends a live reset token and sets the new password in one transaction
    /// (clears failures, unblocks, ends every session). The user, or `None` if the token is
    /// unknown, spent or expired.
    async fn reset_password(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>>;
}

#[async_trait]
impl<B: Backend> PasswordResetStore for B {
    async fn insert_reset(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        user: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let digest = *digest;
        self.write(move |c| {
            Box::pin(async move {
                c.execute(sql::DELETE_OPEN_RESETS, args![tenant, user])
                    .await?;
                c.execute(
                    sql::INSERT_RESET,
                    args![tenant, &digest, user, expires_at, now],
                )
                .await
                .map_err(named("reset token"))?;
                Ok(())
            })
        })
        .await
    }

    async fn reset_password(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>> {
        let (digest, hash) = (*digest, hash.to_owned());
        self.write(move |c| {
            Box::pin(async move {
                let user = c
                    .query_opt(sql::SPEND_RESET, args![now, tenant, &digest], |r| {
                        r.get::<UserId>(0)
                    })
                    .await?;
                let Some(user) = user else { return Ok(None) };
                let n = c
                    .execute(
                        sql::SET_PASSWORD,
                        args![hash.as_str(), false, now, tenant, user],
                    )
                    .await?;
                if n == 0 {
                    // The account was forgotten after the token was issued.
                    return Ok(None);
                }
                c.execute(sql::REVOKE_USER_SESSIONS, args![now, tenant, user])
                    .await?;
                Ok(Some(user))
            })
        })
        .await
    }
}
