//! The HTTP API, end to end: the real server on port 0, against SQLite and PostgreSQL.

use serde_json::{Value, json};
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

async fn create_user(admin: &Client, email: &str, roles: Value) -> (String, String) {
    let r = admin
        .post(
            "/api/v1/users",
            &json!({"email": email, "name": "Test Person", "roles": roles}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.json["id"].as_str().unwrap().to_owned(),
        r.json["initial_password"].as_str().unwrap().to_owned(),
    )
}

async fn login_ok_and_me(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let r = s.client().login(&t, &email, &pw).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    let access = r.json["access_token"].as_str().unwrap();
    assert!(
        access.starts_with("sra_") && access.len() >= 43,
        "opaque token with ≥ 256 random bits"
    );
    assert_eq!(r.headers["cache-control"], "no-store");
    let me = s.client().with_token(access).get("/api/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json["tenant"], "acme");
    assert_eq!(me.json["email"], email);
    assert_eq!(me.json["roles"], json!(["administrator"]));
    // The e-mail is matched case-insensitively.
    assert_eq!(
        s.client()
            .login(&t, &email.to_uppercase(), &pw)
            .await
            .status,
        200
    );
}

async fn three_wrong_passwords_block_even_the_right_one(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, admin_email, admin_pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &admin_email, &admin_pw).await;
    let (_, _, pw) = s
        .settled_user(&admin, &t, "ann@example.com", json!(["participant"]))
        .await;
    let c = s.client();
    c.login(&t, "ann@example.com", "wrong-1")
        .await
        .assert_problem(401, "invalid_credentials");
    c.login(&t, "ann@example.com", "wrong-2")
        .await
        .assert_problem(401, "invalid_credentials");
    c.login(&t, "ann@example.com", "wrong-3")
        .await
        .assert_problem(423, "account_blocked");
    c.login(&t, "ann@example.com", &pw)
        .await
        .assert_problem(423, "account_blocked");
    // The user is told by mail.
    let mail = s.next_mail().await;
    assert!(mail.contains("To: ann@example.com"), "{mail}");
    assert!(mail.contains("blocked after 3 wrong passwords"), "{mail}");
    // Their tokens stop working too, and the administrator sees the status.
    let list = admin.get("/api/v1/users").await;
    let ann = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "ann@example.com")
        .unwrap();
    assert_eq!(ann["status"], "blocked");
}

async fn a_right_password_resets_the_count(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let c = s.client();
    for _ in 0..2 {
        c.login(&t, &email, "nope-nope")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    assert_eq!(c.login(&t, &email, &pw).await.status, 200);
    for _ in 0..2 {
        c.login(&t, &email, "nope-nope")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    assert_eq!(
        c.login(&t, &email, &pw).await.status,
        200,
        "three in a row block, not three in all"
    );
}

async fn the_tenant_chooses_its_lockout_threshold(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    assert_eq!(
        admin.get("/api/v1/tenant").await.json["lockout_threshold"],
        3
    );
    admin
        .patch("/api/v1/tenant", &json!({"lockout_threshold": 0}))
        .await
        .assert_problem(400, "invalid_input");
    admin
        .patch("/api/v1/tenant", &json!({"lockout_threshold": 101}))
        .await
        .assert_problem(400, "invalid_input");
    let r = admin
        .patch("/api/v1/tenant", &json!({"lockout_threshold": 5}))
        .await;
    assert_eq!(
        (r.status, r.json["lockout_threshold"].as_u64()),
        (200, Some(5)),
        "{}",
        r.body
    );
    let (_, participant, ppw) = s
        .settled_user(&admin, &t, "pia@example.com", json!(["participant"]))
        .await;
    participant
        .patch("/api/v1/tenant", &json!({"lockout_threshold": 50}))
        .await
        .assert_problem(403, "forbidden");
    let c = s.client();
    for _ in 0..4 {
        c.login(&t, "pia@example.com", "wrong-wrong")
            .await
            .assert_problem(401, "invalid_credentials");
    }
    c.login(&t, "pia@example.com", "wrong-wrong")
        .await
        .assert_problem(423, "account_blocked");
    c.login(&t, "pia@example.com", &ppw)
        .await
        .assert_problem(423, "account_blocked");
}

async fn forgot_then_reset_reopens_the_account(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, _) = s.tenant("acme").await;
    let c = s.client();
    for _ in 0..3 {
        c.login(&t, &email, "wrong-wrong").await;
    }
    let _blocked_mail = s.next_mail().await;
    let r = c
        .post("/api/v1/auth/forgot", &json!({"tenant": t, "email": email}))
        .await;
    assert_eq!(r.status, 202);
    let mail = s.next_mail().await;
    assert!(mail.contains(&format!("To: {email}")), "{mail}");
    let token = strongroom_testkit::reset_token(&mail);
    assert_eq!(token.len(), 70, "{token}");

    // A weak password is refused with advice, and the token survives the refusal.
    c.post(
        "/api/v1/auth/reset",
        &json!({"token": token, "new_password": "password1"}),
    )
    .await
    .assert_problem(422, "weak_password");
    c.post(
        "/api/v1/auth/reset",
        &json!({"token": token, "new_password": "short"}),
    )
    .await
    .assert_problem(422, "weak_password");
    let r = c
        .post(
            "/api/v1/auth/reset",
            &json!({"token": token, "new_password": "violet-anchor-meadow"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        c.login(&t, &email, "violet-anchor-meadow").await.status,
        200,
        "unblocked, new password works"
    );
    c.post(
        "/api/v1/auth/reset",
        &json!({"token": token, "new_password": "another-good-phrase"}),
    )
    .await
    .assert_problem(400, "invalid_token");
}

async fn mail_goes_through_smtp_when_configured(b: Backend) {
    let smtp = strongroom_testkit::smtp::SmtpServer::start().await;
    let url = smtp.url();
    let mut s = TestServer::start_with(b, |c| c.mail.smtp_url = Some(url)).await;
    let (t, email, _) = s.tenant("acme").await;
    let c = s.client();
    assert_eq!(
        c.post("/api/v1/auth/forgot", &json!({"tenant": t, "email": email}))
            .await
            .status,
        202
    );
    let sent = s.next_sent().await;
    assert!(sent.file.is_none(), "not written to the outbox");
    assert!(
        !s.dir.path().join("outbox").exists(),
        "no outbox folder when SMTP is configured"
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains(&format!("To: {email}")),
        "{}",
        messages[0]
    );
    let token = strongroom_testkit::reset_token(&messages[0]);
    let r = c
        .post(
            "/api/v1/auth/reset",
            &json!({"token": token, "new_password": "delivered-by-smtp-ok"}),
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        c.login(&t, &email, "delivered-by-smtp-ok").await.status,
        200
    );
}

async fn reset_tokens_expire(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, _) = s.tenant("acme").await;
    let c = s.client();
    assert_eq!(
        c.post("/api/v1/auth/forgot", &json!({"tenant": t, "email": email}))
            .await
            .status,
        202
    );
    let token = strongroom_testkit::reset_token(&s.next_mail().await);
    s.clock.advance(time::Duration::minutes(31));
    c.post(
        "/api/v1/auth/reset",
        &json!({"token": token, "new_password": "violet-anchor-meadow"}),
    )
    .await
    .assert_problem(400, "invalid_token");
    c.post(
        "/api/v1/auth/reset",
        &json!({"token": "srp_garbage", "new_password": "violet-anchor-meadow"}),
    )
    .await
    .assert_problem(400, "invalid_token");
}

async fn forgot_for_unknown_address_answers_alike_and_sends_nothing(b: Backend) {
    let mut s = TestServer::start(b).await;
    let (t, email, _) = s.tenant("acme").await;
    let c = s.client();
    let unknown = c
        .post(
            "/api/v1/auth/forgot",
            &json!({"tenant": t, "email": "ghost@example.com"}),
        )
        .await;
    let unknown_tenant = c
        .post(
            "/api/v1/auth/forgot",
            &json!({"tenant": "nope", "email": email}),
        )
        .await;
    let known = c
        .post("/api/v1/auth/forgot", &json!({"tenant": t, "email": email}))
        .await;
    assert_eq!(
        (unknown.status, unknown.body.as_str()),
        (known.status, known.body.as_str())
    );
    assert_eq!(
        (unknown_tenant.status, unknown_tenant.body.as_str()),
        (known.status, known.body.as_str())
    );
    let mail = s.next_mail().await;
    assert!(mail.contains(&format!("To: {email}")));
    assert_eq!(
        s.pending_mails(),
        0,
        "nothing was sent for the unknown address"
    );
}

async fn unknown_email_is_indistinguishable_from_wrong_password(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, _) = s.tenant("acme").await;
    let c = s.client();
    for round in 1..=4 {
        let known = c.login(&t, &email, "not-the-password").await;
        let unknown = c.login(&t, "ghost@example.com", "not-the-password").await;
        assert_eq!(known.status, unknown.status, "round {round}");
        assert_eq!(known.body, unknown.body, "round {round}");
        assert_eq!(known.content_type, unknown.content_type);
        assert_eq!(
            known.status,
            if round < 3 { 401 } else { 423 },
            "round {round}"
        );
    }
    let bad_address = c.login(&t, "not an address", "x").await;
    bad_address.assert_problem(401, "invalid_credentials");
}

async fn refresh_rotates_and_reuse_revokes_the_family(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (c1, refresh1) = s.client().logged_in(&t, &email, &pw).await;
    let r = s
        .client()
        .post("/api/v1/auth/refresh", &json!({"refresh_token": refresh1}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let access2 = r.json["access_token"].as_str().unwrap().to_owned();
    let refresh2 = r.json["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(refresh1, refresh2);
    let c2 = s.client().with_token(&access2);
    assert_eq!(c2.get("/api/v1/me").await.status, 200);
    c1.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");

    // Someone replays the spent refresh token: refused, and the legitimate successor dies too.
    s.client()
        .post("/api/v1/auth/refresh", &json!({"refresh_token": refresh1}))
        .await
        .assert_problem(400, "invalid_token");
    c2.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    s.client()
        .post("/api/v1/auth/refresh", &json!({"refresh_token": refresh2}))
        .await
        .assert_problem(400, "invalid_token");

    // Other logins of the same user are a different family and live on.
    let (c3, _) = s.client().logged_in(&t, &email, &pw).await;
    assert_eq!(c3.get("/api/v1/me").await.status, 200);
    s.client()
        .post(
            "/api/v1/auth/refresh",
            &json!({"refresh_token": "srr_bogus"}),
        )
        .await
        .assert_problem(400, "invalid_token");
}

async fn logout_kills_the_tokens(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (c, refresh) = s.client().logged_in(&t, &email, &pw).await;
    assert_eq!(c.post("/api/v1/auth/logout", &json!({})).await.status, 204);
    c.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    s.client()
        .post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}))
        .await
        .assert_problem(400, "invalid_token");
    s.client()
        .post("/api/v1/auth/logout", &json!({}))
        .await
        .assert_problem(401, "unauthenticated");
}

async fn access_tokens_expire_after_15_minutes(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (c, refresh) = s.client().logged_in(&t, &email, &pw).await;
    s.clock.advance(time::Duration::minutes(14));
    assert_eq!(c.get("/api/v1/me").await.status, 200);
    s.clock.advance(time::Duration::minutes(2));
    c.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        s.client()
            .post("/api/v1/auth/refresh", &json!({"refresh_token": refresh}))
            .await
            .status,
        200
    );
}

async fn initial_passwords_must_be_changed(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (_, initial) = create_user(&admin, "newbie@example.com", json!(["administrator"])).await;
    assert!(initial.len() >= 22, "≥ 128 bits");
    let (c, _) = s
        .client()
        .logged_in(&t, "newbie@example.com", &initial)
        .await;
    let me = c.get("/api/v1/me").await;
    assert_eq!(me.json["must_change_password"], true);
    c.get("/api/v1/users")
        .await
        .assert_problem(403, "password_change_required");
    c.put(
        "/api/v1/me/password",
        &json!({"current_password": initial, "new_password": initial}),
    )
    .await
    .assert_problem(422, "weak_password");
    c.put(
        "/api/v1/me/password",
        &json!({"current_password": "wrong-wrong", "new_password": "fresh-secret-phrase"}),
    )
    .await
    .assert_problem(401, "invalid_credentials");
    let r = c
        .put(
            "/api/v1/me/password",
            &json!({"current_password": initial, "new_password": "fresh-secret-phrase"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    let c = s
        .client()
        .with_token(r.json["access_token"].as_str().unwrap());
    assert_eq!(c.get("/api/v1/users").await.status, 200);
    s.client()
        .login(&t, "newbie@example.com", &initial)
        .await
        .assert_problem(401, "invalid_credentials");
}

async fn only_administrators_manage_users(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (coach_id, coach, _) = s
        .settled_user(&admin, &t, "coach@example.com", json!(["coach"]))
        .await;
    coach
        .get("/api/v1/users")
        .await
        .assert_problem(403, "forbidden");
    coach
        .get(&format!("/api/v1/users/{coach_id}"))
        .await
        .assert_problem(403, "forbidden");
    coach
        .post(
            "/api/v1/users",
            &json!({"email": "x@example.com", "name": "X", "roles": ["administrator"]}),
        )
        .await
        .assert_problem(403, "forbidden");
    coach
        .patch(
            &format!("/api/v1/users/{coach_id}"),
            &json!({"roles": ["administrator"]}),
        )
        .await
        .assert_problem(403, "forbidden");
    coach
        .post("/api/v1/groups", &json!({"name": "G"}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        admin.get(&format!("/api/v1/users/{coach_id}")).await.json["roles"],
        json!(["coach"]),
        "no change slipped through"
    );
}

async fn users_and_groups_crud(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (id, _) = create_user(&admin, "Pia@Example.com", json!(["participant"])).await;
    let got = admin.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(got.json["email"], "pia@example.com");
    assert_eq!(got.json["must_change_password"], true);
    admin
        .post(
            "/api/v1/users",
            &json!({"email": "pia@example.com", "name": "Dup", "roles": ["coach"]}),
        )
        .await
        .assert_problem(409, "conflict");
    admin
        .post(
            "/api/v1/users",
            &json!({"email": "no-roles@example.com", "name": "N", "roles": []}),
        )
        .await
        .assert_problem(400, "invalid_input");
    admin
        .post(
            "/api/v1/users",
            &json!({"email": "bad", "name": "N", "roles": ["coach"]}),
        )
        .await
        .assert_problem(422, "invalid_field");
    admin
        .post(
            "/api/v1/users",
            &json!({"email": "r@example.com", "name": "N", "roles": ["root"]}),
        )
        .await
        .assert_problem(422, "invalid_field");

    let r = admin
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"name": "Pia P.", "license_expires_at": "2027-01-31T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["name"], "Pia P.");
    assert_eq!(r.json["license_expires_at"], "2027-01-31T00:00:00Z");
    assert_eq!(r.json["roles"], json!(["participant"]));
    let r = admin
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"license_expires_at": null}),
        )
        .await;
    assert_eq!(r.json["license_expires_at"], Value::Null);
    admin
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"license_expires_at": "tomorrow"}),
        )
        .await
        .assert_problem(422, "invalid_field");

    let g = admin
        .post("/api/v1/groups", &json!({"name": "Group A"}))
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let gid = g.json["id"].as_str().unwrap();
    admin
        .post("/api/v1/groups", &json!({"name": "Group A"}))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(
        admin
            .put(
                &format!("/api/v1/groups/{gid}/members/{id}"),
                &json!({"role": "participant"})
            )
            .await
            .status,
        204
    );
    assert_eq!(
        admin
            .put(
                &format!("/api/v1/groups/{gid}/members/{id}"),
                &json!({"role": "coach"})
            )
            .await
            .status,
        204
    );
    admin
        .put(
            &format!("/api/v1/groups/{gid}/members/{id}"),
            &json!({"role": "boss"}),
        )
        .await
        .assert_problem(422, "invalid_field");

    assert_eq!(
        admin.delete(&format!("/api/v1/users/{id}")).await.status,
        204
    );
    admin
        .get(&format!("/api/v1/users/{id}"))
        .await
        .assert_problem(404, "not_found");
    // Forgetting again is harmless (idempotent; it finishes what a crash may have left).
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{id}")).await.status,
        204
    );
    admin
        .delete(&format!("/api/v1/users/{}", uuid::Uuid::now_v7()))
        .await
        .assert_problem(404, "not_found");
    assert!(
        admin
            .get("/api/v1/users")
            .await
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["id"] != id.as_str())
    );
    let me = admin.get("/api/v1/me").await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .delete(&format!("/api/v1/users/{me}"))
        .await
        .assert_problem(400, "invalid_input");
}

async fn a_tenant_admin_cannot_reach_another_tenants_users(b: Backend) {
    let s = TestServer::start(b).await;
    let (ta, ea, pa) = s.tenant("alpha").await;
    let (tb, eb, pb) = s.tenant("beta").await;
    let (a, _) = s.client().logged_in(&ta, &ea, &pa).await;
    let (bc, _) = s.client().logged_in(&tb, &eb, &pb).await;
    let (b_user, _) = create_user(&bc, "bob@example.com", json!(["participant"])).await;
    let b_group = bc
        .post("/api/v1/groups", &json!({"name": "B group"}))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (a_user, _) = create_user(&a, "amy@example.com", json!(["participant"])).await;
    let missing = uuid::Uuid::now_v7().to_string();

    for id in [&b_user, &missing] {
        let read = a.get(&format!("/api/v1/users/{id}")).await;
        read.assert_problem(404, "not_found");
        let change = a
            .patch(&format!("/api/v1/users/{id}"), &json!({"name": "Hacked"}))
            .await;
        change.assert_problem(404, "not_found");
        let delete = a.delete(&format!("/api/v1/users/{id}")).await;
        delete.assert_problem(404, "not_found");
    }
    // Another tenant's id and an id that does not exist answer byte for byte alike.
    assert_eq!(
        a.get(&format!("/api/v1/users/{b_user}")).await.body,
        a.get(&format!("/api/v1/users/{missing}")).await.body
    );
    let listed = a.get("/api/v1/users").await;
    assert!(
        listed
            .json
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["email"] != "bob@example.com" && u["email"] != eb.as_str())
    );
    a.put(
        &format!("/api/v1/groups/{b_group}/members/{a_user}"),
        &json!({"role": "coach"}),
    )
    .await
    .assert_problem(404, "not_found");
    let a_group = a
        .post("/api/v1/groups", &json!({"name": "A group"}))
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    a.put(
        &format!("/api/v1/groups/{a_group}/members/{b_user}"),
        &json!({"role": "coach"}),
    )
    .await
    .assert_problem(404, "not_found");
    // Nothing changed in tenant B.
    let bob = bc.get(&format!("/api/v1/users/{b_user}")).await;
    assert_eq!(
        (bob.status, bob.json["name"].as_str()),
        (200, Some("Test Person"))
    );
    // B's credentials do not open A.
    s.client()
        .login(&ta, &eb, &pb)
        .await
        .assert_problem(401, "invalid_credentials");
}

async fn bad_requests_get_problems_never_500(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let http = admin.raw().clone();
    let c = s.client();

    let send = |body: &'static str, ct: Option<&'static str>| {
        let mut r = http.post(c.url("/api/v1/auth/login")).body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r
    };
    c.send(send("{\"tenant\": ", Some("application/json")))
        .await
        .assert_problem(400, "malformed_json");
    c.send(send("{\"tenant\": \"acme\",}", Some("application/json")))
        .await
        .assert_problem(400, "malformed_json");
    c.send(send("[1,2]", Some("application/json")))
        .await
        .assert_problem(422, "invalid_field");
    let r = c
        .send(send(
            "{\"tenant\":\"acme\",\"email\":\"a@b.cd\"}",
            Some("application/json"),
        ))
        .await;
    r.assert_problem(422, "invalid_field");
    assert!(
        r.json["detail"].as_str().unwrap().contains("password"),
        "names the missing field: {}",
        r.body
    );
    c.send(send(
        "{\"tenant\":1,\"email\":\"a@b.cd\",\"password\":\"x\"}",
        Some("application/json"),
    ))
    .await
    .assert_problem(422, "invalid_field");
    let r = c
        .send(send(
            "{\"tenant\":\"acme\",\"email\":\"a@b.cd\",\"password\":\"x\",\"admin\":true}",
            Some("application/json"),
        ))
        .await;
    r.assert_problem(422, "invalid_field");
    assert!(
        r.json["detail"].as_str().unwrap().contains("admin"),
        "{}",
        r.body
    );
    c.send(send("{}", None))
        .await
        .assert_problem(415, "unsupported_media_type");
    c.send(send("{}", Some("text/plain")))
        .await
        .assert_problem(415, "unsupported_media_type");

    let big = format!(
        "{{\"tenant\":\"{}\",\"email\":\"a@b.cd\",\"password\":\"x\"}}",
        "a".repeat(70 * 1024)
    );
    let r = c
        .send(
            http.post(c.url("/api/v1/auth/login"))
                .header("content-type", "application/json")
                .body(big),
        )
        .await;
    r.assert_problem(413, "payload_too_large");

    c.get("/api/v1/nope").await.assert_problem(404, "not_found");
    c.get("/nope").await.assert_problem(404, "not_found");
    c.delete("/api/v1/auth/login")
        .await
        .assert_problem(405, "method_not_allowed");
    admin
        .get("/api/v1/users/not-a-uuid")
        .await
        .assert_problem(404, "not_found");
    admin
        .get("/api/v1/users/")
        .await
        .assert_problem(404, "not_found");
    c.get("/api/v1/me")
        .await
        .assert_problem(401, "unauthenticated");
    let r = c.with_token("sra_garbage").get("/api/v1/me").await;
    r.assert_problem(401, "unauthenticated");
    assert_eq!(r.headers["www-authenticate"], "Bearer");
    let r = c
        .send(
            http.get(c.url("/api/v1/me"))
                .header("authorization", "Basic Zm9vOmJhcg=="),
        )
        .await;
    r.assert_problem(401, "unauthenticated");
    // A problem's type resolves to its description.
    let doc = c.get("/problems/account_blocked").await;
    assert_eq!((doc.status, doc.json["status"].as_u64()), (200, Some(423)));

    // Nothing half-written: the failed user creation left no user behind.
    let before = admin
        .get("/api/v1/users")
        .await
        .json
        .as_array()
        .unwrap()
        .len();
    admin
        .send(
            http.post(admin.url("/api/v1/users"))
                .header("content-type", "application/json")
                .body("{\"email\":\"x@example.com\",\"name\":\"X\"}"),
        )
        .await
        .assert_problem(422, "invalid_field");
    assert_eq!(
        admin
            .get("/api/v1/users")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        before
    );
}

/// Every body is a JSON object (serde would read a struct from an array: `[null]` as a PATCH
/// that changes nothing), and a whole number is an integer however it is written, as in the
/// JSON Schema of the OpenAPI document (found by schemathesis).
async fn bodies_are_objects_and_whole_numbers_are_integers(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let http = admin.raw().clone();
    let me = admin.get("/api/v1/me").await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in ["[null]", "[]", " [\"Renamed\"]"] {
        let r = admin
            .send(
                http.patch(admin.url(&format!("/api/v1/users/{me}")))
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        r.assert_problem(422, "invalid_field");
        assert!(
            r.json["detail"].as_str().unwrap().contains("JSON object"),
            "{}",
            r.body
        );
    }
    for (written, value) in [("5.0", 5), ("7e0", 7), ("0.4e1", 4)] {
        let r = admin
            .send(
                http.patch(admin.url("/api/v1/tenant"))
                    .header("content-type", "application/json")
                    .body(format!("{{\"lockout_threshold\": {written}}}")),
            )
            .await;
        assert_eq!(r.status, 200, "{written}: {}", r.body);
        assert_eq!(r.json["lockout_threshold"], value, "{written}");
    }
    for written in ["5.5", "1e-1", "05.0"] {
        let r = admin
            .send(
                http.patch(admin.url("/api/v1/tenant"))
                    .header("content-type", "application/json")
                    .body(format!("{{\"lockout_threshold\": {written}}}")),
            )
            .await;
        assert!(matches!(r.status, 400 | 422), "{written}: {}", r.body);
    }
    // A number in a string is a string.
    admin
        .patch("/api/v1/tenant", &json!({"lockout_threshold": "5.0"}))
        .await
        .assert_problem(422, "invalid_field");
}

async fn one_address_is_throttled(b: Backend) {
    let s = TestServer::start_with(b, |c| {
        c.auth.ip_burst = 4;
        c.auth.ip_attempts_per_minute = 1;
    })
    .await;
    let (t, email, pw) = s.tenant("acme").await; // uses one attempt
    let c = s.client();
    for _ in 0..3 {
        assert_ne!(c.login(&t, "ghost@example.com", "x").await.status, 429);
    }
    let r = c.login(&t, &email, &pw).await;
    r.assert_problem(429, "too_many_requests");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    c.post("/api/v1/auth/forgot", &json!({"tenant": t, "email": email}))
        .await
        .assert_problem(429, "too_many_requests");
    // The refused attempt is in the administrator's login history, and cost no failure.
    let slug = strongroom_domain::Slug::parse(&t).unwrap();
    let tenant = s
        .services
        .store
        .tenant_by_slug(&slug)
        .await
        .unwrap()
        .unwrap();
    let admin = s
        .services
        .store
        .list_users(tenant.id)
        .await
        .unwrap()
        .remove(0);
    let history = s
        .services
        .store
        .login_history(tenant.id, admin.id, None, 10)
        .await
        .unwrap();
    assert_eq!(
        history[0].outcome,
        strongroom_domain::LoginOutcome::Throttled
    );
    assert_eq!(admin.failed_logins, 0);
}

async fn login_history_records_every_attempt(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    s.client().login(&t, &email, "wrong-wrong").await;
    let (c, _) = s.client().logged_in(&t, &email, &pw).await;
    let h = c.get("/api/v1/me/logins").await;
    assert_eq!(h.status, 200);
    let rows = h.json.as_array().unwrap();
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    // Newest first: this login, the wrong password, and the two logins of the tenant set-up.
    assert_eq!(outcomes[..2], ["success", "wrong_password"]);
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["ip"] == "127.0.0.1"), "{}", h.body);
    // Paged: two, then the rest.
    let first = c.get("/api/v1/me/logins?limit=2").await;
    assert_eq!(first.json.as_array().unwrap().len(), 2);
    let rest = c.get(&first.next_page().expect("a next page")).await;
    assert_eq!(rest.json.as_array().unwrap().len(), 1);
    assert_eq!(rest.json[0], rows[2]);
    assert!(rest.next_page().is_none());
}

async fn health_openapi_and_metrics(b: Backend) {
    let s = TestServer::start(b).await;
    let c = s.client();
    let h = c.get("/healthz").await;
    assert_eq!((h.status, h.json["status"].as_str()), (200, Some("ok")));
    let spec = c.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/users/{id}",
        "/api/v1/groups/{id}/members/{user_id}",
        "/api/v1/me",
    ] {
        assert!(
            spec.json["paths"][path].is_object(),
            "{path} missing from the spec"
        );
    }
    assert!(spec.json["components"]["securitySchemes"]["bearer"].is_object());
    // Errors are documented as they are sent: problem+json, 401 on every secured operation.
    let me_401 = &spec.json["paths"]["/api/v1/me"]["get"]["responses"]["401"];
    assert!(
        me_401["content"]["application/problem+json"]["schema"].is_object(),
        "{me_401}"
    );
    assert!(me_401["content"]["application/json"].is_null(), "{me_401}");
    let params = spec.json["paths"]["/api/v1/privacy-log"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(params.iter().all(|p| p["in"] == "query"), "{params:?}");
    let m = c.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(
        m.body.contains("strongroom_http_requests_total"),
        "{}",
        m.body
    );
    assert!(m.body.contains("route=\"/openapi.json\""), "{}", m.body);
}

both_backends!(
    login_ok_and_me,
    three_wrong_passwords_block_even_the_right_one,
    a_right_password_resets_the_count,
    the_tenant_chooses_its_lockout_threshold,
    forgot_then_reset_reopens_the_account,
    reset_tokens_expire,
    mail_goes_through_smtp_when_configured,
    forgot_for_unknown_address_answers_alike_and_sends_nothing,
    unknown_email_is_indistinguishable_from_wrong_password,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_kills_the_tokens,
    access_tokens_expire_after_15_minutes,
    initial_passwords_must_be_changed,
    only_administrators_manage_users,
    users_and_groups_crud,
    a_tenant_admin_cannot_reach_another_tenants_users,
    bad_requests_get_problems_never_500,
    bodies_are_objects_and_whole_numbers_are_integers,
    one_address_is_throttled,
    login_history_records_every_attempt,
    health_openapi_and_metrics,
);
