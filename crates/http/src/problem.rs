//! Errors as RFC 9457 `application/problem+json`, produced here and nowhere else.
//!
//! Every problem carries a stable `code`; `type` is `/problems/<code>`, which the server also
//! serves as a description. Internal failures answer a generic 500 and are logged by the layer
//! that saw them; no problem ever carries a secret, personal data or a backend message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strongroom_core::CoreError;

/// The public error table: code, status, title. Codes are stable; add, never rename.
pub const CODES: &[(&str, u16, &str)] = &[
    ("invalid_input", 400, "The request is not valid"),
    ("malformed_json", 400, "The request body is not valid JSON"),
    (
        "invalid_field",
        422,
        "A field of the request body is missing or has the wrong type",
    ),
    ("weak_password", 422, "The new password is not acceptable"),
    ("invalid_credentials", 401, "Login failed"),
    ("unauthenticated", 401, "Authentication required"),
    ("invalid_token", 400, "Invalid token"),
    ("forbidden", 403, "Not allowed"),
    ("password_change_required", 403, "Password change required"),
    ("not_found", 404, "Not found"),
    ("method_not_allowed", 405, "Method not allowed"),
    ("conflict", 409, "Conflict"),
    ("gone", 410, "Deleted"),
    ("payload_too_large", 413, "Request body too large"),
    ("unsupported_media_type", 415, "Unsupported media type"),
    ("range_not_satisfiable", 416, "Range not satisfiable"),
    ("account_blocked", 423, "Account blocked"),
    ("too_many_requests", 429, "Too many requests"),
    ("internal", 500, "Internal error"),
];

/// A problem ready to be sent.
#[derive(Debug)]
pub struct Problem {
    pub code: &'static str,
    pub detail: String,
    pub retry_after: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// `/problems/<code>`
    #[serde(rename = "type")]
    pub type_: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable error code.
    pub code: &'static str,
}

impl Problem {
    pub fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    fn entry(&self) -> (u16, &'static str) {
        CODES
            .iter()
            .find(|(c, _, _)| *c == self.code)
            .map_or((500, "Internal error"), |(_, s, t)| (*s, *t))
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, title) = self.entry();
        let body = ProblemBody {
            type_: format!("/problems/{}", self.code),
            title,
            status,
            detail: self.detail,
            code: self.code,
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = (status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(v) = self
            .retry_after
            .and_then(|secs| HeaderValue::from_str(&secs.to_string()).ok())
        {
            h.insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<CoreError> for Problem {
    fn from(e: CoreError) -> Self {
        let detail = e.to_string();
        let code = match e {
            CoreError::Invalid(_) => "invalid_input",
            CoreError::WeakPassword(_) => "weak_password",
            CoreError::InvalidCredentials => "invalid_credentials",
            CoreError::AccountBlocked => "account_blocked",
            CoreError::Unauthenticated => "unauthenticated",
            CoreError::InvalidToken => "invalid_token",
            CoreError::Forbidden(_) => "forbidden",
            CoreError::PasswordChangeRequired => "password_change_required",
            CoreError::NotFound(_) => "not_found",
            CoreError::Conflict(_) => "conflict",
            CoreError::Gone(_) => "gone",
            CoreError::TooLarge(_) => "payload_too_large",
            CoreError::RangeNotSatisfiable(_) => "range_not_satisfiable",
            CoreError::Throttled { retry_after_secs } => {
                return Problem {
                    code: "too_many_requests",
                    detail,
                    retry_after: Some(retry_after_secs),
                };
            }
            CoreError::Internal(_) => "internal",
        };
        Problem::new(code, detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::HashSet::new();
        for (code, status, _) in CODES {
            assert!(seen.insert(code), "duplicate {code}");
            assert!((400..600).contains(status));
        }
    }

    #[test]
    fn every_core_error_has_a_listed_code() {
        for e in [
            CoreError::Invalid(String::new()),
            CoreError::WeakPassword(String::new()),
            CoreError::InvalidCredentials,
            CoreError::AccountBlocked,
            CoreError::Unauthenticated,
            CoreError::InvalidToken,
            CoreError::Forbidden(String::new()),
            CoreError::PasswordChangeRequired,
            CoreError::NotFound("x"),
            CoreError::Conflict(String::new()),
            CoreError::Gone(String::new()),
            CoreError::TooLarge(String::new()),
            CoreError::RangeNotSatisfiable(String::new()),
            CoreError::Throttled {
                retry_after_secs: 1,
            },
            CoreError::internal("test", "test"),
        ] {
            let p = Problem::from(e);
            assert!(CODES.iter().any(|(c, _, _)| *c == p.code), "{}", p.code);
        }
    }
}
