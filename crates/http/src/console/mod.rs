//! The web console under `/console/`: server-rendered pages (maud) over the same services as
//! the API — no rule of its own — with the vendored htmx only improving them (every essential
//! flow works without JavaScript). A privacy centre for every person (`/console/`), the
//! administration (`/console/admin/`, the pages Cedar allows), and the sign-in page of the
//! OAuth authorization-code flow.
//!
//! Every request passes [`session::guard`]: CSRF on every form, cross-site submissions
//! refused, `Content-Security-Policy` without inline script or style. Texts are in
//! [`texts`].

// A page's body is built for the one answer it goes into: taken by value.
#![allow(clippy::needless_pass_by_value)]

pub mod admin;
pub mod authorize;
pub mod centre;
pub mod layout;
pub mod security;
pub mod session;
pub mod signin;
pub mod texts;

use crate::AppState;
use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

/// A submitted form; a malformed one is a page saying so (400), not a bare text answer.
pub struct ConsoleForm<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for ConsoleForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bad = |detail: &str| {
            layout::message_page(StatusCode::BAD_REQUEST, texts::ERROR_TITLE, detail)
        };
        let form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form {
            return Err(bad(texts::NOT_A_FORM));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| bad(texts::FORM_TOO_LARGE))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Self)
            .map_err(|e| bad(&format!("{}{e}", texts::FORM_INVALID)))
    }
}

fn asset(body: &'static [u8], kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(kind)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn css() -> Response {
    asset(
        include_bytes!("assets/console.css"),
        "text/css; charset=utf-8",
    )
}

async fn htmx() -> Response {
    asset(
        include_bytes!("assets/htmx.min.js"),
        "text/javascript; charset=utf-8",
    )
}

async fn not_found() -> Response {
    layout::message_page(
        StatusCode::NOT_FOUND,
        texts::NOT_FOUND_TITLE,
        texts::NOT_FOUND_TITLE,
    )
}

/// The console's routes, each behind the guard.
pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(centre::home))
        .route(
            "/console/login",
            get(signin::sign_in_page).post(signin::sign_in),
        )
        .route("/console/logout", post(signin::sign_out))
        .route(
            "/console/forgot",
            get(signin::forgot_page).post(signin::forgot),
        )
        .route(
            "/console/reset",
            get(signin::reset_page).post(signin::reset),
        )
        .route("/console/privacy-log", get(centre::my_privacy_log))
        .route("/console/logins", get(centre::my_logins))
        .route("/console/export", get(centre::export))
        .route("/console/notices/{id}/keep", post(centre::keep))
        .route(
            "/console/forget",
            get(centre::forget_page).post(centre::forget),
        )
        .route("/console/security", get(security::security_page))
        .route(
            "/console/password",
            get(security::security_page).post(security::change_password),
        )
        .route("/console/second-factor", get(security::security_page))
        .route("/console/second-factor/start", post(security::start_factor))
        .route(
            "/console/second-factor/confirm",
            post(security::confirm_factor),
        )
        .route(
            "/console/second-factor/remove",
            post(security::remove_factor),
        )
        .merge(admin::router())
        .route(
            "/oauth/authorize",
            get(authorize::authorize).post(authorize::decide),
        )
        .route("/console/apps", get(centre::apps))
        .route("/console/apps/{id}/disconnect", post(centre::disconnect))
        .route("/console/assets/console.css", get(css))
        .route("/console/assets/htmx.min.js", get(htmx))
        .route("/console/{*rest}", get(not_found))
        .layer(axum::middleware::from_fn(session::guard))
        .with_state(state)
}
