//! Deletion notices: a person told ahead of a deletion, with the Keep that stops it.

use super::deletion::logged_if_changed;
use crate::exec::{Backend, Exec, args};
use crate::{ChangeLog, DeletionNotice, Result, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{NoticeId, TenantId, Timestamp, UserId};

/// Deletion notices: what a person is told before their data goes, and their veto.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Adds a notice unless one for the same (user, what, expiry) exists; whether it was added.
    async fn insert_notice(&self, n: &DeletionNotice, log: &ChangeLog) -> Result<bool>;

    async fn notice_for(
        &self,
        tenant: TenantId,
        user: UserId,
        what: &str,
        expiry_at: Timestamp,
    ) -> Result<Option<DeletionNotice>>;

    async fn notices_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<DeletionNotice>>;
    /// A page of a user's notices, newest first, before `before`.
    async fn notices_page(
        &self,
        tenant: TenantId,
        user: UserId,
        before: Option<NoticeId>,
        limit: u32,
    ) -> Result<Vec<DeletionNotice>>;

    /// The user's veto; `false` if there is no such open notice of theirs.
    async fn keep_notice(
        &self,
        tenant: TenantId,
        user: UserId,
        id: NoticeId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;

    async fn finish_notice(&self, tenant: TenantId, id: NoticeId, now: Timestamp) -> Result<()>;
}

#[async_trait]
impl<B: Backend> NoticeStore for B {
    async fn insert_notice(&self, n: &DeletionNotice, log: &ChangeLog) -> Result<bool> {
        let (n, log) = (n.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let inserted = c
                    .execute(
                        sql::INSERT_NOTICE,
                        args![
                            n.tenant_id,
                            n.id,
                            n.user_id,
                            n.what.as_str(),
                            n.expiry_at,
                            n.due_at,
                            n.created_at
                        ],
                    )
                    .await?;
                logged_if_changed(c, inserted, &log).await
            })
        })
        .await
    }

    async fn notice_for(
        &self,
        tenant: TenantId,
        user: UserId,
        what: &str,
        expiry_at: Timestamp,
    ) -> Result<Option<DeletionNotice>> {
        let what = what.to_owned();
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(
                    sql::NOTICE_FOR,
                    args![tenant, user, what.as_str(), expiry_at],
                    rows::notice(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn notices_page(
        &self,
        tenant: TenantId,
        user: UserId,
        before: Option<NoticeId>,
        limit: u32,
    ) -> Result<Vec<DeletionNotice>> {
        let before = before.unwrap_or(NoticeId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::NOTICES_PAGE,
                    args![tenant, user, before, limit],
                    rows::notice(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn notices_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<DeletionNotice>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::NOTICES_OF_USER,
                    args![tenant, user],
                    rows::notice(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn keep_notice(
        &self,
        tenant: TenantId,
        user: UserId,
        id: NoticeId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::KEEP_NOTICE, args![now, tenant, user, id])
                    .await?;
                logged_if_changed(c, n, &log).await
            })
        })
        .await
    }

    async fn finish_notice(&self, tenant: TenantId, id: NoticeId, now: Timestamp) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::FINISH_NOTICE, args![now, tenant, id])
                    .await?;
                Ok(())
            })
        })
        .await
    }
}
