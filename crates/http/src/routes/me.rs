//! `/me*`: the caller's own profile, password, login history and deletion notices; and the
//! tenant's retention rules.

use super::auth::TokenResponse;
use crate::AppState;
use crate::extract::{ApiJson, Caller, ClientIp, Unsettled};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use strongroom_core::lifecycle::RetentionRules;
use strongroom_domain::{GroupId, LoginOutcome, MembershipRole, Role, Timestamp, UserId};

#[derive(Serialize, utoipa::ToSchema)]
pub struct MeResponse {
    id: UserId,
    /// The tenant's slug.
    tenant: String,
    email: Option<String>,
    name: Option<String>,
    roles: Vec<Role>,
    /// True while the account still has its initial password.
    must_change_password: bool,
    /// The groups I belong to, and my role in each.
    groups: Vec<MyGroup>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct MyGroup {
    id: GroupId,
    role: MembershipRole,
}

/// Who am I.
#[utoipa::path(get, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MeResponse), (status = 401, body = ProblemBody)))]
pub async fn me(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
) -> Result<Json<MeResponse>, Problem> {
    let (tenant, user) = s.services.me(&p).await?;
    let groups = s
        .services
        .my_groups(&p)
        .await?
        .into_iter()
        .map(|(id, role)| MyGroup { id, role })
        .collect();
    Ok(Json(MeResponse {
        id: user.id,
        tenant: tenant.slug.as_str().to_owned(),
        email: user.email.map(|e| e.as_str().to_owned()),
        name: user.name.map(|n| n.as_str().to_owned()),
        roles: user.roles.0.into_iter().collect(),
        must_change_password: user.must_change_password,
        groups,
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    /// 8 to 128 characters, not one of the 10 000 most common passwords.
    #[schema(value_type = String, format = Password, min_length = 8, max_length = 128)]
    new_password: SecretString,
}

/// Change my password. Ends every session and returns a fresh token pair.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePasswordRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ProblemBody), (status = 422, body = ProblemBody), (status = 423, body = ProblemBody)))]
pub async fn change_password(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<ChangePasswordRequest>,
) -> Result<Json<TokenResponse>, Problem> {
    let pair = s
        .services
        .change_password(&p, req.current_password, req.new_password, ip)
        .await?;
    Ok(Json(pair.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginRecord {
    /// The page cursor (not part of the answer).
    #[serde(skip)]
    id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    /// The client address; `null` if it can no longer be opened.
    ip: Option<String>,
    outcome: LoginOutcome,
}

/// My login history, newest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/me/logins", tag = "me", security(("bearer" = [])), params(crate::routes::paging::PageParams),
    responses((status = 200, body = [LoginRecord],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 401, body = ProblemBody)))]
pub async fn my_logins(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let records: Vec<LoginRecord> = s
        .services
        .my_logins(
            &p,
            q.after().map(strongroom_domain::LoginEventId::from),
            limit + 1,
        )
        .await?
        .into_iter()
        .map(|e| LoginRecord {
            id: e.id.0,
            at: e.at,
            ip: e.ip,
            outcome: e.outcome,
        })
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/me/logins",
        limit,
        records,
        Vec::new(),
        |r| r.id,
    ))
}

/// Forget me: my data key is destroyed (everything sealed under it becomes unreadable), my
/// files are deleted, personal fields are removed from records about me, and every history and
/// log view shows "Deleted GDPR" for me. My sessions end. Repeating it is harmless.
#[utoipa::path(delete, path = "/api/v1/me", tag = "me", security(("bearer" = [])),
    responses((status = 202), (status = 403, body = ProblemBody), (status = 409, description = "the tenant's last administrator", body = ProblemBody)))]
pub async fn forget_me(
    State(s): State<AppState>,
    crate::extract::Person(p): crate::extract::Person,
) -> Result<axum::http::StatusCode, Problem> {
    s.services.forget_me(&p).await?;
    Ok(axum::http::StatusCode::ACCEPTED)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DeletionNoticeView {
    id: uuid::Uuid,
    /// What will be deleted (`recordings`).
    what: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    due_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    kept_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    done_at: Option<Timestamp>,
}

/// Deletions of my data that retention has announced, and whether I kept the data; newest
/// first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/me/deletion-notices", tag = "me", security(("bearer" = [])), params(crate::routes::paging::PageParams),
    responses((status = 200, body = [DeletionNoticeView],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn my_deletion_notices(
    State(s): State<AppState>,
    crate::extract::Person(p): crate::extract::Person,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let notices: Vec<DeletionNoticeView> = s
        .services
        .my_deletion_notices(
            &p,
            q.after().map(strongroom_domain::NoticeId::from),
            limit + 1,
        )
        .await?
        .into_iter()
        .map(|n| DeletionNoticeView {
            id: n.id.0,
            what: n.what,
            due_at: n.due_at,
            kept_at: n.kept_at,
            done_at: n.done_at,
        })
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/me/deletion-notices",
        limit,
        notices,
        Vec::new(),
        |n| n.id,
    ))
}

/// Keep the data a notice announced the deletion of (my veto).
#[utoipa::path(post, path = "/api/v1/me/deletion-notices/{id}/keep", tag = "me", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn keep_deletion(
    State(s): State<AppState>,
    crate::extract::Person(p): crate::extract::Person,
    crate::extract::ApiPath(id): crate::extract::ApiPath<strongroom_domain::NoticeId>,
) -> Result<axum::http::StatusCode, Problem> {
    s.services.keep_deletion(&p, id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

/// The tenant's retention rules (administrators): the seed's periods unless changed.
#[utoipa::path(get, path = "/api/v1/retention-rules", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = RetentionRules), (status = 403, body = ProblemBody)))]
pub async fn get_retention_rules(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<RetentionRules>, Problem> {
    Ok(Json(s.services.retention_rules(&p).await?))
}

/// Change the tenant's retention rules (administrators); scheduled steps move with them.
#[utoipa::path(put, path = "/api/v1/retention-rules", tag = "privacy", security(("bearer" = [])), request_body = RetentionRules,
    responses((status = 200, body = RetentionRules), (status = 400, description = "a period out of range, or the notice not before the deletion", body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn put_retention_rules(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(rules): ApiJson<RetentionRules>,
) -> Result<Json<RetentionRules>, Problem> {
    Ok(Json(s.services.put_retention_rules(&p, rules).await?))
}
