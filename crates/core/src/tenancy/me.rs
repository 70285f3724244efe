//! The caller's own account: who they are, their groups, their login history.

use crate::tenancy::UserInfo;
use crate::{CoreError, Principal, Services};
use strongroom_domain::{GroupId, MembershipRole, Timestamp, UserId};
use strongroom_store::Tenant;

/// One login attempt with its address opened (`None` once the key that sealed it is gone).
pub struct LoginInfo {
    /// The cursor of the next page.
    pub id: strongroom_domain::LoginEventId,
    pub at: Timestamp,
    pub ip: Option<String>,
    pub outcome: strongroom_domain::LoginOutcome,
}

impl Services {
    /// `GET /me`: the caller's own profile. Allowed with an initial password.
    /// The groups the caller belongs to, with their role in each.
    pub async fn my_groups(
        &self,
        p: &Principal,
    ) -> Result<Vec<(GroupId, MembershipRole)>, CoreError> {
        Ok(self.store.memberships(p.tenant_id, p.user_id).await?)
    }

    /// My groups with their names (the privacy centre).
    pub async fn my_named_groups(
        &self,
        p: &Principal,
    ) -> Result<Vec<(String, MembershipRole)>, CoreError> {
        let mut named = Vec::new();
        for (id, role) in self.store.memberships(p.tenant_id, p.user_id).await? {
            let name = self
                .store
                .group_by_id(p.tenant_id, id)
                .await?
                .map_or_else(|| id.0.to_string(), |g| g.name.as_str().to_owned());
            named.push((name, role));
        }
        Ok(named)
    }

    pub async fn me(&self, p: &Principal) -> Result<(Tenant, UserInfo), CoreError> {
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
        let keys = self
            .tenant_keys_for(p.tenant_id, std::slice::from_ref(&user))
            .await?;
        let info = Self::open_user(&keys, user)?;
        Ok((tenant, info))
    }

    /// The caller's own login history, newest first, addresses opened.
    /// `GET /me/logins`: a page of my login attempts, newest first, before `before`.
    pub async fn my_logins(
        &self,
        p: &Principal,
        before: Option<strongroom_domain::LoginEventId>,
        limit: u32,
    ) -> Result<Vec<LoginInfo>, CoreError> {
        self.logins_of(p.tenant_id, p.user_id, before, limit).await
    }

    /// A user's login attempts, newest first, with the addresses opened.
    pub(crate) async fn logins_of(
        &self,
        tenant: strongroom_domain::TenantId,
        user_id: UserId,
        before: Option<strongroom_domain::LoginEventId>,
        limit: u32,
    ) -> Result<Vec<LoginInfo>, CoreError> {
        let events = self
            .store
            .login_history(tenant, user_id, before, limit)
            .await?;
        let user = self
            .store
            .user_by_id(tenant, user_id)
            .await?
            .ok_or(CoreError::NotFound("user"))?;
        let own = self.ip_key(tenant, Some(&user)).await?;
        let system = self.system_subject_key(tenant).await?;
        Ok(events
            .into_iter()
            .map(|e| {
                let ip = e.ip_sealed.as_deref().and_then(|sealed| {
                    let key_id = strongroom_crypto::field::key_id(sealed).ok()?;
                    let key = [&own, &system]
                        .into_iter()
                        .find(|k| k.id.as_bytes() == &key_id)?;
                    match key.open(
                        tenant,
                        crate::auth::LOGIN_HISTORY_TABLE,
                        e.id.0,
                        "ip",
                        sealed,
                    ) {
                        Ok(bytes) => String::from_utf8(bytes.to_vec()).ok(),
                        Err(_) => None,
                    }
                });
                LoginInfo {
                    id: e.id,
                    at: e.at,
                    ip,
                    outcome: e.outcome,
                }
            })
            .collect())
    }
}
