//! A tenant's own access policies (Cedar text), versioned so a change never overwrites a
//! concurrent one.

use crate::exec::{Backend, Exec, args};
use crate::privacy::append_log;
use crate::{ChangeLog, PolicyRow, Result, StoreError, rows, sql};
use async_trait::async_trait;
use strongroom_domain::TenantId;

/// A tenant's own access policies, stored under a version guard.
#[async_trait]
pub trait PolicyStore: Send + Sync {
    /// The tenant's own access policies, if it replaced the template's.
    async fn policies(&self, tenant: TenantId) -> Result<Option<PolicyRow>>;

    /// Stores the tenant's policies if they are still at `expected_version` (0: none stored);
    /// `false` if another change came first.
    async fn put_policies(
        &self,
        tenant: TenantId,
        row: &PolicyRow,
        expected_version: u64,
        log: &ChangeLog,
    ) -> Result<bool>;
}

#[async_trait]
impl<B: Backend> PolicyStore for B {
    async fn policies(&self, tenant: TenantId) -> Result<Option<PolicyRow>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::POLICIES, args![tenant], rows::policies)
                    .await
            })
        })
        .await
    }

    async fn put_policies(
        &self,
        tenant: TenantId,
        row: &PolicyRow,
        expected_version: u64,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (row, log) = (row.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let version = stored_version(row.version)?;
                let (template, policies) = (row.template.as_str(), row.policies.as_str());
                let n = if expected_version == 0 {
                    c.execute(
                        sql::INSERT_POLICIES,
                        args![
                            tenant,
                            template,
                            policies,
                            version,
                            row.updated_by,
                            row.updated_at
                        ],
                    )
                    .await?
                } else {
                    c.execute(
                        sql::UPDATE_POLICIES,
                        args![
                            template,
                            policies,
                            version,
                            row.updated_by,
                            row.updated_at,
                            tenant,
                            stored_version(expected_version)?
                        ],
                    )
                    .await?
                };
                if n == 1 {
                    append_log(c, &log).await?;
                }
                Ok(n == 1)
            })
        })
        .await
    }
}

fn stored_version(v: u64) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Backend("policy version out of range".to_owned()))
}
