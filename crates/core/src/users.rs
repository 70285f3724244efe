//! Users and groups, managed by a tenant's administrators; and the caller's own profile.
//!
//! Level 1 of the access check is structural here: every store call is keyed by the caller's
//! tenant, so an id from another tenant is indistinguishable from an id that does not exist.
//! Level 2 (role) is `require_admin` until the Cedar policies of the records issue take over.

use crate::auth::email_index;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_domain::{
    Email, GroupId, MembershipRole, PersonName, Role, Roles, TenantName, Timestamp, UserId,
};
use strongroom_store::{Group, LoginEvent, NewUser, Tenant, User, UserPatch};

/// How many login-history rows `GET /me` style views return at most.
pub const LOGIN_HISTORY_LIMIT: u32 = 100;

pub struct NewUserRequest {
    pub email: Email,
    pub name: PersonName,
    pub roles: Roles,
    pub license_expires_at: Option<Timestamp>,
}

pub(crate) fn require_admin(p: &Principal) -> Result<(), CoreError> {
    if p.roles.contains(Role::Administrator) {
        Ok(())
    } else {
        Err(CoreError::Forbidden(
            "this needs the administrator role".into(),
        ))
    }
}

/// Refuses everything but the password change to a caller who still has an initial password.
pub fn require_settled(p: &Principal) -> Result<(), CoreError> {
    if p.must_change_password {
        Err(CoreError::PasswordChangeRequired)
    } else {
        Ok(())
    }
}

impl Services {
    /// Builds the stored form of a new user with a random initial password (shown once).
    pub(crate) async fn prepare_user(
        &self,
        tenant: &Tenant,
        req: NewUserRequest,
        must_change_password: bool,
    ) -> Result<(NewUser, SecretString), CoreError> {
        if req.roles.0.is_empty() {
            return Err(CoreError::Invalid("roles: give at least one role".into()));
        }
        let password = strongroom_crypto::random_password();
        let hash = self.hasher.hash(password.clone()).await?;
        let user = NewUser {
            tenant_id: tenant.id,
            id: UserId::new(),
            email_index: email_index(tenant.id, req.email.as_str()),
            email: req.email,
            name: req.name,
            roles: req.roles,
            password_hash: hash,
            must_change_password,
            license_expires_at: req.license_expires_at,
            now: self.clock.now(),
        };
        Ok((user, password))
    }

    /// `POST /users`: the initial password is random (≥ 128 bits) and must be changed at first use.
    pub async fn create_user(
        &self,
        p: &Principal,
        req: NewUserRequest,
    ) -> Result<(UserId, SecretString), CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        let tenant = self
            .store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let (user, password) = self.prepare_user(&tenant, req, true).await?;
        self.store
            .insert_user(&user)
            .await
            .map_err(|e| match CoreError::from(e) {
                CoreError::Conflict(_) => CoreError::Conflict(
                    "a user with this e-mail address already exists in this tenant".into(),
                ),
                other => other,
            })?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, user = %user.id, "user created");
        Ok((user.id, password))
    }

    pub async fn list_users(&self, p: &Principal) -> Result<Vec<User>, CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        Ok(self.store.list_users(p.tenant_id).await?)
    }

    pub async fn get_user(&self, p: &Principal, id: UserId) -> Result<User, CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        self.store
            .user_by_id(p.tenant_id, id)
            .await?
            .filter(|u| u.status != strongroom_domain::UserStatus::Deleted)
            .ok_or(CoreError::NotFound("user"))
    }

    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        patch: UserPatch,
    ) -> Result<User, CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        if patch.roles.as_ref().is_some_and(|r| r.0.is_empty()) {
            return Err(CoreError::Invalid("roles: give at least one role".into()));
        }
        if id == p.user_id
            && patch
                .roles
                .as_ref()
                .is_some_and(|r| !r.contains(Role::Administrator))
        {
            return Err(CoreError::Invalid(
                "roles: administrators cannot take the administrator role from themselves".into(),
            ));
        }
        let user = self
            .store
            .update_user(p.tenant_id, id, &patch, self.clock.now())
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, user = %id, "user changed");
        Ok(user)
    }

    /// `DELETE /users/{id}`: removes the person's name, e-mail and credentials, ends their
    /// sessions and memberships. (Key destruction and file deletion arrive with the key
    /// hierarchy and records.)
    pub async fn forget_user(&self, p: &Principal, id: UserId) -> Result<(), CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        if id == p.user_id {
            return Err(CoreError::Invalid(
                "administrators cannot delete their own account here; use DELETE /api/v1/me".into(),
            ));
        }
        if !self
            .store
            .forget_user(p.tenant_id, id, self.clock.now())
            .await?
        {
            return Err(CoreError::NotFound("user"));
        }
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, user = %id, "user forgotten");
        Ok(())
    }

    pub async fn create_group(
        &self,
        p: &Principal,
        name: TenantName,
    ) -> Result<GroupId, CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        let group = Group {
            tenant_id: p.tenant_id,
            id: GroupId::new(),
            name,
            created_at: self.clock.now(),
        };
        self.store
            .insert_group(&group)
            .await
            .map_err(|e| match CoreError::from(e) {
                CoreError::Conflict(_) => CoreError::Conflict(
                    "a group with this name already exists in this tenant".into(),
                ),
                other => other,
            })?;
        Ok(group.id)
    }

    pub async fn put_member(
        &self,
        p: &Principal,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<(), CoreError> {
        require_settled(p)?;
        require_admin(p)?;
        self.store
            .put_member(p.tenant_id, group, user, role)
            .await
            .map_err(Into::into)
    }

    /// `GET /me`: the caller's own profile. Allowed with an initial password.
    pub async fn me(&self, p: &Principal) -> Result<(Tenant, User), CoreError> {
        let tenant = self
            .store
            .tenant_by_id(p.tenant_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let user = self
            .store
            .user_by_id(p.tenant_id, p.user_id)
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        Ok((tenant, user))
    }

    /// The caller's own login history, newest first.
    pub async fn my_logins(&self, p: &Principal) -> Result<Vec<LoginEvent>, CoreError> {
        Ok(self
            .store
            .login_history(p.tenant_id, p.user_id, LOGIN_HISTORY_LIMIT)
            .await?)
    }
}
