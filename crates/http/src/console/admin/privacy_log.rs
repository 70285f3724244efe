//! The tenant's privacy log: filters by subject, actor and time, paged (the API's
//! `GET /privacy-log`).

use crate::AppState;
use crate::console::centre::{PAGE, entries_table, split_page, tri};
use crate::console::layout::{self, Field, Nav};
use crate::console::session::Signed;
use crate::console::texts as t;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use strongroom_store::PrivacyQuery;

#[derive(Deserialize, Default)]
pub struct LogQuery {
    #[serde(default)]
    subject_id: String,
    #[serde(default)]
    actor_id: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    after: Option<u64>,
}

/// `YYYY-MM-DDTHH:MM` (a `datetime-local` field) or RFC 3339, as UTC.
fn time_of(s: &str) -> Result<Option<time::OffsetDateTime>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    if let Ok(t) = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Ok(Some(t));
    }
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    time::PrimitiveDateTime::parse(s, &f)
        .map(|t| Some(t.assume_utc()))
        .map_err(|_| ())
}

fn id_of(s: &str) -> Result<Option<uuid::Uuid>, ()> {
    let s = s.trim();
    if s.is_empty() {
        Ok(None)
    } else {
        s.parse().map(Some).map_err(|_| ())
    }
}

pub async fn list(State(s): State<AppState>, u: Signed, Query(q): Query<LogQuery>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let form = html! {
        form.inline method="get" action="/console/admin/privacy-log" role="search" aria-label=(t::FILTER) {
            (Field::new(t::SUBJECT_ID, "subject_id", "text", "off").value(&q.subject_id).optional().render())
            (Field::new(t::ACTOR_ID, "actor_id", "text", "off").value(&q.actor_id).optional().render())
            (Field::new(t::FROM, "from", "datetime-local", "off").value(&q.from).optional().render())
            (Field::new(t::TO, "to", "datetime-local", "off").value(&q.to).optional().render())
            button type="submit" { (t::FILTER) }
        }
    };
    let parsed = (
        id_of(&q.subject_id),
        id_of(&q.actor_id),
        time_of(&q.from),
        time_of(&q.to),
    );
    let (Ok(subject), Ok(actor), Ok(from), Ok(to)) = parsed else {
        let mut r = layout::page(
            t::LOG_TITLE,
            &nav,
            html! { p.error role="alert" { (t::BAD_FILTER) } (form) },
        );
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    };
    let query = PrivacyQuery {
        subject,
        actor,
        from,
        to,
        before: q.after,
        limit: PAGE + 1,
    };
    let entries = tri!(s.services.privacy_log(&u.p, query).await);
    let (entries, next) = split_page(entries, PAGE, |e| e.seq);
    let next = next.map(|n| {
        let keep = serde_urlencoded::to_string([
            ("subject_id", q.subject_id.as_str()),
            ("actor_id", q.actor_id.as_str()),
            ("from", q.from.as_str()),
            ("to", q.to.as_str()),
        ])
        .unwrap_or_default();
        format!("/console/admin/privacy-log?{keep}&after={n}")
    });
    layout::page(
        t::LOG_TITLE,
        &nav,
        html! { (form) (entries_table(&entries, true, next)) },
    )
}
