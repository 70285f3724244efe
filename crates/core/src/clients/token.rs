//! The token endpoint's side (`POST /oauth/token`, client credentials): the client is
//! authenticated by its secret (a digest compared in constant time with the current one and,
//! during a rotation, the previous one), the scopes asked for must be among the client's, and
//! a 15-minute token carrying exactly those is stored as its digest.
//!
//! Throttling never locks a client out: a 256-bit secret cannot be guessed, so failures are
//! not counted against the client (that would let anyone who knows a client id shut the
//! integration out). Every request counts against its address; tokens issued count against
//! their client, so a runaway integration cannot flood the store.

use crate::{CoreError, Services};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use strongroom_crypto::{Token, TokenKind, ct_eq, digest_of, parse_client_identifier};
use strongroom_domain::{ClientId, Scopes, TenantId, TenantStatus};
use strongroom_store::NewClientToken;

/// How long a client's access token lives.
pub const CLIENT_TOKEN_TTL: Duration = Duration::from_mins(15);

/// Why a token request is refused, as RFC 6749 §5.2 names it.
#[derive(Debug)]
pub enum TokenError {
    /// Unknown client, wrong secret, deleted client or closed tenant (one answer for all).
    InvalidClient,
    /// A scope that is malformed or not granted to the client.
    InvalidScope(String),
    /// An authorization code or refresh token that is unknown, spent, expired, or bound to
    /// something else.
    InvalidGrant(String),
    /// A parameter missing or malformed.
    InvalidRequest(String),
    Throttled {
        retry_after_secs: u64,
    },
    Core(CoreError),
}

impl From<CoreError> for TokenError {
    fn from(e: CoreError) -> Self {
        TokenError::Core(e)
    }
}

impl From<strongroom_store::StoreError> for TokenError {
    fn from(e: strongroom_store::StoreError) -> Self {
        TokenError::Core(e.into())
    }
}

/// An issued token.
pub struct ClientToken {
    pub access_token: SecretString,
    pub expires_in: u64,
    pub scope: String,
}

/// The token endpoint's limits: requests per address, tokens per client.
pub struct ClientThrottle {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_client: DefaultKeyedRateLimiter<ClientId>,
    checks: AtomicU32,
}

fn quota(per_minute: u32) -> Quota {
    let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

type Instant = <DefaultClock as governor::clock::Clock>::Instant;

fn throttled(not_until: &governor::NotUntil<Instant>) -> TokenError {
    TokenError::Throttled {
        retry_after_secs: not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1),
    }
}

impl ClientThrottle {
    pub fn new(requests_per_address: u32, tokens_per_client: u32) -> Self {
        Self {
            by_address: governor::RateLimiter::keyed(quota(requests_per_address)),
            by_client: governor::RateLimiter::keyed(quota(tokens_per_client)),
            checks: AtomicU32::new(0),
        }
    }

    fn address(&self, ip: IpAddr) -> Result<(), TokenError> {
        // Now and then, forget the keys whose budget is full again: memory stays bounded by
        // the addresses and clients of the last minute.
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(4096)
        {
            self.by_address.retain_recent();
            self.by_client.retain_recent();
        }
        self.by_address.check_key(&ip).map_err(|n| throttled(&n))
    }

    fn client(&self, id: ClientId) -> Result<(), TokenError> {
        self.by_client.check_key(&id).map_err(|n| throttled(&n))
    }
}

impl Services {
    /// `POST /oauth/token` with `grant_type=client_credentials`: a token for the client,
    /// with the scopes asked for (all of the client's when none are named).
    pub async fn client_token(
        &self,
        client_id: &str,
        secret: &SecretString,
        scope: Option<&str>,
        ip: IpAddr,
    ) -> Result<ClientToken, TokenError> {
        self.client_throttle.address(ip)?;
        let (tenant, id) = parse_client_identifier(client_id).ok_or(TokenError::InvalidClient)?;
        let tenant = TenantId(uuid::Uuid::from_bytes(tenant));
        let id = ClientId(uuid::Uuid::from_bytes(id));
        let now = self.clock.now();
        let live_tenant = self
            .store
            .tenant_by_id(tenant)
            .await?
            .is_some_and(|t| t.status == TenantStatus::Active);
        let client = match self.store.client(tenant, id).await? {
            Some(c) if live_tenant && c.deleted_at.is_none() => c,
            _ => return Err(TokenError::InvalidClient),
        };
        let presented = digest_of(secret.expose_secret()).0;
        let current = client.secret_digest.is_some_and(|d| ct_eq(&d, &presented));
        let previous = client
            .previous_digest
            .is_some_and(|d| ct_eq(&d, &presented))
            && client.previous_until.is_some_and(|u| u > now);
        if !(current || previous) {
            tracing::warn!(tenant = %tenant, client = %id.0, "token request with a wrong client secret");
            return Err(TokenError::InvalidClient);
        }
        let scopes = match scope.map(str::trim).filter(|s| !s.is_empty()) {
            None => client.scopes.clone(),
            Some(s) => {
                let asked = Scopes::parse(s).map_err(TokenError::InvalidScope)?;
                if !asked.is_subset(&client.scopes) {
                    let missing: Vec<String> = asked
                        .0
                        .difference(&client.scopes.0)
                        .map(ToString::to_string)
                        .collect();
                    return Err(TokenError::InvalidScope(format!(
                        "not granted to this client: {}",
                        missing.join(" ")
                    )));
                }
                asked
            }
        };
        self.client_throttle.client(id)?;
        let token = Token::issue(TokenKind::ClientAccess, tenant.as_bytes());
        self.store
            .insert_client_token(&NewClientToken {
                tenant_id: tenant,
                digest: token.digest.0,
                client_id: id,
                scopes: scopes.clone(),
                expires_at: now + CLIENT_TOKEN_TTL,
                created_at: now,
            })
            .await?;
        Ok(ClientToken {
            access_token: token.secret,
            expires_in: CLIENT_TOKEN_TTL.as_secs(),
            scope: scopes.to_string(),
        })
    }
}
