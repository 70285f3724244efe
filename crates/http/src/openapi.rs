//! The OpenAPI document, generated from the handlers' annotations.
//!
//! Handlers document what is theirs (their success answer and the problems their service
//! raises). What every operation can answer through the shared extractors and layers is added
//! here, once, by [`SharedResponses`]: 401 on every operation that needs a bearer token, 400,
//! 413, 415 and 422 on every JSON body, 404 on every path parameter, 400 on every query
//! string, 500 everywhere; and every error answer is `application/problem+json` with a
//! `ProblemBody`, because only `problem.rs` builds errors. schemathesis checks the served
//! document against the running server in CI (`.ci/api-conformance`).

use crate::problem::{CODES, Code, ProblemBody};
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Header, Object, Ref, RefOr, ResponseBuilder, Type};

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
        crate::routes::totp_enrol, crate::routes::totp_confirm, crate::routes::totp_remove, crate::routes::totp_reset,
        crate::routes::create_client, crate::routes::list_clients, crate::routes::get_client, crate::routes::delete_client,
        crate::routes::rotate_client_secret, crate::routes::oauth_token, crate::routes::oauth_metadata,
        crate::routes::create_support_request, crate::routes::list_support_requests, crate::routes::approve_support_request,
        crate::routes::deny_support_request, crate::routes::revoke_support_grant, crate::routes::support_session,
        crate::routes::get_access_reviews, crate::routes::post_access_review,
        crate::routes::list_processors, crate::routes::add_processor, crate::routes::update_processor, crate::routes::delete_processor,
        crate::routes::record_breach, crate::routes::list_breaches, crate::routes::get_breach, crate::routes::update_breach,
        crate::routes::tom_report, crate::routes::list_disclosures, crate::routes::object_disclosure,
    ),
    components(schemas(ProblemBody)),
    modifiers(&Bearer, &SharedResponses)
)]
struct ApiDoc;

/// The media type of every error answer.
pub const PROBLEM_JSON: &str = "application/problem+json";

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

/// Adds the answers that come from the shared extractors (`extract.rs`) and layers rather than
/// from a handler, and makes every error answer `application/problem+json`.
struct SharedResponses;

/// Where a shared answer comes from, and which problem codes it carries.
struct Shared {
    applies: fn(&Operation) -> bool,
    codes: &'static [Code],
    why: &'static str,
}

const SHARED: &[Shared] = &[
    Shared {
        applies: needs_bearer,
        codes: &[Code::Unauthenticated],
        why: "the access token is missing, malformed, expired or revoked",
    },
    Shared {
        applies: refuses_unsettled,
        codes: &[Code::PasswordChangeRequired, Code::TotpEnrolmentRequired],
        why: "the caller must first change their initial password (`PUT /api/v1/me/password`) \
              or enrol the second factor their tenant requires of their roles (`POST /api/v1/me/totp`)",
    },
    Shared {
        applies: needs_bearer,
        codes: &[Code::Forbidden],
        why: "the caller may not do this: their roles, an integration client's scopes, or a \
              client's token on a call about a person's own account",
    },
    Shared {
        applies: takes_json,
        codes: &[Code::MalformedJson, Code::InvalidInput],
        why: "the body is not valid JSON or could not be read",
    },
    Shared {
        applies: takes_json,
        codes: &[Code::InvalidField],
        why: "a field of the body is missing, unknown, out of range or has the wrong type",
    },
    Shared {
        applies: takes_json,
        codes: &[Code::PayloadTooLarge],
        why: "the body is larger than 64 KiB (`JSON_BODY_LIMIT`)",
    },
    Shared {
        applies: takes_json,
        codes: &[Code::UnsupportedMediaType],
        why: "the body is not sent as `Content-Type: application/json`",
    },
    Shared {
        applies: has_path_parameter,
        codes: &[Code::NotFound],
        why: "a path parameter names nothing that exists (e.g. a malformed id)",
    },
    Shared {
        applies: has_query_parameter,
        codes: &[Code::InvalidInput],
        why: "a query parameter is unknown or does not parse",
    },
    Shared {
        applies: |_| true,
        codes: &[Code::Internal],
        why: "an internal failure (logged on the server; the answer says nothing more)",
    },
];

fn needs_bearer(op: &Operation) -> bool {
    op.security.iter().flatten().any(|req| {
        serde_json::to_value(req)
            .ok()
            .and_then(|v| v.as_object().map(|o| o.contains_key("bearer")))
            .unwrap_or(false)
    })
}

/// The operations whose handler takes `extract::Unsettled` rather than `extract::Caller`: a
/// caller who still has an initial password may call them (checked against the handlers'
/// source by a test).
const UNSETTLED: &[&str] = &[
    "me",
    "change_password",
    "logout",
    "my_logins",
    "my_privacy_log",
    "totp_enrol",
    "totp_confirm",
];

fn refuses_unsettled(op: &Operation) -> bool {
    needs_bearer(op)
        && !op
            .operation_id
            .as_deref()
            .is_some_and(|id| UNSETTLED.contains(&id))
}

fn takes_json(op: &Operation) -> bool {
    op.request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"))
}

fn has_parameter(op: &Operation, place: &ParameterIn) -> bool {
    op.parameters
        .iter()
        .flatten()
        .any(|p| p.parameter_in == *place)
}

fn has_path_parameter(op: &Operation) -> bool {
    has_parameter(op, &ParameterIn::Path)
}

fn has_query_parameter(op: &Operation) -> bool {
    has_parameter(op, &ParameterIn::Query)
}

fn problem_content() -> Content {
    Content::new(Some(Ref::from_schema_name("ProblemBody")))
}

fn header(description: &str) -> Header {
    let mut h = Header::new(Object::with_type(Type::String));
    h.description = Some(description.to_owned());
    h
}

impl utoipa::Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                add_shared(op);
                problems_as_problem_json(op);
            }
        }
    }
}

fn add_shared(op: &mut Operation) {
    let shared: Vec<&Shared> = SHARED.iter().filter(|s| (s.applies)(op)).collect();
    for shared in shared {
        let Some(status) = shared.codes.first().map(|c| c.status()) else {
            continue;
        };
        let codes = shared
            .codes
            .iter()
            .map(|c| format!("`{}`", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let line = format!("{codes}: {}", shared.why);
        match op.responses.responses.entry(status.to_string()) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(RefOr::T(
                    ResponseBuilder::new()
                        .description(line)
                        .content(PROBLEM_JSON, problem_content())
                        .build(),
                ));
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                if let RefOr::T(r) = o.get_mut() {
                    if r.description.is_empty() {
                        r.description = line;
                    } else if !r.description.contains(&line) {
                        r.description = format!("{}; or {line}", r.description);
                    }
                }
            }
        }
    }
}

/// The operations whose client errors are RFC 6749 §5.2 JSON (`problem::OAuthError`), as
/// OAuth libraries expect, and documented so by their handlers; their 500 stays a problem.
const OAUTH_ERRORS: &[&str] = &["oauth_token"];

/// Every error answer is built by `problem.rs`: `application/problem+json`, a `ProblemBody`,
/// `WWW-Authenticate` on a 401 and `Retry-After` on a 429 (but for [`OAUTH_ERRORS`]).
fn problems_as_problem_json(op: &mut Operation) {
    let oauth = op
        .operation_id
        .as_deref()
        .is_some_and(|id| OAUTH_ERRORS.contains(&id));
    for (status, response) in &mut op.responses.responses {
        let RefOr::T(r) = response else { continue };
        let status: u16 = status.parse().unwrap_or(0);
        if status < 400 || (oauth && status < 500) {
            continue;
        }
        if r.description.is_empty() {
            r.description = CODES
                .iter()
                .filter(|(_, s, _)| *s == status)
                .map(|(c, _, t)| format!("`{c}`: {t}"))
                .collect::<Vec<_>>()
                .join("; ");
        }
        r.content.clear();
        r.content.insert(PROBLEM_JSON.to_owned(), problem_content());
        if status == 401 {
            r.headers
                .insert("WWW-Authenticate".into(), header("`Bearer`"));
        }
        if status == 429 {
            r.headers.insert(
                "Retry-After".into(),
                header("seconds until an attempt is accepted again"),
            );
        }
    }
}

/// The document as served at `/openapi.json`.
pub fn spec() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// A response as documented, for tests.
#[cfg(test)]
fn response<'a>(
    doc: &'a utoipa::openapi::OpenApi,
    path: &str,
    method: &utoipa::openapi::HttpMethod,
    status: &str,
) -> Option<&'a utoipa::openapi::Response> {
    let item = doc.paths.paths.get(path)?;
    let op = match method {
        utoipa::openapi::HttpMethod::Get => item.get.as_ref(),
        utoipa::openapi::HttpMethod::Put => item.put.as_ref(),
        utoipa::openapi::HttpMethod::Post => item.post.as_ref(),
        utoipa::openapi::HttpMethod::Delete => item.delete.as_ref(),
        utoipa::openapi::HttpMethod::Patch => item.patch.as_ref(),
        _ => None,
    }?;
    match op.responses.responses.get(status)? {
        RefOr::T(r) => Some(r),
        RefOr::Ref(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use utoipa::openapi::HttpMethod;

    fn operations(doc: &utoipa::openapi::OpenApi) -> Vec<(String, &Operation)> {
        doc.paths
            .paths
            .iter()
            .flat_map(|(path, item)| {
                [
                    ("GET", &item.get),
                    ("PUT", &item.put),
                    ("POST", &item.post),
                    ("DELETE", &item.delete),
                    ("PATCH", &item.patch),
                ]
                .into_iter()
                .filter_map(move |(m, op)| op.as_ref().map(|op| (format!("{m} {path}"), op)))
            })
            .collect()
    }

    /// Every error is a problem, but the token endpoint's client errors (RFC 6749 JSON).
    #[test]
    fn every_error_answer_is_a_problem() {
        let doc = spec();
        let mut oauth_errors = 0;
        for (name, op) in operations(&doc) {
            assert!(
                op.responses.responses.contains_key("500"),
                "{name}: 500 missing"
            );
            let oauth = op
                .operation_id
                .as_deref()
                .is_some_and(|id| OAUTH_ERRORS.contains(&id));
            for (status, r) in &op.responses.responses {
                let RefOr::T(r) = r else {
                    panic!("{name} {status}: a reference")
                };
                let status: u16 = status.parse().unwrap();
                if status >= 400 {
                    let types: Vec<_> = r.content.keys().collect();
                    if oauth && status < 500 {
                        assert_eq!(types, ["application/json"], "{name} {status}");
                        oauth_errors += 1;
                    } else {
                        assert_eq!(types, [PROBLEM_JSON], "{name} {status}");
                    }
                    assert!(!r.description.is_empty(), "{name} {status}: no description");
                }
            }
        }
        assert_eq!(oauth_errors, 3, "400, 401 and 429 of POST /oauth/token");
    }

    /// `UNSETTLED` names exactly the handlers that take `Unsettled`.
    #[test]
    fn unsettled_list_matches_the_handlers() {
        let sources = [
            include_str!("routes/auth.rs"),
            include_str!("routes/me.rs"),
            include_str!("routes/export.rs"),
            include_str!("routes/privacy.rs"),
            include_str!("routes/records.rs"),
            include_str!("routes/tenant.rs"),
            include_str!("routes/users.rs"),
            include_str!("routes/totp.rs"),
            include_str!("routes/clients.rs"),
            include_str!("routes/oauth.rs"),
        ];
        let mut found: Vec<&str> = sources
            .iter()
            .flat_map(|src| src.split("pub async fn ").skip(1))
            .filter_map(|f| {
                let (name, rest) = f.split_once('(')?;
                let signature = rest.split_once(") ->").map_or(rest, |(sig, _)| sig);
                signature.contains("Unsettled").then_some(name)
            })
            .collect();
        found.sort_unstable();
        let mut listed = UNSETTLED.to_vec();
        listed.sort_unstable();
        assert_eq!(found, listed);
        let doc = spec();
        for (name, op) in operations(&doc) {
            let documented = op.responses.responses.contains_key("403");
            assert!(
                documented || !refuses_unsettled(op),
                "{name}: 403 password_change_required missing"
            );
        }
    }

    #[test]
    fn secured_operations_document_401_and_json_bodies_their_rejections() {
        let doc = spec();
        for (name, op) in operations(&doc) {
            let has = |s: &str| op.responses.responses.contains_key(s);
            if needs_bearer(op) {
                assert!(has("401"), "{name}: 401 missing");
            }
            if takes_json(op) {
                for s in ["400", "413", "415", "422"] {
                    assert!(has(s), "{name}: {s} missing");
                }
            }
        }
        assert_eq!(crate::JSON_BODY_LIMIT, 64 * 1024, "update the 413 text");
        let login_401 = response(&doc, "/api/v1/auth/login", &HttpMethod::Post, "401").unwrap();
        assert!(login_401.headers.contains_key("WWW-Authenticate"));
        assert!(
            login_401.description.contains("indistinguishable"),
            "the handler's own description stays: {}",
            login_401.description
        );
    }
}
