//! `/tenant`: the caller's own tenant and its settings (administrators only).

use crate::AppState;
use crate::extract::{ApiJson, Caller};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use strongroom_domain::{TenantId, TenantStatus};
use strongroom_store::Tenant;

#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantView {
    id: TenantId,
    slug: String,
    name: String,
    region: String,
    status: TenantStatus,
    /// Wrong passwords in a row that block an account.
    lockout_threshold: u32,
}

impl From<Tenant> for TenantView {
    fn from(t: Tenant) -> Self {
        Self {
            id: t.id,
            slug: t.slug.as_str().to_owned(),
            name: t.name.as_str().to_owned(),
            region: t.region.as_str().to_owned(),
            status: t.status,
            lockout_threshold: t.lockout_threshold,
        }
    }
}

/// My tenant and its settings.
#[utoipa::path(get, path = "/api/v1/tenant", tag = "tenant", security(("bearer" = [])),
    responses((status = 200, body = TenantView), (status = 403, body = ProblemBody)))]
pub async fn get_tenant(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<TenantView>, Problem> {
    Ok(Json(s.services.my_tenant(&p).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTenantRequest {
    /// 1 to 100; the default is 3.
    #[schema(minimum = 1, maximum = 100)]
    lockout_threshold: u32,
}

/// Change my tenant's settings.
#[utoipa::path(patch, path = "/api/v1/tenant", tag = "tenant", security(("bearer" = [])), request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantView), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn update_tenant(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiJson(req): ApiJson<UpdateTenantRequest>,
) -> Result<Json<TenantView>, Problem> {
    Ok(Json(
        s.services
            .set_lockout_threshold(&p, req.lockout_threshold)
            .await?
            .into(),
    ))
}
