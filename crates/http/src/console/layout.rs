//! The console's page chrome and form parts (maud): one layout, labelled fields, the CSRF
//! field, error and message pages. No inline script or style anywhere: the CSP forbids both.

use super::session::CSRF_FIELD;
use super::texts as t;
use crate::AppState;
use crate::problem::Problem;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use strongroom_core::access::Action;
use strongroom_core::{CoreError, Principal};

/// What the navigation shows: who is signed in and which administration pages Cedar allows
/// (independent decisions, one flag each).
#[allow(clippy::struct_excessive_bools)]
pub struct Nav {
    pub csrf: String,
    pub name: String,
    pub users: bool,
    pub policies: bool,
    pub privacy_log: bool,
    pub tenant: bool,
    pub groups: bool,
    pub collections: bool,
    pub retention: bool,
}

impl Nav {
    pub async fn of(s: &AppState, p: &Principal, csrf: &str) -> Result<Self, CoreError> {
        let (_, me) = s.services.me(p).await?;
        let may = |a| s.services.may(p, a);
        Ok(Self {
            csrf: csrf.to_owned(),
            name: me
                .name
                .map(|n| n.as_str().to_owned())
                .or_else(|| me.email.map(|e| e.as_str().to_owned()))
                .unwrap_or_default(),
            users: may(Action::ReadUsers).await?,
            policies: may(Action::ManagePolicies).await?,
            privacy_log: may(Action::ReadPrivacyLog).await?,
            tenant: may(Action::ManageTenant).await?,
            groups: may(Action::ManageGroups).await?,
            collections: may(Action::ManageCollections).await?,
            retention: may(Action::ManageRetention).await?,
        })
    }

    fn admin(&self) -> bool {
        self.users
            || self.policies
            || self.privacy_log
            || self.tenant
            || self.groups
            || self.collections
            || self.retention
    }

    /// The administration pages the caller may use: (address, name).
    pub fn admin_pages(&self) -> Vec<(&'static str, &'static str)> {
        [
            (self.users, "/console/admin/users", t::NAV_USERS),
            (self.groups, "/console/admin/groups", t::NAV_GROUPS),
            (
                self.collections,
                "/console/admin/collections",
                t::NAV_COLLECTIONS,
            ),
            (self.policies, "/console/admin/policies", t::NAV_POLICIES),
            (
                self.privacy_log,
                "/console/admin/privacy-log",
                t::NAV_PRIVACY_LOG,
            ),
            (self.retention, "/console/admin/retention", t::NAV_RETENTION),
            (self.tenant, "/console/admin/support", t::NAV_SUPPORT),
            (self.tenant, "/console/admin/clients", t::NAV_CLIENTS),
            (self.tenant, "/console/admin/registers", t::NAV_REGISTERS),
            (self.tenant, "/console/admin/report", t::NAV_REPORT),
        ]
        .into_iter()
        .filter(|(may, _, _)| *may)
        .map(|(_, href, name)| (href, name))
        .collect()
    }
}

fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="htmx-config" content=r#"{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}"#;
            title { (title) " — " (t::PRODUCT) }
            link rel="stylesheet" href="/console/assets/console.css";
            script src="/console/assets/htmx.min.js" defer {}
        }
    }
}

/// A page for a signed-in person.
pub fn page(title: &str, nav: &Nav, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body {
                a.skip href="#main" { (t::SKIP_TO_CONTENT) }
                header {
                    span.brand { (t::PRODUCT) }
                    nav aria-label="Main" hx-boost="true" {
                        ul {
                            li { a href="/console/" { (t::NAV_CENTRE) } }
                            li { a href="/console/privacy-log" { (t::NAV_VIEWS) } }
                            li { a href="/console/logins" { (t::NAV_LOGINS) } }
                            li { a href="/console/security" { (t::NAV_SECURITY) } }
                            li { a href="/console/apps" { (t::NAV_APPS) } }
                            @if nav.admin() {
                                li { a href="/console/admin/" { (t::NAV_ADMIN) } }
                            }
                        }
                    }
                    @if nav.admin() {
                        nav aria-label=(t::NAV_ADMIN) hx-boost="true" {
                            ul {
                                @for (href, name) in nav.admin_pages() { li { a href=(href) { (name) } } }
                            }
                        }
                    }
                    form.signout method="post" action="/console/logout" {
                        (csrf(&nav.csrf))
                        span { (t::SIGNED_IN_AS) " " strong { (nav.name) } }
                        " "
                        button type="submit" { (t::SIGN_OUT) }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    Html(doc.into_string()).into_response()
}

/// A page without a session (sign-in, reset, messages).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> Response {
    let doc = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title))
            body.bare {
                a.skip href="#main" { (t::SKIP_TO_CONTENT) }
                header { span.brand { (t::PRODUCT) } }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    (status, Html(doc.into_string())).into_response()
}

pub fn message_page(status: StatusCode, title: &str, detail: &str) -> Response {
    bare(
        status,
        title,
        html! {
            p role="alert" { (detail) }
            p { a href="/console/" { (t::BACK) } }
        },
    )
}

/// A service's refusal or failure as a page with the API's status; a server fault says
/// nothing of its cause.
pub fn error_page(e: CoreError) -> Response {
    let problem = Problem::from(e);
    let status =
        StatusCode::from_u16(problem.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        return message_page(status, t::ERROR_TITLE, t::INTERNAL);
    }
    let title = match status {
        StatusCode::FORBIDDEN => t::FORBIDDEN_TITLE,
        StatusCode::NOT_FOUND | StatusCode::GONE => t::NOT_FOUND_TITLE,
        _ => problem.code.title(),
    };
    message_page(status, title, &problem.detail)
}

/// A form's refusal: the form again under the reason (422) when the person can mend it —
/// malformed input, a conflict, a weak or wrong password —, else the error page.
pub fn form_refused(nav: &Nav, title: &str, e: CoreError, form: Markup) -> Response {
    let message = match e {
        CoreError::InvalidCredentials => t::WRONG_CREDENTIALS.to_owned(),
        CoreError::WeakPassword(_) | CoreError::Invalid(_) | CoreError::Conflict(_) => {
            Problem::from(e).detail
        }
        e => return error_page(e),
    };
    let mut r = page(title, nav, html! { (notice(Some(&message), true)) (form) });
    *r.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    r
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// A labelled input; `hint` is tied to it with `aria-describedby`.
pub struct Field<'a> {
    pub label: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub autocomplete: &'a str,
    pub hint: Option<&'a str>,
    /// The element id (`f-<name>` unless set): unique on its page.
    pub id: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(label: &'a str, name: &'a str, kind: &'a str, autocomplete: &'a str) -> Self {
        Self {
            label,
            name,
            kind,
            value: "",
            required: true,
            autocomplete,
            hint: None,
            id: None,
        }
    }

    /// A page with two fields of one name (a search and a form) gives one of them its own id.
    #[must_use]
    pub fn id(mut self, id: &'a str) -> Self {
        self.id = Some(id);
        self
    }

    #[must_use]
    pub fn value(mut self, v: &'a str) -> Self {
        self.value = v;
        self
    }

    #[must_use]
    pub fn optional(mut self) -> Self {
        self.required = false;
        self
    }

    #[must_use]
    pub fn hint(mut self, h: &'a str) -> Self {
        self.hint = Some(h);
        self
    }

    pub fn render(&self) -> Markup {
        let id = self
            .id
            .map_or_else(|| format!("f-{}", self.name), str::to_owned);
        let hint_id = format!("{id}-hint");
        html! {
            div.field {
                label for=(id) { (self.label) }
                @if let Some(h) = self.hint { small id=(hint_id) { (h) } }
                input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                    autocomplete=(self.autocomplete) required[self.required]
                    aria-describedby=[self.hint.map(|_| hint_id.as_str())];
            }
        }
    }
}

/// A status message at the top of a page (`role=status`), or an error (`role=alert`).
pub fn notice(text: Option<&str>, error: bool) -> Markup {
    html! {
        @if let Some(text) = text {
            @if error { p.error role="alert" { (text) } } @else { p.ok role="status" { (text) } }
        }
    }
}

/// A time as the console shows it (UTC, to the second).
pub fn when(t: strongroom_domain::Timestamp) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}
