//! The end of a tenant: destroyed 45 days after its agreement ends (keys first, then blobs,
//! then every row).

use crate::{CoreError, Services};
use strongroom_domain::{TenantId, Timestamp};

impl Services {
    /// Destroys a tenant whose agreement ended at `end` (unless it was extended since): closes
    /// it and destroys its keys (everything unreadable at once), deletes its blobs, then every
    /// row. Each step is idempotent, so a retry after a crash finishes the rest.
    pub(crate) async fn destroy_tenant(
        &self,
        tenant: TenantId,
        end: Timestamp,
    ) -> Result<String, CoreError> {
        let Some(t) = self.store.tenant_by_id(tenant).await? else {
            return Ok("already destroyed".into());
        };
        if t.agreement_ends_at != Some(end) {
            return Ok("skipped: the agreement changed since this was planned".into());
        }
        self.store.destroy_tenant_keys(tenant).await?;
        self.keyring.forget_tenant(tenant);
        let blobs = self.blobs.keys(&format!("tenants/{}", tenant.0)).await?;
        for key in &blobs {
            self.blobs.delete(key).await?;
            self.replicate(key, crate::backup::Change::Deleted).await?;
        }
        self.store.destroy_tenant_rows(tenant).await?;
        tracing::warn!(tenant = %tenant, slug = %t.slug.as_str(), blobs = blobs.len(), "tenant destroyed (agreement ended)");
        Ok(format!("destroyed with {} blobs", blobs.len()))
    }
}
