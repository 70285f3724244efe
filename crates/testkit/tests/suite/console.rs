//! The web console over HTTP (the browser flows are in `console-tests/`, Playwright in
//! Chromium): the session cookie's attributes, CSRF on every form (sign-in included) and
//! cross-site submissions refused, the CSP, the sign-in's answers (the same for a wrong
//! password and an unknown address; the blocked account told how to reopen it), the idle
//! and absolute ends of a session on the server's clock, a console session that is no bearer
//! token and a bearer token that is no console session, the first-use password change, and
//! re-authentication before forgetting. Also `GET /users` paged and `?email=`.

use serde_json::json;
use std::collections::HashMap;
use strongroom_testkit::{Backend, TestServer, both_backends};
use time::Duration;

/// A cookie-keeping client that does not follow redirects, like a browser seen from the
/// server (it sends `__Host-` cookies over loopback HTTP as browsers do).
pub(crate) struct Browser {
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) cookies: HashMap<String, String>,
}

pub(crate) struct Page {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: String,
}

impl Browser {
    pub(crate) fn new(s: &TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: s.base.clone(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = if self.cookies.is_empty() {
            req
        } else {
            req.header("cookie", self.cookie_header())
        };
        let r = req.send().await.unwrap();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, _) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default(),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    pub(crate) async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub(crate) fn csrf(&self) -> String {
        self.cookies
            .get("__Host-strongroom-csrf")
            .cloned()
            .unwrap_or_default()
    }

    /// Posts a form with the CSRF field, as the console's own forms do.
    pub(crate) async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &csrf));
        let req = self.http.post(format!("{}{path}", self.base)).form(&fields);
        self.send(req).await
    }

    pub(crate) async fn sign_in(&mut self, tenant: &str, email: &str, password: &str) -> Page {
        self.get("/console/login").await;
        self.post(
            "/console/login",
            &[("tenant", tenant), ("email", email), ("password", password)],
        )
        .await
    }
}

async fn the_session_cookie_and_csrf_are_hardened(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let mut br = Browser::new(&s);
    let page = br.get("/console/login").await;
    assert_eq!(page.status, 200);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!page.body.contains("<script>"), "no inline script");
    let set = page.headers["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("__Host-strongroom-csrf="), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }

    // A form without the token, with a wrong one, or from another site: refused, nothing done.
    let form = [("tenant", t.as_str()), ("email", &email), ("password", &pw)];
    let bare = br
        .send(
            br.http
                .post(format!("{}/console/login", s.base))
                .form(&form),
        )
        .await;
    assert_eq!(bare.status, 403, "{}", bare.body);
    assert!(!br.cookies.contains_key("__Host-strongroom"));
    let mut wrong: Vec<(&str, &str)> = form.to_vec();
    wrong.push(("csrf", "x".repeat(43).leak()));
    let r = br
        .send(
            br.http
                .post(format!("{}/console/login", s.base))
                .form(&wrong),
        )
        .await;
    assert_eq!(r.status, 403);
    let csrf = br.csrf();
    let mut good: Vec<(&str, &str)> = form.to_vec();
    good.push(("csrf", &csrf));
    let cross = br
        .send(
            br.http
                .post(format!("{}/console/login", s.base))
                .header("origin", "https://evil.example")
                .form(&good),
        )
        .await;
    assert_eq!(cross.status, 403, "{}", cross.body);
    let cross = br
        .send(
            br.http
                .post(format!("{}/console/login", s.base))
                .header("sec-fetch-site", "cross-site")
                .form(&good),
        )
        .await;
    assert_eq!(cross.status, 403);
    for (site, origin) in [("same-site", None), ("", Some("null"))] {
        let mut req = br
            .http
            .post(format!("{}/console/login", s.base))
            .form(&good);
        if !site.is_empty() {
            req = req.header("sec-fetch-site", site);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        assert_eq!(br.send(req).await.status, 403, "{site} {origin:?}");
    }
    assert!(!br.cookies.contains_key("__Host-strongroom"));

    // With it, as Chromium sends it (same-origin, an opaque Origin under the referrer
    // policy): signed in; the session cookie is as hardened.
    let r = br
        .send(
            br.http
                .post(format!("{}/console/login", s.base))
                .header("sec-fetch-site", "same-origin")
                .header("origin", "null")
                .form(&good),
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/console/");
    let set = r.headers["set-cookie"].to_str().unwrap();
    assert!(set.starts_with("__Host-strongroom=src_"), "{set}");
    for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let home = br.get("/console/").await;
    assert_eq!(home.status, 200);
    assert!(home.body.contains(&email), "the profile shows the address");

    // The console session is no bearer token, and a bearer token is no console session.
    let cookie = br.cookies["__Host-strongroom"].clone();
    let r = s.client().with_token(&cookie).get("/api/v1/me").await;
    assert_eq!(r.status, 401);
    let (_, token) = s.client().logged_in(&t, &email, &pw).await;
    let mut other = Browser::new(&s);
    other.cookies.insert("__Host-strongroom".into(), token);
    let r = other.get("/console/").await;
    assert_eq!(r.status, 303);
    assert!(
        r.location.starts_with("/console/login?next="),
        "{}",
        r.location
    );

    // Sign-out ends the session for good.
    let r = br.post("/console/logout", &[]).await;
    assert_eq!(r.status, 303);
    let mut replay = Browser::new(&s);
    replay.cookies.insert("__Host-strongroom".into(), cookie);
    assert_eq!(replay.get("/console/").await.status, 303);
}

async fn sign_in_answers_like_the_api(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let mut br = Browser::new(&s);
    let wrong = br.sign_in(&t, &email, "not-the-password").await;
    let unknown = br
        .sign_in(&t, "nobody@acme.example", "not-the-password")
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(
        wrong
            .body
            .contains("The e-mail address or the password is wrong.")
    );
    let strip = |b: &str| b.replace(&email, "").replace("nobody@acme.example", "");
    assert_eq!(strip(&wrong.body).len(), strip(&unknown.body).len());
    br.sign_in(&t, &email, "not-the-password").await;
    let blocked = br.sign_in(&t, &email, "not-the-password").await;
    assert_eq!(blocked.status, 423, "{}", blocked.body);
    assert!(blocked.body.contains("blocked") && blocked.body.contains("Forgot your password?"));
    let _ = s.next_mail().await; // the blocked mail
    let right = br.sign_in(&t, &email, &pw).await;
    assert_eq!(right.status, 423, "even the right password");
    // Reset by mail through the console's pages, then the sign-in works.
    br.get("/console/forgot").await;
    let r = br
        .post("/console/forgot", &[("tenant", &t), ("email", &email)])
        .await;
    assert_eq!(r.status, 200);
    let token = strongroom_testkit::reset_token(&s.next_mail().await);
    let r = br
        .post(
            "/console/reset",
            &[
                ("token", &token),
                ("new_password", "a-new-console-password-5x"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = br.sign_in(&t, &email, "a-new-console-password-5x").await;
    assert_eq!(r.status, 303, "{}", r.body);
}

async fn a_session_ends_idle_and_absolutely(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let mut br = Browser::new(&s);
    assert_eq!(br.sign_in(&t, &email, &pw).await.status, 303);
    s.clock.advance(Duration::minutes(29));
    assert_eq!(br.get("/console/").await.status, 200, "29 idle minutes");
    s.clock.advance(Duration::minutes(31));
    let r = br.get("/console/").await;
    assert_eq!(r.status, 303, "31 idle minutes end it");
    assert!(
        br.get("/console/")
            .await
            .location
            .starts_with("/console/login")
    );

    // Busy all along, it still ends 12 hours after the sign-in.
    let mut br = Browser::new(&s);
    assert_eq!(br.sign_in(&t, &email, &pw).await.status, 303);
    for _ in 0..(11 * 3) {
        s.clock.advance(Duration::minutes(20));
        assert_eq!(br.get("/console/").await.status, 200);
    }
    s.clock.advance(Duration::minutes(61));
    assert_eq!(br.get("/console/").await.status, 303, "past 12 hours");
}

async fn first_use_and_reauthentication(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let r = admin
        .post(
            "/api/v1/users",
            &json!({"email": "new@acme.example", "name": "New Person", "roles": ["participant"]}),
        )
        .await;
    let initial = r.json["initial_password"].as_str().unwrap().to_owned();
    let mut br = Browser::new(&s);
    assert_eq!(
        br.sign_in(&t, "new@acme.example", &initial).await.status,
        303
    );
    let r = br.get("/console/").await;
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location, "/console/password",
        "the initial password first"
    );
    let r = br.get("/console/password").await;
    assert!(r.body.contains("the password it was created with"));
    let r = br
        .post(
            "/console/password",
            &[
                ("current_password", &initial),
                ("new_password", "my-own-password-81z"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(br.get("/console/").await.status, 200);

    // Forget me needs the password and the typed confirmation.
    br.get("/console/forget").await;
    let r = br
        .post(
            "/console/forget",
            &[("password", "my-own-password-81z"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(r.status, 422);
    let r = br
        .post(
            "/console/forget",
            &[("password", "wrong-password-000"), ("confirm", "FORGET ME")],
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body.contains("wrong"));
    let r = br
        .post(
            "/console/forget",
            &[
                ("password", "my-own-password-81z"),
                ("confirm", "FORGET ME"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("You are forgotten"));
    let login = s
        .client()
        .login(&t, "new@acme.example", "my-own-password-81z")
        .await;
    assert_eq!(login.status, 401);
}

async fn users_are_paged_and_found_by_email(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    for i in 0..4 {
        let r = admin
            .post(
                "/api/v1/users",
                &json!({"email": format!("p{i}@acme.example"), "name": format!("P {i}"), "roles": ["participant"]}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let first = admin.get("/api/v1/users?limit=2").await;
    assert_eq!(first.status, 200);
    let names: Vec<&str> = first
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["P 3", "P 2"], "newest first");
    let next = first.next_page().expect("a next page");
    let second = admin.get(&next).await;
    let third = admin.get(&second.next_page().unwrap()).await;
    assert_eq!(
        third.json.as_array().unwrap().len(),
        1,
        "P 0 and the admin, then the admin"
    );
    assert!(third.next_page().is_none());
    let found = admin.get("/api/v1/users?email=P2@ACME.example").await;
    assert_eq!(found.json.as_array().unwrap().len(), 1);
    assert_eq!(found.json[0]["name"], "P 2");
    let none = admin.get("/api/v1/users?email=nobody@acme.example").await;
    assert_eq!(none.json, json!([]));
    admin
        .get("/api/v1/users?limit=0")
        .await
        .assert_problem(400, "invalid_input");
    // The console finds the same user.
    let mut br = Browser::new(&s);
    br.sign_in(&t, &email, &pw).await;
    let page = br.get("/console/admin/users?email=p2%40acme.example").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("P 2") && !page.body.contains("P 3"));
}

/// The administration pages over their services: a participant gets none of them (nor the
/// navigation); an administrator creates a group and a member, a collection, opens a record
/// (logged), holds it, saves retention rules, creates and deletes clients (a secret shown
/// once), reads the registers and the TOM report.
async fn the_administration_pages_do_what_the_api_does(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pid, participant, ppw) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let mut pbr = Browser::new(&s);
    pbr.sign_in(&t, "pia@acme.example", &ppw).await;
    let home = pbr.get("/console/").await;
    assert!(
        !home.body.contains("/console/admin/"),
        "no administration for a participant"
    );
    for page in [
        "/console/admin/users",
        "/console/admin/groups",
        "/console/admin/policies",
        "/console/admin/clients",
        "/console/admin/report",
    ] {
        assert_eq!(pbr.get(page).await.status, 403, "{page}");
    }

    let mut br = Browser::new(&s);
    br.sign_in(&t, &email, &pw).await;
    let r = br
        .post("/console/admin/groups", &[("name", "Cohort A")])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let groups = br.get("/console/admin/groups").await;
    assert!(groups.body.contains("Cohort A"));
    // The group's id, as the page shows it.
    let start = groups.body.find("<code>").unwrap() + 6;
    let group_id = groups.body[start..start + 36].to_owned();
    let r = br
        .post(
            "/console/admin/groups/members",
            &[
                ("group_id", &group_id),
                ("user_id", &pid),
                ("role", "participant"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let me = participant.get("/api/v1/me").await;
    assert_eq!(me.json["groups"][0]["id"], group_id.as_str());
    let r = br
        .post(
            &format!("/console/admin/users/{pid}/licence"),
            &[("license_expires_at", "2030-01-31")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let user = admin.get(&format!("/api/v1/users/{pid}")).await;
    assert!(
        user.json["license_expires_at"]
            .as_str()
            .unwrap()
            .starts_with("2030-01-31T23:59:59"),
        "{}",
        user.body
    );
    let bad = br
        .post(
            &format!("/console/admin/users/{pid}/licence"),
            &[("license_expires_at", "31.01.2030")],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    let r = br
        .post(
            "/console/admin/collections",
            &[
                ("name", "notes"),
                ("fields", "text string personal\ntag string searchable"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let bad = br
        .post(
            "/console/admin/collections",
            &[("name", "x"), ("fields", "a strange")],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let rec = participant
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": pid, "data": {"text": "my secret note", "tag": "t1"}}),
        )
        .await;
    let rid = rec.json["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{}", rec.body))
        .to_owned();
    let found = br
        .get("/console/admin/collections?collection=notes&field=tag&value=t1")
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let page = br.get(&format!("/console/admin/records/{rid}")).await;
    if page.status == 200 {
        assert!(page.body.contains("my secret note"));
        let r = br
            .post(
                &format!("/console/admin/records/{rid}/hold"),
                &[("hold", "true")],
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
    } else {
        // The training template keeps an administrator out of a participant's notes: the
        // console shows the same refusal as the API, and it is logged.
        assert_eq!(
            page.status,
            admin.get(&format!("/api/v1/records/{rid}")).await.status
        );
    }
    let log = participant.get("/api/v1/me/privacy-log").await;
    assert!(
        log.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["object"].as_str().unwrap_or("").contains(&rid)),
        "{}",
        log.body
    );

    let rules = br.get("/console/admin/retention").await;
    assert_eq!(rules.status, 200);
    let current = admin.get("/api/v1/retention-rules").await;
    let mut form: Vec<(String, String)> = current
        .json
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    form[0].1 = "40".into();
    let key = form[0].0.clone();
    let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = br.post("/console/admin/retention", &refs).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(admin.get("/api/v1/retention-rules").await.json[&key], 40);

    let r = br
        .post(
            "/console/admin/clients",
            &[
                ("kind", "confidential"),
                ("name", "Sync"),
                ("scopes", "users:read"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.contains("srs_"), "the secret, once");
    let list = br.get("/console/admin/clients").await;
    assert!(list.body.contains("Sync") && !list.body.contains("srs_"));
    let r = br
        .post(
            "/console/admin/clients",
            &[
                ("kind", "public"),
                ("name", "Mobile"),
                ("redirect_uris", "com.acme.app:/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let listed = admin.get("/api/v1/clients").await;
    let id = listed.json[1]["id"].as_str().unwrap().to_owned();
    let r = br
        .post(&format!("/console/admin/clients/{id}/delete"), &[])
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(
        admin
            .get("/api/v1/clients")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let registers = br.get("/console/admin/registers").await;
    assert_eq!(registers.status, 200, "{}", registers.body);
    let report = br.get("/console/admin/report").await;
    assert_eq!(report.status, 200);
    assert!(
        report.body.contains("Art. 32") || report.body.contains("32(1)"),
        "{}",
        &report.body[..500.min(report.body.len())]
    );
    assert!(
        !report.body.contains("<style"),
        "no inline style in a console page"
    );
}

/// A search answers page by page (`limit`, `after`, `Link: rel="next"` keeping the field);
/// the paging parameters cannot be searchable field names.
async fn a_search_answers_page_by_page(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pid, participant, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    admin
        .post(
            "/api/v1/collections",
            &json!({"name": "x", "fields": [{"name": "limit", "type": "string", "searchable": true}]}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "notes", "fields": [{"name": "text", "type": "string", "personal": true}, {"name": "tag", "type": "string", "searchable": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = participant
            .post(
                "/api/v1/collections/notes/records",
                &json!({"subject_id": pid, "data": {"text": format!("note {i}"), "tag": "t"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json["id"].as_str().unwrap().to_owned());
    }
    let first = participant
        .get("/api/v1/collections/notes/records?tag=t&limit=2")
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let got: Vec<&str> = first
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[0].as_str(), ids[1].as_str()], "oldest first");
    let next = first.next_page().expect("a next page");
    assert!(next.contains("tag=t"), "{next}");
    let second = participant.get(&next).await;
    assert_eq!(second.json.as_array().unwrap().len(), 1);
    assert_eq!(second.json[0]["id"], ids[2].as_str());
    assert!(second.next_page().is_none());
    participant
        .get("/api/v1/collections/notes/records?tag=t&limit=x")
        .await
        .assert_problem(400, "invalid_input");
    participant
        .get("/api/v1/collections/notes/records?tag=t&after=nope")
        .await
        .assert_problem(400, "invalid_input");

    // A record's history, page by page.
    let r = participant
        .patch(
            &format!("/api/v1/records/{}", ids[0]),
            &json!({"data": {"text": "edited"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = participant
        .get(&format!("/api/v1/records/{}/history", ids[0]))
        .await;
    let versions = all.json.as_array().unwrap().len();
    assert!(versions >= 2, "{}", all.body);
    let first = participant
        .get(&format!("/api/v1/records/{}/history?limit=1", ids[0]))
        .await;
    assert_eq!(first.json.as_array().unwrap().len(), 1);
    assert_eq!(first.json[0], all.json[0]);
    let second = participant
        .get(&first.next_page().expect("a next page"))
        .await;
    assert_eq!(second.json[0], all.json[1]);

    // The collections and a person's notices are paged too.
    admin
        .post(
            "/api/v1/collections",
            &json!({"name": "later", "fields": [{"name": "a", "type": "string"}]}),
        )
        .await;
    let first = admin.get("/api/v1/collections?limit=1").await;
    assert_eq!(first.json[0]["name"], "later", "newest first");
    let rest = admin.get(&first.next_page().expect("a next page")).await;
    assert_eq!(rest.json[0]["name"], "notes");
    assert!(rest.next_page().is_none());
    let notices = participant.get("/api/v1/me/deletion-notices?limit=1").await;
    assert_eq!(notices.status, 200, "{}", notices.body);
    participant
        .get("/api/v1/me/deletion-notices?limit=501")
        .await
        .assert_problem(400, "invalid_input");
}

both_backends!(
    the_session_cookie_and_csrf_are_hardened,
    sign_in_answers_like_the_api,
    a_session_ends_idle_and_absolutely,
    first_use_and_reauthentication,
    users_are_paged_and_found_by_email,
    the_administration_pages_do_what_the_api_does,
    a_search_answers_page_by_page,
);
