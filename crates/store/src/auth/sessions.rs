//! Sessions: access and refresh tokens (stored as digests), the caller behind a token, refresh
//! rotation with reuse detection.

use crate::exec::{Backend, Exec, args, named};
use crate::tenancy::groups::memberships;
use crate::{NewSession, RefreshOutcome, Result, SessionPrincipal, keys, sql};
use async_trait::async_trait;
use strongroom_domain::{ClientId, FamilyId, Roles, SessionId, TenantId, Timestamp, UserId};

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &NewSession) -> Result<()>;
    /// The caller behind a live access token of an active user in an active tenant.
    async fn principal_by_access(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionPrincipal>>;
    /// Spends a refresh token and stores its successor in the same family, atomically.
    /// A spent token presented again revokes the whole family.
    async fn rotate_refresh(
        &self,
        tenant: TenantId,
        presented: &[u8; 32],
        next: &NewSession,
        now: Timestamp,
    ) -> Result<RefreshOutcome>;
    async fn revoke_family(&self, tenant: TenantId, family: FamilyId, now: Timestamp)
    -> Result<()>;
    /// Moves a live session's access expiry to `until`, but never past its refresh expiry
    /// (a console session's absolute end).
    async fn extend_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        until: Timestamp,
    ) -> Result<()>;
}

#[async_trait]
impl<B: Backend> SessionStore for B {
    async fn insert_session(&self, s: &NewSession) -> Result<()> {
        let s = s.clone();
        self.write_one(move |c| Box::pin(async move { insert_session(c, &s).await }))
            .await
    }

    async fn principal_by_access(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionPrincipal>> {
        let digest = *digest;
        // One read: the session, the caller's groups and key at one snapshot.
        self.snapshot(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(sql::PRINCIPAL_BY_ACCESS, args![tenant, &digest, now], |r| {
                        let roles: String = r.get(3)?;
                        Ok(SessionPrincipal {
                            tenant_id: tenant,
                            session_id: r.get(0)?,
                            family_id: r.get(1)?,
                            user_id: r.get(2)?,
                            roles: Roles::from_stored(&roles)
                                .map_err(|_| crate::rows::corrupt("user roles"))?,
                            must_change_password: r.get(4)?,
                            policy_version: r.get(5)?,
                            memberships: Vec::new(),
                            subject_key: None,
                            require_totp_roles: Roles::from_stored(&r.get::<String>(6)?)
                                .map_err(|_| crate::rows::corrupt("tenant settings"))?,
                            totp_active: r.get(7)?,
                            client: None,
                            support: None,
                        })
                    })
                    .await?;
                let Some(mut p) = row else {
                    return Ok(None);
                };
                p.memberships = memberships(c, tenant, p.user_id).await?;
                p.subject_key = keys::subject_key(c, tenant, p.user_id.0).await?;
                Ok(Some(p))
            })
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        tenant: TenantId,
        presented: &[u8; 32],
        next: &NewSession,
        now: Timestamp,
    ) -> Result<RefreshOutcome> {
        let (presented, next) = (*presented, next.clone());
        self.write(move |c| {
            Box::pin(async move {
                let spent = c
                    .query_opt(sql::SPEND_REFRESH, args![now, tenant, &presented], |r| {
                        Ok((
                            r.get::<FamilyId>(0)?,
                            r.get::<UserId>(1)?,
                            r.get::<Option<ClientId>>(2)?,
                        ))
                    })
                    .await?;
                if let Some((family_id, user_id, client_id)) = spent {
                    // The successor stays the app's, if the spent one was.
                    let next = NewSession {
                        family_id,
                        user_id,
                        client_id,
                        ..next
                    };
                    insert_session(c, &next).await?;
                    return Ok(RefreshOutcome::Rotated(next.user_id));
                }
                let state = c
                    .query_opt(sql::REFRESH_STATE, args![tenant, &presented], |r| {
                        Ok((r.get::<FamilyId>(0)?, r.get::<Option<i64>>(1)?))
                    })
                    .await?;
                match state {
                    Some((family, Some(_))) => {
                        c.execute(sql::REVOKE_FAMILY, args![now, tenant, family])
                            .await?;
                        Ok(RefreshOutcome::Reused)
                    }
                    _ => Ok(RefreshOutcome::Invalid),
                }
            })
        })
        .await
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: FamilyId,
        now: Timestamp,
    ) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::REVOKE_FAMILY, args![now, tenant, family])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn extend_session(
        &self,
        tenant: TenantId,
        session: SessionId,
        until: Timestamp,
    ) -> Result<()> {
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::EXTEND_SESSION, args![until, tenant, session])
                    .await?;
                Ok(())
            })
        })
        .await
    }
}

pub(crate) async fn insert_session<E: Exec>(c: &mut E, s: &NewSession) -> Result<()> {
    c.execute(
        sql::INSERT_SESSION,
        args![
            s.tenant_id,
            s.id,
            s.family_id,
            s.user_id,
            &s.access_digest,
            s.access_expires_at,
            &s.refresh_digest,
            s.refresh_expires_at,
            s.now,
            s.client_id
        ],
    )
    .await
    .map_err(named("session"))?;
    Ok(())
}
