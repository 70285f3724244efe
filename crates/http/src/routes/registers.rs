//! The GDPR registers: `/processors` (administrators; the operator's entries and those the
//! configuration implies come with `"scope":"operator"`, read-only).

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, Caller, ClientIp};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use strongroom_core::registers::{ProcessorInput, ProcessorScope, ProcessorSource, ProcessorView};
use strongroom_domain::Timestamp;

// Dates as `YYYY-MM-DD` (RFC 3339's full-date), in and out.
time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorBody {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    #[schema(min_length = 1, max_length = 500)]
    purpose: String,
    /// What kinds of personal data it processes (1 to 50).
    #[schema(min_items = 1, max_items = 50)]
    data_categories: Vec<String>,
    /// ISO 3166-1 alpha-2 country code where it processes the data.
    #[schema(pattern = "^[A-Z]{2}$")]
    location: String,
    /// For a transfer outside the EEA: the safeguard (e.g. standard contractual clauses).
    #[schema(max_length = 500)]
    transfer_safeguard: Option<String>,
    /// The day the data-processing agreement was signed.
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, with = "iso_date::option")]
    dpa_signed_on: Option<time::Date>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessorPatch {
    #[schema(min_length = 1, max_length = 200)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 500)]
    purpose: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    data_categories: Option<Vec<String>>,
    #[schema(pattern = "^[A-Z]{2}$")]
    location: Option<String>,
    #[schema(max_length = 500)]
    transfer_safeguard: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, with = "iso_date::option")]
    dpa_signed_on: Option<time::Date>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProcessorResponse {
    id: uuid::Uuid,
    name: String,
    purpose: String,
    data_categories: Vec<String>,
    location: String,
    transfer_safeguard: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(default, with = "iso_date::option")]
    dpa_signed_on: Option<time::Date>,
    /// `tenant`, or `operator` (read-only: the operator's own, or implied by its configuration).
    scope: &'static str,
    /// `register`, or `configuration` (the host only, never a credential or a path).
    source: &'static str,
    host: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<ProcessorView> for ProcessorResponse {
    fn from(v: ProcessorView) -> Self {
        Self {
            id: v.id,
            name: v.name,
            purpose: v.purpose,
            data_categories: v.data_categories,
            location: v.location,
            transfer_safeguard: v.transfer_safeguard,
            dpa_signed_on: v.dpa_signed_on,
            scope: match v.scope {
                ProcessorScope::Tenant => "tenant",
                ProcessorScope::Operator => "operator",
            },
            source: match v.source {
                ProcessorSource::Register => "register",
                ProcessorSource::Configuration => "configuration",
            },
            host: v.host,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

/// The tenant's processors and the operator's (newest first, paged: `Link: rel="next"`);
/// those the configuration implies follow on the first page.
#[utoipa::path(get, path = "/api/v1/processors", tag = "registers", security(("bearer" = [])),
    params(crate::routes::paging::PageParams),
    responses((status = 200, body = [ProcessorResponse],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page")))))]
pub async fn list_processors(
    State(s): State<AppState>,
    Caller(p): Caller,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let (registered, configured): (Vec<ProcessorResponse>, Vec<ProcessorResponse>) = s
        .services
        .processors(&p, q.after(), limit + 1)
        .await?
        .into_iter()
        .map(ProcessorResponse::from)
        .partition(|r| r.source == "register");
    Ok(crate::routes::paging::page(
        "/api/v1/processors",
        limit,
        registered,
        configured,
        |r| r.id,
    ))
}

/// Add a processor of the tenant.
#[utoipa::path(post, path = "/api/v1/processors", tag = "registers", security(("bearer" = [])), request_body = ProcessorBody,
    responses((status = 201, body = ProcessorResponse), (status = 400, body = ProblemBody)))]
pub async fn add_processor(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<ProcessorBody>,
) -> Result<(StatusCode, Json<ProcessorResponse>), Problem> {
    let input = ProcessorInput {
        name: b.name,
        purpose: b.purpose,
        data_categories: b.data_categories,
        location: b.location,
        transfer_safeguard: b.transfer_safeguard,
        dpa_signed_on: b.dpa_signed_on,
    };
    let v = s.services.add_processor(&p, Some(ip), &input).await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// Change a processor of the tenant (the operator's are read-only: 403).
#[utoipa::path(patch, path = "/api/v1/processors/{id}", tag = "registers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = ProcessorPatch,
    responses((status = 200, body = ProcessorResponse), (status = 400, body = ProblemBody)))]
pub async fn update_processor(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(b): ApiJson<ProcessorPatch>,
) -> Result<Json<ProcessorResponse>, Problem> {
    let v = s
        .services
        .update_processor(&p, Some(ip), id, move |i| {
            if let Some(v) = b.name {
                i.name = v;
            }
            if let Some(v) = b.purpose {
                i.purpose = v;
            }
            if let Some(v) = b.data_categories {
                i.data_categories = v;
            }
            if let Some(v) = b.location {
                i.location = v;
            }
            if let Some(v) = b.transfer_safeguard {
                i.transfer_safeguard = Some(v);
            }
            if let Some(v) = b.dpa_signed_on {
                i.dpa_signed_on = Some(v);
            }
        })
        .await?;
    Ok(Json(v.into()))
}

/// Remove a processor of the tenant.
#[utoipa::path(delete, path = "/api/v1/processors/{id}", tag = "registers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), responses((status = 204)))]
pub async fn delete_processor(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<StatusCode, Problem> {
    s.services.delete_processor(&p, Some(ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachBody {
    #[schema(min_length = 1, max_length = 200)]
    title: String,
    /// When the controller became aware of the breach (the 72 hours run from here).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    aware_at: Timestamp,
    /// What happened (Art. 33(3)(a)).
    #[schema(min_length = 1, max_length = 1000)]
    nature: String,
    #[schema(min_items = 1, max_items = 50)]
    data_categories: Vec<String>,
    subjects_estimate: u64,
    records_estimate: u64,
    #[schema(min_length = 1, max_length = 1000)]
    consequences: String,
    #[schema(min_length = 1, max_length = 1000)]
    measures: String,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreachPatch {
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    authority_notified_at: Option<Timestamp>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    subjects_notified_at: Option<Timestamp>,
    /// Required when the authority is notified after the 72 hours (Art. 33(1)).
    #[schema(min_length = 1, max_length = 1000)]
    delay_reason: Option<String>,
    /// `not_notifiable`: closes an open breach judged unlikely to result in a risk.
    #[schema(pattern = "^not_notifiable$")]
    status: Option<String>,
    #[schema(min_length = 1, max_length = 1000)]
    not_notifiable_reason: Option<String>,
    #[schema(min_length = 1, max_length = 1000)]
    consequences: Option<String>,
    #[schema(min_length = 1, max_length = 1000)]
    measures: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BreachHistoryEntry {
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    /// The administrator; absent for the operator.
    actor_id: Option<strongroom_domain::UserId>,
    changes: Vec<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct BreachResponse {
    id: uuid::Uuid,
    title: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    aware_at: Timestamp,
    /// `aware_at` + 72 hours.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    deadline_at: Timestamp,
    nature: String,
    data_categories: Vec<String>,
    subjects_estimate: i64,
    records_estimate: i64,
    consequences: String,
    measures: String,
    /// `open`, `notified` or `not_notifiable`.
    status: String,
    /// Open past its deadline.
    overdue: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    authority_notified_at: Option<Timestamp>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    subjects_notified_at: Option<Timestamp>,
    delay_reason: Option<String>,
    not_notifiable_reason: Option<String>,
    recorded_by: Option<strongroom_domain::UserId>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
    /// Every change, oldest first.
    history: Vec<BreachHistoryEntry>,
}

impl From<strongroom_core::registers::BreachView> for BreachResponse {
    fn from(v: strongroom_core::registers::BreachView) -> Self {
        let r = v.row;
        Self {
            id: r.id,
            title: r.title,
            aware_at: r.aware_at,
            deadline_at: v.deadline_at,
            nature: r.nature,
            data_categories: v.data_categories,
            subjects_estimate: r.subjects_estimate,
            records_estimate: r.records_estimate,
            consequences: r.consequences,
            measures: r.measures,
            status: r.status,
            overdue: v.overdue,
            authority_notified_at: r.authority_notified_at,
            subjects_notified_at: r.subjects_notified_at,
            delay_reason: r.delay_reason,
            not_notifiable_reason: r.not_notifiable_reason,
            recorded_by: r.recorded_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            history: v
                .history
                .into_iter()
                .map(|h| BreachHistoryEntry {
                    at: h.at,
                    actor_id: h.actor_id,
                    changes: h.changes,
                })
                .collect(),
        }
    }
}

/// Record a personal-data breach (Art. 33): the deadline is `aware_at` + 72 hours.
#[utoipa::path(post, path = "/api/v1/breaches", tag = "registers", security(("bearer" = [])), request_body = BreachBody,
    responses((status = 201, body = BreachResponse), (status = 400, body = ProblemBody)))]
pub async fn record_breach(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(b): ApiJson<BreachBody>,
) -> Result<(StatusCode, Json<BreachResponse>), Problem> {
    let v = s
        .services
        .record_breach(
            &p,
            Some(ip),
            strongroom_core::registers::NewBreach {
                title: b.title,
                aware_at: b.aware_at,
                nature: b.nature,
                data_categories: b.data_categories,
                subjects_estimate: b.subjects_estimate,
                records_estimate: b.records_estimate,
                consequences: b.consequences,
                measures: b.measures,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(v.into())))
}

/// The tenant's breaches, notified or not (Art. 33(5)), newest first, paged.
#[utoipa::path(get, path = "/api/v1/breaches", tag = "registers", security(("bearer" = [])),
    params(crate::routes::paging::PageParams),
    responses((status = 200, body = [BreachResponse],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page")))))]
pub async fn list_breaches(
    State(s): State<AppState>,
    Caller(p): Caller,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let rows: Vec<BreachResponse> = s
        .services
        .breaches(&p, q.after(), limit + 1)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/breaches",
        limit,
        rows,
        Vec::new(),
        |r| r.id,
    ))
}

/// One breach with its history.
#[utoipa::path(get, path = "/api/v1/breaches/{id}", tag = "registers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), responses((status = 200, body = BreachResponse)))]
pub async fn get_breach(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiPath(id): ApiPath<uuid::Uuid>,
) -> Result<Json<BreachResponse>, Problem> {
    Ok(Json(s.services.breach(&p, id).await?.into()))
}

/// Record notifications, a delay's reason, or close a breach as not notifiable.
#[utoipa::path(patch, path = "/api/v1/breaches/{id}", tag = "registers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = BreachPatch,
    responses((status = 200, body = BreachResponse), (status = 400, body = ProblemBody),
              (status = 409, description = "closed, or changed meanwhile", body = ProblemBody)))]
pub async fn update_breach(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(b): ApiJson<BreachPatch>,
) -> Result<Json<BreachResponse>, Problem> {
    let not_notifiable = match b.status.as_deref() {
        None => false,
        Some("not_notifiable") => true,
        Some(_) => {
            return Err(Problem::new(
                crate::problem::Code::InvalidInput,
                "status: only \"not_notifiable\" is set by hand; notifying the authority sets \"notified\"",
            ));
        }
    };
    let v = s
        .services
        .update_breach(
            &p,
            Some(ip),
            id,
            strongroom_core::registers::BreachUpdate {
                authority_notified_at: b.authority_notified_at,
                subjects_notified_at: b.subjects_notified_at,
                delay_reason: b.delay_reason,
                not_notifiable,
                not_notifiable_reason: b.not_notifiable_reason,
                consequences: b.consequences,
                measures: b.measures,
            },
        )
        .await?;
    Ok(Json(v.into()))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct DisclosureResponse {
    id: uuid::Uuid,
    /// Who asks (an authority).
    requester: String,
    legal_basis: String,
    /// `subject:<user id>` or `collection:<name>`: exactly what may be released.
    scope: String,
    /// `open`, `objected`, `released` or `withdrawn`.
    status: String,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: Timestamp,
    /// Until when the tenant may object.
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    objection_until: Timestamp,
    objection_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    released_at: Option<Timestamp>,
    /// The operator who released it.
    released_by: Option<String>,
    /// Released under a final order (overriding the window or an objection).
    final_order: bool,
    records_released: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    updated_at: Timestamp,
}

impl From<strongroom_store::DisclosureRow> for DisclosureResponse {
    fn from(d: strongroom_store::DisclosureRow) -> Self {
        let updated_at = [d.objected_at, d.released_at, d.withdrawn_at]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(d.opened_at);
        Self {
            id: d.id,
            requester: d.requester,
            legal_basis: d.legal_basis,
            scope: d.scope,
            status: d.status,
            created_at: d.opened_at,
            objection_until: d.objection_until,
            objection_reason: d.objection_reason,
            released_at: d.released_at,
            released_by: d.released_by,
            final_order: d.final_order,
            records_released: d.records_released,
            updated_at,
        }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectionBody {
    #[schema(min_length = 1, max_length = 2000)]
    reason: String,
}

/// Disclosure requests against the tenant (administrators), newest first, paged.
#[utoipa::path(get, path = "/api/v1/disclosures", tag = "registers", security(("bearer" = [])),
    params(crate::routes::paging::PageParams),
    responses((status = 200, body = [DisclosureResponse],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page")))))]
pub async fn list_disclosures(
    State(s): State<AppState>,
    Caller(p): Caller,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::routes::paging::PageParams>,
) -> Result<axum::response::Response, Problem> {
    let limit = q.limit()?;
    let rows: Vec<DisclosureResponse> = s
        .services
        .disclosures(&p, q.after(), limit + 1)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(crate::routes::paging::page(
        "/api/v1/disclosures",
        limit,
        rows,
        Vec::new(),
        |r| r.id,
    ))
}

/// Object to a disclosure request within its window: it becomes `objected`, and only a final
/// order releases it.
#[utoipa::path(post, path = "/api/v1/disclosures/{id}/objection", tag = "registers", security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path)), request_body = ObjectionBody,
    responses((status = 200, body = DisclosureResponse), (status = 400, body = ProblemBody),
              (status = 409, description = "not open, or the window has closed", body = ProblemBody)))]
pub async fn object_disclosure(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<uuid::Uuid>,
    ApiJson(b): ApiJson<ObjectionBody>,
) -> Result<Json<DisclosureResponse>, Problem> {
    Ok(Json(
        s.services
            .object_disclosure(&p, Some(ip), id, &b.reason)
            .await?
            .into(),
    ))
}
