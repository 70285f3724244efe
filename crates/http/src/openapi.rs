//! The OpenAPI document, generated from the handlers' annotations.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(title = "Strongroom", description = "Multi-tenant privacy vault. Errors are application/problem+json (RFC 9457) with a stable `code`."),
    paths(
        crate::routes::login, crate::routes::refresh, crate::routes::logout, crate::routes::forgot, crate::routes::reset,
        crate::routes::me, crate::routes::change_password, crate::routes::get_tenant, crate::routes::update_tenant, crate::routes::my_logins, crate::routes::privacy_log, crate::routes::my_privacy_log,
        crate::routes::create_user, crate::routes::list_users, crate::routes::get_user, crate::routes::update_user,
        crate::routes::delete_user, crate::routes::create_group, crate::routes::put_member, crate::routes::healthz,
        crate::routes::create_collection, crate::routes::list_collections, crate::routes::create_record, crate::routes::search_records,
        crate::routes::get_record, crate::routes::update_record, crate::routes::record_history, crate::routes::put_file, crate::routes::get_file,
        crate::routes::get_policies, crate::routes::put_policies, crate::routes::my_export, crate::routes::user_export, crate::routes::forget_me, crate::routes::my_deletion_notices, crate::routes::keep_deletion,
        crate::routes::update_collection, crate::routes::delete_record, crate::routes::restore_record, crate::routes::hold_record, crate::routes::release_record,
        crate::routes::get_retention_rules, crate::routes::put_retention_rules,
    ),
    modifiers(&Bearer)
)]
struct ApiDoc;

struct Bearer;

impl utoipa::Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
