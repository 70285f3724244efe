//! Tenants, created by the operator (CLI), each with a first administrator.

use crate::tenancy::NewUserRequest;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_domain::{
    Email, PersonName, Region, Role, Roles, Slug, TenantId, TenantName, TenantStatus, UserId,
};
use strongroom_store::{Tenant, TenantSettings};

/// Lockout threshold of a new tenant: seed 001, "after three attempts to login with a wrong password".
pub const DEFAULT_LOCKOUT_THRESHOLD: u32 = 3;

/// The reserved tenant of the vendor's staff (superusers, `crate::support`): no customer's
/// tenant may take the slug.
pub const OPERATOR_SLUG: &str = "operator";

/// The range a tenant may choose from.
pub const LOCKOUT_THRESHOLD_RANGE: std::ops::RangeInclusive<u32> = 1..=100;

/// The roles a new tenant requires a second factor of (seed 003: two-factor authentication
/// for privileged access). Tenants created before this setting existed, and the demo's, keep
/// none.
pub const DEFAULT_REQUIRE_TOTP_ROLES: [Role; 1] = [Role::Administrator];

/// A change of a tenant's security settings (`PATCH /tenant`); `None` keeps a setting.
#[derive(Clone, Debug, Default)]
pub struct TenantSettingsChange {
    pub lockout_threshold: Option<u32>,
    pub require_totp_roles: Option<Roles>,
    /// Whether the operator may open break-glass support grants (default: yes).
    pub break_glass: Option<bool>,
}

pub struct CreatedTenant {
    pub tenant_id: TenantId,
    pub admin_user_id: UserId,
    pub admin_password: SecretString,
}

impl Services {
    /// Creates a tenant and its administrator in one transaction. The administrator's password
    /// is random and, unless `settled`, must be changed at first login; users holding one of
    /// `require_totp_roles` (usually [`DEFAULT_REQUIRE_TOTP_ROLES`]) must enrol a second factor
    /// before anything else.
    pub async fn create_tenant(
        &self,
        slug: Slug,
        name: TenantName,
        region: Region,
        admin_email: Email,
        settled: bool,
        require_totp_roles: Roles,
    ) -> Result<CreatedTenant, CoreError> {
        if slug.as_str() == OPERATOR_SLUG {
            return Err(CoreError::Invalid(format!(
                "slug: {OPERATOR_SLUG:?} is reserved for the vendor's staff (strongroom superuser add)"
            )));
        }
        let tenant = Tenant {
            id: TenantId::new(),
            slug,
            name,
            region,
            status: TenantStatus::Active,
            lockout_threshold: DEFAULT_LOCKOUT_THRESHOLD,
            agreement_ends_at: None,
            created_at: self.clock.now(),
            require_totp_roles,
            break_glass: true,
        };
        let req = NewUserRequest {
            email: admin_email,
            name: PersonName::parse("Administrator")?,
            roles: [Role::Administrator].into_iter().collect(),
            license_expires_at: None,
        };
        self.create_tenant_with(tenant, req, settled).await
    }

    /// Creates `tenant` with its keys and its first user, in one transaction.
    pub(crate) async fn create_tenant_with(
        &self,
        tenant: Tenant,
        req: NewUserRequest,
        settled: bool,
    ) -> Result<CreatedTenant, CoreError> {
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

    /// `PATCH /tenant`: the tenant's security settings. The change is a privacy-log entry
    /// (what changed, from what to what) committed with it, so the tenant sees who weakened or
    /// strengthened what.
    pub async fn update_tenant_settings(
        &self,
        p: &Principal,
        client: Option<std::net::IpAddr>,
        change: TenantSettingsChange,
    ) -> Result<Tenant, CoreError> {
        self.authorize(p, crate::access::Action::ManageTenant)
            .await?;
        if let Some(threshold) = change.lockout_threshold
            && !LOCKOUT_THRESHOLD_RANGE.contains(&threshold)
        {
            return Err(CoreError::Invalid(format!(
                "lockout_threshold: must be between {} and {}",
                LOCKOUT_THRESHOLD_RANGE.start(),
                LOCKOUT_THRESHOLD_RANGE.end()
            )));
        }
        let now = self.my_tenant(p).await?;
        let next = TenantSettings {
            lockout_threshold: change.lockout_threshold.unwrap_or(now.lockout_threshold),
            require_totp_roles: change
                .require_totp_roles
                .unwrap_or_else(|| now.require_totp_roles.clone()),
            break_glass: change.break_glass.unwrap_or(now.break_glass),
        };
        let mut changed = Vec::new();
        if next.lockout_threshold != now.lockout_threshold {
            changed.push(format!(
                "lockout_threshold: {} -> {}",
                now.lockout_threshold, next.lockout_threshold
            ));
        }
        if next.require_totp_roles != now.require_totp_roles {
            changed.push(format!(
                "require_totp_roles: [{}] -> [{}]",
                now.require_totp_roles.to_stored(),
                next.require_totp_roles.to_stored()
            ));
        }
        if next.break_glass != now.break_glass {
            changed.push(format!(
                "break_glass: {} -> {}",
                now.break_glass, next.break_glass
            ));
        }
        if changed.is_empty() {
            return Ok(now);
        }
        let log = self
            .change_log(
                &Self::actor(p),
                client,
                "administrator",
                None,
                (crate::privacy::TENANT_OBJECT, Some(p.tenant_id.0)),
                "update_settings",
                changed.clone(),
            )
            .await?;
        self.store
            .set_tenant_settings(p.tenant_id, &next, &log)
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, ?changed, "tenant settings changed");
        self.my_tenant(p).await
    }
}
