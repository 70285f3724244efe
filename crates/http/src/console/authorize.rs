//! The OAuth authorization endpoint as a console page (`GET`/`POST /oauth/authorize`): the
//! app and redirect URI are checked before anything is redirected (a bad one gets a page,
//! never a redirect); PKCE S256 is required; a signed-out visitor signs in first and comes
//! back; consent is asked once per app; the code goes back to the app's redirect URI with
//! the `state` it sent. The page's CSP lets its form lead to that redirect URI only.

use super::centre::tri;
use super::layout::{self, csrf};
use super::session::Signed;
use super::{ConsoleForm, texts as t};
use crate::AppState;
use crate::extract::ClientIp;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use secrecy::ExposeSecret;
use strongroom_core::Services;
use strongroom_core::clients::App;

/// The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3).
struct Request {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    code_challenge_method: String,
    state: Option<String>,
}

const PARAMS: [&str; 6] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "code_challenge",
    "code_challenge_method",
    "state",
];

fn parse(pairs: &[(String, String)]) -> Result<Request, String> {
    let one = |name: &str| -> Result<Option<String>, String> {
        let mut v = pairs
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        let first = v.next();
        if v.next().is_some() {
            return Err(format!("{name}: given more than once"));
        }
        Ok(first)
    };
    Ok(Request {
        response_type: one("response_type")?.unwrap_or_default(),
        client_id: one("client_id")?.ok_or("client_id: required")?,
        redirect_uri: one("redirect_uri")?.ok_or("redirect_uri: required")?,
        code_challenge: one("code_challenge")?.unwrap_or_default(),
        code_challenge_method: one("code_challenge_method")?.unwrap_or_default(),
        state: one("state")?,
    })
}

fn bad_request(why: &str) -> Response {
    layout::message_page(
        StatusCode::BAD_REQUEST,
        t::AUTHORIZE_TITLE,
        &format!("{}{why}", t::AUTHORIZE_BAD),
    )
}

/// Back to the app: `redirect_uri` with `params` (and `state`) added to its query.
fn back_to_app(r: &Request, params: &[(&str, &str)]) -> Response {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if let Some(s) = &r.state {
        all.push(("state", s));
    }
    let query = serde_urlencoded::to_string(&all).unwrap_or_default();
    let sep = if r.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let target = format!("{}{sep}{query}", r.redirect_uri);
    match HeaderValue::from_str(&target) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => bad_request("redirect_uri"),
    }
}

fn refuse(r: &Request, error: &str, description: &str) -> Response {
    back_to_app(r, &[("error", error), ("error_description", description)])
}

/// The CSP source a form must be allowed to lead to for this redirect URI (Chromium applies
/// `form-action` to the redirects that follow a submission).
pub fn redirect_source(uri: &str) -> Option<String> {
    if let Some(rest) = uri.strip_prefix("http://") {
        let host = rest.split(['/', '?']).next()?;
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        return Some(format!("http://{host}:*"));
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        let authority = rest.split(['/', '?']).next()?;
        return Some(format!("https://{authority}"));
    }
    uri.split_once(':').map(|(scheme, _)| format!("{scheme}:"))
}

/// The console's CSP with `form-action` widened to one redirect URI.
pub fn csp_for(uri: &str) -> HeaderValue {
    let extra = redirect_source(uri)
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":/.-*[]".contains(&b))
        })
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let csp =
        super::session::CSP.replace("form-action 'self'", &format!("form-action 'self'{extra}"));
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static(super::session::CSP))
}

/// Checks a request up to the point where errors may go back to the app.
async fn checked(s: &AppState, pairs: &[(String, String)]) -> Result<(Request, App), Response> {
    let r = parse(pairs).map_err(|why| bad_request(&why))?;
    let app = s
        .services
        .authorize_app(&r.client_id, &r.redirect_uri)
        .await
        .map_err(|e| bad_request(&crate::problem::Problem::from(e).detail))?;
    if r.response_type != "code" {
        return Err(refuse(
            &r,
            "unsupported_response_type",
            "response_type: code",
        ));
    }
    if r.code_challenge.is_empty() || r.code_challenge_method != "S256" {
        return Err(refuse(
            &r,
            "invalid_request",
            "PKCE is required: code_challenge with code_challenge_method=S256",
        ));
    }
    Ok((r, app))
}

async fn issue(s: &AppState, u: &Signed, r: &Request, app: &App) -> Response {
    match s
        .services
        .issue_code(&u.p, app, &r.redirect_uri, &r.code_challenge)
        .await
    {
        Ok(code) => back_to_app(r, &[("code", code.expose_secret())]),
        Err(e @ strongroom_core::CoreError::Invalid(_)) => refuse(
            r,
            "invalid_request",
            &crate::problem::Problem::from(e).detail,
        ),
        Err(e) => layout::error_page(e),
    }
}

/// `GET /oauth/authorize`.
pub async fn authorize(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    u: Result<Signed, Response>,
) -> Response {
    let query = query.unwrap_or_default();
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query).unwrap_or_default();
    let (r, app) = match checked(&s, &pairs).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    // Signed out: to the sign-in and back here (the extractor's answer names this page);
    // an unsettled account settles first (password change, second factor).
    let u = match u {
        Ok(u) => u,
        Err(to_settle_or_sign_in) => return to_settle_or_sign_in,
    };
    if let Err(e) = Services::app_serves(&app, &u.p) {
        return refuse(
            &r,
            "access_denied",
            &crate::problem::Problem::from(e).detail,
        );
    }
    if tri!(s.services.consented(&u.p, &app).await) {
        return issue(&s, &u, &r, &app).await;
    }
    let nav = tri!(layout::Nav::of(&s, &u.p, &u.csrf).await);
    let mut page = layout::page(
        t::AUTHORIZE_TITLE,
        &nav,
        html! {
            p { strong { (app.name) } " " (t::AUTHORIZE_EXPLAIN) }
            form method="post" action="/oauth/authorize" {
                (csrf(&u.csrf))
                @for (k, v) in pairs.iter().filter(|(k, _)| PARAMS.contains(&k.as_str())) {
                    input type="hidden" name=(k) value=(v);
                }
                button type="submit" name="decision" value="allow" { (t::ALLOW) }
                " "
                button.secondary type="submit" name="decision" value="deny" { (t::DENY_APP) }
            }
        },
    );
    page.headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, csp_for(&r.redirect_uri));
    page
}

/// `POST /oauth/authorize`: the person's answer on the consent page.
pub async fn decide(
    State(s): State<AppState>,
    u: Signed,
    ClientIp(ip): ClientIp,
    ConsoleForm(pairs): ConsoleForm<Vec<(String, String)>>,
) -> Response {
    let (r, app) = match checked(&s, &pairs).await {
        Ok(v) => v,
        Err(resp) => return resp,
    };
    let allow = pairs.iter().any(|(k, v)| k == "decision" && v == "allow");
    if !allow {
        return refuse(&r, "access_denied", "the person did not allow the app");
    }
    tri!(s.services.give_consent(&u.p, &app, Some(ip)).await);
    issue(&s, &u, &r, &app).await
}
