//! The GDPR registers as stored: processors (a tenant's, and the operator's under the
//! installation's id, which every tenant reads), breaches (`breaches`) and disclosure
//! requests (`disclosures`). Every change
//! carries its privacy-log entry in the same transaction.

pub mod breaches;
pub mod disclosures;

pub use breaches::BreachStore;
pub use disclosures::DisclosureStore;

use crate::exec::{Backend, Exec, Row, args};
use crate::privacy::append_log;
use crate::{ChangeLog, ProcessorRow, Result, sql};
use async_trait::async_trait;
use strongroom_domain::TenantId;

#[async_trait]
pub trait RegisterStore: Send + Sync {
    async fn insert_processor(&self, p: &ProcessorRow, log: &ChangeLog) -> Result<()>;
    /// A page of a tenant's processors and the operator's, newest first, ids below `before`.
    async fn processors(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<ProcessorRow>>;
    async fn processor(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<ProcessorRow>>;
    /// Replaces a processor's fields; `false` if there is none.
    async fn update_processor(&self, p: &ProcessorRow, log: &ChangeLog) -> Result<bool>;
    async fn delete_processor(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        log: &ChangeLog,
    ) -> Result<bool>;
}

fn processor_row(r: &dyn Row) -> Result<ProcessorRow> {
    Ok(ProcessorRow {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        name: r.get(2)?,
        purpose: r.get(3)?,
        data_categories: r.get(4)?,
        location: r.get(5)?,
        transfer_safeguard: r.get(6)?,
        dpa_signed_on: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
    })
}

#[async_trait]
impl<B: Backend> RegisterStore for B {
    async fn insert_processor(&self, p: &ProcessorRow, log: &ChangeLog) -> Result<()> {
        let (p, log) = (p.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_PROCESSOR,
                    args![
                        p.tenant_id,
                        p.id,
                        p.name.as_str(),
                        p.purpose.as_str(),
                        p.data_categories.as_str(),
                        p.location.as_str(),
                        p.transfer_safeguard.as_deref(),
                        p.dpa_signed_on.as_deref(),
                        p.created_at
                    ],
                )
                .await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn processors(
        &self,
        tenant: TenantId,
        before: Option<uuid::Uuid>,
        limit: u32,
    ) -> Result<Vec<ProcessorRow>> {
        let before = before.unwrap_or(uuid::Uuid::max());
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::PROCESSORS,
                    args![tenant, TenantId::INSTALLATION, before, limit],
                    processor_row,
                )
                .await
            })
        })
        .await
    }

    async fn processor(&self, tenant: TenantId, id: uuid::Uuid) -> Result<Option<ProcessorRow>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::PROCESSOR, args![tenant, id], processor_row)
                    .await
            })
        })
        .await
    }

    async fn update_processor(&self, p: &ProcessorRow, log: &ChangeLog) -> Result<bool> {
        let (p, log) = (p.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(
                        sql::UPDATE_PROCESSOR,
                        args![
                            p.name.as_str(),
                            p.purpose.as_str(),
                            p.data_categories.as_str(),
                            p.location.as_str(),
                            p.transfer_safeguard.as_deref(),
                            p.dpa_signed_on.as_deref(),
                            p.updated_at,
                            p.tenant_id,
                            p.id
                        ],
                    )
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn delete_processor(
        &self,
        tenant: TenantId,
        id: uuid::Uuid,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(sql::DELETE_PROCESSOR, args![tenant, id]).await? == 0 {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }
}
