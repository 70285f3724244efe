//! Integration clients: programs that act in a tenant with scopes (OAuth 2.0 client
//! credentials, RFC 6749 §4.4). An administrator creates, lists, rotates and deletes them
//! (`manageTenant`: a client is a security setting of the tenant, and every change is a
//! privacy-log entry); `token` is the token endpoint's side. The client as a principal —
//! its scopes deciding at levels 2 to 4 — is in `access` (the `Client` entity and the base
//! layer's client policies).

pub mod apps;
pub mod authorize;
pub mod token;

pub use apps::*;
pub use authorize::*;
pub use token::*;

use crate::access::Action;
use crate::privacy::CLIENT_OBJECT;
use crate::{CoreError, Principal, Services};
use secrecy::SecretString;
use std::net::IpAddr;
use strongroom_crypto::{Token, TokenKind, client_identifier};
use strongroom_domain::{ClientId, Scopes, Timestamp, UserId};
use strongroom_store::ClientRow;

/// A client's name: 1 to 100 characters, no control characters.
pub const MAX_CLIENT_NAME: usize = 100;

/// The longest a rotated secret keeps working beside the new one.
pub const MAX_ROTATION_OVERLAP_SECS: u64 = 24 * 3600;

/// A client just created: the secret is shown this once.
pub struct CreatedClient {
    pub id: ClientId,
    pub client_id: String,
    pub client_secret: SecretString,
}

/// A client as administrators see it (never a secret).
pub struct ClientView {
    pub id: ClientId,
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub kind: strongroom_domain::ClientKind,
    /// A public client's redirect URIs.
    pub redirect_uris: Vec<String>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// Until when the previous secret still works, during a rotation.
    pub previous_secret_until: Option<Timestamp>,
}

/// A new secret: shown once; the previous one works until `previous_secret_until`.
pub struct RotatedSecret {
    pub client_secret: SecretString,
    pub previous_secret_until: Timestamp,
}

impl ClientView {
    pub(crate) fn of(c: ClientRow, now: Timestamp) -> Self {
        Self {
            client_id: client_identifier(c.tenant_id.as_bytes(), c.id.as_bytes()),
            id: c.id,
            name: c.name,
            scopes: c.scopes.names(),
            kind: c.kind,
            redirect_uris: c.redirect_uris,
            created_by: c.created_by,
            created_at: c.created_at,
            previous_secret_until: c.previous_until.filter(|u| *u > now),
        }
    }
}

impl Services {
    /// `POST /clients`: a new client with its scopes; every collection a scope names must
    /// exist. Returns the secret once (only its digest is stored).
    pub async fn create_client(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        name: &str,
        scopes: &[String],
    ) -> Result<CreatedClient, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let name = strongroom_domain::free_text(
            "name",
            name,
            MAX_CLIENT_NAME,
            strongroom_domain::TextKind::Line,
        )?;
        let scopes = Scopes::from_list(scopes.iter().map(String::as_str))
            .map_err(|e| CoreError::Invalid(format!("scopes: {e}")))?;
        if scopes.is_empty() {
            return Err(CoreError::Invalid("scopes: at least one".into()));
        }
        for c in scopes
            .0
            .iter()
            .filter_map(strongroom_domain::Scope::collection)
        {
            if self
                .store
                .collection_by_name(p.tenant_id, c)
                .await?
                .is_none()
            {
                return Err(CoreError::Invalid(format!(
                    "scopes: there is no collection {c:?} in this tenant"
                )));
            }
        }
        let id = ClientId::new();
        let secret = Token::issue(TokenKind::ClientSecret, p.tenant_id.as_bytes());
        let row = ClientRow {
            tenant_id: p.tenant_id,
            id,
            name: name.clone(),
            scopes: scopes.clone(),
            secret_digest: Some(secret.digest.0),
            previous_digest: None,
            previous_until: None,
            created_by: p.user_id,
            created_at: self.clock.now(),
            deleted_at: None,
            kind: strongroom_domain::ClientKind::Confidential,
            redirect_uris: Vec::new(),
        };
        let log = self
            .client_change(
                p,
                ip,
                id,
                "create",
                vec![format!("name: {name}"), format!("scopes: {scopes}")],
            )
            .await?;
        self.store.insert_client(&row, &log).await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, client = %id.0, "integration client created");
        Ok(CreatedClient {
            id,
            client_id: client_identifier(p.tenant_id.as_bytes(), id.as_bytes()),
            client_secret: secret.secret,
        })
    }

    /// `GET /clients`: a page of the tenant's clients, newest first.
    pub async fn list_clients(
        &self,
        p: &Principal,
        after: Option<ClientId>,
        limit: u32,
    ) -> Result<Vec<ClientView>, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let now = self.clock.now();
        Ok(self
            .store
            .list_clients(p.tenant_id, after, limit)
            .await?
            .into_iter()
            .map(|c| ClientView::of(c, now))
            .collect())
    }

    /// `GET /clients/{id}`.
    pub async fn client_view(&self, p: &Principal, id: ClientId) -> Result<ClientView, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        match self.store.client(p.tenant_id, id).await? {
            Some(c) if c.deleted_at.is_none() => Ok(ClientView::of(c, self.clock.now())),
            _ => Err(CoreError::NotFound("client")),
        }
    }

    /// `DELETE /clients/{id}`: the client and every token of it stop at once.
    pub async fn delete_client(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: ClientId,
    ) -> Result<(), CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let log = self.client_change(p, ip, id, "delete", Vec::new()).await?;
        if !self
            .store
            .delete_client(p.tenant_id, id, self.clock.now(), &log)
            .await?
        {
            return Err(CoreError::NotFound("client"));
        }
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, client = %id.0, "integration client deleted");
        Ok(())
    }

    /// `POST /clients/{id}/secret`: a new secret; the current one keeps working for
    /// `overlap_secs` (at most a day), so the integration can switch without a gap.
    pub async fn rotate_client_secret(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: ClientId,
        overlap_secs: u64,
    ) -> Result<RotatedSecret, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        if overlap_secs > MAX_ROTATION_OVERLAP_SECS {
            return Err(CoreError::Invalid(format!(
                "overlap_seconds: at most {MAX_ROTATION_OVERLAP_SECS} (24 hours)"
            )));
        }
        if self
            .store
            .client(p.tenant_id, id)
            .await?
            .is_some_and(|c| c.kind == strongroom_domain::ClientKind::Public)
        {
            return Err(CoreError::Invalid(
                "a public client (an app) has no secret to rotate".into(),
            ));
        }
        let until = self.clock.now() + std::time::Duration::from_secs(overlap_secs);
        let secret = Token::issue(TokenKind::ClientSecret, p.tenant_id.as_bytes());
        let log = self
            .client_change(
                p,
                ip,
                id,
                "rotate_secret",
                vec![format!("overlap_seconds: {overlap_secs}")],
            )
            .await?;
        if !self
            .store
            .rotate_client_secret(p.tenant_id, id, &secret.digest.0, until, &log)
            .await?
        {
            return Err(CoreError::NotFound("client"));
        }
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, client = %id.0, overlap_secs, "client secret rotated");
        Ok(RotatedSecret {
            client_secret: secret.secret,
            previous_secret_until: until,
        })
    }

    /// The privacy-log entry of a change to a client (what changed; never a secret).
    async fn client_change(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        id: ClientId,
        action: &str,
        fields: Vec<String>,
    ) -> Result<strongroom_store::ChangeLog, CoreError> {
        self.change_log(
            &Self::actor(p),
            ip,
            "administrator",
            None,
            (CLIENT_OBJECT, Some(id.0)),
            action,
            fields,
        )
        .await
    }
}
