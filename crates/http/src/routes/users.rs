//! `/users` and `/groups`: administration of a tenant's people (administrators only).

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use crate::problem::{Problem, ProblemBody};
use crate::routes::paging::{self, page};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::{Deserialize, Deserializer, Serialize};
use strongroom_core::tenancy::{NewUserRequest, UserChanges, UserInfo};
use strongroom_domain::{
    Email, GroupId, MembershipRole, PersonName, Role, TenantName, Timestamp, UserId, UserStatus,
};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: Email,
    name: PersonName,
    #[schema(min_items = 1)]
    roles: Vec<Role>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    license_expires_at: Option<Timestamp>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedUser {
    id: UserId,
    /// Random, shown once; must be changed at first login.
    initial_password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    id: UserId,
    email: Option<String>,
    name: Option<String>,
    roles: Vec<Role>,
    status: UserStatus,
    must_change_password: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    license_expires_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<UserInfo> for UserView {
    fn from(u: UserInfo) -> Self {
        Self {
            id: u.id,
            email: u.email.map(|e| e.as_str().to_owned()),
            name: u.name.map(|n| n.as_str().to_owned()),
            roles: u.roles.0.into_iter().collect(),
            status: u.status,
            must_change_password: u.must_change_password,
            license_expires_at: u.license_expires_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// Create a user with a random initial password.
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = CreateUserRequest,
    responses((status = 201, body = CreatedUser), (status = 403, body = ProblemBody), (status = 409, description = "a user with this e-mail address already exists", body = ProblemBody),
        (status = 422, description = "a field is malformed, such as an e-mail address mail cannot be sent to", body = ProblemBody)))]
pub async fn create_user(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<CreatedUser>), Problem> {
    let req = NewUserRequest {
        email: req.email,
        name: req.name,
        roles: req.roles.into_iter().collect(),
        license_expires_at: req.license_expires_at,
    };
    let (id, password) = s.services.create_user(&p, req).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedUser {
            id,
            initial_password: password.expose_secret().to_owned(),
        }),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Find the one user with this address (through the blind index); the answer is a list of
    /// zero or one.
    #[param(max_length = 320)]
    email: Option<String>,
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page.
    after: Option<uuid::Uuid>,
}

/// The tenant's users, newest first, paged (`Link: rel="next"`); with `email`, the one user
/// with that address. Every user shown is a privacy-log entry.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])), params(UserListParams),
    responses((status = 200, body = [UserView],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list_users(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<UserListParams>,
) -> Result<Response, Problem> {
    let limit = paging::limit(q.limit)?;
    if let Some(email) = &q.email {
        if email.chars().count() > 320 {
            return Err(Problem::new(
                crate::problem::Code::InvalidInput,
                "email: at most 320 characters",
            ));
        }
        let found = s.services.find_user_by_email(&p, email).await?;
        return Ok(Json(found.into_iter().map(UserView::from).collect::<Vec<_>>()).into_response());
    }
    let users: Vec<UserView> = s
        .services
        .list_users(&p, q.after.map(UserId::from), limit + 1)
        .await?
        .into_iter()
        .map(UserView::from)
        .collect();
    Ok(page("/api/v1/users", limit, users, Vec::new(), |u| u.id.0))
}

/// One user of the tenant.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = UserId, Path)),
    responses((status = 200, body = UserView), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn get_user(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> Result<Json<UserView>, Problem> {
    Ok(Json(s.services.get_user(&p, id).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    #[serde(default)]
    name: Option<PersonName>,
    /// At least one; administrators cannot take the administrator role from themselves.
    #[serde(default)]
    #[schema(min_items = 1)]
    roles: Option<Vec<Role>>,
    /// An RFC 3339 time, or `null` to clear; absent leaves it as it is.
    #[serde(default, deserialize_with = "present_nullable_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    #[expect(
        clippy::option_option,
        reason = "absent, null and a value mean three different things in a PATCH"
    )]
    license_expires_at: Option<Option<Timestamp>>,
}

/// Tells "absent" (outer `None`, by `default`) from "null" (`Some(None)`).
#[expect(
    clippy::option_option,
    reason = "absent, null and a value mean three different things in a PATCH"
)]
fn present_nullable_time<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<Timestamp>>, D::Error> {
    time::serde::rfc3339::option::deserialize(d).map(Some)
}

/// Change a user's name, roles or licence expiry.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = UserId, Path)), request_body = UpdateUserRequest,
    responses((status = 200, body = UserView), (status = 400, description = "no role left, or an administrator taking the administrator role from themselves", body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn update_user(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(req): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserView>, Problem> {
    let changes = UserChanges {
        name: req.name,
        roles: req.roles.map(|r| r.into_iter().collect()),
        license_expires_at: req.license_expires_at,
    };
    Ok(Json(s.services.update_user(&p, id, changes).await?.into()))
}

/// Forget a user (right to be forgotten).
#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])), params(("id" = UserId, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 400, description = "administrators forget their own account with DELETE /api/v1/me", body = ProblemBody)))]
pub async fn delete_user(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<UserId>,
) -> Result<StatusCode, Problem> {
    s.services.forget_user(&p, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGroupRequest {
    name: TenantName,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedGroup {
    id: GroupId,
}

/// Create a group.
#[utoipa::path(post, path = "/api/v1/groups", tag = "groups", security(("bearer" = [])), request_body = CreateGroupRequest,
    responses((status = 201, body = CreatedGroup), (status = 403, body = ProblemBody), (status = 409, description = "a group with this name already exists", body = ProblemBody)))]
pub async fn create_group(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(req): ApiJson<CreateGroupRequest>,
) -> Result<(StatusCode, Json<CreatedGroup>), Problem> {
    let id = s.services.create_group(&p, req.name).await?;
    Ok((StatusCode::CREATED, Json(CreatedGroup { id })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    role: MembershipRole,
}

/// Add a user to a group, or change their role in it.
#[utoipa::path(put, path = "/api/v1/groups/{id}/members/{user_id}", tag = "groups", security(("bearer" = [])),
    params(("id" = GroupId, Path), ("user_id" = UserId, Path)), request_body = MemberRequest,
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn put_member(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath((group, user)): ApiPath<(GroupId, UserId)>,
    ApiJson(req): ApiJson<MemberRequest>,
) -> Result<StatusCode, Problem> {
    s.services.put_member(&p, group, user, req.role).await?;
    Ok(StatusCode::NO_CONTENT)
}
