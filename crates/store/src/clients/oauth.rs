//! The authorization code grant as stored: codes (digests) spent once, a second exchange
//! revoking what the first one got; a person's consents to apps, and revoking one ending the
//! app's sessions for that person in the same transaction.

use crate::auth::sessions::insert_session;
use crate::exec::{Backend, Exec, args};
use crate::privacy::append_log;
use crate::{ChangeLog, CodeOutcome, Consent, NewAuthCode, NewSession, Result, sql};
use async_trait::async_trait;
use strongroom_domain::{ClientId, FamilyId, TenantId, Timestamp, UserId};

#[async_trait]
pub trait OAuthStore: Send + Sync {
    /// Stores a code, and drops the tenant's expired ones.
    async fn insert_auth_code(&self, code: &NewAuthCode) -> Result<()>;
    /// Spends a code: once only. A code presented again revokes the session family it was
    /// exchanged for.
    async fn spend_auth_code(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<CodeOutcome>;
    /// Starts the session a spent code was exchanged for, and ties the code to its family.
    async fn insert_code_session(&self, session: &NewSession, code: &[u8; 32]) -> Result<()>;
    /// When the person consented to the app, if they did.
    async fn consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<Timestamp>>;
    /// Records a consent (a repeated one changes nothing) with its privacy-log entry.
    async fn insert_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<()>;
    /// The person's consents, newest first.
    async fn consents(&self, tenant: TenantId, user: UserId) -> Result<Vec<Consent>>;
    /// Withdraws a consent and ends the app's sessions for the person; `false` if there was
    /// none.
    async fn revoke_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
}

#[async_trait]
impl<B: Backend> OAuthStore for B {
    async fn insert_auth_code(&self, code: &NewAuthCode) -> Result<()> {
        let k = code.clone();
        self.write(move |c| {
            Box::pin(async move {
                c.execute(sql::DROP_OLD_AUTH_CODES, args![k.tenant_id, k.created_at])
                    .await?;
                c.execute(
                    sql::INSERT_AUTH_CODE,
                    args![
                        k.tenant_id,
                        &k.digest,
                        k.client_id,
                        k.user_id,
                        k.redirect_uri.as_str(),
                        k.code_challenge.as_str(),
                        k.expires_at,
                        k.created_at
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn spend_auth_code(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<CodeOutcome> {
        let digest = *digest;
        self.write(move |c| {
            Box::pin(async move {
                let spent = c
                    .query_opt(sql::SPEND_AUTH_CODE, args![now, tenant, &digest], |r| {
                        Ok(CodeOutcome::Spent {
                            client_id: r.get(0)?,
                            user_id: r.get(1)?,
                            redirect_uri: r.get(2)?,
                            code_challenge: r.get(3)?,
                        })
                    })
                    .await?;
                if let Some(s) = spent {
                    return Ok(s);
                }
                let state = c
                    .query_opt(sql::AUTH_CODE_STATE, args![tenant, &digest], |r| {
                        Ok((
                            r.get::<Option<Timestamp>>(0)?,
                            r.get::<Option<FamilyId>>(1)?,
                        ))
                    })
                    .await?;
                match state {
                    Some((Some(_), family)) => {
                        if let Some(f) = family {
                            c.execute(sql::REVOKE_FAMILY, args![now, tenant, f]).await?;
                        }
                        Ok(CodeOutcome::Reused)
                    }
                    _ => Ok(CodeOutcome::Invalid),
                }
            })
        })
        .await
    }

    async fn insert_code_session(&self, session: &NewSession, code: &[u8; 32]) -> Result<()> {
        let (s, code) = (session.clone(), *code);
        self.write(move |c| {
            Box::pin(async move {
                insert_session(c, &s).await?;
                c.execute(
                    sql::SET_AUTH_CODE_FAMILY,
                    args![s.family_id, s.tenant_id, &code],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
    ) -> Result<Option<Timestamp>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::HAS_CONSENT, args![tenant, user, client], |r| r.get(0))
                    .await
            })
        })
        .await
    }

    async fn insert_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<()> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::INSERT_CONSENT, args![tenant, user, client, now])
                    .await?;
                if n > 0 {
                    append_log(c, &log).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn consents(&self, tenant: TenantId, user: UserId) -> Result<Vec<Consent>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::CONSENTS_OF, args![tenant, user], |r| {
                    Ok(Consent {
                        client_id: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                })
                .await
            })
        })
        .await
    }

    async fn revoke_consent(
        &self,
        tenant: TenantId,
        user: UserId,
        client: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::DELETE_CONSENT, args![tenant, user, client])
                    .await?;
                if n == 0 {
                    return Ok(false);
                }
                c.execute(sql::REVOKE_APP_SESSIONS, args![now, tenant, user, client])
                    .await?;
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }
}
