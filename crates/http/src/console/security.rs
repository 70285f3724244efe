//! Password and second factor: the change of password (also the first-use change), the
//! authenticator app's enrolment with its QR code, its removal. Every change asks for the
//! current password again (re-authentication; a wrong one counts towards lockout).

use super::centre::tri;
use super::layout::{self, Field, Nav, csrf};
use super::session::{SESSION_COOKIE, Unsettled, set_cookie};
use super::{ConsoleForm, texts as t};
use crate::AppState;
use crate::extract::ClientIp;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use maud::{Markup, html};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use strongroom_core::{Principal, Services};

fn password_form(token: &str) -> Markup {
    html! {
        form method="post" action="/console/password" {
            (csrf(token))
            (Field::new(t::CURRENT_PASSWORD, "current_password", "password", "current-password").render())
            (Field::new(t::NEW_PASSWORD, "new_password", "password", "new-password").hint(t::NEW_PASSWORD_HINT).render())
            button type="submit" { (t::CHANGE_PASSWORD) }
        }
    }
}

fn factor_section(p: &Principal, token: &str) -> Markup {
    html! {
        section aria-labelledby="factor" {
            h2 id="factor" { (t::TOTP_TITLE) }
            @if p.totp_active {
                p { (t::TOTP_ACTIVE) }
                form method="post" action="/console/second-factor/remove" {
                    (csrf(token))
                    (Field::new(t::TOTP_CODE, "code", "text", "one-time-code").render())
                    button type="submit" { (t::TOTP_REMOVE) }
                }
            } @else {
                p { @if Services::factor_required(p) { (t::TOTP_REQUIRED) } @else { (t::TOTP_NONE) } }
                form method="post" action="/console/second-factor/start" {
                    (csrf(token))
                    (Field::new(t::CURRENT_PASSWORD, "password", "password", "current-password").render())
                    button type="submit" { (t::TOTP_START) }
                }
            }
        }
    }
}

/// Password and second factor, together.
pub async fn security_page(State(s): State<AppState>, u: Unsettled) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let first = u.p.must_change_password;
    layout::page(
        t::SECURITY_TITLE,
        &nav,
        html! {
            section aria-labelledby="password" {
                h2 id="password" { (t::CHANGE_PASSWORD) }
                @if first { p.error role="alert" { (t::FIRST_PASSWORD) } }
                (password_form(&u.csrf))
            }
            @if !first { (factor_section(&u.p, &u.csrf)) }
        },
    )
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: SecretString,
    new_password: SecretString,
}

pub async fn change_password(
    State(s): State<AppState>,
    u: Unsettled,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<PasswordForm>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    match s
        .services
        .console_change_password(&u.p, f.current_password, f.new_password, ip)
        .await
    {
        Ok(session) => {
            let mut r = Redirect::to("/console/?done=password").into_response();
            r.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, Some(session.expose_secret())),
            );
            r
        }
        Err(e) => layout::form_refused(&nav, t::SECURITY_TITLE, e, password_form(&u.csrf)),
    }
}

#[derive(Deserialize)]
pub struct StartForm {
    password: SecretString,
}

/// The otpauth URI as a QR code: an SVG image (a `data:` URI, so no inline markup).
fn qr(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

pub async fn start_factor(
    State(s): State<AppState>,
    u: Unsettled,
    ClientIp(ip): ClientIp,
    ConsoleForm(f): ConsoleForm<StartForm>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    if let Err(e) = s.services.confirm_password(&u.p, f.password, ip).await {
        return layout::form_refused(&nav, t::TOTP_TITLE, e, factor_section(&u.p, &u.csrf));
    }
    let enrolment = tri!(s.services.totp_enrol(&u.p).await);
    let uri = enrolment.otpauth_uri.expose_secret();
    layout::page(
        t::TOTP_TITLE,
        &nav,
        html! {
            p { (t::TOTP_SCAN) }
            @if let Some(src) = qr(uri) { img.qr src=(src) alt=(t::QR_LABEL) width="240" height="240"; }
            p { (t::TOTP_SECRET) ": " code.secret { (enrolment.secret.expose_secret()) } }
            form method="post" action="/console/second-factor/confirm" {
                (csrf(&u.csrf))
                (Field::new(t::TOTP_CODE, "code", "text", "one-time-code").render())
                button type="submit" { (t::TOTP_CONFIRM) }
            }
        },
    )
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn confirm_factor(
    State(s): State<AppState>,
    u: Unsettled,
    ConsoleForm(f): ConsoleForm<CodeForm>,
) -> Response {
    let nav = tri!(Nav::of(&s, &u.p, &u.csrf).await);
    let codes = tri!(s.services.totp_confirm(&u.p, f.code.trim()).await);
    layout::page(
        t::TOTP_TITLE,
        &nav,
        html! {
            p role="status" { (t::TOTP_ACTIVE) }
            p { (t::TOTP_RECOVERY) }
            ul.codes { @for c in &codes { li { code { (c.expose_secret()) } } } }
            p { a href="/console/" { (t::BACK) } }
        },
    )
}

pub async fn remove_factor(
    State(s): State<AppState>,
    u: Unsettled,
    ConsoleForm(f): ConsoleForm<CodeForm>,
) -> Response {
    tri!(s.services.totp_remove(&u.p, f.code.trim()).await);
    Redirect::to("/console/?done=totp-removed").into_response()
}
