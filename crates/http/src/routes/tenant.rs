//! `/tenant`: the caller's own tenant and its settings (administrators only).

use crate::AppState;
use crate::extract::{ApiJson, Caller, ClientIp};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use strongroom_core::tenancy::TenantSettingsChange;
use strongroom_domain::{Role, Roles, TenantId, TenantStatus};
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
    /// Users holding any of these roles must enrol a second factor before anything else.
    require_totp_roles: Vec<Role>,
    /// Whether the vendor's operator may open a break-glass support grant (read only, at
    /// most 240 minutes, the administrators mailed at once).
    break_glass: bool,
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
            require_totp_roles: t.require_totp_roles.0.into_iter().collect(),
            break_glass: t.break_glass,
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
    lockout_threshold: Option<u32>,
    /// The roles that must use a second factor (new tenants: `["administrator"]`).
    #[schema(max_items = 5)]
    require_totp_roles: Option<Vec<Role>>,
    /// `false` refuses the operator's break-glass grants for this tenant.
    break_glass: Option<bool>,
}

/// Change my tenant's security settings; only the fields given change. Every change is an
/// entry in the tenant's privacy log (what changed, from what to what).
#[utoipa::path(patch, path = "/api/v1/tenant", tag = "tenant", security(("bearer" = [])), request_body = UpdateTenantRequest,
    responses((status = 200, body = TenantView), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn update_tenant(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<UpdateTenantRequest>,
) -> Result<Json<TenantView>, Problem> {
    let change = TenantSettingsChange {
        lockout_threshold: req.lockout_threshold,
        require_totp_roles: req
            .require_totp_roles
            .map(|r| r.into_iter().collect::<Roles>()),
        break_glass: req.break_glass,
    };
    Ok(Json(
        s.services
            .update_tenant_settings(&p, Some(ip), change)
            .await?
            .into(),
    ))
}
