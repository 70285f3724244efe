//! `/reports/tom`: the tenant's TOM report, computed while it is written (administrators).

use crate::AppState;
use crate::extract::Caller;
use crate::problem::Problem;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use strongroom_core::reports::ReportFormat;

/// The tenant's technical and organisational measures (GDPR Art. 32(1), 25), every statement
/// computed and citing its evidence; `Accept: text/html` gives HTML, anything else Markdown.
#[utoipa::path(get, path = "/api/v1/reports/tom", tag = "reports", security(("bearer" = [])),
    responses((status = 200, description = "the report",
        content((String = "text/markdown"), (String = "text/html")))))]
pub async fn tom_report(
    State(s): State<AppState>,
    Caller(p): Caller,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let (format, content_type) = if html {
        (ReportFormat::Html, "text/html; charset=utf-8")
    } else {
        (ReportFormat::Markdown, "text/markdown; charset=utf-8")
    };
    let body = s.services.my_tom_report(&p, format).await?;
    let mut resp = body.into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(resp)
}
