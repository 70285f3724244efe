//! Errors as RFC 9457 `application/problem+json`, produced here and nowhere else — and, for
//! the token endpoint only, as RFC 6749 §5.2 JSON (`OAuthError`), which OAuth libraries expect.
//!
//! Every problem carries a stable `code`; `type` is `/problems/<code>`, which the server also
//! serves as a description. Internal failures answer a generic 500 and are logged by the layer
//! that saw them; no problem ever carries a secret, personal data or a backend message.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use strongroom_core::CoreError;

/// The public error table: code, status, title. Codes are stable; add, never rename. A code
/// is a [`Code`] variant, so a misspelt one does not compile.
macro_rules! codes {
    ($($variant:ident => ($code:literal, $status:literal, $title:literal)),+ $(,)?) => {
        /// A stable public error code.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Code { $($variant),+ }

        impl Code {
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code),+ }
            }
            pub fn status(self) -> u16 {
                match self { $(Code::$variant => $status),+ }
            }
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),+ }
            }
        }

        /// Every code with its status and title, in the table's order (for the OpenAPI
        /// document and the problem pages).
        pub const CODES: &[(&str, u16, &str)] = &[$(($code, $status, $title)),+];
    };
}

codes! {
    InvalidInput => ("invalid_input", 400, "The request is not valid"),
    MalformedJson => ("malformed_json", 400, "The request body is not valid JSON"),
    InvalidField => ("invalid_field", 422, "A field of the request body is missing or has the wrong type"),
    WeakPassword => ("weak_password", 422, "The new password is not acceptable"),
    ReviewIncomplete => ("review_incomplete", 422, "The review leaves an account undecided"),
    InvalidCredentials => ("invalid_credentials", 401, "Login failed"),
    TotpRequired => ("totp_required", 401, "Second factor required"),
    Unauthenticated => ("unauthenticated", 401, "Authentication required"),
    InvalidToken => ("invalid_token", 400, "Invalid token"),
    Forbidden => ("forbidden", 403, "Not allowed"),
    PasswordChangeRequired => ("password_change_required", 403, "Password change required"),
    TotpEnrolmentRequired => ("totp_enrolment_required", 403, "Second factor enrolment required"),
    NotFound => ("not_found", 404, "Not found"),
    MethodNotAllowed => ("method_not_allowed", 405, "Method not allowed"),
    Conflict => ("conflict", 409, "Conflict"),
    Gone => ("gone", 410, "Deleted"),
    PayloadTooLarge => ("payload_too_large", 413, "Request body too large"),
    UnsupportedMediaType => ("unsupported_media_type", 415, "Unsupported media type"),
    RangeNotSatisfiable => ("range_not_satisfiable", 416, "Range not satisfiable"),
    AccountBlocked => ("account_blocked", 423, "Account blocked"),
    TooManyRequests => ("too_many_requests", 429, "Too many requests"),
    Internal => ("internal", 500, "Internal error"),
}

/// A problem ready to be sent.
#[derive(Debug)]
pub struct Problem {
    pub code: Code,
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
    pub fn new(code: Code, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let (status, title) = (self.code.status(), self.code.title());
        let body = ProblemBody {
            type_: format!("/problems/{}", self.code.as_str()),
            title,
            status,
            detail: self.detail,
            code: self.code.as_str(),
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
            CoreError::Invalid(_) => Code::InvalidInput,
            CoreError::WeakPassword(_) => Code::WeakPassword,
            CoreError::ReviewIncomplete(_) => Code::ReviewIncomplete,
            CoreError::InvalidCredentials => Code::InvalidCredentials,
            CoreError::TotpRequired => Code::TotpRequired,
            CoreError::AccountBlocked => Code::AccountBlocked,
            CoreError::Unauthenticated => Code::Unauthenticated,
            CoreError::InvalidToken => Code::InvalidToken,
            CoreError::Forbidden(_) => Code::Forbidden,
            CoreError::PasswordChangeRequired => Code::PasswordChangeRequired,
            CoreError::TotpEnrolmentRequired => Code::TotpEnrolmentRequired,
            CoreError::NotFound(_) => Code::NotFound,
            CoreError::Conflict(_) => Code::Conflict,
            CoreError::Gone(_) => Code::Gone,
            CoreError::TooLarge(_) => Code::PayloadTooLarge,
            CoreError::RangeNotSatisfiable(_) => Code::RangeNotSatisfiable,
            CoreError::Throttled { retry_after_secs } => {
                return Problem {
                    code: Code::TooManyRequests,
                    detail,
                    retry_after: Some(retry_after_secs),
                };
            }
            CoreError::Internal(_) => Code::Internal,
        };
        Problem::new(code, detail)
    }
}

/// An error of `POST /oauth/token` as RFC 6749 §5.2 has it: `{"error","error_description"}`,
/// `application/json`, never cached.
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub retry_after: Option<u64>,
    /// The client tried HTTP Basic: a 401 names the scheme (RFC 6749 §5.2).
    pub basic: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` (RFC 6749 §5.2), or `slow_down` with 429.
    error: &'static str,
    error_description: String,
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            retry_after: None,
            basic: false,
        }
    }
}

impl From<strongroom_core::clients::TokenError> for OAuthError {
    fn from(e: strongroom_core::clients::TokenError) -> Self {
        use strongroom_core::clients::TokenError;
        match e {
            TokenError::InvalidClient => Self::new(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed (unknown client, wrong secret, or deleted)",
            ),
            TokenError::InvalidScope(why) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_scope", why)
            }
            TokenError::InvalidGrant(why) => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_grant", why)
            }
            TokenError::InvalidRequest(why) => Self::invalid_request(why),
            TokenError::Throttled { retry_after_secs } => Self {
                retry_after: Some(retry_after_secs),
                ..Self::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "slow_down",
                    format!("too many token requests; retry in {retry_after_secs} s"),
                )
            },
            // Internal failures stay problems (500, logged where they happened).
            TokenError::Core(e) => {
                let description = e.to_string();
                Self::new(
                    StatusCode::from_u16(Problem::from(e).code.status())
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    "invalid_request",
                    description,
                )
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            return Problem::new(Code::Internal, "internal error").into_response();
        }
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.description,
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if self.status == StatusCode::UNAUTHORIZED && self.basic {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"strongroom\""),
            );
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
            CoreError::ReviewIncomplete(String::new()),
            CoreError::InvalidCredentials,
            CoreError::TotpRequired,
            CoreError::AccountBlocked,
            CoreError::Unauthenticated,
            CoreError::InvalidToken,
            CoreError::Forbidden(String::new()),
            CoreError::PasswordChangeRequired,
            CoreError::TotpEnrolmentRequired,
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
            assert!(
                CODES.iter().any(|(c, _, _)| *c == p.code.as_str()),
                "{:?}",
                p.code
            );
        }
    }
}
