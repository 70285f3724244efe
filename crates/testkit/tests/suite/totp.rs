//! The second factor (TOTP) through the API, on the server's injected clock: enrol, confirm,
//! login asks for the code (without counting that as a failure), a code works once, the next
//! step's code works, a recovery code works once, wrong codes lock the account like wrong
//! passwords, enrolling over an active factor is refused, an administrator resets another
//! user's factor (not their own) and the user is mailed, and a user removes theirs with a code.

use secrecy::ExposeSecret as _;
use serde_json::json;
use strongroom_crypto::totp::TotpSecret;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};
use time::Duration;

/// The app's code for `secret` at the server's time.
fn code(s: &TestServer, secret: &TotpSecret) -> String {
    use strongroom_core::Clock as _;
    secret
        .code_at(u64::try_from(s.clock.now().unix_timestamp()).unwrap())
        .unwrap()
}

async fn login(s: &TestServer, email: &str, pw: &str, totp: Option<&str>) -> (u16, String) {
    let mut body = json!({"tenant": "acme", "email": email, "password": pw});
    if let Some(t) = totp {
        body["totp"] = json!(t);
    }
    let r = s.client().post("/api/v1/auth/login", &body).await;
    (r.status, r.json["code"].as_str().unwrap_or("").to_owned())
}

/// Enrols and confirms a factor for `c`; the secret and the recovery codes.
async fn enrol(s: &TestServer, c: &Client) -> (TotpSecret, Vec<String>) {
    let r = c.post("/api/v1/me/totp", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let uri = r.json["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = TotpSecret::from_base32(r.json["secret"].as_str().unwrap()).unwrap();
    assert!(uri.contains(&format!("secret={}", secret.base32().expose_secret())));
    let wrong = c
        .post("/api/v1/me/totp/confirm", &json!({"code": "000000"}))
        .await;
    assert_eq!(wrong.status, 400, "{}", wrong.body);
    let r = c
        .post(
            "/api/v1/me/totp/confirm",
            &json!({"code": code(s, &secret)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let codes: Vec<String> = r.json["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

async fn a_second_factor_guards_the_login(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, c, ppw) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let pia_email = "pia@acme.example";
    let (secret, recovery) = enrol(&s, &c).await;
    assert_eq!(
        c.post("/api/v1/me/totp", &json!({})).await.status,
        409,
        "no second enrolment over an active factor"
    );
    // The right password without a code: asked for it, and not counted (the tenant blocks at
    // three failures: four of these would have blocked the account).
    for _ in 0..4 {
        assert_eq!(
            login(&s, pia_email, &ppw, None).await,
            (401, "totp_required".into())
        );
    }
    // The confirming code was accepted already: the next step's code logs in, once.
    s.clock.advance(Duration::seconds(30));
    let now = code(&s, &secret);
    let spaced = format!("{} {}", &now[..3], &now[3..]);
    assert_eq!(
        login(&s, pia_email, &ppw, Some(&spaced)).await.0,
        200,
        "as the app shows it"
    );
    assert_eq!(
        login(&s, pia_email, &ppw, Some(&now)).await,
        (401, "invalid_credentials".into()),
        "a code is good once"
    );
    // A code with the wrong password is a wrong password, whatever the code.
    s.clock.advance(Duration::seconds(30));
    assert_eq!(
        login(&s, pia_email, "not-the-password", Some(&code(&s, &secret)))
            .await
            .0,
        401
    );
    // A recovery code, once (typed in capitals, without dashes).
    let typed = recovery[0].to_uppercase().replace('-', "");
    assert_eq!(login(&s, pia_email, &ppw, Some(&typed)).await.0, 200);
    assert_eq!(login(&s, pia_email, &ppw, Some(&typed)).await.0, 401);
    // The administrator resets Pia's factor (not their own), and Pia is told.
    let me = admin.get("/api/v1/me").await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin
            .delete(&format!("/api/v1/users/{me}/totp"))
            .await
            .status,
        403
    );
    assert_eq!(
        c.delete(&format!("/api/v1/users/{pia}/totp")).await.status,
        403,
        "not an administrator"
    );
    s.pending_mails();
    assert_eq!(
        admin
            .delete(&format!("/api/v1/users/{pia}/totp"))
            .await
            .status,
        204
    );
    assert!(s.next_mail().await.contains("second factor was reset"));
    assert_eq!(
        admin
            .delete(&format!("/api/v1/users/{pia}/totp"))
            .await
            .status,
        404
    );
    assert_eq!(login(&s, pia_email, &ppw, None).await.0, 200);

    // Enrolled again, removed with a current code.
    let (c2, _) = s.client().logged_in(&t, pia_email, &ppw).await;
    let (again, _) = enrol(&s, &c2).await;
    assert_eq!(
        c2.delete_json("/api/v1/me/totp", &json!({"code": "123456"}))
            .await
            .status,
        400
    );
    s.clock.advance(Duration::seconds(30));
    let r = c2
        .delete_json("/api/v1/me/totp", &json!({"code": code(&s, &again)}))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        c2.delete_json("/api/v1/me/totp", &json!({"code": "123456"}))
            .await
            .status,
        404
    );
    assert_eq!(login(&s, pia_email, &ppw, None).await.0, 200);
}

/// Wrong codes after the right password count toward the lockout like wrong passwords; a
/// password reset reopens the account and keeps the factor (ASVS 6.4.3).
async fn wrong_codes_lock_the_account(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (_, c, ppw) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let (secret, _) = enrol(&s, &c).await;
    // As with wrong passwords: the third failure in a row blocks the account.
    for expected in [401, 401, 423] {
        assert_eq!(
            login(&s, "pia@acme.example", &ppw, Some("000000")).await.0,
            expected
        );
    }
    s.clock.advance(Duration::seconds(30));
    assert_eq!(
        login(&s, "pia@acme.example", &ppw, Some(&code(&s, &secret))).await,
        (423, "account_blocked".into()),
        "blocked: even the right code does not open it"
    );
    let r = s
        .client()
        .post(
            "/api/v1/auth/forgot",
            &json!({"tenant": t, "email": "pia@acme.example"}),
        )
        .await;
    assert_eq!(r.status, 202);
    // The blocked-account mail may come first.
    let mail = loop {
        let m = s.next_mail().await;
        if m.contains("srp_") {
            break m;
        }
    };
    let token = strongroom_testkit::reset_token(&mail);
    let r = s
        .client()
        .post(
            "/api/v1/auth/reset",
            &json!({"token": token, "new_password": "violet-anchor-meadow"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        login(&s, "pia@acme.example", "violet-anchor-meadow", None).await,
        (401, "totp_required".into()),
        "the reset kept the second factor"
    );
    s.clock.advance(Duration::seconds(30));
    let now = code(&s, &secret);
    assert_eq!(
        login(&s, "pia@acme.example", "violet-anchor-meadow", Some(&now))
            .await
            .0,
        200
    );
}

/// The tenant's `require_totp_roles`: a user of such a role without a factor gets a token
/// that may only enrol, see themselves, change the password and log out; once enrolled,
/// everything their roles allow. Every change of the setting (and an administrator's reset
/// of a factor) is a privacy-log entry saying what changed. A tenant made by the operator's
/// `tenant create` requires it of administrators from the start.
async fn required_factor_restricts_the_token_until_enrolled(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (coach_id, coach, coach_pw) = s
        .settled_user(&admin, &t, "cora@acme.example", json!(["coach"]))
        .await;
    let r = admin.get("/api/v1/tenant").await;
    assert_eq!(r.json["require_totp_roles"], json!([]), "{}", r.body);
    for bad in [
        json!({"require_totp_roles": ["root"]}),
        json!({"lockout_threshold": 0}),
        json!({"require_totp_roles": "coach"}),
    ] {
        let r = admin.patch("/api/v1/tenant", &bad).await;
        assert!([400, 422].contains(&r.status), "{bad}: {}", r.body);
    }
    let r = admin
        .patch("/api/v1/tenant", &json!({"require_totp_roles": ["coach"]}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["require_totp_roles"], json!(["coach"]));
    assert_eq!(r.json["lockout_threshold"], 3, "untouched");

    // The coach's live token is restricted at once.
    for path in [
        "/api/v1/collections",
        "/api/v1/me/export",
        "/api/v1/me/privacy-log",
    ] {
        let r = coach.get(path).await;
        if path.ends_with("privacy-log") {
            assert_eq!(
                r.status, 200,
                "{path}: their own views stay open: {}",
                r.body
            );
        } else {
            r.assert_problem(403, "totp_enrolment_required");
        }
    }
    assert_eq!(coach.get("/api/v1/me").await.status, 200);
    let fresh = s
        .client()
        .logged_in(&t, "cora@acme.example", &coach_pw)
        .await
        .0;
    fresh
        .get("/api/v1/collections")
        .await
        .assert_problem(403, "totp_enrolment_required");
    enrol(&s, &fresh).await;
    assert_eq!(fresh.get("/api/v1/collections").await.status, 200);

    // The administrator resets the coach's factor: restricted again, and logged.
    let r = admin
        .delete(&format!("/api/v1/users/{coach_id}/totp"))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    fresh
        .get("/api/v1/collections")
        .await
        .assert_problem(403, "totp_enrolment_required");
    let log = admin.get("/api/v1/privacy-log").await;
    let entries = log.json.as_array().unwrap();
    assert!(
        entries.iter().any(|e| e["action"] == "update_settings"
            && e["object"].as_str().unwrap().starts_with("tenant/")
            && e["fields"] == json!(["require_totp_roles: [] -> [coach]"])),
        "{}",
        log.body
    );
    assert!(
        entries.iter().any(|e| e["action"] == "reset"
            && e["object"] == format!("second_factor/{coach_id}")
            && e["subject_id"] == coach_id.as_str()),
        "{}",
        log.body
    );

    // A tenant as `tenant create` makes it: its administrator must enrol first.
    let created = s
        .services
        .create_tenant(
            strongroom_domain::Slug::parse("fresh").unwrap(),
            strongroom_domain::TenantName::parse("Fresh").unwrap(),
            strongroom_domain::Region::default(),
            strongroom_domain::Email::parse("it@fresh.example").unwrap(),
            true,
            strongroom_core::tenancy::DEFAULT_REQUIRE_TOTP_ROLES
                .into_iter()
                .collect(),
        )
        .await
        .unwrap();
    let (boss, _) = s
        .client()
        .logged_in(
            "fresh",
            "it@fresh.example",
            created.admin_password.expose_secret(),
        )
        .await;
    boss.get("/api/v1/tenant")
        .await
        .assert_problem(403, "totp_enrolment_required");
    enrol(&s, &boss).await;
    let r = boss.get("/api/v1/tenant").await;
    assert_eq!(
        r.json["require_totp_roles"],
        json!(["administrator"]),
        "{}",
        r.body
    );
}

both_backends!(
    a_second_factor_guards_the_login,
    wrong_codes_lock_the_account,
    required_factor_restricts_the_token_until_enrolled
);
