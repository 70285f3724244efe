//! Unversioned endpoints for operators and tooling: health, OpenAPI, metrics, problem types.

use crate::AppState;
use crate::problem::{CODES, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

/// Liveness and readiness: 200 once the server is up.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

pub async fn openapi_json() -> impl IntoResponse {
    Json(crate::openapi::spec())
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = s.metrics_text();
    let now = s.services.clock.now();
    match s.services.backup_status(now).await {
        Ok(b) => crate::metrics::backup_lines(&mut text, &b),
        Err(e) => tracing::warn!(error = %e, "backup figures for /metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// What a problem `type` means.
pub async fn problem_doc(Path(code): Path<String>) -> Result<Json<serde_json::Value>, Problem> {
    CODES
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(c, status, title)| Json(json!({ "code": c, "status": status, "title": title })))
        .ok_or_else(|| Problem::new(crate::problem::Code::NotFound, "no such problem type"))
}
