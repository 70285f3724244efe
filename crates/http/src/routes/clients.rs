//! `/clients`: the tenant's integration clients (administrators): create with scopes (the
//! secret shown once), list (paged), read, rotate the secret with an overlap, delete.

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller, ClientIp};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use strongroom_core::clients::ClientView;
use strongroom_domain::{ClientId, ClientKind, Timestamp, UserId};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// What the program is, as administrators and the privacy log name it.
    #[schema(min_length = 1, max_length = 100)]
    name: String,
    /// `confidential` (the default): an integration client with a secret and scopes;
    /// `public`: an app of this tenant that signs people in (authorization code with PKCE).
    #[serde(default)]
    kind: Option<ClientKind>,
    /// A confidential client's: `records:read:<collection>`, `records:write:<collection>`,
    /// `files:read:<collection>`, `files:write:<collection>`, `users:read`, `privacy-log:read`.
    #[schema(min_items = 1, max_items = 64)]
    #[serde(default)]
    scopes: Option<Vec<String>>,
    /// A public client's redirect URIs: `https://…`, `http://127.0.0.1/…` (any port at the
    /// authorization), or a private-use scheme `com.example.app:/…` (RFC 8252).
    #[schema(min_items = 1, max_items = 10)]
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedClientResponse {
    id: ClientId,
    /// The identifier the program presents at `POST /oauth/token`.
    client_id: String,
    /// A confidential client's secret: shown this once; only its digest is stored. A public
    /// client has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ClientResponse {
    id: ClientId,
    client_id: String,
    name: String,
    kind: ClientKind,
    scopes: Vec<String>,
    /// A public client's redirect URIs.
    redirect_uris: Vec<String>,
    created_by: UserId,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// During a rotation: until when the previous secret still works.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    previous_secret_until: Option<Timestamp>,
}

impl From<ClientView> for ClientResponse {
    fn from(c: ClientView) -> Self {
        Self {
            id: c.id,
            client_id: c.client_id,
            name: c.name,
            kind: c.kind,
            scopes: c.scopes,
            redirect_uris: c.redirect_uris,
            created_by: c.created_by,
            created_at: c.created_at,
            previous_secret_until: c.previous_secret_until,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClientListParams {
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page.
    after: Option<ClientId>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateSecretRequest {
    /// How long the current secret keeps working beside the new one: 0 (the default) to
    /// 86400 seconds.
    #[schema(minimum = 0, maximum = 86400)]
    #[serde(default)]
    overlap_seconds: u64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RotatedSecretResponse {
    /// Shown this once.
    client_secret: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    previous_secret_until: Timestamp,
}

/// Create an integration client with scopes (its secret shown once), or a public client (an
/// app with redirect URIs, `kind: public`), administrators.
#[utoipa::path(post, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), request_body = CreateClientRequest,
    responses((status = 201, body = CreatedClientResponse), (status = 400, body = ProblemBody)))]
pub async fn create_client(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateClientRequest>,
) -> Result<(StatusCode, Json<CreatedClientResponse>), Problem> {
    let bad = |d: &str| Problem::new(crate::problem::Code::InvalidInput, d.to_owned());
    let created = match req.kind.unwrap_or(ClientKind::Confidential) {
        ClientKind::Confidential => {
            if req.redirect_uris.is_some() {
                return Err(bad(
                    "redirect_uris: only a public client (kind: public) has them",
                ));
            }
            let scopes = req.scopes.ok_or_else(|| bad("scopes: required"))?;
            let c = s
                .services
                .create_client(&p, Some(ip), &req.name, &scopes)
                .await?;
            CreatedClientResponse {
                id: c.id,
                client_id: c.client_id,
                client_secret: Some(c.client_secret.expose_secret().to_owned()),
            }
        }
        ClientKind::Public => {
            if req.scopes.is_some() {
                return Err(bad(
                    "scopes: a public client has none (it acts as the person who signs in)",
                ));
            }
            let uris: Vec<String> = req
                .redirect_uris
                .ok_or_else(|| bad("redirect_uris: required for a public client"))?;
            let c = s
                .services
                .create_public_client(&p, Some(ip), &req.name, &uris)
                .await?;
            CreatedClientResponse {
                id: c.id,
                client_id: c.client_id,
                client_secret: None,
            }
        }
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// The tenant's integration clients, newest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/clients", tag = "clients", security(("bearer" = [])), params(ClientListParams),
    responses((status = 200, body = [ClientResponse],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page")))))]
pub async fn list_clients(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<ClientListParams>,
) -> Result<Response, Problem> {
    let limit = crate::routes::paging::limit(q.limit)?;
    // One more than the page: whether a next page exists.
    let page: Vec<ClientResponse> = s
        .services
        .list_clients(&p, q.after, limit + 1)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/clients",
        limit,
        page,
        Vec::new(),
        |c| c.id.0,
    ))
}

/// One integration client.
#[utoipa::path(get, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])), params(("id" = ClientId, Path)),
    responses((status = 200, body = ClientResponse)))]
pub async fn get_client(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<ClientId>,
) -> Result<Json<ClientResponse>, Problem> {
    Ok(Json(s.services.client_view(&p, id).await?.into()))
}

/// Delete an integration client: its live tokens stop at once.
#[utoipa::path(delete, path = "/api/v1/clients/{id}", tag = "clients", security(("bearer" = [])), params(("id" = ClientId, Path)),
    responses((status = 204)))]
pub async fn delete_client(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<ClientId>,
) -> Result<StatusCode, Problem> {
    s.services.delete_client(&p, Some(ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new secret for a client; the current one keeps working for `overlap_seconds`.
#[utoipa::path(post, path = "/api/v1/clients/{id}/secret", tag = "clients", security(("bearer" = [])), params(("id" = ClientId, Path)),
    request_body = RotateSecretRequest,
    responses((status = 200, body = RotatedSecretResponse), (status = 400, body = ProblemBody)))]
pub async fn rotate_client_secret(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<ClientId>,
    ApiJson(req): ApiJson<RotateSecretRequest>,
) -> Result<Json<RotatedSecretResponse>, Problem> {
    let r = s
        .services
        .rotate_client_secret(&p, Some(ip), id, req.overlap_seconds)
        .await?;
    Ok(Json(RotatedSecretResponse {
        client_secret: r.client_secret.expose_secret().to_owned(),
        previous_secret_until: r.previous_secret_until,
    }))
}
