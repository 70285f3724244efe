//! `/me/totp…` and `/users/{id}/totp`: the second factor's enrolment, confirmation, removal,
//! and an administrator's reset.

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, Caller, Person, Unsettled};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use strongroom_domain::UserId;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TotpEnrolmentResponse {
    /// The secret in base32, for typing into an authenticator app (SHA-1, 6 digits, 30 s).
    secret: String,
    /// `otpauth://totp/…`: what an app reads from a QR code.
    otpauth_uri: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotpCode {
    /// The app's current six-digit code (or, to remove the factor, an unused recovery code).
    #[schema(min_length = 1, max_length = 64)]
    code: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown this once: each replaces a code from the app once.
    recovery_codes: Vec<String>,
}

/// Start enrolling a second factor (TOTP): a new secret, pending until confirmed.
#[utoipa::path(post, path = "/api/v1/me/totp", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolmentResponse),
              (status = 409, description = "a second factor is active: remove it first", body = ProblemBody)))]
pub async fn totp_enrol(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
) -> Result<Json<TotpEnrolmentResponse>, Problem> {
    let e = s.services.totp_enrol(&p).await?;
    Ok(Json(TotpEnrolmentResponse {
        secret: e.secret.expose_secret().to_owned(),
        otpauth_uri: e.otpauth_uri.expose_secret().to_owned(),
    }))
}

/// Confirm the pending second factor with the app's current code; the factor is active from
/// now on, and the ten recovery codes are shown once.
#[utoipa::path(post, path = "/api/v1/me/totp/confirm", tag = "me", security(("bearer" = [])), request_body = TotpCode,
    responses((status = 200, body = RecoveryCodes),
              (status = 409, description = "no enrolment is pending", body = ProblemBody)))]
pub async fn totp_confirm(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<Json<RecoveryCodes>, Problem> {
    let codes = s.services.totp_confirm(&p, &req.code).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
    }))
}

/// Remove my second factor, with a current code or an unused recovery code.
#[utoipa::path(delete, path = "/api/v1/me/totp", tag = "me", security(("bearer" = [])), request_body = TotpCode,
    responses((status = 204), (status = 404, description = "no second factor is active", body = ProblemBody)))]
pub async fn totp_remove(
    State(s): State<AppState>,
    Person(p): Person,
    ApiJson(req): ApiJson<TotpCode>,
) -> Result<StatusCode, Problem> {
    s.services.totp_remove(&p, &req.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Reset another user's second factor (administrators; the user is mailed).
#[utoipa::path(delete, path = "/api/v1/users/{id}/totp", tag = "users", security(("bearer" = [])), params(("id" = UserId, Path)),
    responses((status = 204)))]
pub async fn totp_reset(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> Result<StatusCode, Problem> {
    s.services.totp_reset(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
