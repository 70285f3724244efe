//! The tenant's settings pages: groups and members, retention rules, integration clients and
//! apps, the registers (processors, breaches, disclosure requests with the objection), and the
//! TOM report — each over the API's service of the same name.

use crate::AppState;
use crate::console::centre::{split_page, tri};
use crate::console::layout::{self, Field, Nav, csrf, when};
use crate::console::session::Signed;
use crate::console::{ConsoleForm, texts as t};
use crate::extract::ClientIp;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{PreEscaped, html};
use secrecy::ExposeSecret;
use serde::Deserialize;
use strongroom_core::CoreError;
use strongroom_domain::{GroupId, MembershipRole, TenantName, UserId};

#[derive(Deserialize, Default)]
pub struct Done {
    done: Option<String>,
    after: Option<uuid::Uuid>,
}

const PAGE: u32 = 50;

pub async fn groups(State(s): State<AppState>, u: Signed, Query(q): Query<Done>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let groups = tri!(
        s.services
            .groups_page(&u.p, q.after.map(GroupId::from), PAGE + 1)
            .await
    );
    let (groups, next) = split_page(groups, PAGE, |(g, _)| g.id.0);
    let body = html! {
        (layout::notice(q.done.as_deref().map(|_| t::SAVED), false))
        table {
            thead { tr { th scope="col" { (t::GROUP_NAME) } th scope="col" { (t::GROUP_ID) } th scope="col" { (t::MEMBERS) } } }
            tbody { @for (g, members) in &groups { tr {
                td { (g.name.as_str()) }
                td { code { (g.id.0) } }
                td { @for m in members { a href={ "/console/admin/users/" (m.user_id.0) } { (m.role.as_str()) } " " } }
            } } }
        }
        @if let Some(n) = next { p { a rel="next" href={ "/console/admin/groups?after=" (n) } { (t::OLDER) } } }
        h2 { (t::CREATE_GROUP) }
        form method="post" action="/console/admin/groups" {
            (csrf(&u.csrf))
            (Field::new(t::GROUP_NAME, "name", "text", "off").render())
            button type="submit" { (t::CREATE) }
        }
        h2 { (t::ADD_MEMBER) }
        form method="post" action="/console/admin/groups/members" {
            (csrf(&u.csrf))
            (Field::new(t::GROUP_ID, "group_id", "text", "off").render())
            (Field::new(t::USER_ID, "user_id", "text", "off").render())
            div.field {
                label for="f-role" { (t::MEMBER_ROLE) }
                select id="f-role" name="role" { option value="participant" { "participant" } option value="coach" { "coach" } }
            }
            button type="submit" { (t::SAVE) }
        }
    };
    layout::page(t::GROUPS_TITLE, &nav, body)
}

#[derive(Deserialize)]
pub struct GroupForm {
    name: String,
}

pub async fn create_group(
    State(s): State<AppState>,
    u: Signed,
    ConsoleForm(f): ConsoleForm<GroupForm>,
) -> Response {
    let name = tri!(TenantName::parse(&f.name).map_err(|e| CoreError::Invalid(e.to_string())));
    tri!(s.services.create_group(&u.p, name).await);
    Redirect::to("/console/admin/groups?done=created").into_response()
}

#[derive(Deserialize)]
pub struct MemberForm {
    group_id: String,
    user_id: String,
    role: String,
}

pub async fn put_member(
    State(s): State<AppState>,
    u: Signed,
    ConsoleForm(f): ConsoleForm<MemberForm>,
) -> Response {
    let id = |v: &str, what: &str| {
        v.trim()
            .parse::<uuid::Uuid>()
            .map_err(|_| CoreError::Invalid(format!("{what}: an id (a UUID)")))
    };
    let group = tri!(id(&f.group_id, "group_id"));
    let user = tri!(id(&f.user_id, "user_id"));
    let role = match f.role.as_str() {
        "coach" => MembershipRole::Coach,
        "participant" => MembershipRole::Participant,
        _ => return layout::error_page(CoreError::Invalid("role: participant or coach".into())),
    };
    tri!(
        s.services
            .put_member(&u.p, GroupId::from(group), UserId::from(user), role)
            .await
    );
    Redirect::to("/console/admin/groups?done=member").into_response()
}

pub async fn retention(State(s): State<AppState>, u: Signed, Query(q): Query<Done>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let rules = tri!(s.services.retention_rules(&u.p).await);
    let json = serde_json::to_value(rules).unwrap_or_default();
    let fields: Vec<(String, String)> = json
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.to_string())).collect())
        .unwrap_or_default();
    let body = html! {
        (layout::notice(q.done.as_deref().map(|_| t::SAVED), false))
        p { (t::RETENTION_EXPLAIN) }
        form method="post" action="/console/admin/retention" {
            (csrf(&u.csrf))
            @for (k, v) in &fields {
                (Field::new(k, k, "number", "off").value(v).render())
            }
            button type="submit" { (t::SAVE) }
        }
    };
    layout::page(t::RETENTION_TITLE, &nav, body)
}

pub async fn save_retention(
    State(s): State<AppState>,
    u: Signed,
    ConsoleForm(form): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let mut obj = serde_json::Map::new();
    for (k, v) in form.into_iter().filter(|(k, _)| k != "csrf") {
        let n: u64 = tri!(
            v.trim()
                .parse()
                .map_err(|_| CoreError::Invalid(format!("{k}: a number of days")))
        );
        obj.insert(k, n.into());
    }
    let rules =
        tri!(serde_json::from_value(obj.into()).map_err(|e| CoreError::Invalid(e.to_string())));
    tri!(s.services.put_retention_rules(&u.p, rules).await);
    Redirect::to("/console/admin/retention?done=saved").into_response()
}

pub async fn clients(State(s): State<AppState>, u: Signed, Query(q): Query<Done>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let clients = tri!(
        s.services
            .list_clients(
                &u.p,
                q.after.map(strongroom_domain::ClientId::from),
                PAGE + 1
            )
            .await
    );
    let (clients, next) = split_page(clients, PAGE, |c| c.id.0);
    let body = html! {
        (layout::notice(q.done.as_deref().map(|_| t::SAVED), false))
        table {
            thead { tr { th scope="col" { (t::NAME) } th scope="col" { (t::CLIENT_ID) } th scope="col" { (t::KIND) } th scope="col" { (t::SCOPES) } th scope="col" { (t::ANSWER) } } }
            tbody { @for c in &clients { tr {
                td { (c.name) }
                td { code { (c.client_id) } }
                td { (c.kind.as_str()) }
                td { (c.scopes.join(" ")) (c.redirect_uris.join(" ")) }
                td { form method="post" action={ "/console/admin/clients/" (c.id.0) "/delete" } {
                    (csrf(&u.csrf))
                    button.danger type="submit" aria-label={ (t::DELETE) ": " (c.name) } { (t::DELETE) }
                } }
            } } }
        }
        @if let Some(n) = next { p { a rel="next" href={ "/console/admin/clients?after=" (n) } { (t::OLDER) } } }
        h2 { (t::CREATE_CLIENT) }
        form method="post" action="/console/admin/clients" {
            (csrf(&u.csrf))
            input type="hidden" name="kind" value="confidential";
            (Field::new(t::NAME, "name", "text", "off").id("f-client-name").render())
            (Field::new(t::SCOPES, "scopes", "text", "off").render())
            button type="submit" { (t::CREATE) }
        }
        h2 { (t::CREATE_APP) }
        form method="post" action="/console/admin/clients" {
            (csrf(&u.csrf))
            input type="hidden" name="kind" value="public";
            (Field::new(t::NAME, "name", "text", "off").id("f-app-name").render())
            (Field::new(t::REDIRECT_URIS, "redirect_uris", "text", "off").render())
            button type="submit" { (t::CREATE) }
        }
    };
    layout::page(t::CLIENTS_TITLE, &nav, body)
}

#[derive(Deserialize)]
pub struct ClientForm {
    kind: String,
    name: String,
    #[serde(default)]
    scopes: String,
    #[serde(default)]
    redirect_uris: String,
}

pub async fn create_client(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<ClientForm>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let words = |v: &str| v.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    let (client_id, secret) = if f.kind == "public" {
        let app = tri!(
            s.services
                .create_public_client(&u.p, Some(ip), &f.name, &words(&f.redirect_uris))
                .await
        );
        (app.client_id, None)
    } else {
        let c = tri!(
            s.services
                .create_client(&u.p, Some(ip), &f.name, &words(&f.scopes))
                .await
        );
        (c.client_id, Some(c.client_secret))
    };
    let mut r = layout::page(
        t::CLIENTS_TITLE,
        &nav,
        html! {
            p.ok role="status" { (t::CLIENT_CREATED) }
            dl {
                dt { (t::CLIENT_ID) } dd { code { (client_id) } }
                @if let Some(sec) = &secret { dt { (t::CLIENT_SECRET) } dd { code.secret { (sec.expose_secret()) } } }
            }
            p { a href="/console/admin/clients" { (t::CLIENTS_TITLE) } }
        },
    );
    *r.status_mut() = StatusCode::CREATED;
    r
}

pub async fn delete_client(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
) -> Response {
    tri!(
        s.services
            .delete_client(&u.p, Some(ip), strongroom_domain::ClientId::from(id))
            .await
    );
    Redirect::to("/console/admin/clients?done=deleted").into_response()
}

pub async fn registers(State(s): State<AppState>, u: Signed, Query(q): Query<Done>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let processors = tri!(s.services.processors(&u.p, None, 100).await);
    let breaches = tri!(s.services.breaches(&u.p, None, 100).await);
    let disclosures = tri!(s.services.disclosures(&u.p, None, 100).await);
    let body = html! {
        (layout::notice(q.done.as_deref().map(|_| t::SAVED), false))
        h2 { (t::PROCESSORS) }
        table {
            thead { tr { th scope="col" { (t::NAME) } th scope="col" { (t::PURPOSE) } th scope="col" { (t::LOCATION) } } }
            tbody { @for p in &processors { tr { td { (p.name) } td { (p.purpose) } td { (p.location) } } } }
        }
        h2 { (t::BREACHES) }
        @if breaches.is_empty() { p { (t::NOTHING_YET) } } @else {
            table {
                thead { tr { th scope="col" { (t::NAME) } th scope="col" { (t::STATUS) } th scope="col" { (t::DEADLINE) } } }
                tbody { @for b in &breaches { tr {
                    td { (b.row.title) } td { (b.row.status) @if b.overdue { " (" (t::OVERDUE) ")" } } td { (when(b.deadline_at)) }
                } } }
            }
        }
        h2 { (t::DISCLOSURES) }
        @if disclosures.is_empty() { p { (t::NOTHING_YET) } } @else {
            table {
                thead { tr { th scope="col" { (t::REQUESTER) } th scope="col" { (t::STATUS) } th scope="col" { (t::OBJECT_UNTIL) } th scope="col" { (t::ANSWER) } } }
                tbody { @for d in &disclosures { tr {
                    td { (d.requester) " (" (d.scope) ")" } td { (d.status) } td { (when(d.objection_until)) }
                    td { @if d.status == "open" {
                        form method="post" action={ "/console/admin/disclosures/" (d.id) "/objection" } {
                            (csrf(&u.csrf))
                            (Field::new(t::OBJECTION, "reason", "text", "off").id(&format!("f-reason-{}", d.id)).render())
                            button type="submit" { (t::SEND_OBJECTION) }
                        }
                    } }
                } } }
            }
        }
    };
    layout::page(t::REGISTERS_TITLE, &nav, body)
}

#[derive(Deserialize)]
pub struct ObjectionForm {
    reason: String,
}

pub async fn object(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    Path(id): Path<uuid::Uuid>,
    ConsoleForm(f): ConsoleForm<ObjectionForm>,
) -> Response {
    tri!(
        s.services
            .object_disclosure(&u.p, Some(ip), id, &f.reason)
            .await
    );
    Redirect::to("/console/admin/registers?done=objection").into_response()
}

/// The TOM report, as the API's HTML rendering (generated and escaped by the report itself).
pub async fn report(State(s): State<AppState>, u: Signed) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let html = tri!(
        s.services
            .my_tom_report(&u.p, strongroom_core::reports::ReportFormat::Html)
            .await
    );
    let body = html
        .split_once("<body>")
        .and_then(|(_, b)| b.rsplit_once("</body>"))
        .map_or("", |(b, _)| b);
    // The page has its own h1: the report's headings move one level down.
    let body = (1..=5).rev().fold(body.to_owned(), |b, n| {
        b.replace(&format!("<h{n}"), &format!("<h{}", n + 1))
            .replace(&format!("</h{n}>"), &format!("</h{}>", n + 1))
    });
    layout::page(
        t::REPORT_TITLE,
        &nav,
        html! { div.report { (PreEscaped(body)) } },
    )
}
