//! Support access as stored: requests (the customer tenant's rows; once approved, the grant),
//! their decisions, and the sessions under a grant. Every decision is one conditional update
//! (`status = 'pending'` and not expired, or `approved` and not ended), so two
//! administrators deciding at once cannot both win; revoking deletes the grant's sessions in
//! the same transaction, and the session lookup joins an approved, unended grant of an
//! active superuser, so a revoked or ended grant stops every session at once.

use crate::exec::{Backend, Exec, Row, args};
use crate::privacy::append_log;
use crate::{AccessReview, ChangeLog, Result, SupportCaller, SupportRequest, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{
    SupportKind, SupportRequestId, SupportStatus, TenantId, Timestamp, UserId,
};

/// How a decision on a request is made.
#[derive(Clone, Copy, Debug)]
pub enum SupportDecision {
    /// Approve: the grant runs from `now` until the given end.
    Approve {
        ends_at: Timestamp,
    },
    Deny,
    /// End an approved grant before its time.
    Revoke,
}

#[async_trait]
pub trait SupportStore: Send + Sync {
    /// Stores a new request (pending) or break-glass grant (approved), with its entry.
    async fn insert_support_request(&self, r: &SupportRequest, log: &ChangeLog) -> Result<()>;
    async fn support_request(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
    ) -> Result<Option<SupportRequest>>;
    /// A page of a tenant's requests, newest first, with ids below `before`.
    async fn support_requests_of_tenant(
        &self,
        tenant: TenantId,
        before: Option<SupportRequestId>,
        limit: u32,
    ) -> Result<Vec<SupportRequest>>;
    /// A page of a superuser's own requests in every tenant, newest first.
    async fn support_requests_of_superuser(
        &self,
        superuser: UserId,
        before: Option<SupportRequestId>,
        limit: u32,
    ) -> Result<Vec<SupportRequest>>;
    /// Decides a request if it is still open to that decision; `false` otherwise. Revoking
    /// deletes the grant's sessions in the same transaction.
    async fn decide_support_request(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
        decision: SupportDecision,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// Ends every open request and live grant of a superuser, in every tenant.
    async fn end_support_of_superuser(&self, superuser: UserId, now: Timestamp) -> Result<()>;
    /// Stores a session under a grant; `true` if this is the grant's first use.
    async fn insert_support_session(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
        digest: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool>;
    /// Stores a review and applies it (the roles of those removed replaced), with its entry,
    /// in one transaction.
    async fn insert_access_review(
        &self,
        review: &AccessReview,
        new_roles: &[(UserId, strongroom_domain::Roles)],
        log: &ChangeLog,
    ) -> Result<()>;
    /// A tenant's reviews, newest first.
    async fn access_reviews(&self, tenant: TenantId, limit: u32) -> Result<Vec<AccessReview>>;
    /// The grant behind a live session, with the tenant's policy version; `operator` is the
    /// operator tenant (where the superuser must still be active).
    async fn support_by_token(
        &self,
        operator: TenantId,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(SupportCaller, u64)>>;
}

fn request_row(r: &dyn Row) -> Result<SupportRequest> {
    let kind: String = r.get(4)?;
    let status: String = r.get(7)?;
    Ok(SupportRequest {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        superuser_id: r.get(2)?,
        reason: r.get(3)?,
        kind: SupportKind::parse(&kind).ok_or_else(|| rows::corrupt("support kind"))?,
        user_id: r.get(5)?,
        minutes: r.get(6)?,
        status: SupportStatus::parse(&status).ok_or_else(|| rows::corrupt("support status"))?,
        created_at: r.get(8)?,
        pending_until: r.get(9)?,
        starts_at: r.get(10)?,
        ends_at: r.get(11)?,
        decided_by: r.get(12)?,
        decided_at: r.get(13)?,
        break_glass: r.get(14)?,
        first_used_at: r.get(15)?,
    })
}

#[async_trait]
impl<B: Backend> SupportStore for B {
    async fn insert_support_request(&self, r: &SupportRequest, log: &ChangeLog) -> Result<()> {
        let (r, log) = (r.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_SUPPORT_REQUEST,
                    args![
                        r.tenant_id,
                        r.id,
                        r.superuser_id,
                        r.reason.as_str(),
                        r.kind.as_str(),
                        r.user_id,
                        r.minutes,
                        r.status.as_str(),
                        r.created_at,
                        r.pending_until,
                        r.starts_at,
                        r.ends_at,
                        r.decided_by,
                        r.decided_at,
                        r.break_glass
                    ],
                )
                .await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn support_request(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
    ) -> Result<Option<SupportRequest>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::SUPPORT_REQUEST, args![tenant, id], request_row)
                    .await
            })
        })
        .await
    }

    async fn support_requests_of_tenant(
        &self,
        tenant: TenantId,
        before: Option<SupportRequestId>,
        limit: u32,
    ) -> Result<Vec<SupportRequest>> {
        let before = before.unwrap_or(SupportRequestId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::SUPPORT_REQUESTS_OF_TENANT,
                    args![tenant, before, limit],
                    request_row,
                )
                .await
            })
        })
        .await
    }

    async fn support_requests_of_superuser(
        &self,
        superuser: UserId,
        before: Option<SupportRequestId>,
        limit: u32,
    ) -> Result<Vec<SupportRequest>> {
        let before = before.unwrap_or(SupportRequestId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::SUPPORT_REQUESTS_OF_SUPERUSER,
                    args![superuser, before, limit],
                    request_row,
                )
                .await
            })
        })
        .await
    }

    async fn decide_support_request(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
        decision: SupportDecision,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let changed = match decision {
                    SupportDecision::Approve { ends_at } => {
                        c.execute(
                            sql::APPROVE_SUPPORT_REQUEST,
                            args![now, ends_at, by, tenant, id],
                        )
                        .await?
                    }
                    SupportDecision::Deny => {
                        c.execute(sql::DENY_SUPPORT_REQUEST, args![by, now, tenant, id])
                            .await?
                    }
                    SupportDecision::Revoke => {
                        let n = c
                            .execute(sql::REVOKE_SUPPORT_GRANT, args![by, now, tenant, id])
                            .await?;
                        c.execute(sql::DELETE_SUPPORT_SESSIONS, args![tenant, id])
                            .await?;
                        n
                    }
                };
                if changed == 0 {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn end_support_of_superuser(&self, superuser: UserId, now: Timestamp) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::END_SUPPORT_OF_SUPERUSER, args![now, superuser])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn insert_support_session(
        &self,
        tenant: TenantId,
        id: SupportRequestId,
        digest: &[u8; 32],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool> {
        let digest = *digest;
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_SUPPORT_SESSION,
                    args![tenant, &digest, id, expires_at, now],
                )
                .await?;
                Ok(c.execute(sql::MARK_SUPPORT_USED, args![now, tenant, id])
                    .await?
                    == 1)
            })
        })
        .await
    }

    async fn insert_access_review(
        &self,
        review: &AccessReview,
        new_roles: &[(UserId, strongroom_domain::Roles)],
        log: &ChangeLog,
    ) -> Result<()> {
        let (r, roles, log) = (review.clone(), new_roles.to_vec(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                for (user, roles) in &roles {
                    c.execute(
                        sql::SET_USER_ROLES,
                        args![roles.to_stored().as_str(), r.at, r.tenant_id, *user],
                    )
                    .await?;
                }
                c.execute(
                    sql::INSERT_ACCESS_REVIEW,
                    args![
                        r.tenant_id,
                        r.id,
                        r.reviewer_id,
                        r.reviewer.as_str(),
                        r.at,
                        r.decisions.as_str()
                    ],
                )
                .await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn access_reviews(&self, tenant: TenantId, limit: u32) -> Result<Vec<AccessReview>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::ACCESS_REVIEWS, args![tenant, limit], |r| {
                    Ok(AccessReview {
                        tenant_id: tenant,
                        id: r.get(0)?,
                        reviewer_id: r.get(1)?,
                        reviewer: r.get(2)?,
                        at: r.get(3)?,
                        decisions: r.get(4)?,
                    })
                })
                .await
            })
        })
        .await
    }

    async fn support_by_token(
        &self,
        operator: TenantId,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(SupportCaller, u64)>> {
        let digest = *digest;
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(
                    sql::SUPPORT_BY_TOKEN,
                    args![operator, tenant, &digest, now],
                    |r| {
                        let kind: String = r.get(2)?;
                        Ok((
                            SupportCaller {
                                request_id: r.get(0)?,
                                superuser_id: r.get(1)?,
                                kind: SupportKind::parse(&kind)
                                    .ok_or_else(|| rows::corrupt("support kind"))?,
                                user_id: r.get(3)?,
                                ends_at: r.get(4)?,
                                break_glass: r.get(5)?,
                            },
                            r.get(6)?,
                        ))
                    },
                )
                .await
            })
        })
        .await
    }
}
