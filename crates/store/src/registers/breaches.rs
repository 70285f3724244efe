//! The breach register as stored: a breach, and every change of it (the history), each
//! written in one transaction with the change's privacy-log entry. A change applies only if
//! the breach is still as the caller read it (`updated_at`), so two changes never mix.

use crate::exec::{Backend, Exec, Row, args};
use crate::privacy::append_log;
use crate::{BreachChange, BreachRow, ChangeLog, Result, sql};
use async_trait::async_trait;
use strongroom_domain::{TenantId, Timestamp};

#[async_trait]
pub trait BreachStore: Send + Sync {
    /// Stores a breach with its first history line.
    async fn insert_breach(
        &self,
        b: &BreachRow,
        first: &BreachChange,
        log: &ChangeLog,
    ) -> Result<()>;
    async fn breach(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<BreachRow>>;
    /// A page of a tenant's breaches, newest first, ids below `before`.
    async fn breaches(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<BreachRow>>;
    /// Applies a change if the breach is still at `read_at`; `false` otherwise.
    async fn update_breach(
        &self,
        b: &BreachRow,
        read_at: Timestamp,
        change: &BreachChange,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// A breach's history, oldest first.
    async fn breach_changes(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Vec<BreachChange>>;
}

fn breach_row(r: &dyn Row) -> Result<BreachRow> {
    Ok(BreachRow {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        title: r.get(2)?,
        aware_at: r.get(3)?,
        nature: r.get(4)?,
        data_categories: r.get(5)?,
        subjects_estimate: r.get(6)?,
        records_estimate: r.get(7)?,
        consequences: r.get(8)?,
        measures: r.get(9)?,
        status: r.get(10)?,
        authority_notified_at: r.get(11)?,
        subjects_notified_at: r.get(12)?,
        delay_reason: r.get(13)?,
        not_notifiable_reason: r.get(14)?,
        recorded_by: r.get(15)?,
        created_at: r.get(16)?,
        updated_at: r.get(17)?,
    })
}

async fn insert_change<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    breach: uuid::Uuid,
    ch: &BreachChange,
) -> Result<()> {
    c.execute(
        sql::INSERT_BREACH_CHANGE,
        args![
            tenant,
            breach,
            ch.id,
            ch.at,
            ch.actor_id,
            ch.fields.as_str()
        ],
    )
    .await?;
    Ok(())
}

#[async_trait]
impl<B: Backend> BreachStore for B {
    async fn insert_breach(
        &self,
        b: &BreachRow,
        first: &BreachChange,
        log: &ChangeLog,
    ) -> Result<()> {
        let (b, first, log) = (b.clone(), first.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_BREACH,
                    args![
                        b.tenant_id,
                        b.id,
                        b.title.as_str(),
                        b.aware_at,
                        b.nature.as_str(),
                        b.data_categories.as_str(),
                        b.subjects_estimate,
                        b.records_estimate,
                        b.consequences.as_str(),
                        b.measures.as_str(),
                        b.status.as_str(),
                        b.authority_notified_at,
                        b.subjects_notified_at,
                        b.delay_reason.as_deref(),
                        b.not_notifiable_reason.as_deref(),
                        b.recorded_by,
                        b.created_at,
                        b.updated_at
                    ],
                )
                .await?;
                insert_change(c, b.tenant_id, b.id, &first).await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn breach(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<BreachRow>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::BREACH, args![tenant, id], breach_row)
                    .await
            })
        })
        .await
    }

    async fn breaches(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<BreachRow>> {
        let before = before.unwrap_or(uuid::Uuid::max());
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::BREACHES, args![tenant, before, limit], breach_row)
                    .await
            })
        })
        .await
    }

    async fn update_breach(
        &self,
        b: &BreachRow,
        read_at: Timestamp,
        change: &BreachChange,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (b, change, log) = (b.clone(), change.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(
                        sql::UPDATE_BREACH,
                        args![
                            b.status.as_str(),
                            b.authority_notified_at,
                            b.subjects_notified_at,
                            b.delay_reason.as_deref(),
                            b.not_notifiable_reason.as_deref(),
                            b.measures.as_str(),
                            b.consequences.as_str(),
                            b.updated_at,
                            b.tenant_id,
                            b.id,
                            read_at
                        ],
                    )
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                insert_change(c, b.tenant_id, b.id, &change).await?;
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn breach_changes(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Vec<BreachChange>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::BREACH_CHANGES, args![tenant, id], |r| {
                    Ok(BreachChange {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        actor_id: r.get(2)?,
                        fields: r.get(3)?,
                    })
                })
                .await
            })
        })
        .await
    }
}
