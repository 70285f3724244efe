//! Disclosure requests as stored: each step (objection, release, withdrawal) one conditional
//! update, so an objection and a release cannot both win; a release appends its privacy-log
//! entries (one per record disclosed) in the same transaction.

use crate::exec::{Backend, Exec, Row, args};
use crate::privacy::append_log;
use crate::{ChangeLog, DisclosureRow, Result, sql};
use async_trait::async_trait;
use strongroom_domain::{TenantId, Timestamp, UserId};

#[async_trait]
pub trait DisclosureStore: Send + Sync {
    async fn insert_disclosure(&self, d: &DisclosureRow, log: &ChangeLog) -> Result<()>;
    async fn disclosure(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<DisclosureRow>>;
    /// The operator's lookup by id alone.
    async fn disclosure_by_id(&self, id: uuid::Uuid) -> Result<Option<DisclosureRow>>;
    /// A page of a tenant's requests, newest first, ids below `before`.
    async fn disclosures(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<DisclosureRow>>;
    /// An objection, while open and within the window; `false` otherwise.
    async fn object_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        reason: &str,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// A release (after the window, or with a final order), with the entries of every record
    /// disclosed; `false` if the request is not releasable.
    #[allow(clippy::too_many_arguments)]
    async fn release_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        operator: &str,
        final_order: bool,
        records: i64,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    async fn withdraw_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
}

fn row(r: &dyn Row) -> Result<DisclosureRow> {
    Ok(DisclosureRow {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        requester: r.get(2)?,
        legal_basis: r.get(3)?,
        scope: r.get(4)?,
        status: r.get(5)?,
        opened_at: r.get(6)?,
        objection_until: r.get(7)?,
        objection_reason: r.get(8)?,
        objected_by: r.get(9)?,
        objected_at: r.get(10)?,
        released_at: r.get(11)?,
        released_by: r.get(12)?,
        final_order: r.get(13)?,
        records_released: r.get(14)?,
        withdrawn_at: r.get(15)?,
    })
}

#[async_trait]
impl<B: Backend> DisclosureStore for B {
    async fn insert_disclosure(&self, d: &DisclosureRow, log: &ChangeLog) -> Result<()> {
        let (d, log) = (d.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_DISCLOSURE,
                    args![
                        d.tenant_id,
                        d.id,
                        d.requester.as_str(),
                        d.legal_basis.as_str(),
                        d.scope.as_str(),
                        d.opened_at,
                        d.objection_until,
                        d.final_order
                    ],
                )
                .await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn disclosure(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<DisclosureRow>> {
        self.point(move |c| {
            Box::pin(async move { c.query_opt(sql::DISCLOSURE, args![tenant, id], row).await })
        })
        .await
    }

    async fn disclosure_by_id(&self, id: uuid::Uuid) -> Result<Option<DisclosureRow>> {
        self.point(move |c| {
            Box::pin(async move { c.query_opt(sql::DISCLOSURE_BY_ID, args![id], row).await })
        })
        .await
    }

    async fn disclosures(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<DisclosureRow>> {
        let before = before.unwrap_or(uuid::Uuid::max());
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::DISCLOSURES, args![tenant, before, limit], row)
                    .await
            })
        })
        .await
    }

    async fn object_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        reason: &str,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (reason, log) = (reason.to_owned(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(
                    sql::OBJECT_DISCLOSURE,
                    args![reason.as_str(), by, now, tenant, id],
                )
                .await?
                    == 0
                {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn release_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        operator: &str,
        final_order: bool,
        records: i64,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (operator, log) = (operator.to_owned(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(
                    sql::RELEASE_DISCLOSURE,
                    args![now, operator.as_str(), final_order, records, tenant, id],
                )
                .await?
                    == 0
                {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn withdraw_disclosure(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(sql::WITHDRAW_DISCLOSURE, args![now, tenant, id])
                    .await?
                    == 0
                {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }
}
