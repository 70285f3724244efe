//! Sessions under a grant: a superuser exchanges an active grant for a token of the
//! customer's tenant (at most 15 minutes, never past the grant's end). Its caller is the
//! superuser as a `Support` principal carrying the grant; the first session of a grant mails
//! the tenant's administrators.

use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use std::time::Duration;
use strongroom_crypto::{Token, TokenKind};
use strongroom_domain::{
    FamilyId, Role, Roles, SessionId, SupportKind, SupportRequestId, SupportStatus, TenantId,
};

/// The longest a session under a grant lives (shorter when the grant ends sooner).
pub const SUPPORT_SESSION_TTL: Duration = Duration::from_mins(15);

/// A session under a grant.
pub struct SupportSession {
    pub access_token: SecretString,
    pub expires_in: u64,
}

impl Services {
    /// `POST /support/requests/{id}/session`: a token for the grant's tenant, while the grant
    /// is active.
    pub async fn support_session(
        &self,
        p: &Principal,
        id: SupportRequestId,
    ) -> Result<SupportSession, CoreError> {
        self.superuser_tenant(p).await?;
        let now = self.clock.now();
        let row = self
            .store
            .support_requests_of_superuser(p.user_id, None, crate::support::MAX_LISTED)
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or(CoreError::NotFound("support request"))?;
        let status = row.status_at(now);
        if status != SupportStatus::Approved {
            return Err(CoreError::Conflict(format!(
                "this request is {}: only an approved grant that has not ended gives a session",
                status.as_str()
            )));
        }
        let ends_at = row.ends_at.unwrap_or(now);
        let expires_at = (now + SUPPORT_SESSION_TTL).min(ends_at);
        let token = Token::issue(TokenKind::SupportAccess, row.tenant_id.as_bytes());
        let first = self
            .store
            .insert_support_session(row.tenant_id, id, &token.digest.0, expires_at, now)
            .await?;
        if first {
            let name = self.superuser_name(row.superuser_id).await?;
            self.mail_administrators(
                row.tenant_id,
                "Vendor support started using its access",
                format!(
                    "{name} of the vendor's support started using the {kind} access you granted \
                     (until {ends_at}).\nEvery access is in your privacy log (via support:{id}). \
                     Revoke it at any time: DELETE /api/v1/support/requests/{id}.\n",
                    kind = row.kind.as_str(),
                    ends_at = crate::mail::when(ends_at),
                    id = id.0,
                ),
            )
            .await?;
        }
        tracing::info!(tenant = %row.tenant_id, superuser = %p.user_id, request = %id.0, "support session started");
        Ok(SupportSession {
            access_token: token.secret,
            expires_in: u64::try_from((expires_at - now).whole_seconds()).unwrap_or(0),
        })
    }

    /// The superuser behind a session token, as the caller in the grant's tenant: a `read`
    /// grant acts with an administrator's role (the base layer keeps it to reading).
    pub(crate) async fn authenticate_support(
        &self,
        access_token: &str,
    ) -> Result<Principal, CoreError> {
        let (tenant, digest) = Token::parse(TokenKind::SupportAccess, access_token)
            .map_err(|_| CoreError::Unauthenticated)?;
        let tenant = TenantId::from(uuid::Uuid::from_bytes(tenant));
        let operator = self
            .operator_tenant()
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        let (grant, policy_version) = self
            .store
            .support_by_token(operator.id, tenant, &digest.0, self.clock.now())
            .await?
            .ok_or(CoreError::Unauthenticated)?;
        // A read grant sees as an administrator would; act_as is that user (roles and groups
        // as they are now), both marked as support for the policies and the log.
        let (user_id, roles, memberships) = match (grant.kind, grant.user_id) {
            (SupportKind::ActAs, Some(target)) => {
                let user = self
                    .store
                    .user_by_id(tenant, target)
                    .await?
                    .filter(|u| u.status == strongroom_domain::UserStatus::Active)
                    .ok_or(CoreError::Unauthenticated)?;
                let memberships = self.store.memberships(tenant, target).await?;
                (target, user.roles, memberships)
            }
            (SupportKind::ActAs, None) => return Err(CoreError::Unauthenticated),
            (SupportKind::Read, _) => (
                grant.superuser_id,
                [Role::Administrator].into_iter().collect::<Roles>(),
                Vec::new(),
            ),
        };
        Ok(Principal {
            tenant_id: tenant,
            session_id: SessionId(uuid::Uuid::nil()),
            family_id: FamilyId(uuid::Uuid::nil()),
            user_id,
            roles,
            must_change_password: false,
            policy_version,
            memberships,
            subject_key: None,
            require_totp_roles: Roles::default(),
            totp_active: true,
            client: None,
            support: Some(grant),
        })
    }
}
