//! The key hierarchy through the front door: nothing personal in the database in plaintext,
//! sealed fields bound to their place, crypto-shredding, and a working blind index.

use serde_json::json;
use strongroom_testkit::{Backend, TestServer, both_backends};

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

async fn nothing_personal_is_stored_in_plaintext(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, admin_email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &admin_email, &pw).await;
    let people = [
        ("Zebedee Quintessence", "zebedee.quintessence@example.org"),
        ("Ottoline Marchbanks", "o.marchbanks@example.net"),
    ];
    let mut ids = Vec::new();
    for (name, email) in people {
        let r = admin
            .post(
                "/api/v1/users",
                &json!({"email": email, "name": name, "roles": ["participant"]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json["id"].as_str().unwrap().to_owned());
    }
    let r = admin
        .patch(
            &format!("/api/v1/users/{}", ids[0]),
            &json!({"name": "Zebedee Renamed-Quintessence"}),
        )
        .await;
    assert_eq!(
        r.json["name"], "Zebedee Renamed-Quintessence",
        "decrypted on the way out"
    );
    // A failed login for an unknown address leaves no trace of the address either.
    s.client()
        .login(&t, "never.registered@example.com", "whatever-123")
        .await
        .assert_problem(401, "invalid_credentials");

    let bytes = s.database_bytes();
    assert!(
        contains(&bytes, "acme"),
        "the scan sees the database (the tenant slug is there)"
    );
    for needle in [
        "Zebedee",
        "Quintessence",
        "Ottoline",
        "Marchbanks",
        "example.org",
        "example.net",
        "never.registered",
        &admin_email,
    ] {
        assert!(
            !contains(&bytes, needle),
            "{needle:?} found in plaintext in the database"
        );
    }
}

async fn ciphertexts_open_only_in_their_own_place(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, admin_email, pw) = s.tenant("acme").await;
    let (other_t, other_email, other_pw) = s.tenant("beta").await;
    let (admin, _) = s.client().logged_in(&t, &admin_email, &pw).await;
    let (other, _) = s
        .client()
        .logged_in(&other_t, &other_email, &other_pw)
        .await;
    let ann = admin
        .post(
            "/api/v1/users",
            &json!({"email": "ann@example.com", "name": "Ann", "roles": ["coach"]}),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = admin
        .post(
            "/api/v1/users",
            &json!({"email": "bob@example.com", "name": "Bob", "roles": ["coach"]}),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let eve = other
        .post(
            "/api/v1/users",
            &json!({"email": "eve@example.com", "name": "Eve", "roles": ["coach"]}),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin.get(&format!("/api/v1/users/{ann}")).await.json["email"],
        "ann@example.com"
    );

    // Another field of the same row: e-mail ciphertext copied into the name.
    assert_eq!(s.raw_sql("UPDATE users SET name_sealed = email_sealed WHERE email_sealed IS NOT NULL AND name_sealed IS NOT NULL AND user_id = (SELECT u2.user_id FROM users u2 ORDER BY u2.created_at DESC LIMIT 1)").await, 1);
    // Another row of the same tenant, and another tenant: every user gets the name ciphertext
    // of some other user.
    s.raw_sql("UPDATE users SET email_sealed = (SELECT u2.email_sealed FROM users u2 WHERE u2.user_id <> users.user_id AND u2.email_sealed IS NOT NULL ORDER BY u2.created_at LIMIT 1)").await;
    for (c, id) in [(&admin, &ann), (&admin, &bob), (&other, &eve)] {
        let r = c.get(&format!("/api/v1/users/{id}")).await;
        r.assert_problem(500, "internal");
        for leaked in ["ann@", "bob@", "eve@", "example.com"] {
            assert!(
                !r.body.contains(leaked),
                "a moved ciphertext must not open: {}",
                r.body
            );
        }
    }
}

async fn forgetting_destroys_the_subject_key(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, admin_email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &admin_email, &pw).await;
    let id = admin
        .post(
            "/api/v1/users",
            &json!({"email": "gone@example.com", "name": "Soon Gone", "roles": ["participant"]}),
        )
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let live_keys = s
        .raw_sql("UPDATE subject_keys SET created_at = created_at WHERE wrapped IS NOT NULL")
        .await;
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{id}")).await.status,
        204
    );
    assert_eq!(
        s.raw_sql("UPDATE subject_keys SET created_at = created_at WHERE wrapped IS NOT NULL")
            .await,
        live_keys - 1,
        "one key fewer"
    );
    assert_eq!(s.raw_sql("UPDATE subject_keys SET created_at = created_at WHERE wrapped IS NULL AND destroyed_at IS NOT NULL").await, 1, "destroyed, with the time");
    // Even with the sealed e-mail put back from an old copy, nothing opens: the key is gone.
    s.raw_sql("UPDATE users SET email_sealed = name_sealed WHERE status = 'deleted'")
        .await;
    admin
        .get(&format!("/api/v1/users/{id}"))
        .await
        .assert_problem(404, "not_found");
    let bytes = s.database_bytes();
    assert!(!contains(&bytes, "gone@example.com") && !contains(&bytes, "Soon Gone"));
}

async fn login_by_email_uses_the_tenants_blind_index(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (u, e2, p2) = s.tenant("beta").await;
    // The same address in two tenants: different lookup keys, both log in.
    let (a, _) = s.client().logged_in(&t, &email, &pw).await;
    let (bc, _) = s.client().logged_in(&u, &e2, &p2).await;
    let (ra, rb) = (
        a.post(
            "/api/v1/users",
            &json!({"email": "same@example.com", "name": "A", "roles": ["coach"]}),
        )
        .await,
        bc.post(
            "/api/v1/users",
            &json!({"email": "same@example.com", "name": "B", "roles": ["coach"]}),
        )
        .await,
    );
    assert_eq!((ra.status, rb.status), (201, 201));
    assert_eq!(
        s.raw_sql("UPDATE users SET status = status WHERE email_index IS NOT NULL")
            .await,
        4
    );
    let login_a = s
        .client()
        .login(
            &t,
            "SAME@example.com",
            ra.json["initial_password"].as_str().unwrap(),
        )
        .await;
    assert_eq!(login_a.status, 200, "{}", login_a.body);
    s.client()
        .login(
            &t,
            "same@example.com",
            rb.json["initial_password"].as_str().unwrap(),
        )
        .await
        .assert_problem(401, "invalid_credentials");
}

both_backends!(
    nothing_personal_is_stored_in_plaintext,
    ciphertexts_open_only_in_their_own_place,
    forgetting_destroys_the_subject_key,
    login_by_email_uses_the_tenants_blind_index,
);
