//! Extractors that turn every kind of bad request into a problem, and establish the caller.

use crate::AppState;
use crate::problem::Problem;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use strongroom_core::Principal;

/// A JSON body; malformed, mistyped, oversize or non-JSON bodies become 4xx problems.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_problem(&rejection)),
        }
    }
}

fn json_problem(r: &JsonRejection) -> Problem {
    match r {
        JsonRejection::JsonSyntaxError(e) => Problem::new(
            "malformed_json",
            format!("the body is not valid JSON: {}", source_text(e)),
        ),
        JsonRejection::JsonDataError(e) => Problem::new("invalid_field", source_text(e)),
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            "unsupported_media_type",
            "send the body as JSON with 'Content-Type: application/json'",
        ),
        JsonRejection::BytesRejection(e)
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE =>
        {
            Problem::new(
                "payload_too_large",
                format!(
                    "the body is larger than the limit of {} bytes",
                    crate::JSON_BODY_LIMIT
                ),
            )
        }
        other => Problem::new("invalid_input", other.body_text()),
    }
}

/// serde's own message (e.g. "missing field `email` at line 1 column 2"), without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut inner: &dyn std::error::Error = e;
    while let Some(s) = inner.source() {
        inner = s;
    }
    inner.to_string()
}

/// A query string; an unparseable one is a 400 problem saying which parameter is wrong.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| Self(v))
            .map_err(|e| Problem::new("invalid_input", source_text(&e)))
    }
}

/// A path parameter; one that does not parse (e.g. a malformed id) names nothing that exists.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(Problem::new("not_found", "no such resource"))
            }
            Err(other) => Err(Problem::new("invalid_input", other.body_text())),
        }
    }
}

/// The authenticated caller, from `Authorization: Bearer <access token>`. A caller who must
/// still change their initial password is refused here (`password_change_required`).
pub struct Caller(pub Principal);

/// The authenticated caller, also one who must still change their initial password: only
/// for `GET /me` (and its own views), the password change and logout.
pub struct Unsettled(pub Principal);

fn bearer(parts: &Parts) -> Result<&str, Problem> {
    parts
        .headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(|| {
            Problem::new(
                "unauthenticated",
                "send 'Authorization: Bearer <access_token>'",
            )
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        state
            .services
            .authenticate(token)
            .await
            .map(Caller)
            .map_err(Problem::from)
    }
}

impl FromRequestParts<AppState> for Unsettled {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        state
            .services
            .authenticate_unsettled(token)
            .await
            .map(Unsettled)
            .map_err(Problem::from)
    }
}

/// The client's address: the TCP peer, or behind a trusted proxy the address it appended
/// last to `X-Forwarded-For`.
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if state.behind_proxy {
            let forwarded = parts
                .headers
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .filter_map(|s| s.trim().parse::<IpAddr>().ok())
                .next_back();
            if let Some(ip) = forwarded {
                return Ok(Self(ip));
            }
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        Ok(Self(peer))
    }
}
