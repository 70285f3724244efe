//! The administration pages under `/console/admin/`: what the caller's roles allow (each
//! operation still decided by its service, through Cedar), over the API's own services.

pub mod policies;
pub mod privacy_log;
pub mod support;
pub mod users;

use super::centre::tri;
use super::layout::{self, Nav};
use super::session::Signed;
use super::texts as t;
use crate::AppState;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use maud::html;

async fn index(State(s): State<AppState>, u: Signed) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let body = html! {
        p { (t::ADMIN_EXPLAIN) }
        ul {
            @if nav.users { li { a href="/console/admin/users" { (t::NAV_USERS) } } }
            @if nav.policies { li { a href="/console/admin/policies" { (t::NAV_POLICIES) } } }
            @if nav.privacy_log { li { a href="/console/admin/privacy-log" { (t::NAV_PRIVACY_LOG) } } }
            @if nav.tenant { li { a href="/console/admin/support" { (t::NAV_SUPPORT) } } }
        }
    };
    layout::page(t::ADMIN_TITLE, &nav, body)
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/admin/", get(index))
        .route("/console/admin/users", get(users::list).post(users::create))
        .route("/console/admin/users/{id}", get(users::show))
        .route("/console/admin/users/{id}/roles", post(users::set_roles))
        .route(
            "/console/admin/users/{id}/second-factor/reset",
            post(users::reset_factor),
        )
        .route("/console/admin/users/{id}/forget", post(users::forget))
        .route(
            "/console/admin/policies",
            get(policies::edit).post(policies::save),
        )
        .route("/console/admin/privacy-log", get(privacy_log::list))
        .route("/console/admin/support", get(support::list))
        .route(
            "/console/admin/support/{id}/{answer}",
            post(support::answer),
        )
}
