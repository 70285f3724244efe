//! OAuth 2.1 for apps over HTTP (the real-browser run is in `console-tests/`): the operator's
//! app (`Services::register_app`, as `strongroom app add`) and a tenant's own public client
//! (`POST /clients` with `kind: public`); the authorization endpoint refuses an unregistered
//! redirect URI with a page (never a redirect), requires PKCE, sends a signed-out visitor to
//! sign in and back, asks consent once; the code works once (a second exchange revokes the
//! first one's tokens), only with its verifier and redirect URI; loopback redirects match on
//! any port; the tokens are the password login's (they call the API, refresh works);
//! disconnecting the app in the privacy centre ends its tokens.

use super::console::Browser;
use serde_json::json;
use strongroom_core::clients::s256;
use strongroom_testkit::{Backend, TestServer, both_backends};

const VERIFIER: &str = "a-verifier-of-the-test-client-that-is-long-enough-0123456789";

fn authorize_url(client_id: &str, redirect: &str, challenge: &str) -> String {
    format!(
        "/oauth/authorize?{}",
        serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", "xyz-state"),
        ])
        .unwrap()
    )
}

fn query_of(location: &str) -> std::collections::HashMap<String, String> {
    let q = location.split_once('?').map_or("", |(_, q)| q);
    serde_urlencoded::from_str(q).unwrap()
}

async fn exchange(
    s: &TestServer,
    code: &str,
    client_id: &str,
    redirect: &str,
    verifier: &str,
) -> strongroom_testkit::Resp {
    s.client()
        .oauth_token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client_id),
                ("redirect_uri", redirect),
                ("code_verifier", verifier),
            ],
            None,
        )
        .await
}

/// What `GET /api/v1/me` answers with this access token.
async fn me_status(s: &TestServer, access: &str) -> u16 {
    s.client().with_token(access).get("/api/v1/me").await.status
}

async fn the_code_flow_with_pkce(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let app = s
        .services
        .register_app(
            "Vendor app",
            &[
                "http://127.0.0.1/callback".to_owned(),
                "com.vendor.app:/cb".to_owned(),
            ],
        )
        .await
        .unwrap();
    let challenge = s256(VERIFIER);
    let mut br = Browser::new(&s);

    // An unregistered redirect URI (and an unknown app) get a page, not a redirect.
    for (id, uri) in [
        (app.client_id.as_str(), "http://127.0.0.1:7000/elsewhere"),
        (app.client_id.as_str(), "https://evil.example/callback"),
        (
            "sri_AAAAAAAAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAA",
            "http://127.0.0.1/callback",
        ),
    ] {
        let r = br.get(&authorize_url(id, uri, &challenge)).await;
        assert_eq!(r.status, 400, "{uri}: {}", r.body);
        assert!(r.location.is_empty());
    }
    // The sign-in page widens its form-action only to a redirect URI registered for the app.
    let forged = format!(
        "/console/login?{}",
        serde_urlencoded::to_string([(
            "next",
            authorize_url(&app.client_id, "https://evil.example/callback", &challenge).as_str()
        )])
        .unwrap()
    );
    let page = br.get(&forged).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(!csp.contains("evil.example"), "{csp}");

    // Without PKCE: back to the app with invalid_request.
    let no_pkce = authorize_url(&app.client_id, "http://127.0.0.1:7000/callback", "")
        .replace("&code_challenge_method=S256", "");
    let r = br.get(&no_pkce).await;
    assert_eq!(r.status, 303);
    let q = query_of(&r.location);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "xyz-state");

    // Signed out: to the sign-in page and back; consent once; a loopback port of the app's choosing.
    let redirect = "http://127.0.0.1:53111/callback";
    let url = authorize_url(&app.client_id, redirect, &challenge);
    let r = br.get(&url).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location
            .starts_with("/console/login?next=%2Foauth%2Fauthorize"),
        "{}",
        r.location
    );
    let page = br.get(&r.location).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:*"),
        "{csp}"
    );
    let next: String = query_of(&r.location)["next"].clone();
    let r = br
        .post(
            "/console/login",
            &[
                ("tenant", &t),
                ("email", &email),
                ("password", &pw),
                ("next", &next),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let consent = br.get(&r.location).await;
    assert_eq!(consent.status, 200);
    assert!(consent.body.contains("Vendor app"));
    let mut fields: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", &app.client_id),
        ("redirect_uri", redirect),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("state", "xyz-state"),
    ];
    fields.push(("decision", "allow"));
    let r = br.post("/oauth/authorize", &fields).await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.location.starts_with("http://127.0.0.1:53111/callback?"),
        "{}",
        r.location
    );
    let q = query_of(&r.location);
    assert_eq!(q["state"], "xyz-state");
    let code = q["code"].clone();

    // A wrong verifier or another redirect URI spends the code for nothing.
    let wrong = exchange(&s, &code, &app.client_id, redirect, &"w".repeat(43)).await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    assert_eq!(wrong.json["error"], "invalid_grant");
    let again = exchange(&s, &code, &app.client_id, redirect, VERIFIER).await;
    assert_eq!(
        again.json["error"], "invalid_grant",
        "a spent code stays spent"
    );

    // Consent given: the next authorization goes straight back with a code.
    let r = br
        .get(&authorize_url(&app.client_id, redirect, &challenge))
        .await;
    assert_eq!(r.status, 303);
    let code = query_of(&r.location)["code"].clone();
    let other_uri = exchange(
        &s,
        &code,
        &app.client_id,
        "http://127.0.0.1:53112/callback",
        VERIFIER,
    )
    .await;
    assert_eq!(other_uri.json["error"], "invalid_grant");
    let r = br
        .get(&authorize_url(&app.client_id, redirect, &challenge))
        .await;
    let code = query_of(&r.location)["code"].clone();
    let ok = exchange(&s, &code, &app.client_id, redirect, VERIFIER).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let access = ok.json["access_token"].as_str().unwrap().to_owned();
    let refresh = ok.json["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("sra_") && refresh.starts_with("srr_"));
    let me = s.client().with_token(&access).get("/api/v1/me").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json["email"], email.as_str());

    // The same code again: refused, and the tokens it gave are revoked.
    let reused = exchange(&s, &code, &app.client_id, redirect, VERIFIER).await;
    assert_eq!(reused.json["error"], "invalid_grant");
    assert_eq!(me_status(&s, &access).await, 401);

    // A fresh code; refresh works at the token endpoint; disconnecting ends the tokens.
    let r = br
        .get(&authorize_url(&app.client_id, redirect, &challenge))
        .await;
    let code = query_of(&r.location)["code"].clone();
    let ok = exchange(&s, &code, &app.client_id, redirect, VERIFIER).await;
    let refreshed = s
        .client()
        .oauth_token(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", ok.json["refresh_token"].as_str().unwrap()),
            ],
            None,
        )
        .await;
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    let access = refreshed.json["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&s, &access).await, 200);
    let apps = br.get("/console/apps").await;
    assert!(apps.body.contains("Vendor app"));
    let r = br
        .post(&format!("/console/apps/{}/disconnect", app.id.0), &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(me_status(&s, &access).await, 401);
    let r = br
        .get(&authorize_url(&app.client_id, redirect, &challenge))
        .await;
    assert_eq!(r.status, 200, "consent is asked again");

    // A code issued before a disconnect gives no tokens after it.
    let mut fields = fields.clone();
    fields.retain(|(k, _)| *k != "decision");
    fields.push(("decision", "allow"));
    let r = br.post("/oauth/authorize", &fields).await;
    let code = query_of(&r.location)["code"].clone();
    br.post(&format!("/console/apps/{}/disconnect", app.id.0), &[])
        .await;
    let late = exchange(&s, &code, &app.client_id, redirect, VERIFIER).await;
    assert_eq!(late.json["error"], "invalid_grant", "{}", late.body);
}

async fn a_tenants_own_app_serves_only_that_tenant(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (o, oemail, opw) = s.tenant("other").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let r = admin
        .post(
            "/api/v1/clients",
            &json!({"name": "Acme mobile", "kind": "public", "redirect_uris": ["com.acme.mobile:/oauth"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.json.get("client_secret").is_none());
    let client_id = r.json["client_id"].as_str().unwrap().to_owned();
    for bad in [
        json!({"name": "x", "kind": "public", "redirect_uris": ["http://app.example/cb"]}),
        json!({"name": "x", "kind": "public", "redirect_uris": ["myapp:/cb"]}),
        json!({"name": "x", "kind": "public"}),
        json!({"name": "x", "kind": "public", "redirect_uris": ["https://a.example/cb"], "scopes": ["users:read"]}),
        json!({"name": "x", "redirect_uris": ["https://a.example/cb"], "scopes": ["users:read"]}),
    ] {
        admin
            .post("/api/v1/clients", &bad)
            .await
            .assert_problem(400, "invalid_input");
    }
    let listed = admin.get("/api/v1/clients").await;
    assert_eq!(listed.json[0]["kind"], "public");
    assert_eq!(
        listed.json[0]["redirect_uris"],
        json!(["com.acme.mobile:/oauth"])
    );
    // The public client has no secret: no client-credentials token, no rotation.
    let id = listed.json[0]["id"].as_str().unwrap().to_owned();
    admin
        .post(&format!("/api/v1/clients/{id}/secret"), &json!({}))
        .await
        .assert_problem(400, "invalid_input");

    let challenge = s256(VERIFIER);
    let url = authorize_url(&client_id, "com.acme.mobile:/oauth", &challenge);
    let mut br = Browser::new(&s);
    br.sign_in(&o, &oemail, &opw).await;
    let r = br.get(&url).await;
    assert_eq!(r.status, 303);
    assert!(
        r.location.starts_with("com.acme.mobile:/oauth?"),
        "{}",
        r.location
    );
    assert_eq!(
        query_of(&r.location)["error"],
        "access_denied",
        "not in another tenant"
    );
    let mut br = Browser::new(&s);
    br.sign_in(&t, &email, &pw).await;
    let consent = br.get(&url).await;
    assert_eq!(consent.status, 200);
    let csp = consent.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' com.acme.mobile:"), "{csp}");
    let r = br
        .post(
            "/oauth/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", "com.acme.mobile:/oauth"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(query_of(&r.location)["error"], "access_denied");
    // Consent is logged about the person.
    let r = br
        .post(
            "/oauth/authorize",
            &[
                ("response_type", "code"),
                ("client_id", &client_id),
                ("redirect_uri", "com.acme.mobile:/oauth"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("decision", "allow"),
            ],
        )
        .await;
    let code = query_of(&r.location)["code"].clone();
    let ok = exchange(&s, &code, &client_id, "com.acme.mobile:/oauth", VERIFIER).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    let log = admin.get("/api/v1/me/privacy-log").await;
    assert!(
        log.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "consent"),
        "{}",
        log.body
    );
    // A person who must still change the initial password settles first (no sign-in loop).
    let r = admin
        .post(
            "/api/v1/users",
            &json!({"email": "new@acme.example", "name": "New", "roles": ["participant"]}),
        )
        .await;
    let initial = r.json["initial_password"].as_str().unwrap().to_owned();
    let mut fresh = Browser::new(&s);
    fresh.sign_in(&t, "new@acme.example", &initial).await;
    let r = fresh.get(&url).await;
    assert_eq!((r.status, r.location.as_str()), (303, "/console/password"));

    let meta = s
        .client()
        .get("/.well-known/oauth-authorization-server")
        .await;
    assert_eq!(
        meta.json["code_challenge_methods_supported"],
        json!(["S256"])
    );
    assert!(
        meta.json["authorization_endpoint"]
            .as_str()
            .unwrap()
            .ends_with("/oauth/authorize")
    );
}

both_backends!(
    the_code_flow_with_pkce,
    a_tenants_own_app_serves_only_that_tenant
);
