//! Users and groups, managed by a tenant's administrators; and the caller's own profile.
//!
//! Level 1 of the access check is structural here: every store call is keyed by the caller's
//! tenant, so an id from another tenant is indistinguishable from an id that does not exist.
//! Level 2 (may this role call the operation) is a Cedar decision in the tenant's policy set,
//! like every other operation's (`authorize`, `authorize_logged`).

use crate::access::Action;
use crate::error::failed;
use crate::keys::TenantKeys;
use crate::privacy::USERS_TABLE;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use strongroom_domain::{
    Email, GroupId, MembershipRole, PersonName, Role, Roles, TenantName, Timestamp, UserId,
    UserStatus,
};
use strongroom_store::{Group, NewUser, User, UserPatch};

/// A user with personal fields opened. `email` and `name` are `None` once the person was
/// forgotten (their key is destroyed).
pub struct UserInfo {
    pub id: UserId,
    pub email: Option<Email>,
    pub name: Option<PersonName>,
    pub roles: Roles,
    pub status: UserStatus,
    pub must_change_password: bool,
    pub license_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub struct NewUserRequest {
    pub email: Email,
    pub name: PersonName,
    pub roles: Roles,
    pub license_expires_at: Option<Timestamp>,
}

/// The name shown in every history and log view for a person who was forgotten.
pub const DELETED_NAME: &str = "Deleted GDPR";

/// What an administrator may change about a user; `None` leaves a field as it is.
#[derive(Default)]
pub struct UserChanges {
    pub name: Option<PersonName>,
    pub roles: Option<Roles>,
    /// `Some(None)` clears the licence expiry.
    pub license_expires_at: Option<Option<Timestamp>>,
}

impl Services {
    /// The caller's tenant keys.
    pub(crate) async fn tenant_keys(
        &self,
        tenant: strongroom_domain::TenantId,
    ) -> Result<std::sync::Arc<TenantKeys>, CoreError> {
        self.keyring
            .tenant(&*self.store, tenant, self.clock.now())
            .await
    }

    /// The tenant's keys, able to open every subject key of these users (reloaded if a KEK
    /// rotation elsewhere added a version this process has not seen).
    pub(crate) async fn tenant_keys_for(
        &self,
        tenant: strongroom_domain::TenantId,
        users: &[User],
    ) -> Result<std::sync::Arc<TenantKeys>, CoreError> {
        let newest = users
            .iter()
            .filter_map(|u| u.subject_key.as_ref().map(|k| k.kek_version))
            .max();
        match newest {
            Some(v) => {
                self.keyring
                    .tenant_with_kek(&*self.store, tenant, v, self.clock.now())
                    .await
            }
            None => self.tenant_keys(tenant).await,
        }
    }

    /// Builds the stored form of a new user: a fresh subject key, e-mail and name sealed under
    /// it, the e-mail's blind index, and a random initial password (returned, shown once).
    pub(crate) async fn prepare_user(
        &self,
        keys: &TenantKeys,
        req: NewUserRequest,
        must_change_password: bool,
    ) -> Result<(NewUser, SecretString), CoreError> {
        if req.roles.0.is_empty() {
            return Err(CoreError::Invalid("roles: give at least one role".into()));
        }
        let password = strongroom_crypto::random_password();
        let hash = self.hasher.hash(password.clone()).await?;
        let user = self.user_row(keys, req, hash, must_change_password)?;
        Ok((user, password))
    }

    /// A new user's row under a password hash made beforehand: a fresh subject key, the
    /// e-mail's blind index, e-mail and name sealed. (Public for the scale bench, which seeds
    /// 100,000 users under one precomputed hash.)
    #[doc(hidden)]
    pub fn user_row(
        &self,
        keys: &TenantKeys,
        req: NewUserRequest,
        password_hash: String,
        must_change_password: bool,
    ) -> Result<NewUser, CoreError> {
        let id = UserId::new();
        let (wrapped, key) = keys.new_subject_key(id.0)?;
        let tenant = keys.tenant();
        Ok(NewUser {
            tenant_id: tenant,
            id,
            email_index: keys.email_index(req.email.as_str()),
            email_sealed: key.seal(
                tenant,
                USERS_TABLE,
                id.0,
                "email",
                req.email.as_str().as_bytes(),
            )?,
            name_sealed: key.seal(
                tenant,
                USERS_TABLE,
                id.0,
                "name",
                req.name.as_str().as_bytes(),
            )?,
            subject_key: wrapped,
            roles: req.roles,
            password_hash,
            must_change_password,
            license_expires_at: req.license_expires_at,
            now: self.clock.now(),
        })
    }

    /// Opens a stored user's personal fields.
    pub(crate) fn open_user(keys: &TenantKeys, u: User) -> Result<UserInfo, CoreError> {
        let key = u
            .subject_key
            .as_ref()
            .map(|w| keys.open_subject_key(u.id.0, w))
            .transpose()?;
        let open = |field: &str, sealed: Option<&Vec<u8>>| -> Result<Option<String>, CoreError> {
            match (&key, sealed) {
                (Some(k), Some(c)) => {
                    let bytes = k.open(u.tenant_id, USERS_TABLE, u.id.0, field, c)?;
                    String::from_utf8(bytes.to_vec())
                        .map(Some)
                        .map_err(failed("an opened user field is not UTF-8"))
                }
                _ => Ok(None),
            }
        };
        let email = open("email", u.email_sealed.as_ref())?
            .map(|e| Email::parse(&e))
            .transpose()?;
        let name = open("name", u.name_sealed.as_ref())?
            .map(|n| PersonName::parse(&n))
            .transpose()?;
        Ok(UserInfo {
            id: u.id,
            email,
            name,
            roles: u.roles,
            status: u.status,
            must_change_password: u.must_change_password,
            license_expires_at: u.license_expires_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        })
    }

    /// `POST /users`: the initial password is random (≥ 128 bits) and must be changed at first use.
    pub async fn create_user(
        &self,
        p: &Principal,
        req: NewUserRequest,
    ) -> Result<(UserId, SecretString), CoreError> {
        self.authorize_logged(p, Action::ManageUsers, None, "create")
            .await?;
        no_superuser_role(&req.roles)?;
        let keys = self
            .keyring
            .tenant_fresh(&*self.store, p.tenant_id, self.clock.now())
            .await?;
        let (user, password) = self.prepare_user(&keys, req, true).await?;
        let log = crate::privacy::change_log(
            p.tenant_id,
            vec![self.user_entry(
                p,
                Some(user.id),
                "create",
                &["email", "name", "roles"],
                strongroom_domain::Decision::Allow,
            )],
        );
        self.store
            .insert_user(&user, &log)
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

    /// `GET /users`: a page of the tenant's users, newest first, after `after` (fetch one more
    /// than the page to learn whether another follows). Only the users shown are decrypted,
    /// and each is one privacy-log entry, committed before the page goes out.
    pub async fn list_users(
        &self,
        p: &Principal,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<UserInfo>, CoreError> {
        self.authorize_logged(p, Action::ReadUsers, None, "read")
            .await?;
        let users = self.store.users_page(p.tenant_id, after, limit).await?;
        self.open_logged(p, users).await
    }

    /// `GET /users?email=`: the user with this address, through the blind index (nothing else
    /// is decrypted); empty when there is none.
    pub async fn find_user_by_email(
        &self,
        p: &Principal,
        email: &str,
    ) -> Result<Vec<UserInfo>, CoreError> {
        self.authorize_logged(p, Action::ReadUsers, None, "read")
            .await?;
        let Ok(email) = Email::parse(email) else {
            return Ok(Vec::new());
        };
        let keys = self.tenant_keys(p.tenant_id).await?;
        let user = self
            .store
            .user_by_email_index(p.tenant_id, &keys.email_index(email.as_str()))
            .await?
            .filter(|u| u.status != UserStatus::Deleted);
        self.open_logged(p, user.into_iter().collect()).await
    }

    /// Opens the users shown to the caller, one privacy-log entry each.
    async fn open_logged(
        &self,
        p: &Principal,
        users: Vec<User>,
    ) -> Result<Vec<UserInfo>, CoreError> {
        let keys = self.tenant_keys_for(p.tenant_id, &users).await?;
        let infos = users
            .into_iter()
            .map(|u| Self::open_user(&keys, u))
            .collect::<Result<Vec<_>, _>>()?;
        let entries = infos
            .iter()
            .map(|u| {
                self.user_entry(
                    p,
                    Some(u.id),
                    "read",
                    &["email", "name"],
                    strongroom_domain::Decision::Allow,
                )
            })
            .collect();
        self.privacy.append_all(p.tenant_id, entries).await?;
        Ok(infos)
    }

    pub(crate) async fn live_user(&self, p: &Principal, id: UserId) -> Result<User, CoreError> {
        self.store
            .user_by_id(p.tenant_id, id)
            .await?
            .filter(|u| u.status != UserStatus::Deleted)
            .ok_or(CoreError::NotFound("user"))
    }

    pub async fn get_user(&self, p: &Principal, id: UserId) -> Result<UserInfo, CoreError> {
        self.authorize_logged(p, Action::ReadUsers, Some(id), "read")
            .await?;
        let user = self.live_user(p, id).await?;
        let keys = self
            .tenant_keys_for(p.tenant_id, std::slice::from_ref(&user))
            .await?;
        let info = Self::open_user(&keys, user)?;
        self.privacy
            .append(
                p.tenant_id,
                self.user_entry(
                    p,
                    Some(id),
                    "read",
                    &["email", "name"],
                    strongroom_domain::Decision::Allow,
                ),
            )
            .await?;
        Ok(info)
    }

    pub async fn update_user(
        &self,
        p: &Principal,
        id: UserId,
        changes: UserChanges,
    ) -> Result<UserInfo, CoreError> {
        self.authorize_logged(p, Action::ManageUsers, Some(id), "update")
            .await?;
        if changes.roles.as_ref().is_some_and(|r| r.0.is_empty()) {
            return Err(CoreError::Invalid("roles: give at least one role".into()));
        }
        if let Some(roles) = &changes.roles {
            no_superuser_role(roles)?;
        }
        if id == p.user_id
            && changes
                .roles
                .as_ref()
                .is_some_and(|r| !r.contains(Role::Administrator))
        {
            return Err(CoreError::Invalid(
                "roles: administrators cannot take the administrator role from themselves".into(),
            ));
        }
        let current = self.live_user(p, id).await?;
        let keys = self
            .tenant_keys_for(p.tenant_id, std::slice::from_ref(&current))
            .await?;
        let name_sealed = match &changes.name {
            Some(name) => {
                let user = current;
                let wrapped = user
                    .subject_key
                    .as_ref()
                    .ok_or(CoreError::NotFound("user"))?;
                let key = keys.open_subject_key(id.0, wrapped)?;
                Some(key.seal(
                    p.tenant_id,
                    USERS_TABLE,
                    id.0,
                    "name",
                    name.as_str().as_bytes(),
                )?)
            }
            None => None,
        };
        let patch = UserPatch {
            name_sealed,
            roles: changes.roles,
            license_expires_at: changes.license_expires_at,
        };
        let mut touched = Vec::new();
        for (field, present) in [
            ("name", patch.name_sealed.is_some()),
            ("roles", patch.roles.is_some()),
            ("license_expires_at", patch.license_expires_at.is_some()),
        ] {
            if present {
                touched.push(field);
            }
        }
        let log = crate::privacy::change_log(
            p.tenant_id,
            vec![self.user_entry(
                p,
                Some(id),
                "update",
                &touched,
                strongroom_domain::Decision::Allow,
            )],
        );
        let user = self
            .store
            .update_user(p.tenant_id, id, &patch, self.clock.now(), &log)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, user = %id, "user changed");
        Self::open_user(&keys, user)
    }

    /// `DELETE /users/{id}`: destroys the person's subject key (their sealed fields become
    /// unreadable everywhere at once), removes credentials, ends sessions and memberships.
    pub async fn create_group(
        &self,
        p: &Principal,
        name: TenantName,
    ) -> Result<GroupId, CoreError> {
        self.authorize(p, Action::ManageGroups).await?;
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

    /// A page of the tenant's groups with their members, newest first (`manageGroups`).
    pub async fn groups_page(
        &self,
        p: &Principal,
        after: Option<GroupId>,
        limit: u32,
    ) -> Result<Vec<(Group, Vec<strongroom_store::Member>)>, CoreError> {
        self.authorize(p, Action::ManageGroups).await?;
        let mut out = Vec::new();
        for g in self.store.groups_page(p.tenant_id, after, limit).await? {
            let members = self.store.members(p.tenant_id, g.id).await?;
            out.push((g, members));
        }
        Ok(out)
    }

    pub async fn put_member(
        &self,
        p: &Principal,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<(), CoreError> {
        self.authorize(p, Action::ManageGroups).await?;
        self.store
            .put_member(p.tenant_id, group, user, role)
            .await
            .map_err(Into::into)
    }
}

/// `superuser` is the vendor's support role, given only by `strongroom superuser add` in the
/// operator tenant: no customer's user is given it.
fn no_superuser_role(roles: &Roles) -> Result<(), CoreError> {
    if roles.contains(Role::Superuser) {
        return Err(CoreError::Invalid(
            "roles: \"superuser\" is the vendor's support role (strongroom superuser add)".into(),
        ));
    }
    Ok(())
}
