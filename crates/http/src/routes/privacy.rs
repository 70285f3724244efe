//! `/privacy-log` and `/me/privacy-log`: who read or changed personal data, and when.

use crate::AppState;
use crate::extract::{ApiQuery, Caller, Unsettled};
use crate::problem::{Problem, ProblemBody};
use crate::routes::paging::{self, page};
use axum::extract::State;
use axum::response::Response;
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
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page.
    after: Option<u64>,
}

/// Query parameters of a person's own privacy log.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MyPrivacyLogParams {
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page.
    after: Option<u64>,
}

/// A sequence-number cursor is an int64 like every sequence number.
fn cursor(after: Option<u64>) -> Result<(), Problem> {
    if after.is_some_and(|a| i64::try_from(a).is_err()) {
        return Err(Problem::new(
            crate::problem::Code::InvalidInput,
            "after: not a cursor of this list",
        ));
    }
    Ok(())
}

fn rfc3339(t: Timestamp) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The tenant's privacy log, newest first, paged (`Link: rel="next"`, filters kept); for
/// administrators.
#[utoipa::path(get, path = "/api/v1/privacy-log", tag = "privacy", security(("bearer" = [])), params(PrivacyLogParams),
    responses((status = 200, body = [PrivacyEntryView],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn privacy_log(
    State(s): State<AppState>,
    Caller(p): Caller,
    ApiQuery(q): ApiQuery<PrivacyLogParams>,
) -> Result<Response, Problem> {
    let limit = paging::limit(q.limit)?;
    cursor(q.after)?;
    let query = PrivacyQuery {
        subject: q.subject_id.map(|u| u.0),
        actor: q.actor_id.map(|u| u.0),
        from: q.from,
        to: q.to,
        before: q.after,
        limit: limit + 1,
    };
    let mut filters: Vec<(&str, String)> = Vec::new();
    if let Some(u) = q.subject_id {
        filters.push(("subject_id", u.0.to_string()));
    }
    if let Some(u) = q.actor_id {
        filters.push(("actor_id", u.0.to_string()));
    }
    if let Some(t) = q.from {
        filters.push(("from", rfc3339(t)));
    }
    if let Some(t) = q.to {
        filters.push(("to", rfc3339(t)));
    }
    let filters = serde_urlencoded::to_string(&filters).unwrap_or_default();
    let path = if filters.is_empty() {
        "/api/v1/privacy-log".to_owned()
    } else {
        format!("/api/v1/privacy-log?{filters}")
    };
    let entries: Vec<PrivacyEntryView> = s
        .services
        .privacy_log(&p, query)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(page(&path, limit, entries, Vec::new(), |e| e.seq))
}

/// Who viewed or changed my data, newest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/me/privacy-log", tag = "me", security(("bearer" = [])), params(MyPrivacyLogParams),
    responses((status = 200, body = [PrivacyEntryView],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 401, body = ProblemBody)))]
pub async fn my_privacy_log(
    State(s): State<AppState>,
    Unsettled(p): Unsettled,
    ApiQuery(q): ApiQuery<MyPrivacyLogParams>,
) -> Result<Response, Problem> {
    let limit = paging::limit(q.limit)?;
    cursor(q.after)?;
    let entries: Vec<PrivacyEntryView> = s
        .services
        .my_privacy_log(&p, q.after, limit + 1)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    Ok(page(
        "/api/v1/me/privacy-log",
        limit,
        entries,
        Vec::new(),
        |e| e.seq,
    ))
}
