//! The tenant directory: creating a tenant with its keys and first administrator, its
//! settings, and its end (keys first, then every row).

use crate::exec::{Backend, Exec, args, named};
use crate::keys::insert_tenant_keys;
use crate::privacy::append_log;
use crate::tenancy::users::insert_user;
use crate::{ChangeLog, NewUser, Result, Tenant, TenantKeyRow, TenantSettings, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{Slug, TenantId, Timestamp};

#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant, its keys and its first administrator in one transaction.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        keys: &[TenantKeyRow],
        admin: &NewUser,
    ) -> Result<()>;
    async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>>;
    async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>>;
    /// Every tenant, oldest first: for operator work such as key rotation only.
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    /// Sets the tenant's security settings, with the change's privacy-log entry, in one
    /// transaction.
    async fn set_tenant_settings(
        &self,
        id: TenantId,
        settings: &TenantSettings,
        log: &ChangeLog,
    ) -> Result<()>;
    /// When the tenant's agreement ends (`None`: open-ended); retention destroys the tenant
    /// 45 days after it.
    async fn set_agreement_end(&self, id: TenantId, end: Option<Timestamp>) -> Result<()>;

    /// Closes a tenant (no token works any more) and destroys every key of it (tenant keys and
    /// subject keys), in one transaction.
    async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<()>;

    /// Deletes every row of a tenant, the tenant itself last, in one transaction.
    async fn destroy_tenant_rows(&self, tenant: TenantId) -> Result<()>;
}

#[async_trait]
impl<B: Backend> TenantStore for B {
    async fn create_tenant(
        &self,
        t: &Tenant,
        keys: &[TenantKeyRow],
        admin: &NewUser,
    ) -> Result<()> {
        let (t, keys, admin) = (t.clone(), keys.to_vec(), admin.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_TENANT,
                    args![
                        t.id,
                        t.slug.as_str(),
                        t.name.as_str(),
                        t.region.as_str(),
                        t.status.as_str(),
                        t.lockout_threshold,
                        t.agreement_ends_at,
                        t.created_at,
                        t.require_totp_roles.to_stored().as_str(),
                        t.break_glass
                    ],
                )
                .await
                .map_err(named("tenant"))?;
                insert_tenant_keys(c, &keys).await?;
                insert_user(c, &admin).await
            })
        })
        .await
    }

    async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>> {
        let slug = slug.clone();
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::TENANT_BY_SLUG, args![slug.as_str()], rows::tenant)
                    .await
            })
        })
        .await
    }

    async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::TENANT_BY_ID, args![id], rows::tenant)
                    .await
            })
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.scan(|c| Box::pin(async move { c.query(sql::LIST_TENANTS, &[], rows::tenant).await }))
            .await
    }

    async fn set_tenant_settings(
        &self,
        id: TenantId,
        settings: &TenantSettings,
        log: &ChangeLog,
    ) -> Result<()> {
        let (settings, log) = (settings.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::SET_TENANT_SETTINGS,
                    args![
                        settings.lockout_threshold,
                        settings.require_totp_roles.to_stored().as_str(),
                        settings.break_glass,
                        id
                    ],
                )
                .await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn set_agreement_end(&self, id: TenantId, end: Option<Timestamp>) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::SET_AGREEMENT_END, args![end, id]).await?;
                Ok(())
            })
        })
        .await
    }

    async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<()> {
        self.write(move |c| Box::pin(run_all(c, &sql::DESTROY_TENANT_KEYS, tenant)))
            .await
    }

    async fn destroy_tenant_rows(&self, tenant: TenantId) -> Result<()> {
        self.write(move |c| Box::pin(run_all(c, &sql::DESTROY_TENANT_ROWS, tenant)))
            .await
    }
}

/// Runs statements that each take the tenant as `$1`, in order.
async fn run_all<E: Exec>(c: &mut E, statements: &[&'static str], tenant: TenantId) -> Result<()> {
    for statement in statements {
        c.execute(statement, args![tenant]).await?;
    }
    Ok(())
}
