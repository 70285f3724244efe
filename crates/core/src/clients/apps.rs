//! Public clients: the vendor's own apps, registered once by the operator and valid in every
//! tenant (rows under the installation's tenant id), or a tenant's own (`POST /clients` with
//! `kind: public`); each with its registered redirect URIs. The rules of RFC 8252 for native
//! apps: `https` anywhere, plain `http` only to a loopback address (whose port is not
//! compared: the app picks a free one each time), or a private-use scheme in reverse-domain
//! form (`com.example.app:/callback`).

use crate::access::Action;
use crate::privacy::CLIENT_OBJECT;
use crate::{CoreError, Principal, Services};
use std::net::IpAddr;
use strongroom_crypto::client_identifier;
use strongroom_domain::{ClientId, ClientKind, Scopes, TenantId, UserId};
use strongroom_store::ClientRow;

/// At most this many redirect URIs per app, each at most this long.
pub const MAX_REDIRECT_URIS: usize = 10;
pub const MAX_REDIRECT_URI_LEN: usize = 2000;

/// A redirect URI split for matching: a loopback one without its port.
#[derive(PartialEq, Eq)]
enum Shape<'a> {
    Loopback { host: &'a str, rest: &'a str },
    Exact(&'a str),
}

fn loopback_host(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
}

/// Where `http://host[:port]` ends: the host and what follows the port.
fn split_http(rest: &str) -> Option<(&str, &str)> {
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => {
            let port = &authority[i + 1..];
            if !port.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            &authority[..i]
        }
        _ => authority,
    };
    Some((host, tail))
}

fn shape(uri: &str) -> Option<Shape<'_>> {
    if let Some(rest) = uri.strip_prefix("http://") {
        let (host, tail) = split_http(rest)?;
        return loopback_host(host).then_some(Shape::Loopback { host, rest: tail });
    }
    Some(Shape::Exact(uri))
}

/// Checks a redirect URI for registration; the reason when it cannot be one.
pub fn check_redirect_uri(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return Err(format!("1 to {MAX_REDIRECT_URI_LEN} characters"));
    }
    if uri.chars().any(|c| c.is_whitespace() || c.is_control()) || uri.contains('#') {
        return Err("no spaces, control characters or fragment (#)".into());
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        let host = rest.split(['/', '?', ':']).next().unwrap_or_default();
        return if host.is_empty() {
            Err("an https URI needs a host".into())
        } else {
            Ok(())
        };
    }
    if let Some(rest) = uri.strip_prefix("http://") {
        return match split_http(rest) {
            Some((host, _)) if loopback_host(host) => Ok(()),
            _ => Err("plain http only to a loopback address (127.0.0.1, [::1], localhost)".into()),
        };
    }
    let Some((scheme, _)) = uri.split_once(':') else {
        return Err(
            "an absolute URI (https://…, http://127.0.0.1/…, or com.example.app:/…)".into(),
        );
    };
    let valid = scheme.contains('.')
        && scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+-.".contains(&b));
    if valid {
        Ok(())
    } else {
        Err("a private-use scheme must be a reverse domain name in lower case (com.example.app:/callback)".into())
    }
}

/// Whether a presented redirect URI is one registered: the same string, or for a loopback
/// URI the same host and path on any port (RFC 8252 §7.3).
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    match (shape(registered), shape(presented)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn redirect_uris(uris: &[String]) -> Result<Vec<String>, CoreError> {
    if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
        return Err(CoreError::Invalid(format!(
            "redirect_uris: 1 to {MAX_REDIRECT_URIS}"
        )));
    }
    for u in uris {
        check_redirect_uri(u)
            .map_err(|why| CoreError::Invalid(format!("redirect_uris: {u:?}: {why}")))?;
    }
    Ok(uris.to_vec())
}

/// A public client just registered.
pub struct RegisteredApp {
    pub id: ClientId,
    pub client_id: String,
}

fn app_row(
    tenant: TenantId,
    by: UserId,
    name: String,
    uris: Vec<String>,
    now: strongroom_domain::Timestamp,
) -> ClientRow {
    ClientRow {
        tenant_id: tenant,
        id: ClientId::new(),
        name,
        scopes: Scopes::default(),
        secret_digest: None,
        previous_digest: None,
        previous_until: None,
        created_by: by,
        created_at: now,
        deleted_at: None,
        kind: ClientKind::Public,
        redirect_uris: uris,
    }
}

fn app_name(name: &str) -> Result<String, CoreError> {
    Ok(strongroom_domain::free_text(
        "name",
        name,
        super::MAX_CLIENT_NAME,
        strongroom_domain::TextKind::Line,
    )?)
}

impl Services {
    /// `strongroom app add`: one of the vendor's own apps, valid in every tenant.
    pub async fn register_app(
        &self,
        name: &str,
        uris: &[String],
    ) -> Result<RegisteredApp, CoreError> {
        let row = app_row(
            TenantId::INSTALLATION,
            UserId(uuid::Uuid::nil()),
            app_name(name)?,
            redirect_uris(uris)?,
            self.clock.now(),
        );
        let id = row.id;
        // The installation has no privacy-log chain of its own (as operator-wide processors).
        self.store
            .insert_client(&row, &strongroom_store::ChangeLog::none())
            .await?;
        tracing::info!(client = %id.0, "operator app registered");
        Ok(RegisteredApp {
            id,
            client_id: client_identifier(TenantId::INSTALLATION.as_bytes(), id.as_bytes()),
        })
    }

    /// The operator's apps, newest first.
    pub async fn operator_apps(&self) -> Result<Vec<super::ClientView>, CoreError> {
        let now = self.clock.now();
        Ok(self
            .store
            .list_clients(TenantId::INSTALLATION, None, 500)
            .await?
            .into_iter()
            .map(|c| super::ClientView::of(c, now))
            .collect())
    }

    /// `POST /clients` with `kind: public`: a tenant's own app (no secret, no scopes: it acts
    /// as the person who signs in).
    pub async fn create_public_client(
        &self,
        p: &Principal,
        ip: Option<IpAddr>,
        name: &str,
        uris: &[String],
    ) -> Result<RegisteredApp, CoreError> {
        self.authorize(p, Action::ManageTenant).await?;
        let row = app_row(
            p.tenant_id,
            p.user_id,
            app_name(name)?,
            redirect_uris(uris)?,
            self.clock.now(),
        );
        let id = row.id;
        let log = self
            .change_log(
                &Self::actor(p),
                ip,
                "administrator",
                None,
                (CLIENT_OBJECT, Some(id.0)),
                "create",
                vec![
                    format!("name: {}", row.name),
                    "kind: public".into(),
                    format!("redirect_uris: {}", row.redirect_uris.join(" ")),
                ],
            )
            .await?;
        self.store.insert_client(&row, &log).await?;
        Ok(RegisteredApp {
            id,
            client_id: client_identifier(p.tenant_id.as_bytes(), id.as_bytes()),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn redirect_uris_follow_rfc_8252() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8123/cb",
            "http://[::1]:9/cb",
            "http://localhost/cb",
            "com.example.app:/oauth",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://app.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "https:///cb",
            "myapp:/cb",
            "https://app.example/cb#x",
            "javascript:alert(1)",
            "",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_ports_are_not_compared_and_nothing_else_is_loose() {
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:80/cb",
            "http://127.0.0.1:5/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://localhost:5/cb"
        ));
        assert!(redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb/"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example:444/cb"
        ));
        assert!(!redirect_matches(
            "com.example.app:/cb",
            "com.example.app:/cb?x"
        ));
    }
}
