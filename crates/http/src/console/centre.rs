//! The privacy centre, for every person: profile, roles and groups; who viewed my data; my
//! logins; my export; my deletion notices with their Keep button; forget me.

use super::layout::{self, Field, Nav, csrf, when};
use super::session::{SESSION_COOKIE, Signed, Unsettled, set_cookie};
use super::{ConsoleForm, texts as t};
use crate::AppState;
use crate::extract::ClientIp;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use secrecy::SecretString;
use serde::Deserialize;
use strongroom_core::rights::PrivacyView;
use strongroom_domain::NoticeId;

/// One page of entries shown at a time.
pub const PAGE: u32 = 50;

#[derive(Deserialize, Default)]
pub struct Flash {
    /// A message of the previous step (`kept`, `password`, …), shown once.
    done: Option<String>,
}

fn flash_text(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "kept" => Some(t::KEPT_MESSAGE),
        "password" => Some(t::PASSWORD_CHANGED),
        "totp-removed" => Some(t::TOTP_REMOVED),
        _ => None,
    }
}

macro_rules! tri {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return layout::error_page(e),
        }
    };
}
pub(crate) use tri;

pub async fn home(State(s): State<AppState>, u: Signed, Query(f): Query<Flash>) -> Response {
    let p = &u.p;
    let nav = tri!(Nav::of(&s, p, &u.csrf).await);
    let (tenant, me) = tri!(s.services.me(p).await);
    let groups = tri!(s.services.my_named_groups(p).await);
    let notices = tri!(s.services.my_deletion_notices(p, None, PAGE).await);
    let body = html! {
        (layout::notice(flash_text(f.done.as_deref()), false))
        section aria-labelledby="profile" {
            h2 id="profile" { (t::PROFILE) }
            dl {
                dt { (t::NAME) } dd { (me.name.as_ref().map_or("", |n| n.as_str())) }
                dt { (t::EMAIL) } dd { (me.email.as_ref().map_or("", |e| e.as_str())) }
                dt { (t::TENANT) } dd { (tenant.slug.as_str()) }
                dt { (t::ROLES) } dd { (me.roles.0.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")) }
                dt { (t::GROUPS) } dd {
                    @if groups.is_empty() { (t::NO_GROUPS) }
                    @for (g, role) in &groups { span.group { (g) " (" (role.as_str()) ") " } }
                }
            }
        }
        section aria-labelledby="data" {
            h2 id="data" { (t::MY_DATA) }
            p { (t::EXPORT_HINT) }
            p { a.button href="/console/export" download { (t::DOWNLOAD_EXPORT) } }
        }
        section aria-labelledby="notices" {
            h2 id="notices" { (t::NOTICES) }
            @if notices.is_empty() { p { (t::NO_NOTICES) } } @else {
                table {
                    thead { tr { th scope="col" { (t::NOTICE_WHAT) } th scope="col" { (t::NOTICE_DUE) } th scope="col" { (t::NOTICE_STATE) } } }
                    tbody {
                        @for n in &notices {
                            tr {
                                td { (n.what) }
                                td { (when(n.due_at)) }
                                td {
                                    @if n.done_at.is_some() { (t::DONE) }
                                    @else if n.kept_at.is_some() { (t::KEPT) }
                                    @else {
                                        form method="post" action={ "/console/notices/" (n.id.0) "/keep" } {
                                            (csrf(&u.csrf))
                                            button type="submit" aria-label={ (t::KEEP) ": " (n.what) } { (t::KEEP) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section aria-labelledby="forget" {
            h2 id="forget" { (t::FORGET_TITLE) }
            p { a href="/console/forget" { (t::FORGET_TITLE) } }
        }
    };
    layout::page(t::CENTRE_TITLE, &nav, body)
}

pub async fn keep(State(s): State<AppState>, u: Signed, Path(id): Path<uuid::Uuid>) -> Response {
    tri!(s.services.keep_deletion(&u.p, NoticeId::from(id)).await);
    Redirect::to("/console/?done=kept").into_response()
}

pub async fn export(State(s): State<AppState>, u: Signed, ClientIp(ip): ClientIp) -> Response {
    let user = u.p.user_id;
    crate::routes::zip_response(tri!(s.services.export_user(&u.p, Some(ip), user).await))
}

#[derive(Deserialize)]
pub struct PageQuery {
    after: Option<u64>,
}

/// A table of privacy-log entries with the link to the next page.
pub fn entries_table(entries: &[PrivacyView], subject: bool, next: Option<String>) -> maud::Markup {
    html! {
        @if entries.is_empty() { p { (t::NOTHING_YET) } } @else {
            table {
                thead { tr {
                    th scope="col" { (t::AT) } th scope="col" { (t::ACTOR) } th scope="col" { (t::VIA) }
                    @if subject { th scope="col" { (t::SUBJECT) } }
                    th scope="col" { (t::OBJECT) } th scope="col" { (t::ACTION) } th scope="col" { (t::FIELDS) }
                    th scope="col" { (t::DECISION) }
                } }
                tbody {
                    @for e in entries {
                        tr {
                            td { (when(e.at)) }
                            td { (e.actor.as_deref().unwrap_or("—")) }
                            td { (e.via) }
                            @if subject { td { (e.subject_id.map(|s| s.0.to_string()).unwrap_or_default()) } }
                            td { (e.object) }
                            td { (e.action) }
                            td { (e.fields.join(", ")) }
                            td { (e.decision) }
                        }
                    }
                }
            }
        }
        @if let Some(next) = next { p { a rel="next" href=(next) { (t::NEXT_PAGE) } } }
    }
}

/// Splits a page fetched with one extra item into the page and the cursor of the next.
pub fn split_page<T, C>(
    mut items: Vec<T>,
    limit: u32,
    cursor: impl Fn(&T) -> C,
) -> (Vec<T>, Option<C>) {
    if items.len() > limit as usize {
        items.truncate(limit as usize);
        let next = items.last().map(cursor);
        (items, next)
    } else {
        (items, None)
    }
}

pub async fn my_privacy_log(
    State(s): State<AppState>,
    u: Unsettled,
    Query(q): Query<PageQuery>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let entries = tri!(s.services.my_privacy_log(&u.p, q.after, PAGE + 1).await);
    let (entries, next) = split_page(entries, PAGE, |e| e.seq);
    let next = next.map(|n| format!("/console/privacy-log?after={n}"));
    layout::page(
        t::VIEWS_TITLE,
        &nav,
        html! { p { (t::VIEWS_EXPLAIN) } (entries_table(&entries, false, next)) },
    )
}

pub async fn my_logins(State(s): State<AppState>, u: Unsettled) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let logins = tri!(s.services.my_logins(&u.p, None, PAGE).await);
    layout::page(
        t::LOGINS_TITLE,
        &nav,
        html! {
            @if logins.is_empty() { p { (t::NOTHING_YET) } } @else {
                table {
                    thead { tr { th scope="col" { (t::AT) } th scope="col" { (t::ADDRESS) } th scope="col" { (t::OUTCOME) } } }
                    tbody { @for l in &logins { tr {
                        td { (when(l.at)) }
                        td { (l.ip.as_deref().unwrap_or("—")) }
                        td { (l.outcome.as_str()) }
                    } } }
                }
            }
        },
    )
}

pub async fn forget_page(State(s): State<AppState>, u: Signed) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    layout::page(t::FORGET_TITLE, &nav, forget_form(&u.csrf, None))
}

fn forget_form(token: &str, error: Option<&str>) -> maud::Markup {
    html! {
        (layout::notice(error, true))
        p { (t::FORGET_EXPLAIN) }
        form method="post" action="/console/forget" {
            (csrf(token))
            (Field::new(t::CURRENT_PASSWORD, "password", "password", "current-password").render())
            (Field::new(t::FORGET_CONFIRM_LABEL, "confirm", "text", "off").render())
            button.danger type="submit" { (t::FORGET_BUTTON) }
        }
    }
}

#[derive(Deserialize)]
pub struct ForgetForm {
    password: SecretString,
    confirm: String,
}

pub async fn forget(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<ForgetForm>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    if f.confirm.trim() != t::FORGET_CONFIRM_WORD {
        let mut r = layout::page(
            t::FORGET_TITLE,
            &nav,
            forget_form(&u.csrf, Some(t::FORGET_MISTYPED)),
        );
        *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        return r;
    }
    if let Err(e) = s.services.confirm_password(&u.p, f.password, ip).await {
        return layout::form_refused(&nav, t::FORGET_TITLE, e, forget_form(&u.csrf, None));
    }
    tri!(s.services.forget_me(&u.p).await);
    let mut r = layout::message_page(StatusCode::OK, t::FORGET_TITLE, t::FORGOTTEN);
    r.headers_mut()
        .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, None));
    r
}

pub async fn apps(State(s): State<AppState>, u: Signed, Query(f): Query<Flash>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let apps = tri!(s.services.connected_apps(&u.p).await);
    let done = (f.done.as_deref() == Some("disconnected")).then_some(t::DISCONNECTED);
    layout::page(
        t::APPS_TITLE,
        &nav,
        html! {
            (layout::notice(done, false))
            p { (t::APPS_EXPLAIN) }
            @if apps.is_empty() { p { (t::NO_APPS) } } @else {
                table {
                    thead { tr { th scope="col" { (t::NAME) } th scope="col" { (t::SINCE) } th scope="col" { (t::ANSWER_APP) } } }
                    tbody { @for a in &apps { tr {
                        td { (a.name) }
                        td { (when(a.since)) }
                        td {
                            form method="post" action={ "/console/apps/" (a.id.0) "/disconnect" } {
                                (csrf(&u.csrf))
                                button.secondary type="submit" aria-label={ (t::DISCONNECT) ": " (a.name) } { (t::DISCONNECT) }
                            }
                        }
                    } } }
                }
            }
        },
    )
}

pub async fn disconnect(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
) -> Response {
    tri!(
        s.services
            .disconnect_app(&u.p, strongroom_domain::ClientId::from(id), Some(ip))
            .await
    );
    Redirect::to("/console/apps?done=disconnected").into_response()
}
