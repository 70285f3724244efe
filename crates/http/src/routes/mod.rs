//! Route table: which handler answers which method and path.

mod auth;
#[cfg(feature = "bench-endpoints")]
mod bench;
mod clients;
mod export;
mod me;
mod oauth;
mod paging;
mod privacy;
mod records;
mod registers;
mod reports;
mod support;
mod system;
mod tenant;
mod totp;
mod users;

pub(crate) use auth::*;
pub(crate) use clients::*;
pub(crate) use export::*;
pub(crate) use me::*;
pub(crate) use oauth::*;
pub(crate) use privacy::*;
pub(crate) use records::*;
pub(crate) use registers::*;
pub(crate) use reports::*;
pub(crate) use support::*;
pub(crate) use system::*;
pub(crate) use tenant::*;
pub(crate) use totp::*;
pub(crate) use users::*;

use crate::AppState;
use crate::problem::Problem;
use axum::Router;
use axum::routing::{get, patch, post, put};

pub fn api() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/refresh", post(refresh))
        .route("/auth/logout", post(logout))
        .route("/auth/forgot", post(forgot))
        .route("/auth/reset", post(reset))
        .route("/me", get(me).delete(forget_me))
        .route("/me/password", put(change_password))
        .route("/me/totp", post(totp_enrol).delete(totp_remove))
        .route("/me/totp/confirm", post(totp_confirm))
        .route("/users/{id}/totp", axum::routing::delete(totp_reset))
        .route("/me/logins", get(my_logins))
        .route("/me/privacy-log", get(my_privacy_log))
        .route("/me/export", get(my_export))
        .route("/me/deletion-notices", get(my_deletion_notices))
        .route("/me/deletion-notices/{id}/keep", post(keep_deletion))
        .route("/users/{id}/export", get(user_export))
        .route("/privacy-log", get(privacy_log))
        .route("/tenant", get(get_tenant).patch(update_tenant))
        .route("/users", post(create_user).get(list_users))
        .route(
            "/users/{id}",
            get(get_user).patch(update_user).delete(delete_user),
        )
        .route("/groups", post(create_group))
        .route("/groups/{id}/members/{user_id}", put(put_member))
        .route(
            "/collections",
            post(create_collection).get(list_collections),
        )
        .route("/collections/{name}", patch(update_collection))
        .route(
            "/collections/{name}/records",
            post(create_record).get(search_records),
        )
        .route(
            "/records/{id}",
            get(get_record).patch(update_record).delete(delete_record),
        )
        .route("/records/{id}/restore", post(restore_record))
        .route(
            "/records/{id}/legal-hold",
            put(hold_record).delete(release_record),
        )
        .route(
            "/retention-rules",
            get(get_retention_rules).put(put_retention_rules),
        )
        .route("/records/{id}/history", get(record_history))
        .route("/records/{id}/files/{name}", put(put_file).get(get_file))
        .route("/policies", get(get_policies).put(put_policies))
        .route("/clients", post(create_client).get(list_clients))
        .route("/clients/{id}", get(get_client).delete(delete_client))
        .route("/clients/{id}/secret", post(rotate_client_secret))
        .route(
            "/support/requests",
            post(create_support_request).get(list_support_requests),
        )
        .route(
            "/support/requests/{id}",
            axum::routing::delete(revoke_support_grant),
        )
        .route(
            "/support/requests/{id}/approve",
            post(approve_support_request),
        )
        .route("/support/requests/{id}/deny", post(deny_support_request))
        .route("/support/requests/{id}/session", post(support_session))
        .route("/processors", get(list_processors).post(add_processor))
        .route("/breaches", get(list_breaches).post(record_breach))
        .route("/reports/tom", get(tom_report))
        .route("/disclosures", get(list_disclosures))
        .route("/disclosures/{id}/objection", post(object_disclosure))
        .route("/breaches/{id}", get(get_breach).patch(update_breach))
        .route(
            "/processors/{id}",
            patch(update_processor).delete(delete_processor),
        )
        .route(
            "/access-reviews",
            get(get_access_reviews).post(post_access_review),
        )
        .merge(bench_routes())
}

#[cfg(feature = "bench-endpoints")]
fn bench_routes() -> Router<AppState> {
    // GET reads the record `{id}`; POST inserts into the collection named by the same segment.
    Router::new().route(
        "/bench/raw-records/{tenant}/{id}",
        get(bench::raw_record).post(bench::raw_insert),
    )
}

#[cfg(not(feature = "bench-endpoints"))]
fn bench_routes() -> Router<AppState> {
    Router::new()
}

pub fn system() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi_json))
        .route("/metrics", get(metrics))
        .route("/problems/{code}", get(problem_doc))
        .route("/oauth/token", post(oauth_token))
        .route(
            "/.well-known/oauth-authorization-server",
            get(oauth_metadata),
        )
}

pub async fn not_found() -> Problem {
    Problem::new(
        crate::problem::Code::NotFound,
        "no such route; the API lives under /api/v1 (see /openapi.json)",
    )
}

pub async fn method_not_allowed() -> Problem {
    Problem::new(
        crate::problem::Code::MethodNotAllowed,
        "this route does not take that method (see /openapi.json)",
    )
}
