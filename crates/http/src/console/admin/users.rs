//! Users: search by e-mail (the blind index), a paged list, creation with the one-time
//! password shown once, roles, second-factor reset, forgetting.

use crate::AppState;
use crate::console::centre::{split_page, tri};
use crate::console::layout::{self, Field, Nav, csrf, when};
use crate::console::session::Signed;
use crate::console::{ConsoleForm, texts as t};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;
use strongroom_core::CoreError;
use strongroom_core::tenancy::{NewUserRequest, UserChanges, UserInfo};
use strongroom_domain::{Email, PersonName, Role, Roles, UserId};

const PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct ListQuery {
    email: Option<String>,
    after: Option<uuid::Uuid>,
    done: Option<String>,
}

fn roles_text(r: &Roles) -> String {
    r.0.iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The roles a console form may give (never `superuser`: the API refuses it too).
fn assignable() -> impl Iterator<Item = Role> {
    Role::ALL.into_iter().filter(|r| *r != Role::Superuser)
}

fn role_boxes(checked: &Roles) -> Markup {
    html! {
        fieldset {
            legend { (t::ROLES) }
            @for r in assignable() {
                label.inline-check {
                    input type="checkbox" name="roles" value=(r.as_str()) checked[checked.contains(r)];
                    " " (r.as_str())
                }
                " "
            }
        }
    }
}

fn create_form(token: &str) -> Markup {
    html! {
        h2 id="create" { (t::CREATE_USER) }
        form method="post" action="/console/admin/users" {
            (csrf(token))
            (Field::new(t::EMAIL, "email", "email", "off").render())
            (Field::new(t::NAME, "name", "text", "off").render())
            (role_boxes(&Roles::default()))
            (Field::new(t::LICENCE, "license_expires_at", "date", "off").optional().render())
            button type="submit" { (t::CREATE) }
        }
    }
}

fn users_table(users: &[UserInfo]) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { (t::NAME) } th scope="col" { (t::EMAIL) } th scope="col" { (t::ROLES) } th scope="col" { (t::STATUS) } } }
            tbody { @for u in users { tr {
                td { a href={ "/console/admin/users/" (u.id.0) } { (u.name.as_ref().map_or("—", |n| n.as_str())) } }
                td { (u.email.as_ref().map_or("—", |e| e.as_str())) }
                td { (roles_text(&u.roles)) }
                td { (u.status.as_str()) }
            } } }
        }
    }
}

pub async fn list(State(s): State<AppState>, u: Signed, Query(q): Query<ListQuery>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let email = q.email.as_deref().map(str::trim).filter(|e| !e.is_empty());
    let (users, next) = if let Some(email) = email {
        (tri!(s.services.find_user_by_email(&u.p, email).await), None)
    } else {
        let users = tri!(
            s.services
                .list_users(&u.p, q.after.map(UserId::from), PAGE + 1)
                .await
        );
        split_page(users, PAGE, |u| u.id.0)
    };
    let done = match q.done.as_deref() {
        Some("forgotten") => Some(t::FORGET_USER_DONE),
        _ => None,
    };
    let body = html! {
        (layout::notice(done, false))
        form.inline method="get" action="/console/admin/users" role="search" {
            (Field::new(t::SEARCH_EMAIL, "email", "search", "off").id("f-find-email").value(email.unwrap_or_default()).optional().render())
            button type="submit" { (t::SEARCH) }
        }
        @if email.is_some() && users.is_empty() { p role="status" { (t::NO_SUCH_USER) } }
        @else { (users_table(&users)) }
        @if let Some(n) = next { p { a rel="next" href={ "/console/admin/users?after=" (n) } { (t::OLDER_USERS) } } }
        (create_form(&u.csrf))
    };
    layout::page(t::USERS_TITLE, &nav, body)
}

/// The roles ticked in a form (`roles=…` repeated); an unknown name is refused.
fn form_roles(form: &[(String, String)]) -> Result<Roles, CoreError> {
    form.iter()
        .filter(|(k, _)| k == "roles")
        .map(|(_, v)| {
            Role::parse(v).ok_or_else(|| CoreError::Invalid(format!("roles: no role {v:?}")))
        })
        .collect()
}

fn form_value<'a>(form: &'a [(String, String)], key: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == key)
        .map_or("", |(_, v)| v.trim())
}

/// The licence date of a form (`YYYY-MM-DD`, to the end of that day, UTC); empty: none.
fn licence_of(
    form: &[(String, String)],
) -> Result<Option<strongroom_domain::Timestamp>, CoreError> {
    match form_value(form, "license_expires_at") {
        "" => Ok(None),
        d => {
            let f = time::macros::format_description!("[year]-[month]-[day]");
            let date = time::Date::parse(d, &f)
                .map_err(|_| CoreError::Invalid("licence: a date as YYYY-MM-DD".into()))?;
            Ok(Some(
                date.with_hms(23, 59, 59)
                    .unwrap_or(date.midnight())
                    .assume_utc(),
            ))
        }
    }
}

fn parse_new_user(form: &[(String, String)]) -> Result<NewUserRequest, CoreError> {
    let email = Email::parse(form_value(form, "email"))
        .map_err(|e| CoreError::Invalid(format!("email: {e}")))?;
    let name = PersonName::parse(form_value(form, "name"))
        .map_err(|e| CoreError::Invalid(format!("name: {e}")))?;
    let roles = form_roles(form)?;
    if roles.0.is_empty() {
        return Err(CoreError::Invalid("roles: give at least one role".into()));
    }
    let licence = licence_of(form)?;
    Ok(NewUserRequest {
        email,
        name,
        roles,
        license_expires_at: licence,
    })
}

pub async fn create(
    State(s): State<AppState>,
    u: Signed,
    ConsoleForm(form): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let created = match parse_new_user(&form) {
        Ok(req) => s.services.create_user(&u.p, req).await,
        Err(e) => Err(e),
    };
    match created {
        Ok((id, password)) => {
            let mut r = layout::page(
                t::CREATE_USER,
                &nav,
                html! {
                    p.ok role="status" { (t::CREATED_USER) }
                    dl {
                        dt { (t::EMAIL) } dd { (form_value(&form, "email")) }
                        dt { (t::ONE_TIME_PASSWORD) } dd { code.secret id="one-time-password" { (password.expose_secret()) } }
                    }
                    p { a href={ "/console/admin/users/" (id.0) } { (t::USER_TITLE) } }
                },
            );
            *r.status_mut() = StatusCode::CREATED;
            r
        }
        Err(e) => layout::form_refused(&nav, t::CREATE_USER, e, create_form(&u.csrf)),
    }
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    State(s): State<AppState>,
    u: Signed,
    Path(id): Path<uuid::Uuid>,
    Query(q): Query<ShowQuery>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let user = tri!(s.services.get_user(&u.p, UserId::from(id)).await);
    let done = match q.done.as_deref() {
        Some("roles") => Some(t::ROLES_SAVED),
        Some("factor") => Some(t::FACTOR_RESET),
        Some("licence") => Some(t::LICENCE_SAVED),
        _ => None,
    };
    let base = format!("/console/admin/users/{id}");
    let body = html! {
        (layout::notice(done, false))
        dl {
            dt { (t::NAME) } dd { (user.name.as_ref().map_or("—", |n| n.as_str())) }
            dt { (t::EMAIL) } dd { (user.email.as_ref().map_or("—", |e| e.as_str())) }
            dt { (t::STATUS) } dd { (user.status.as_str()) }
            dt { (t::LICENCE) } dd { (user.license_expires_at.map(when).unwrap_or_default()) }
        }
        form method="post" action={ (base) "/roles" } {
            (csrf(&u.csrf))
            (role_boxes(&user.roles))
            button type="submit" { (t::SAVE_ROLES) }
        }
        form method="post" action={ (base) "/licence" } {
            (csrf(&u.csrf))
            (Field::new(t::LICENCE, "license_expires_at", "date", "off").value(&user.license_expires_at.map(|d| d.date().to_string()).unwrap_or_default()).optional().render())
            button type="submit" { (t::SAVE_LICENCE) }
        }
        form method="post" action={ (base) "/second-factor/reset" } {
            (csrf(&u.csrf))
            button.secondary type="submit" { (t::RESET_FACTOR) }
        }
        h2 { (t::FORGET_USER) }
        form method="post" action={ (base) "/forget" } {
            (csrf(&u.csrf))
            label { input type="checkbox" name="confirm" value="yes" required; " " (t::FORGET_USER_CONFIRM) }
            " "
            button.danger type="submit" { (t::FORGET_USER) }
        }
    };
    layout::page(t::USER_TITLE, &nav, body)
}

pub async fn set_roles(
    State(s): State<AppState>,
    u: Signed,
    Path(id): Path<uuid::Uuid>,
    ConsoleForm(form): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let roles = tri!(form_roles(&form));
    let changes = UserChanges {
        name: None,
        roles: Some(roles),
        license_expires_at: None,
    };
    tri!(
        s.services
            .update_user(&u.p, UserId::from(id), changes)
            .await
    );
    Redirect::to(&format!("/console/admin/users/{id}?done=roles")).into_response()
}

pub async fn set_licence(
    State(s): State<AppState>,
    u: Signed,
    Path(id): Path<uuid::Uuid>,
    ConsoleForm(form): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let licence = tri!(licence_of(&form));
    let changes = UserChanges {
        name: None,
        roles: None,
        license_expires_at: Some(licence),
    };
    tri!(
        s.services
            .update_user(&u.p, UserId::from(id), changes)
            .await
    );
    Redirect::to(&format!("/console/admin/users/{id}?done=licence")).into_response()
}

pub async fn reset_factor(
    State(s): State<AppState>,
    u: Signed,
    Path(id): Path<uuid::Uuid>,
) -> Response {
    tri!(s.services.totp_reset(&u.p, UserId::from(id)).await);
    Redirect::to(&format!("/console/admin/users/{id}?done=factor")).into_response()
}

pub async fn forget(
    State(s): State<AppState>,
    u: Signed,
    Path(id): Path<uuid::Uuid>,
    ConsoleForm(form): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    if form_value(&form, "confirm") != "yes" {
        return layout::message_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            t::FORGET_USER,
            t::CONFIRM_MISSING,
        );
    }
    tri!(s.services.forget_user(&u.p, UserId::from(id)).await);
    Redirect::to("/console/admin/users?done=forgotten").into_response()
}
