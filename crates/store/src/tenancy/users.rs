//! Users: accounts with their subject key, profile changes, failure counting (the lockout),
//! and forgetting an account.

use crate::exec::{Backend, Exec, args, named};
use crate::keys::insert_subject_key;
use crate::privacy::append_log;
use crate::{ChangeLog, FailureCount, NewUser, Result, User, UserPatch, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{Roles, TenantId, Timestamp, UserId};

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Inserts the user with their subject key, in one transaction.
    /// `Conflict("user")` when the e-mail is taken in this tenant.
    async fn insert_user(&self, user: &NewUser, log: &ChangeLog) -> Result<()>;
    async fn user_by_email_index(&self, tenant: TenantId, index: &[u8; 32])
    -> Result<Option<User>>;
    async fn user_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// Users that are not deleted, oldest first.
    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>>;
    /// A page of the users that are not deleted, newest first, before `before` (the last id of
    /// the previous page).
    async fn users_page(
        &self,
        tenant: TenantId,
        before: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>>;
    /// Applies the patch to a user that is not deleted; `None` if there is no such user.
    async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<Option<User>>;
    /// Sets a new password hash, clears failures, unblocks, and revokes every session of the user.
    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool>;
    /// Counts a wrong password; blocks the account when the count reaches `threshold`.
    async fn record_login_failure(
        &self,
        tenant: TenantId,
        id: UserId,
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount>;
    async fn clear_login_failures(&self, tenant: TenantId, id: UserId) -> Result<()>;
    /// The same counting for an e-mail with no account, so unknown and known behave alike.
    async fn record_unknown_failure(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount>;
    async fn unknown_failures(&self, tenant: TenantId, index: &[u8; 32]) -> Result<u32>;
    /// Disables an account (a removed superuser) and ends its sessions; `false` if there was
    /// no such active or blocked user.
    async fn disable_user(&self, tenant: TenantId, id: UserId, now: Timestamp) -> Result<bool>;
    /// Forgets a person in one transaction: destroys their subject key (crypto-shredding),
    /// removes sealed fields and credentials, marks the user deleted, ends sessions and group
    /// memberships. `false` if there was no such (undeleted) user.
    async fn forget_user(
        &self,
        tenant: TenantId,
        id: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
}

#[async_trait]
impl<B: Backend> UserStore for B {
    async fn disable_user(&self, tenant: TenantId, id: UserId, now: Timestamp) -> Result<bool> {
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(sql::DISABLE_USER, args![now, tenant, id]).await? == 0 {
                    return Ok(false);
                }
                c.execute(sql::REVOKE_USER_SESSIONS, args![now, tenant, id])
                    .await?;
                Ok(true)
            })
        })
        .await
    }

    async fn insert_user(&self, user: &NewUser, log: &ChangeLog) -> Result<()> {
        let (user, log) = (user.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                insert_user(c, &user).await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn user_by_email_index(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
    ) -> Result<Option<User>> {
        let index = *index;
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::USER_BY_EMAIL_INDEX, args![tenant, &index], rows::user)
                    .await
            })
        })
        .await
    }

    async fn user_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.point(move |c| Box::pin(user_by_id(c, tenant, id)))
            .await
    }

    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>> {
        self.scan(move |c| {
            Box::pin(async move { c.query(sql::LIST_USERS, args![tenant], rows::user).await })
        })
        .await
    }

    async fn users_page(
        &self,
        tenant: TenantId,
        before: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<User>> {
        // The greatest id there can be stands for "from the newest".
        let before = before.unwrap_or(UserId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::USERS_PAGE, args![tenant, before, limit], rows::user)
                    .await
            })
        })
        .await
    }

    async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<Option<User>> {
        let (patch, log) = (patch.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let roles = patch.roles.as_ref().map(Roles::to_stored);
                let n = c
                    .execute(
                        sql::UPDATE_USER,
                        args![
                            &patch.name_sealed,
                            roles.as_deref(),
                            patch.license_expires_at.is_some(),
                            patch.license_expires_at.flatten(),
                            now,
                            tenant,
                            id
                        ],
                    )
                    .await?;
                if n == 0 {
                    return Ok(None);
                }
                append_log(c, &log).await?;
                user_by_id(c, tenant, id).await
            })
        })
        .await
    }

    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool> {
        let hash = hash.to_owned();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(
                        sql::SET_PASSWORD,
                        args![hash.as_str(), must_change, now, tenant, id],
                    )
                    .await?;
                c.execute(sql::REVOKE_USER_SESSIONS, args![now, tenant, id])
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn record_login_failure(
        &self,
        tenant: TenantId,
        id: UserId,
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        self.write_one(move |c| {
            Box::pin(async move {
                let failed = c
                    .query_one(
                        sql::RECORD_FAILURE,
                        args![threshold, now, tenant, id],
                        |r| r.get::<i64>(0),
                    )
                    .await?;
                Ok(failure_count(failed, threshold))
            })
        })
        .await
    }

    async fn clear_login_failures(&self, tenant: TenantId, id: UserId) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::CLEAR_FAILURES, args![tenant, id]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn record_unknown_failure(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        let index = *index;
        self.write_one(move |c| {
            Box::pin(async move {
                let failed = c
                    .query_one(
                        sql::RECORD_UNKNOWN_FAILURE,
                        args![tenant, &index, now],
                        |r| r.get::<i64>(0),
                    )
                    .await?;
                Ok(failure_count(failed, threshold))
            })
        })
        .await
    }

    async fn unknown_failures(&self, tenant: TenantId, index: &[u8; 32]) -> Result<u32> {
        let index = *index;
        self.point(move |c| {
            Box::pin(async move {
                let n = c
                    .query_opt(sql::UNKNOWN_FAILURES, args![tenant, &index], |r| {
                        r.get::<i64>(0)
                    })
                    .await?;
                Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
            })
        })
        .await
    }

    async fn forget_user(
        &self,
        tenant: TenantId,
        id: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = c.execute(sql::FORGET_USER, args![now, tenant, id]).await?;
                if n == 0 {
                    return Ok(false);
                }
                for stmt in [sql::DESTROY_SUBJECT_KEY, sql::REVOKE_USER_SESSIONS] {
                    c.execute(stmt, args![now, tenant, id]).await?;
                }
                for stmt in [
                    sql::DELETE_USER_MEMBERSHIPS,
                    sql::DELETE_USER_RESETS,
                    sql::DELETE_USER_TOTP,
                    sql::DELETE_RECOVERY_CODES,
                ] {
                    c.execute(stmt, args![tenant, id]).await?;
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }
}

async fn user_by_id<E: Exec>(c: &mut E, tenant: TenantId, id: UserId) -> Result<Option<User>> {
    c.query_opt(sql::USER_BY_ID, args![tenant, id], rows::user)
        .await
}

/// Inserts the user row and the user's subject key; run it inside a transaction.
pub(crate) async fn insert_user<E: Exec>(c: &mut E, u: &NewUser) -> Result<()> {
    let roles = u.roles.to_stored();
    c.execute(
        sql::INSERT_USER,
        args![
            u.tenant_id,
            u.id,
            &u.email_index,
            &u.email_sealed,
            &u.name_sealed,
            roles.as_str(),
            &u.password_hash,
            u.must_change_password,
            u.license_expires_at,
            u.now,
        ],
    )
    .await
    .map_err(named("user"))?;
    insert_subject_key(
        c,
        sql::INSERT_SUBJECT_KEY,
        u.tenant_id,
        u.id.0,
        &u.subject_key,
        u.now,
    )
    .await
}

fn failure_count(failed: i64, threshold: u32) -> FailureCount {
    let failed = u32::try_from(failed).unwrap_or(u32::MAX);
    FailureCount {
        failed,
        blocked_now: failed == threshold,
    }
}
