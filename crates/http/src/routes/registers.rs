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

/// The tenant's processors, the operator's and those its configuration implies (newest
/// first).
#[utoipa::path(get, path = "/api/v1/processors", tag = "registers", security(("bearer" = [])),
    responses((status = 200, body = [ProcessorResponse])))]
pub async fn list_processors(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<Vec<ProcessorResponse>>, Problem> {
    Ok(Json(
        s.services
            .processors(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
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
