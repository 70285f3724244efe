//! Sign-in, sign-out and password reset pages. The login is the API's (`Services::
//! console_login` runs the same checks: throttle, lockout, second factor, anti-enumeration),
//! with its answers worded for a person.

use super::layout::{self, Field, csrf};
use super::session::{self, CsrfToken, SESSION_COOKIE, Unsettled};
use super::{ConsoleForm, texts as t};
use crate::AppState;
use crate::extract::ClientIp;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use strongroom_core::CoreError;

/// Where a sign-in may send the browser afterwards: a console page or the OAuth
/// authorization page of this server, never elsewhere.
pub fn safe_next(next: Option<&str>) -> &str {
    let path = |n: &str| n.split('?').next().unwrap_or_default().to_owned();
    match next {
        Some(n)
            if (n.starts_with("/console/") || n.starts_with("/oauth/authorize?"))
                && !path(n).contains("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n
        }
        _ => "/console/",
    }
}

/// The app and redirect URI of an authorization request the sign-in continues to, if any.
fn app_request(next: &str) -> Option<(String, String)> {
    let query = next.strip_prefix("/oauth/authorize?")?;
    let pairs = serde_urlencoded::from_str::<Vec<(String, String)>>(query).ok()?;
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    Some((get("client_id")?, get("redirect_uri")?))
}

/// The sign-in page's answer, with the CSP its `next` needs: its form may lead (through the
/// authorization page) to the redirect URI — only one registered for the app.
async fn with_csp(s: &AppState, mut r: Response, next: &str) -> Response {
    if let Some((client_id, uri)) = app_request(next)
        && s.services.authorize_app(&client_id, &uri).await.is_ok()
    {
        r.headers_mut().insert(
            header::CONTENT_SECURITY_POLICY,
            super::authorize::csp_for(&uri),
        );
    }
    r
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    next: Option<String>,
    tenant: Option<String>,
}

#[derive(Deserialize)]
pub struct SignInForm {
    tenant: String,
    email: String,
    password: SecretString,
    #[serde(default)]
    totp: String,
    #[serde(default)]
    next: String,
}

struct SignInView<'a> {
    csrf: &'a str,
    tenant: &'a str,
    email: &'a str,
    next: &'a str,
    error: Option<&'a str>,
    ask_code: bool,
}

fn sign_in_form(v: &SignInView) -> Markup {
    let code = Field::new(t::TOTP, "totp", "text", "one-time-code")
        .optional()
        .hint(t::TOTP_HINT);
    html! {
        (layout::notice(v.error, true))
        form method="post" action="/console/login" {
            (csrf(v.csrf))
            input type="hidden" name="next" value=(v.next);
            (Field::new(t::TENANT, "tenant", "text", "organization").value(v.tenant).render())
            (Field::new(t::EMAIL, "email", "email", "username").value(v.email).render())
            (Field::new(t::PASSWORD, "password", "password", "current-password").render())
            @if v.ask_code { (code.render()) } @else {
                details { summary { (t::TOTP) } (code.render()) }
            }
            button type="submit" { (t::SIGN_IN) }
        }
        p { a href="/console/forgot" { (t::FORGOT_LINK) } }
    }
}

pub async fn sign_in_page(
    State(s): State<AppState>,
    Extension(CsrfToken(token)): Extension<CsrfToken>,
    Query(q): Query<SignInQuery>,
) -> Response {
    let next = safe_next(q.next.as_deref());
    let page = layout::bare(
        StatusCode::OK,
        t::SIGN_IN_TITLE,
        sign_in_form(&SignInView {
            csrf: &token,
            tenant: q.tenant.as_deref().unwrap_or_default(),
            email: "",
            next,
            error: None,
            ask_code: false,
        }),
    );
    with_csp(&s, page, next).await
}

pub async fn sign_in(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Extension(CsrfToken(token)): Extension<CsrfToken>,
    ConsoleForm(f): ConsoleForm<SignInForm>,
) -> Response {
    let code = Some(f.totp.trim()).filter(|c| !c.is_empty());
    let next = safe_next(Some(&f.next)).to_owned();
    match s
        .services
        .console_login(&f.tenant, &f.email, f.password, code, ip)
        .await
    {
        Ok(session) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                session::set_cookie(SESSION_COOKIE, Some(session.expose_secret())),
            );
            r
        }
        Err(e) => {
            let (status, error, ask_code) = match e {
                CoreError::InvalidCredentials => (
                    StatusCode::UNAUTHORIZED,
                    t::WRONG_CREDENTIALS,
                    code.is_some(),
                ),
                CoreError::TotpRequired => (StatusCode::UNAUTHORIZED, t::TOTP_NEEDED, true),
                CoreError::AccountBlocked => (StatusCode::LOCKED, t::BLOCKED, false),
                CoreError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, t::THROTTLED, false),
                e => return layout::error_page(e),
            };
            let page = layout::bare(
                status,
                t::SIGN_IN_TITLE,
                sign_in_form(&SignInView {
                    csrf: &token,
                    tenant: &f.tenant,
                    email: &f.email,
                    next: &next,
                    error: Some(error),
                    ask_code,
                }),
            );
            with_csp(&s, page, &next).await
        }
    }
}

pub async fn sign_out(State(s): State<AppState>, u: Result<Unsettled, Response>) -> Response {
    if let Ok(u) = u
        && let Err(e) = s.services.logout(&u.p).await
    {
        return layout::error_page(e);
    }
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(SESSION_COOKIE, None),
    );
    r
}

#[derive(Deserialize)]
pub struct ForgotForm {
    tenant: String,
    email: String,
}

pub async fn forgot_page(Extension(CsrfToken(token)): Extension<CsrfToken>) -> Response {
    layout::bare(
        StatusCode::OK,
        t::FORGOT_TITLE,
        html! {
            form method="post" action="/console/forgot" {
                (csrf(&token))
                (Field::new(t::TENANT, "tenant", "text", "organization").render())
                (Field::new(t::EMAIL, "email", "email", "username").render())
                button type="submit" { (t::FORGOT_SEND) }
            }
        },
    )
}

pub async fn forgot(
    State(s): State<AppState>,
    ClientIp(ip): ClientIp,
    Extension(CsrfToken(token)): Extension<CsrfToken>,
    ConsoleForm(f): ConsoleForm<ForgotForm>,
) -> Response {
    if let Err(e) = s.services.forgot(f.tenant, f.email, ip) {
        return layout::error_page(e);
    }
    layout::bare(
        StatusCode::OK,
        t::FORGOT_TITLE,
        html! {
            (layout::notice(Some(t::FORGOT_SENT), false))
            (reset_form(&token, ""))
        },
    )
}

fn reset_form(token: &str, code: &str) -> Markup {
    html! {
        form method="post" action="/console/reset" {
            (csrf(token))
            (Field::new(t::RESET_TOKEN, "token", "text", "off").value(code).render())
            (Field::new(t::NEW_PASSWORD, "new_password", "password", "new-password").hint(t::NEW_PASSWORD_HINT).render())
            button type="submit" { (t::RESET_TITLE) }
        }
    }
}

#[derive(Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

pub async fn reset_page(
    Extension(CsrfToken(token)): Extension<CsrfToken>,
    Query(q): Query<ResetQuery>,
) -> Response {
    layout::bare(
        StatusCode::OK,
        t::RESET_TITLE,
        reset_form(&token, q.token.as_deref().unwrap_or_default()),
    )
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: SecretString,
    new_password: SecretString,
}

pub async fn reset(
    State(s): State<AppState>,
    Extension(CsrfToken(token)): Extension<CsrfToken>,
    ConsoleForm(f): ConsoleForm<ResetForm>,
) -> Response {
    match s.services.reset(&f.token, f.new_password).await {
        Ok(()) => layout::message_page(StatusCode::OK, t::RESET_TITLE, t::RESET_DONE),
        Err(e @ (CoreError::WeakPassword(_) | CoreError::InvalidToken | CoreError::Invalid(_))) => {
            let detail = crate::problem::Problem::from(e).detail;
            layout::bare(
                StatusCode::UNPROCESSABLE_ENTITY,
                t::RESET_TITLE,
                html! { (layout::notice(Some(&detail), true)) (reset_form(&token, "")) },
            )
        }
        Err(e) => layout::error_page(e),
    }
}
