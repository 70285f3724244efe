//! The privacy log through the front door: what gets logged, names resolved at read time,
//! denials, concurrent instances on one database, and tamper detection.

use serde_json::{Value, json};
use strongroom_core::privacy::verify;
use strongroom_domain::Slug;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

async fn tenant_id(s: &TestServer, slug: &str) -> strongroom_domain::TenantId {
    s.services
        .store
        .tenant_by_slug(&Slug::parse(slug).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

async fn settled(
    s: &TestServer,
    admin: &Client,
    t: &str,
    email: &str,
    name: &str,
    roles: Value,
) -> (String, Client) {
    let r = admin
        .post(
            "/api/v1/users",
            &json!({"email": email, "name": name, "roles": roles}),
        )
        .await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    let initial = r.json["initial_password"].as_str().unwrap().to_owned();
    let (c, _) = s.client().logged_in(t, email, &initial).await;
    let r = c
        .put(
            "/api/v1/me/password",
            &json!({"current_password": initial, "new_password": "a-settled-password-77x"}),
        )
        .await;
    (id, c.with_token(r.json["access_token"].as_str().unwrap()))
}

async fn reads_and_changes_are_logged_with_names_resolved_when_read(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, pia_client) = settled(
        &s,
        &admin,
        &t,
        "pia@example.com",
        "Pia",
        json!(["participant"]),
    )
    .await;
    let (ada, ada_client) = settled(
        &s,
        &admin,
        &t,
        "ada@example.com",
        "Ada Second-Admin",
        json!(["administrator"]),
    )
    .await;

    assert_eq!(
        ada_client.get(&format!("/api/v1/users/{pia}")).await.status,
        200
    );
    assert_eq!(admin.get("/api/v1/users").await.status, 200);
    // A participant probing someone's profile is refused, and that is logged too.
    pia_client
        .get(&format!("/api/v1/users/{ada}"))
        .await
        .assert_problem(403, "forbidden");

    let mine = pia_client.get("/api/v1/me/privacy-log").await;
    assert_eq!(mine.status, 200, "{}", mine.body);
    let entries = mine.json.as_array().unwrap();
    let by_ada = entries
        .iter()
        .find(|e| e["actor"] == "Ada Second-Admin")
        .expect("Ada's read of Pia is listed");
    assert_eq!(
        (
            by_ada["action"].as_str(),
            by_ada["decision"].as_str(),
            by_ada["via"].as_str()
        ),
        (Some("read"), Some("allow"), Some("administrator"))
    );
    assert_eq!(by_ada["fields"], json!(["email", "name"]));
    assert_eq!(by_ada["object"], format!("users/{pia}"));
    assert!(
        entries.iter().any(|e| e["action"] == "create"),
        "the creation of Pia's account is listed"
    );
    assert!(
        entries.iter().all(|e| e["subject_id"] == pia.as_str()),
        "only entries about Pia"
    );

    let denied = admin
        .get(&format!("/api/v1/privacy-log?subject_id={ada}"))
        .await;
    let deny = denied
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["decision"] == "deny")
        .expect("the refusal is logged");
    assert_eq!(
        (deny["actor"].as_str(), deny["action"].as_str()),
        (Some("Pia"), Some("read"))
    );
    pia_client
        .get("/api/v1/privacy-log")
        .await
        .assert_problem(403, "forbidden");
    admin
        .get("/api/v1/privacy-log?from=yesterday")
        .await
        .assert_problem(400, "invalid_input");

    // Once Ada is forgotten, every view names her "Deleted GDPR"; the chain still verifies.
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{ada}")).await.status,
        204
    );
    let mine = pia_client.get("/api/v1/me/privacy-log").await;
    let names: Vec<&str> = mine
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        names.contains(&"Deleted GDPR") && !names.contains(&"Ada Second-Admin"),
        "{names:?}"
    );
    let n = verify(&*s.services.store, tenant_id(&s, &t).await)
        .await
        .unwrap()
        .unwrap();
    assert!(n >= 8, "{n} entries");
}

async fn two_instances_on_one_database_keep_one_chain(b: Backend) {
    let s1 = TestServer::start(b).await;
    let (t, email, pw) = s1.tenant("acme").await;
    let (data_dir, database_url) = (s1.config.data_dir.clone(), s1.config.database_url.clone());
    let s2 = TestServer::start_with(b, move |c| {
        c.data_dir = data_dir;
        if database_url.is_some() {
            c.database_url = database_url;
        }
    })
    .await;
    let (a1, _) = s1.client().logged_in(&t, &email, &pw).await;
    let (a2, _) = s2.client().logged_in(&t, &email, &pw).await;
    let reads = |c: Client| async move {
        for _ in 0..15 {
            assert_eq!(c.get("/api/v1/users").await.status, 200);
        }
    };
    tokio::join!(reads(a1.clone()), reads(a2.clone()), reads(a1), reads(a2));
    let n = verify(&*s1.services.store, tenant_id(&s1, &t).await)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 60, "one entry per read, in one unbroken chain");
}

/// A tenant with a few entries, and a way to verify its chain.
async fn logged(b: Backend) -> (TestServer, strongroom_domain::TenantId) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    for i in 0..3 {
        admin
            .post(
                "/api/v1/users",
                &json!({"email": format!("u{i}@example.com"), "name": "U", "roles": ["coach"]}),
            )
            .await;
    }
    assert_eq!(admin.get("/api/v1/users").await.status, 200);
    let tenant = tenant_id(&s, &t).await;
    assert_eq!(
        verify(&*s.services.store, tenant).await.unwrap().unwrap(),
        7
    );
    (s, tenant)
}

async fn broken_at(s: &TestServer, tenant: strongroom_domain::TenantId) -> u64 {
    verify(&*s.services.store, tenant)
        .await
        .unwrap()
        .expect_err("tampering must be detected")
        .seq
}

async fn an_edited_entry_is_detected(b: Backend) {
    let (s, t) = logged(b).await;
    assert_eq!(
        s.raw_sql("UPDATE privacy_log SET action = 'update' WHERE seq = 3")
            .await,
        1
    );
    assert_eq!(broken_at(&s, t).await, 3);
}

async fn a_deleted_entry_is_detected(b: Backend) {
    let (s, t) = logged(b).await;
    assert_eq!(s.raw_sql("DELETE FROM privacy_log WHERE seq = 2").await, 1);
    assert_eq!(broken_at(&s, t).await, 2);
}

async fn swapped_entries_are_detected(b: Backend) {
    let (s, t) = logged(b).await;
    // Swap the contents of entries 4 and 5 (their hashes stay where they were).
    s.raw_sql("UPDATE privacy_log SET seq = 100 WHERE seq = 4")
        .await;
    s.raw_sql("UPDATE privacy_log SET seq = 4 WHERE seq = 5")
        .await;
    s.raw_sql("UPDATE privacy_log SET seq = 5 WHERE seq = 100")
        .await;
    assert_eq!(broken_at(&s, t).await, 4);
}

async fn a_cut_tail_is_detected(b: Backend) {
    let (s, t) = logged(b).await;
    assert_eq!(s.raw_sql("DELETE FROM privacy_log WHERE seq >= 6").await, 2);
    assert_eq!(broken_at(&s, t).await, 6);
}

both_backends!(
    reads_and_changes_are_logged_with_names_resolved_when_read,
    two_instances_on_one_database_keep_one_chain,
    an_edited_entry_is_detected,
    a_deleted_entry_is_detected,
    swapped_entries_are_detected,
    a_cut_tail_is_detected,
);
