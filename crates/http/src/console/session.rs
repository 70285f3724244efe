//! Console sessions and CSRF: the cookies, the guard every console request passes (CSRF on
//! every form, cross-site requests refused, security headers), and the extractors that give a
//! page its signed-in person.
//!
//! CSRF is a double-submit token: a random value in the `__Host-strongroom-csrf` cookie
//! (`__Host-`: only this origin can set it, over a secure context) that every form repeats in
//! its `csrf` field, compared in constant time. Both cookies are `SameSite=Strict`, so a
//! cross-site request carries neither; a request the browser marks `Sec-Fetch-Site:
//! cross-site`, or whose `Origin` is not this host, is refused before the token is read.

use super::{layout, texts};
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use strongroom_core::{CoreError, Principal, Services};
use subtle::ConstantTimeEq;

/// The session cookie: a console session token (`src_…`).
pub const SESSION_COOKIE: &str = "__Host-strongroom";
/// The CSRF cookie, repeated in every form's [`CSRF_FIELD`].
pub const CSRF_COOKIE: &str = "__Host-strongroom-csrf";
pub const CSRF_FIELD: &str = "csrf";
/// The largest form body accepted.
const FORM_LIMIT: usize = 256 * 1024;

/// The CSRF token of this request, for the forms a page renders.
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// `Content-Security-Policy` of every console page: scripts only from this origin (the
/// vendored htmx), no inline script or style, forms only to this origin, never framed.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The value of a cookie of the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// A `Set-Cookie` for one of the console's cookies: host-only, secure, script-proof, never
/// sent cross-site; `None` clears it.
pub fn set_cookie(name: &str, value: Option<&str>) -> HeaderValue {
    let v = match value {
        Some(v) => format!("{name}={v}; Path=/; Secure; HttpOnly; SameSite=Strict"),
        None => format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"),
    };
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn refused(detail: &str) -> Response {
    layout::message_page(StatusCode::FORBIDDEN, texts::FORBIDDEN_TITLE, detail)
}

/// Whether the request may come from elsewhere than this origin: by `Sec-Fetch-Site` where
/// the browser sends it (only `same-origin`, and `none` — typed or bookmarked — pass), else
/// by `Origin` (an opaque `null` one does not pass). A client that sends neither is no
/// browser acting for someone else; it still needs the CSRF cookie and field.
fn cross_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return !matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or("", |(_, h)| h);
    origin_host != host
}

/// The guard of every console request: refuses cross-site and CSRF-less submissions, hands
/// the page its CSRF token, sets the security headers.
pub async fn guard(req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE).filter(|t| t.len() == 43);
    let fresh = existing.is_none();
    let token = existing.unwrap_or_else(strongroom_core::auth::console::csrf_token);
    let mut req = req;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if cross_site(req.headers()) {
            return with_headers(refused(texts::CROSS_SITE), None);
        }
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return with_headers(
                layout::message_page(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    texts::ERROR_TITLE,
                    texts::FORM_TOO_LARGE,
                ),
                None,
            );
        };
        let sent = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|f| f.into_iter().find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v));
        let good = !fresh && sent.is_some_and(|s| bool::from(s.as_bytes().ct_eq(token.as_bytes())));
        if !good {
            return with_headers(refused(texts::CSRF_FAILED), fresh.then_some(&token));
        }
        req = Request::from_parts(parts, Body::from(bytes));
    }
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let resp = next.run(req).await;
    with_headers(resp, fresh.then_some(&token))
}

fn with_headers(mut resp: Response, new_csrf: Option<&String>) -> Response {
    let h = resp.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        // A page may have narrowed or widened it (the authorization page's form-action).
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    // `same-origin`: nothing leaves for other sites, and the browser's own posts carry the
    // real `Origin` (under `no-referrer` Chromium sends `Origin: null`).
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if let Some(t) = new_csrf {
        h.append(header::SET_COOKIE, set_cookie(CSRF_COOKIE, Some(t)));
    }
    resp
}

/// The sign-in page, coming back to `uri` afterwards.
fn to_sign_in(parts: &Parts) -> Response {
    let back = parts
        .uri
        .path_and_query()
        .map_or("/console/", axum::http::uri::PathAndQuery::as_str);
    let next = serde_urlencoded::to_string([("next", back)]).unwrap_or_default();
    let mut r = Redirect::to(&format!("/console/login?{next}")).into_response();
    if cookie(&parts.headers, SESSION_COOKIE).is_some() {
        r.headers_mut()
            .append(header::SET_COOKIE, set_cookie(SESSION_COOKIE, None));
    }
    r
}

/// A signed-in person, settled or not, and the request's CSRF token.
pub struct Unsettled {
    pub p: Principal,
    pub csrf: String,
}

/// A signed-in person whose account is settled (initial password changed, second factor
/// enrolled where the tenant requires it); others are sent to settle it first.
pub struct Signed {
    pub p: Principal,
    pub csrf: String,
}

pub fn csrf_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<CsrfToken>()
        .map(|t| t.0.clone())
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Unsettled {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_sign_in(parts));
        };
        match s.services.console_session(&token).await {
            Ok(p) => Ok(Self {
                p,
                csrf: csrf_of(parts),
            }),
            Err(CoreError::Unauthenticated) => Err(to_sign_in(parts)),
            Err(e) => Err(layout::error_page(e)),
        }
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &AppState) -> Result<Self, Response> {
        let u = Unsettled::from_request_parts(parts, s).await?;
        match Services::settled(u.p) {
            Ok(p) => Ok(Self { p, csrf: u.csrf }),
            Err(CoreError::PasswordChangeRequired) => {
                Err(Redirect::to("/console/password").into_response())
            }
            Err(CoreError::TotpEnrolmentRequired) => {
                Err(Redirect::to("/console/second-factor").into_response())
            }
            Err(e) => Err(layout::error_page(e)),
        }
    }
}
