//! Superusers: the vendor's staff, users of the reserved tenant `operator` (created with the
//! first one), added, listed and removed by the operator's CLI. A removed superuser's account
//! stops and their requests and grants end; the row and its sealed name stay, so the logs
//! they appear in still name them.

use crate::support::OPERATOR_SLUG;
use crate::tenancy::NewUserRequest;
use crate::{CoreError, Services};
use secrecy::SecretString;
use strongroom_domain::{
    Email, PersonName, Region, Role, Roles, Slug, TenantId, TenantName, TenantStatus, Timestamp,
    UserId, UserStatus,
};
use strongroom_store::{ChangeLog, Tenant};

/// A superuser as `superuser list` shows them.
pub struct SuperuserView {
    pub id: UserId,
    pub email: Option<Email>,
    pub name: Option<PersonName>,
    pub status: UserStatus,
    pub last_login_at: Option<Timestamp>,
    /// Grants (approved requests and break-glass) in the last 90 days.
    pub grants_90d: u32,
    pub created_at: Timestamp,
    /// The last review of the superusers (`superuser review`).
    pub last_review_at: Option<Timestamp>,
    /// Seed 000: the list is checked at least every quarter: overdue 92 days after the last
    /// review (or, before the first, after the account was added).
    pub review_overdue: bool,
}

impl Services {
    /// The operator tenant, if it exists yet.
    pub async fn operator_tenant(&self) -> Result<Option<Tenant>, CoreError> {
        Ok(self
            .store
            .tenant_by_slug(&Slug::parse(OPERATOR_SLUG)?)
            .await?)
    }

    /// `strongroom superuser add`: a superuser with a one-time password; the second factor is
    /// required from the first login. The first one creates the operator tenant.
    pub async fn add_superuser(
        &self,
        email: Email,
        name: PersonName,
    ) -> Result<(UserId, SecretString), CoreError> {
        let superuser: Roles = [Role::Superuser].into_iter().collect();
        let Some(operator) = self.operator_tenant().await? else {
            let tenant = Tenant {
                id: TenantId::new(),
                slug: Slug::parse(OPERATOR_SLUG)?,
                name: TenantName::parse("Operator (vendor staff)")?,
                region: Region::default(),
                status: TenantStatus::Active,
                lockout_threshold: crate::tenancy::DEFAULT_LOCKOUT_THRESHOLD,
                agreement_ends_at: None,
                created_at: self.clock.now(),
                require_totp_roles: superuser.clone(),
                break_glass: false,
            };
            let first = NewUserRequest {
                email,
                name,
                roles: superuser,
                license_expires_at: None,
            };
            let created = self.create_tenant_with(tenant, first, false).await?;
            return Ok((created.admin_user_id, created.admin_password));
        };
        let keys = self
            .keyring
            .tenant_fresh(&*self.store, operator.id, self.clock.now())
            .await?;
        let req = NewUserRequest {
            email,
            name,
            roles: superuser,
            license_expires_at: None,
        };
        let (user, password) = self.prepare_user(&keys, req, true).await?;
        self.store
            .insert_user(&user, &ChangeLog::none())
            .await
            .map_err(|e| match CoreError::from(e) {
                CoreError::Conflict(_) => {
                    CoreError::Conflict("a superuser with this e-mail address exists".into())
                }
                other => other,
            })?;
        tracing::info!(superuser = %user.id, "superuser added");
        Ok((user.id, password))
    }

    /// `strongroom superuser list`: every superuser, with their last login and how many
    /// grants they held in the last 90 days.
    pub async fn list_superusers(&self) -> Result<Vec<SuperuserView>, CoreError> {
        let Some(operator) = self.operator_tenant().await? else {
            return Ok(Vec::new());
        };
        let users = self.store.list_users(operator.id).await?;
        let keys = self.tenant_keys_for(operator.id, &users).await?;
        let since = self.clock.now() - time::Duration::days(90);
        let last_review_at = self.last_superuser_review(operator.id).await?;
        let mut out = Vec::new();
        for u in users {
            let requests = self
                .store
                .support_requests_of_superuser(u.id, None, crate::support::MAX_LISTED)
                .await?;
            let grants_90d = requests
                .iter()
                .filter(|r| r.starts_at.is_some_and(|s| s >= since))
                .count();
            let last_login_at = self
                .store
                .login_history(operator.id, u.id, None, 50)
                .await?
                .into_iter()
                .find(|l| l.outcome == strongroom_domain::LoginOutcome::Success)
                .map(|l| l.at);
            let (id, status, created_at) = (u.id, u.status, u.created_at);
            let info = Self::open_user(&keys, u)?;
            out.push(SuperuserView {
                id,
                email: info.email,
                name: info.name,
                status,
                last_login_at,
                grants_90d: u32::try_from(grants_90d).unwrap_or(u32::MAX),
                created_at,
                last_review_at,
                review_overdue: self.review_overdue(last_review_at, created_at),
            });
        }
        Ok(out)
    }

    /// `strongroom superuser remove`: the account stops (and its sessions), every open request
    /// and live grant of theirs ends; the name stays readable in the logs.
    pub async fn remove_superuser(&self, email: &Email) -> Result<UserId, CoreError> {
        let operator = self
            .operator_tenant()
            .await?
            .ok_or(CoreError::NotFound("superuser"))?;
        let index = self
            .tenant_keys(operator.id)
            .await?
            .email_index(email.as_str());
        let user = self
            .store
            .user_by_email_index(operator.id, &index)
            .await?
            .ok_or(CoreError::NotFound("superuser"))?;
        let now = self.clock.now();
        if !self.store.disable_user(operator.id, user.id, now).await? {
            return Err(CoreError::NotFound("superuser"));
        }
        self.store.end_support_of_superuser(user.id, now).await?;
        tracing::warn!(superuser = %user.id, "superuser removed; their grants ended");
        Ok(user.id)
    }
}
