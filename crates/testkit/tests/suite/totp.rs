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

both_backends!(
    a_second_factor_guards_the_login,
    wrong_codes_lock_the_account
);
