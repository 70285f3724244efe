//! The administration pages under `/console/admin/`: what the caller's roles allow (each
//! operation still decided by its service, through Cedar), over the API's own services.

pub mod data;
pub mod policies;
pub mod privacy_log;
pub mod support;
pub mod tenant;
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
            @for (href, name) in nav.admin_pages() { li { a href=(href) { (name) } } }
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
            "/console/admin/users/{id}/licence",
            post(users::set_licence),
        )
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
            "/console/admin/groups",
            get(tenant::groups).post(tenant::create_group),
        )
        .route("/console/admin/groups/members", post(tenant::put_member))
        .route(
            "/console/admin/collections",
            get(data::list).post(data::create),
        )
        .route("/console/admin/records", get(data::open))
        .route("/console/admin/records/{id}", get(data::show))
        .route("/console/admin/records/{id}/hold", post(data::hold))
        .route("/console/admin/records/{id}/restore", post(data::restore))
        .route(
            "/console/admin/retention",
            get(tenant::retention).post(tenant::save_retention),
        )
        .route(
            "/console/admin/clients",
            get(tenant::clients).post(tenant::create_client),
        )
        .route(
            "/console/admin/clients/{id}/delete",
            post(tenant::delete_client),
        )
        .route("/console/admin/registers", get(tenant::registers))
        .route(
            "/console/admin/disclosures/{id}/objection",
            post(tenant::object),
        )
        .route("/console/admin/report", get(tenant::report))
        .route(
            "/console/admin/support/{id}/{answer}",
            post(support::answer),
        )
}
