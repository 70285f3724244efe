//! `/support/requests`: vendor support access under the customer's grant. A superuser (of the
//! tenant `operator`) asks and, once a tenant's administrator approved, takes a session; the
//! tenant's administrators list, approve, deny and revoke.

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, Caller};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use strongroom_core::support::{NewSupportRequest, SupportAnswer, SupportRequestView};
use strongroom_domain::{SupportKind, SupportRequestId, SupportStatus, Timestamp, UserId};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportRequestBody {
    /// The tenant's slug.
    #[schema(min_length = 1, max_length = 63)]
    tenant: String,
    /// Why support needs access (shown to the tenant's administrators).
    #[schema(min_length = 1, max_length = 500)]
    reason: String,
    /// How long the grant should last: 1 to 10080 (7 days).
    #[schema(minimum = 1, maximum = 10080)]
    minutes: u32,
    kind: SupportKind,
    /// For `act_as`: the user to act as.
    user_id: Option<UserId>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SupportRequestResponse {
    id: SupportRequestId,
    tenant: String,
    superuser_id: UserId,
    /// The superuser's name.
    superuser: String,
    reason: String,
    kind: SupportKind,
    user_id: Option<UserId>,
    status: SupportStatus,
    minutes: u32,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// Until when a pending request waits for an answer.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    starts_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    ends_at: Option<Timestamp>,
    break_glass: bool,
}

impl From<SupportRequestView> for SupportRequestResponse {
    fn from(v: SupportRequestView) -> Self {
        Self {
            id: v.id,
            tenant: v.tenant,
            superuser_id: v.superuser_id,
            superuser: v.superuser,
            reason: v.reason,
            kind: v.kind,
            user_id: v.user_id,
            status: v.status,
            minutes: v.minutes,
            created_at: v.created_at,
            expires_at: v.expires_at,
            starts_at: v.starts_at,
            ends_at: v.ends_at,
            break_glass: v.break_glass,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// Fewer minutes than asked for (default: as asked).
    #[schema(minimum = 1, maximum = 10080)]
    minutes: Option<u32>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SupportSessionResponse {
    access_token: String,
    /// `Bearer`.
    token_type: &'static str,
    /// Seconds until the session ends (at most 900, never past the grant's end).
    expires_in: u64,
}

/// Ask a tenant for support access (superusers, tenant `operator`); its administrators are
/// mailed.
#[utoipa::path(post, path = "/api/v1/support/requests", tag = "support", security(("bearer" = [])), request_body = SupportRequestBody,
    responses((status = 201, body = SupportRequestResponse), (status = 400, body = ProblemBody), (status = 404, description = "no such active tenant", body = ProblemBody)))]
pub async fn create_support_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(req): ApiJson<SupportRequestBody>,
) -> Result<(StatusCode, Json<SupportRequestResponse>), Problem> {
    let v = s
        .services
        .request_support(
            &p,
            NewSupportRequest {
                tenant: req.tenant,
                reason: req.reason,
                minutes: req.minutes,
                kind: req.kind,
                user_id: req.user_id,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// The tenant's support requests and grants (administrators); a superuser's own, in every
/// tenant. Newest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/support/requests", tag = "support", security(("bearer" = [])),
    params(crate::routes::paging::PageParams),
    responses((status = 200, body = [SupportRequestResponse],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page")))))]
pub async fn list_support_requests(
    State(s): State<AppState>,
    Caller(p): Caller,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let rows: Vec<SupportRequestResponse> = s
        .services
        .support_requests(&p, q.after().map(SupportRequestId), limit + 1)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/support/requests",
        limit,
        rows,
        Vec::new(),
        |r| r.id.0,
    ))
}

async fn answer(
    s: &AppState,
    p: &strongroom_core::Principal,
    id: SupportRequestId,
    a: SupportAnswer,
) -> Result<Json<SupportRequestResponse>, Problem> {
    Ok(Json(s.services.answer_support(p, id, a).await?.into()))
}

/// Approve a pending request (administrators), optionally for fewer minutes: the grant runs
/// from now.
#[utoipa::path(post, path = "/api/v1/support/requests/{id}/approve", tag = "support", security(("bearer" = [])),
    params(("id" = SupportRequestId, Path)), request_body = ApproveBody,
    responses((status = 200, body = SupportRequestResponse), (status = 400, body = ProblemBody),
              (status = 409, description = "the request is no longer pending", body = ProblemBody)))]
pub async fn approve_support_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<SupportRequestId>,
    ApiJson(body): ApiJson<ApproveBody>,
) -> Result<Json<SupportRequestResponse>, Problem> {
    answer(
        &s,
        &p,
        id,
        SupportAnswer::Approve {
            minutes: body.minutes,
        },
    )
    .await
}

/// Deny a pending request (administrators).
#[utoipa::path(post, path = "/api/v1/support/requests/{id}/deny", tag = "support", security(("bearer" = [])),
    params(("id" = SupportRequestId, Path)),
    responses((status = 200, body = SupportRequestResponse),
              (status = 409, description = "the request is no longer pending", body = ProblemBody)))]
pub async fn deny_support_request(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<SupportRequestId>,
) -> Result<Json<SupportRequestResponse>, Problem> {
    answer(&s, &p, id, SupportAnswer::Deny).await
}

/// Revoke an approved grant (administrators): every session under it ends at once.
#[utoipa::path(delete, path = "/api/v1/support/requests/{id}", tag = "support", security(("bearer" = [])),
    params(("id" = SupportRequestId, Path)),
    responses((status = 204), (status = 409, description = "the grant is not active", body = ProblemBody)))]
pub async fn revoke_support_grant(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<SupportRequestId>,
) -> Result<StatusCode, Problem> {
    s.services
        .answer_support(&p, id, SupportAnswer::Revoke)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Exchange an active grant for a session in its tenant (the superuser who asked).
#[utoipa::path(post, path = "/api/v1/support/requests/{id}/session", tag = "support", security(("bearer" = [])),
    params(("id" = SupportRequestId, Path)),
    responses((status = 200, body = SupportSessionResponse),
              (status = 409, description = "the request is not an active grant", body = ProblemBody)))]
pub async fn support_session(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<SupportRequestId>,
) -> Result<Json<SupportSessionResponse>, Problem> {
    let session = s.services.support_session(&p, id).await?;
    Ok(Json(SupportSessionResponse {
        access_token: session.access_token.expose_secret().to_owned(),
        token_type: "Bearer",
        expires_in: session.expires_in,
    }))
}

#[derive(Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewDecisionBody {
    user_id: UserId,
    /// `false` takes the administrator role away (the account stays).
    keep: bool,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccessReviewBody {
    /// A decision for every administrator of the tenant (at most 500).
    #[schema(max_items = 500)]
    decisions: Vec<ReviewDecisionBody>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessReviewResponse {
    id: uuid::Uuid,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    reviewer_id: Option<UserId>,
    reviewer: String,
    decisions: Vec<ReviewDecisionBody>,
}

impl From<strongroom_core::support::AccessReviewView> for AccessReviewResponse {
    fn from(v: strongroom_core::support::AccessReviewView) -> Self {
        Self {
            id: v.id,
            at: v.at,
            reviewer_id: v.reviewer_id,
            reviewer: v.reviewer,
            decisions: v
                .decisions
                .into_iter()
                .map(|d| ReviewDecisionBody {
                    user_id: d.user_id,
                    keep: d.keep,
                })
                .collect(),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AdministratorView {
    user_id: UserId,
    name: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct AccessReviewsResponse {
    /// The tenant's administrators: every one needs a decision in a review.
    administrators: Vec<AdministratorView>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_review_at: Option<Timestamp>,
    /// 92 days after the last review (or the tenant's creation) without one.
    review_overdue: bool,
    /// Newest first.
    reviews: Vec<AccessReviewResponse>,
}

/// The tenant's administrators and their reviews (administrators).
#[utoipa::path(get, path = "/api/v1/access-reviews", tag = "support", security(("bearer" = [])),
    responses((status = 200, body = AccessReviewsResponse)))]
pub async fn get_access_reviews(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<AccessReviewsResponse>, Problem> {
    let st = s.services.access_reviews(&p).await?;
    Ok(Json(AccessReviewsResponse {
        administrators: st
            .administrators
            .into_iter()
            .map(|(user_id, name)| AdministratorView {
                user_id,
                name: name.map(|n| n.as_str().to_owned()),
            })
            .collect(),
        last_review_at: st.last_review_at,
        review_overdue: st.review_overdue,
        reviews: st.reviews.into_iter().map(Into::into).collect(),
    }))
}

/// Review the tenant's administrators: keep or remove every one (removing takes the
/// administrator role away; the account stays).
#[utoipa::path(post, path = "/api/v1/access-reviews", tag = "support", security(("bearer" = [])), request_body = AccessReviewBody,
    responses((status = 201, body = AccessReviewResponse), (status = 400, body = ProblemBody),
              (status = 422, description = "`review_incomplete`: an administrator is left undecided", body = ProblemBody)))]
pub async fn post_access_review(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(body): ApiJson<AccessReviewBody>,
) -> Result<(StatusCode, Json<AccessReviewResponse>), Problem> {
    let decisions = body
        .decisions
        .into_iter()
        .map(|d| strongroom_core::support::ReviewDecision {
            user_id: d.user_id,
            keep: d.keep,
        })
        .collect();
    let v = s.services.review_administrators(&p, decisions).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}
