//! The OAuth authorization server's token endpoint, at the root (not under `/api/v1`, where
//! OAuth clients do not look): `POST /oauth/token` with the client credentials grant of
//! integration clients (RFC 6749 §4.4; HTTP Basic or form fields, §2.3.1), and the
//! authorization code (with PKCE) and refresh token grants of apps (public clients, OAuth
//! 2.1); errors as §5.2 JSON; and its metadata (RFC 8414). The authorization endpoint is a
//! console page (`console/authorize.rs`).

use crate::extract::ClientIp;
use crate::problem::{OAuthError, OAuthErrorBody, ProblemBody};
use crate::{AppState, OverTls};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

/// Largest token request body (a handful of short fields).
const TOKEN_BODY_LIMIT: usize = 8 * 1024;

/// The form of a token request (documentation; the handler reads the fields itself, so that
/// every error is an RFC 6749 one).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TokenRequestForm {
    /// `client_credentials` (integration clients), `authorization_code` or `refresh_token`
    /// (apps, for the person who signed in).
    grant_type: String,
    /// `authorization_code`: the code from the redirect.
    code: Option<String>,
    /// `authorization_code`: the redirect URI of the authorization request, exactly.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (43 to 128 characters).
    code_verifier: Option<String>,
    /// `refresh_token`: the refresh token (spent by the exchange).
    refresh_token: Option<String>,
    /// Space-separated scopes, all of them the client's; absent: every scope of the client.
    scope: Option<String>,
    /// With `client_secret`, instead of HTTP Basic; an app (public client) sends it alone.
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until the token expires (900).
    expires_in: u64,
    /// The scopes granted, space-separated.
    scope: String,
}

/// A token for an integration client (client credentials grant, RFC 6749 §4.4).
#[utoipa::path(post, path = "/oauth/token", tag = "oauth",
    request_body(content = TokenRequestForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "an integration client's token (`client_credentials`: `TokenResponse`), or a person's access and refresh tokens (`authorization_code`, `refresh_token`: as `POST /api/v1/auth/login`)", body = TokenResponse,
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type`, `invalid_scope`, or `invalid_grant` (a code that is unknown, spent, expired, for another app or redirect URI, or whose verifier does not match; a spent refresh token)", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`", body = OAuthErrorBody,
            headers(("WWW-Authenticate" = String, description = "`Basic realm=\"strongroom\"` when the client used HTTP Basic"))),
        (status = 429, description = "`slow_down`: too many requests from this address, or tokens for this client", body = OAuthErrorBody,
            headers(("Retry-After" = u64, description = "seconds"))),
        (status = 500, body = ProblemBody, content_type = "application/problem+json")))]
pub async fn oauth_token(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match token(&s, ip, &headers, body).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn token(
    s: &AppState,
    ip: std::net::IpAddr,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(OAuthError::invalid_request(
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    let bytes = axum::body::to_bytes(body, TOKEN_BODY_LIMIT)
        .await
        .map_err(|_| OAuthError::invalid_request("the request body is too large or unreadable"))?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
        .map_err(|_| OAuthError::invalid_request("the body is not a valid form"))?;
    let field = |name: &str| one(&pairs, name);
    match field("grant_type")? {
        None => return Err(OAuthError::invalid_request("grant_type: required")),
        Some("client_credentials") => {}
        Some(g @ ("authorization_code" | "refresh_token")) => {
            return app_grant(s, headers, g, &pairs).await;
        }
        Some(_) => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type: client_credentials, authorization_code or refresh_token",
            ));
        }
    }
    let basic = basic_credentials(headers)?;
    let (form_id, form_secret) = (field("client_id")?, field("client_secret")?);
    let used_basic = basic.is_some();
    let (client_id, secret) = match (basic, form_id, form_secret) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(OAuthError::invalid_request(
                "authenticate the client one way only: HTTP Basic or the form fields",
            ));
        }
        (Some((id, secret)), None, None) => (id, secret),
        (None, Some(id), Some(secret)) => (id.to_owned(), SecretString::from(secret.to_owned())),
        _ => {
            return Err(OAuthError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "authenticate the client: HTTP Basic, or client_id and client_secret",
            ));
        }
    };
    let issued = s
        .services
        .client_token(&client_id, &secret, field("scope")?, ip)
        .await
        .map_err(|e| OAuthError {
            basic: used_basic,
            ..OAuthError::from(e)
        })?;
    let mut resp = Json(TokenResponse {
        access_token: issued.access_token.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: issued.scope,
    })
    .into_response();
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    Ok(resp)
}

/// A form field given at most once.
fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, OAuthError> {
    let mut values = pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() {
        return Err(OAuthError::invalid_request(format!(
            "{name}: given more than once"
        )));
    }
    Ok(first)
}

/// The grants of apps (public clients): an authorization code with its PKCE verifier, or a
/// refresh token; the answer is a person's token pair.
async fn app_grant(
    s: &AppState,
    headers: &HeaderMap,
    grant: &str,
    pairs: &[(String, String)],
) -> Result<Response, OAuthError> {
    let need = |name: &str| {
        one(pairs, name)?.ok_or_else(|| OAuthError::invalid_request(format!("{name}: required")))
    };
    let pair = if grant == "authorization_code" {
        if headers.contains_key(header::AUTHORIZATION) || one(pairs, "client_secret")?.is_some() {
            return Err(OAuthError::invalid_request(
                "apps are public clients: send client_id only, no secret",
            ));
        }
        s.services
            .exchange_code(
                need("code")?,
                need("client_id")?,
                need("redirect_uri")?,
                need("code_verifier")?,
            )
            .await?
    } else {
        s.services
            .refresh(&SecretString::from(need("refresh_token")?.to_owned()))
            .await
            .map_err(|_| {
                OAuthError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the refresh token is unknown, spent or expired",
                )
            })?
    };
    Ok(session_tokens(pair))
}

/// The person's tokens from an authorization code or a refresh token: the same pair as the
/// password login (`POST /api/v1/auth/login`).
fn session_tokens(pair: strongroom_core::TokenPair) -> Response {
    let mut resp = Json(super::auth::TokenResponse::from(pair)).into_response();
    resp.headers_mut()
        .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, SecretString)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let bad = || OAuthError {
        basic: true,
        ..OAuthError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "the Authorization header is not HTTP Basic client credentials",
        )
    };
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .ok_or_else(bad)?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    let unescape = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8()
            .map(std::borrow::Cow::into_owned)
            .map_err(|_| bad())
    };
    Ok(Some((unescape(id)?, SecretString::from(unescape(secret)?))))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AuthorizationServerMetadata {
    issuer: String,
    /// The console's sign-in page, for apps (authorization code with PKCE).
    authorization_endpoint: String,
    token_endpoint: String,
    /// `S256` only.
    code_challenge_methods_supported: Vec<&'static str>,
    grant_types_supported: Vec<&'static str>,
    token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `code`: the authorization code flow of apps.
    response_types_supported: Vec<&'static str>,
    /// The scope forms (`<collection>` stands for a collection's name).
    scopes_supported: Vec<&'static str>,
    service_documentation: String,
}

/// The token endpoint's metadata (RFC 8414).
#[utoipa::path(get, path = "/.well-known/oauth-authorization-server", tag = "oauth",
    responses((status = 200, body = AuthorizationServerMetadata)))]
pub async fn oauth_metadata(
    headers: HeaderMap,
    tls: Option<axum::Extension<OverTls>>,
    State(s): State<AppState>,
) -> Json<AuthorizationServerMetadata> {
    let forwarded = s
        .behind_proxy
        .then(|| {
            headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
        })
        .flatten();
    let scheme = match (forwarded, tls) {
        (Some("https"), _) | (_, Some(_)) => "https",
        _ => "http",
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let issuer = format!("{scheme}://{host}");
    Json(AuthorizationServerMetadata {
        token_endpoint: format!("{issuer}/oauth/token"),
        authorization_endpoint: format!("{issuer}/oauth/authorize"),
        code_challenge_methods_supported: vec!["S256"],
        service_documentation: format!("{issuer}/openapi.json"),
        issuer,
        grant_types_supported: vec!["client_credentials", "authorization_code", "refresh_token"],
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        response_types_supported: vec!["code"],
        scopes_supported: vec![
            "records:read:<collection>",
            "records:write:<collection>",
            "files:read:<collection>",
            "files:write:<collection>",
            "users:read",
            "privacy-log:read",
        ],
    })
}
