//! `/auth/*`: login, token refresh, logout, password reset.

use crate::AppState;
use crate::extract::{ApiJson, ClientIp, Unsettled};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use strongroom_core::TokenPair;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's slug.
    tenant: String,
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
    /// The second factor's current code, or an unused recovery code (accounts with an active
    /// factor; without it they answer 401 `totp_required`).
    #[schema(max_length = 64)]
    totp: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    access_token: String,
    refresh_token: String,
    /// Always `Bearer`.
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
}

impl From<TokenPair> for TokenResponse {
    fn from(p: TokenPair) -> Self {
        Self {
            access_token: p.access_token.expose_secret().to_owned(),
            refresh_token: p.refresh_token.expose_secret().to_owned(),
            token_type: "Bearer",
            expires_in: p.expires_in,
        }
    }
}

/// Log in with e-mail and password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse),
              (status = 401, description = "wrong password or unknown e-mail (indistinguishable), a wrong or reused second-factor code (`invalid_credentials`), or the code missing (`totp_required`)", body = ProblemBody),
              (status = 423, description = "account blocked after too many wrong passwords", body = ProblemBody),
              (status = 429, description = "too many attempts from this address", body = ProblemBody)))]
pub async fn login(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let pair = s
        .services
        .login_with_code(
            &req.tenant,
            &req.email,
            req.password,
            req.totp.as_deref(),
            ip,
        )
        .await?;
    Ok(Json(pair.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[schema(value_type = String)]
    refresh_token: SecretString,
}

/// Exchange a refresh token for a new pair; the old refresh token is spent.
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 400, description = "unknown, spent or expired token; a spent token revokes its whole family", body = ProblemBody)))]
pub async fn refresh(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    Ok(Json(s.services.refresh(&req.refresh_token).await?.into()))
}

/// End this session: its access and refresh tokens stop working.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ProblemBody)))]
pub async fn logout(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
) -> Result<StatusCode, Problem> {
    s.services.logout(&p).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForgotRequest {
    tenant: String,
    email: String,
}

/// Ask for a password-reset mail. Always 202, whether or not the account exists.
#[utoipa::path(post, path = "/api/v1/auth/forgot", tag = "auth", request_body = ForgotRequest,
    responses((status = 202), (status = 429, body = ProblemBody)))]
pub async fn forgot(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ForgotRequest>,
) -> Result<StatusCode, Problem> {
    s.services.forgot(req.tenant, req.email, ip)?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    #[schema(value_type = String)]
    token: SecretString,
    /// 8 to 128 characters, not one of the 10 000 most common passwords.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    new_password: SecretString,
}

/// Set a new password with the token from the reset mail; unblocks the account, ends all sessions.
#[utoipa::path(post, path = "/api/v1/auth/reset", tag = "auth", request_body = ResetRequest,
    responses((status = 204), (status = 400, description = "unknown, used or expired token", body = ProblemBody),
              (status = 422, description = "password too short, too long or too common", body = ProblemBody)))]
pub async fn reset(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<ResetRequest>,
) -> Result<StatusCode, Problem> {
    s.services.reset(&req.token, req.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
