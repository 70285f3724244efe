//! Tenants, created by the operator (CLI), each with a first administrator.

use crate::tenancy::NewUserRequest;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_domain::{
    Email, PersonName, Region, Role, Slug, TenantId, TenantName, TenantStatus, UserId,
};
use strongroom_store::Tenant;

/// Lockout threshold of a new tenant: seed 001, "after three attempts to login with a wrong password".
pub const DEFAULT_LOCKOUT_THRESHOLD: u32 = 3;

/// The range a tenant may choose from.
pub const LOCKOUT_THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=100;

pub struct CreatedTenant {
    pub tenant_id: TenantId,
    pub admin_user_id: UserId,
    pub admin_password: SecretString,
}

impl Services {
    /// Creates a tenant and its administrator in one transaction. The administrator's password
    /// is random and, unless `settled`, must be changed at first login.
    pub async fn create_tenant(
        &self,
        slug: Slug,
        name: TenantName,
        region: Region,
        admin_email: Email,
        settled: bool,
    ) -> Result<CreatedTenant, CoreError> {
        let tenant = Tenant {
            id: TenantId::new(),
            slug,
            name,
            region,
            status: TenantStatus::Active,
            lockout_threshold: DEFAULT_LOCKOUT_THRESHOLD,
            agreement_ends_at: None,
            created_at: self.clock.now(),
        };
        let req = NewUserRequest {
            email: admin_email,
            name: PersonName::parse("Administrator")?,
            roles: [Role::Administrator].into_iter().collect(),
            license_expires_at: None,
        };
        let (key_rows, keys) = self.keyring.new_tenant_keys(tenant.id, tenant.created_at)?;
        let (admin, password) = self.prepare_user(&keys, req, !settled).await?;
        self.store
            .create_tenant(&tenant, &key_rows, &admin)
            .await
            .map_err(|e| match CoreError::from(e) {
                CoreError::Conflict(_) => CoreError::Conflict(format!(
                    "a tenant with slug {:?} already exists",
                    tenant.slug.as_str()
                )),
                other => other,
            })?;
        self.keyring.remember(keys);
        tracing::info!(tenant = %tenant.id, slug = tenant.slug.as_str(), "tenant created");
        Ok(CreatedTenant {
            tenant_id: tenant.id,
            admin_user_id: admin.id,
            admin_password: password,
        })
    }

    /// `GET /tenant`: the caller's tenant and its settings (administrators).
    pub async fn my_tenant(&self, p: &Principal) -> Result<Tenant, CoreError> {
        self.authorize(p, crate::access::Action::ManageTenant)
            .await?;
        self.store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)
    }

    /// `PATCH /tenant`: how many wrong passwords in a row block an account.
    pub async fn set_lockout_threshold(
        &self,
        p: &Principal,
        threshold: u32,
    ) -> Result<Tenant, CoreError> {
        self.authorize(p, crate::access::Action::ManageTenant)
            .await?;
        if !LOCKOUT_THRESHOLD_RANGE.contains(&threshold) {
            return Err(CoreError::Invalid(format!(
                "lockout_threshold: must be between {} and {}",
                LOCKOUT_THRESHOLD_RANGE.start(),
                LOCKOUT_THRESHOLD_RANGE.end()
            )));
        }
        self.store
            .set_lockout_threshold(p.tenant_id, threshold)
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, threshold, "lockout threshold changed");
        self.my_tenant(p).await
    }
}
