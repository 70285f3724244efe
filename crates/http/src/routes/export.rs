//! `GET /me/export` and `GET /users/{id}/export`: everything about a person, as a zip streamed
//! while it is written.

use crate::AppState;
use crate::extract::{ApiPath, Caller, ClientIp};
use crate::problem::{Problem, ProblemBody};
use crate::routes::FileBytes;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use strongroom_core::rights::Export;
use strongroom_domain::UserId;

pub(crate) fn zip_response(e: Export) -> Response {
    let mut resp = Body::from_stream(e.body).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"strongroom-export-{}.zip\"",
        e.user.0
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Everything Strongroom holds about me: profile, groups, login history, records with their
/// files, changes I made, objects I created, and who viewed my data (a zip with a README).
#[utoipa::path(get, path = "/api/v1/me/export", tag = "me", security(("bearer" = [])),
    responses((status = 200, content_type = "application/zip", body = FileBytes,
        headers(("Content-Disposition" = String, description = "`attachment; filename=\"strongroom-export-<user id>.zip\"`"))),
        (status = 403, body = ProblemBody)))]
pub async fn my_export(
    State(s): State<AppState>,
    crate::extract::Person(p): crate::extract::Person,
    ClientIp(ip): ClientIp,
) -> Result<Response, Problem> {
    let user = p.user_id;
    Ok(zip_response(
        s.services.export_user(&p, Some(ip), user).await?,
    ))
}

/// The same export for one user of the tenant (administrators).
#[utoipa::path(get, path = "/api/v1/users/{id}/export", tag = "users", security(("bearer" = [])),
    params(("id" = UserId, Path)),
    responses((status = 200, content_type = "application/zip", body = FileBytes,
        headers(("Content-Disposition" = String, description = "`attachment; filename=\"strongroom-export-<user id>.zip\"`"))),
        (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn user_export(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Response, Problem> {
    Ok(zip_response(
        s.services.export_user(&p, Some(ip), id).await?,
    ))
}
