//! The tenant's Cedar policies: edited as text, validated before they are saved (the API's
//! `PUT /policies`), errors listed with the line they point at.

use crate::AppState;
use crate::console::centre::tri;
use crate::console::layout::{self, Nav, csrf};
use crate::console::session::Signed;
use crate::console::{ConsoleForm, texts as t};
use crate::extract::ClientIp;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use strongroom_core::CoreError;
use strongroom_core::access::TenantPolicies;

#[derive(Deserialize)]
pub struct EditQuery {
    done: Option<String>,
}

fn editor(token: &str, p: &TenantPolicies, text: &str, errors: &[String]) -> Markup {
    html! {
        p { (t::POLICIES_EXPLAIN) }
        @if !errors.is_empty() {
            div.error role="alert" {
                p { (t::POLICIES_REFUSED) }
                ul.errors { @for e in errors { li { (e) } } }
            }
        }
        dl { dt { (t::TEMPLATE) } dd { (p.template) } dt { (t::VERSION) } dd { (p.version) } }
        form method="post" action="/console/admin/policies" {
            (csrf(token))
            input type="hidden" name="version" value=(p.version);
            div.field {
                label for="f-policies" { (t::POLICY_TEXT) }
                textarea id="f-policies" name="policies" rows="28" spellcheck="false"
                    aria-invalid=[(!errors.is_empty()).then_some("true")] { (text) }
            }
            button type="submit" { (t::SAVE_POLICIES) }
        }
    }
}

pub async fn edit(State(s): State<AppState>, u: Signed, Query(q): Query<EditQuery>) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let current = tri!(s.services.get_policies(&u.p).await);
    let saved = q.done.as_deref() == Some("saved");
    layout::page(
        t::POLICIES_TITLE,
        &nav,
        html! {
            (layout::notice(saved.then_some(t::POLICIES_SAVED), false))
            (editor(&u.csrf, &current, &current.policies, &[]))
        },
    )
}

#[derive(Deserialize)]
pub struct SaveForm {
    policies: String,
    version: u64,
}

/// The refusal split into its problems (one per line of the list).
fn problems(detail: &str) -> Vec<String> {
    let (head, rest) = detail.split_once(": ").unwrap_or(("", detail));
    if head.starts_with("policies do not") {
        rest.split("; ").map(str::to_owned).collect()
    } else {
        vec![detail.to_owned()]
    }
}

pub async fn save(
    State(state): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<SaveForm>,
) -> Response {
    // Browsers send CRLF line ends from a textarea; the policies are stored as typed otherwise.
    let text = f.policies.replace("\r\n", "\n");
    match state
        .services
        .put_policies(&u.p, Some(ip), None, Some(&text), f.version)
        .await
    {
        Ok(_) => Redirect::to("/console/admin/policies?done=saved").into_response(),
        Err(e @ (CoreError::Invalid(_) | CoreError::Conflict(_))) => {
            let nav = tri!(Nav::of(&state, &u.p, &u.csrf).await);
            let current = tri!(state.services.get_policies(&u.p).await);
            let detail = crate::problem::Problem::from(e).detail;
            let mut r = layout::page(
                t::POLICIES_TITLE,
                &nav,
                editor(&u.csrf, &current, &text, &problems(&detail)),
            );
            *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            r
        }
        Err(e) => layout::error_page(e),
    }
}
