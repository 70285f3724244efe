//! Integration clients as stored: the client (name, scopes, secret digests, the previous
//! secret during a rotation), its access tokens (digests, with the scopes each grants), and the
//! caller behind a token. Deleting a client removes its tokens in the same transaction, and the
//! token lookup joins a live client, so a deleted client's tokens stop at once.

pub mod oauth;

pub use oauth::OAuthStore;

use crate::exec::{Backend, Exec, Row, args};
use crate::privacy::append_log;
use crate::{ChangeLog, ClientCaller, ClientRow, NewClientToken, Result, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{ClientId, ClientKind, Scopes, TenantId, Timestamp};

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// Stores a new client with its change's privacy-log entry.
    async fn insert_client(&self, client: &ClientRow, log: &ChangeLog) -> Result<()>;
    /// A client, live or deleted (a deleted one has no secrets).
    async fn client(&self, tenant: TenantId, id: ClientId) -> Result<Option<ClientRow>>;
    /// A page of live clients, newest first, with ids below `before` (`None`: from the newest).
    async fn list_clients(
        &self,
        tenant: TenantId,
        before: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientRow>>;
    /// Deletes a live client and its tokens; `false` if there was none.
    async fn delete_client(
        &self,
        tenant: TenantId,
        id: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// Replaces a live client's secret; the previous one works until `previous_until`.
    async fn rotate_client_secret(
        &self,
        tenant: TenantId,
        id: ClientId,
        digest: &[u8; 32],
        previous_until: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// Stores a token, and drops the client's expired ones.
    async fn insert_client_token(&self, token: &NewClientToken) -> Result<()>;
    /// The client behind a live token, with the tenant's policy version.
    async fn client_by_token(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(ClientCaller, u64)>>;
}

fn scopes(r: &dyn Row, i: usize) -> Result<Scopes> {
    Scopes::parse(&r.get::<String>(i)?).map_err(|_| rows::corrupt("client scopes"))
}

fn client_row(r: &dyn Row) -> Result<ClientRow> {
    Ok(ClientRow {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        name: r.get(2)?,
        scopes: scopes(r, 3)?,
        secret_digest: r.get(4)?,
        previous_digest: r.get(5)?,
        previous_until: r.get(6)?,
        created_by: r.get(7)?,
        created_at: r.get(8)?,
        deleted_at: r.get(9)?,
        kind: ClientKind::parse(&r.get::<String>(10)?)
            .ok_or_else(|| rows::corrupt("client kind"))?,
        redirect_uris: r.get::<String>(11)?.lines().map(str::to_owned).collect(),
    })
}

#[async_trait]
impl<B: Backend> ClientStore for B {
    async fn insert_client(&self, client: &ClientRow, log: &ChangeLog) -> Result<()> {
        let (k, log) = (client.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let uris = k.redirect_uris.join("\n");
                c.execute(
                    sql::INSERT_CLIENT,
                    args![
                        k.tenant_id,
                        k.id,
                        k.name.as_str(),
                        k.scopes.to_string().as_str(),
                        k.secret_digest.as_ref().map(|d| &d[..]),
                        k.created_by,
                        k.created_at,
                        k.kind.as_str(),
                        uris.as_str()
                    ],
                )
                .await
                .map_err(crate::exec::named("client"))?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn client(&self, tenant: TenantId, id: ClientId) -> Result<Option<ClientRow>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::CLIENT_BY_ID, args![tenant, id], client_row)
                    .await
            })
        })
        .await
    }

    async fn list_clients(
        &self,
        tenant: TenantId,
        before: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientRow>> {
        // The greatest id there can be stands for "from the newest".
        let before = before.unwrap_or(ClientId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::LIST_CLIENTS, args![tenant, before, limit], client_row)
                    .await
            })
        })
        .await
    }

    async fn delete_client(
        &self,
        tenant: TenantId,
        id: ClientId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(sql::DELETE_CLIENT, args![now, tenant, id])
                    .await?
                    == 0
                {
                    return Ok(false);
                }
                c.execute(sql::DELETE_CLIENT_TOKENS, args![tenant, id])
                    .await?;
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn rotate_client_secret(
        &self,
        tenant: TenantId,
        id: ClientId,
        digest: &[u8; 32],
        previous_until: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (digest, log) = (*digest, log.clone());
        self.write(move |c| {
            Box::pin(async move {
                if c.execute(
                    sql::ROTATE_CLIENT_SECRET,
                    args![previous_until, &digest, tenant, id],
                )
                .await?
                    == 0
                {
                    return Ok(false);
                }
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn insert_client_token(&self, t: &NewClientToken) -> Result<()> {
        let t = t.clone();
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::DELETE_EXPIRED_CLIENT_TOKENS,
                    args![t.tenant_id, t.client_id, t.created_at],
                )
                .await?;
                c.execute(
                    sql::INSERT_CLIENT_TOKEN,
                    args![
                        t.tenant_id,
                        &t.digest,
                        t.client_id,
                        t.scopes.to_string().as_str(),
                        t.expires_at,
                        t.created_at
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn client_by_token(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<(ClientCaller, u64)>> {
        let digest = *digest;
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::CLIENT_BY_TOKEN, args![tenant, &digest, now], |r| {
                    Ok((
                        ClientCaller {
                            id: r.get(0)?,
                            scopes: scopes(r, 1)?,
                        },
                        r.get(2)?,
                    ))
                })
                .await
            })
        })
        .await
    }
}
