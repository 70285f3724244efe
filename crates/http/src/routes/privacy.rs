//! `/privacy-log` and `/me/privacy-log`: who read or changed personal data, and when.

use crate::AppState;
use crate::extract::{ApiQuery, Caller, Unsettled};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use strongroom_core::rights::PrivacyView;
use strongroom_domain::{Timestamp, UserId};
use strongroom_store::PrivacyQuery;

#[derive(Serialize, utoipa::ToSchema)]
pub struct PrivacyEntryView {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    at: Timestamp,
    actor_id: Option<UserId>,
    /// The actor's name now, or `Deleted GDPR` once forgotten.
    actor: Option<String>,
    /// The roles or grant the actor acted in.
    via: String,
    subject_id: Option<UserId>,
    /// `type/id` of what was touched.
    object: String,
    action: String,
    fields: Vec<String>,
    /// `allow` or `deny`.
    decision: String,
    /// The actor's client address (administrators' view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<String>,
}

impl From<PrivacyView> for PrivacyEntryView {
    fn from(v: PrivacyView) -> Self {
        Self {
            seq: v.seq,
            at: v.at,
            actor_id: v.actor_id,
            actor: v.actor,
            via: v.via,
            subject_id: v.subject_id,
            object: v.object,
            action: v.action,
            fields: v.fields,
            decision: v.decision,
            client: v.client,
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PrivacyLogParams {
    #[param(value_type = UserId, required = false)]
    subject_id: Option<UserId>,
    #[param(value_type = UserId, required = false)]
    actor_id: Option<UserId>,
    /// RFC 3339, inclusive.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = String, format = DateTime, required = false)]
    from: Option<Timestamp>,
    /// RFC 3339, exclusive.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[param(value_type = String, format = DateTime, required = false)]
    to: Option<Timestamp>,
    /// How many entries, at most 500 (the default): a larger number answers 500, 0 answers 1.
    #[param(value_type = u64, required = false, minimum = 0, maximum = 4_294_967_295.0)]
    limit: Option<u32>,
}

/// The tenant's privacy log, newest first (administrators).
#[utoipa::path(get, path = "/api/v1/privacy-log", tag = "privacy", security(("bearer" = [])), params(PrivacyLogParams),
    responses((status = 200, body = [PrivacyEntryView]), (status = 403, body = ProblemBody)))]
pub async fn privacy_log(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PrivacyLogParams>,
) -> Result<Json<Vec<PrivacyEntryView>>, Problem> {
    let query = PrivacyQuery {
        subject: q.subject_id.map(|u| u.0),
        actor: q.actor_id.map(|u| u.0),
        from: q.from,
        to: q.to,
        limit: q
            .limit
            .unwrap_or(strongroom_core::rights::PRIVACY_PAGE_LIMIT),
    };
    Ok(Json(
        s.services
            .privacy_log(&p, query)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// Who viewed or changed my data, newest first.
#[utoipa::path(get, path = "/api/v1/me/privacy-log", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = [PrivacyEntryView]), (status = 401, body = ProblemBody)))]
pub async fn my_privacy_log(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
) -> Result<Json<Vec<PrivacyEntryView>>, Problem> {
    Ok(Json(
        s.services
            .my_privacy_log(&p)
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}
