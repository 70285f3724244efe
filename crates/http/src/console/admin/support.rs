//! Support requests of the vendor's staff: approve (for at most the minutes asked), deny,
//! revoke — the API's `/support/requests` answers.

use crate::AppState;
use crate::console::centre::tri;
use crate::console::layout::{self, Nav, csrf, when};
use crate::console::session::Signed;
use crate::console::{ConsoleForm, texts as t};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use strongroom_core::CoreError;
use strongroom_core::support::{SupportAnswer, SupportRequestView};
use strongroom_domain::{SupportRequestId, SupportStatus};

fn actions(token: &str, r: &SupportRequestView) -> Markup {
    let base = format!("/console/admin/support/{}", r.id.0);
    html! {
        @match r.status {
            SupportStatus::Pending => {
                form method="post" action={ (base) "/approve" } {
                    (csrf(token))
                    label for={ "m-" (r.id.0) } { (t::MINUTES) }
                    " "
                    input id={ "m-" (r.id.0) } name="minutes" type="number" min="1" max=(r.minutes) value=(r.minutes) required;
                    " "
                    button type="submit" { (t::APPROVE) }
                }
                " "
                form method="post" action={ (base) "/deny" } {
                    (csrf(token))
                    button.secondary type="submit" { (t::DENY) }
                }
            }
            SupportStatus::Approved => {
                form method="post" action={ (base) "/revoke" } {
                    (csrf(token))
                    button.danger type="submit" { (t::REVOKE) }
                }
            }
            _ => {}
        }
    }
}

pub async fn list(State(s): State<AppState>, u: Signed) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let requests = tri!(s.services.support_requests(&u.p, None, 100).await);
    let body = html! {
        p { (t::SUPPORT_EXPLAIN) }
        @if requests.is_empty() { p { (t::NO_REQUESTS) } } @else {
            table {
                thead { tr {
                    th scope="col" { (t::WHO_ASKS) } th scope="col" { (t::REASON) } th scope="col" { (t::KIND) }
                    th scope="col" { (t::STATUS) } th scope="col" { (t::UNTIL) } th scope="col" { (t::ANSWER) }
                } }
                tbody { @for r in &requests { tr {
                    td { (r.superuser) }
                    td { (r.reason) }
                    td { (r.kind.as_str()) @if r.break_glass { " (" (t::BREAK_GLASS) ")" } }
                    td { (r.status.as_str()) }
                    td { (r.ends_at.or(Some(r.expires_at)).map(when).unwrap_or_default()) }
                    td { (actions(&u.csrf, r)) }
                } } }
            }
        }
    };
    layout::page(t::SUPPORT_TITLE, &nav, body)
}

#[derive(Deserialize)]
pub struct AnswerForm {
    minutes: Option<u32>,
}

pub async fn answer(
    State(s): State<AppState>,
    u: Signed,
    Path((id, answer)): Path<(uuid::Uuid, String)>,
    ConsoleForm(f): ConsoleForm<AnswerForm>,
) -> Response {
    let answer = match answer.as_str() {
        "approve" => SupportAnswer::Approve { minutes: f.minutes },
        "deny" => SupportAnswer::Deny,
        "revoke" => SupportAnswer::Revoke,
        _ => return layout::error_page(CoreError::NotFound("support answer")),
    };
    tri!(
        s.services
            .answer_support(&u.p, SupportRequestId::from(id), answer)
            .await
    );
    Redirect::to("/console/admin/support").into_response()
}
