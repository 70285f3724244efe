//! The privacy log through the front door: what gets logged, names resolved at read time,
//! denials, concurrent instances on one database, and tamper detection.

use serde_json::{Value, json};
use strongroom_core::privacy::verify;
use strongroom_domain::Slug;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

/// The trusted public key: from the server's key file.
fn public_key(s: &TestServer) -> Vec<u8> {
    strongroom_crypto::sign::public_key(
        s.services
            .keyring
            .audit_signing_key()
            .expect("an audit key"),
    )
    .unwrap()
}

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
    let n = verify(
        &*s.services.store,
        tenant_id(&s, &t).await,
        Some(&public_key(&s)),
    )
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
    let n = verify(
        &*s1.services.store,
        tenant_id(&s1, &t).await,
        Some(&public_key(&s1)),
    )
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
        verify(&*s.services.store, tenant, Some(&public_key(&s)))
            .await
            .unwrap()
            .unwrap(),
        7
    );
    (s, tenant)
}

async fn broken_at(s: &TestServer, tenant: strongroom_domain::TenantId) -> u64 {
    let key = public_key(s);
    verify(&*s.services.store, tenant, Some(&key))
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

async fn a_tail_cut_with_the_head_rewound_is_caught_by_a_checkpoint(b: Backend) {
    let (s, t) = logged(b).await;
    let key = s.services.keyring.audit_signing_key().unwrap().clone();
    assert_eq!(
        strongroom_core::privacy::checkpoint(
            &*s.services.store,
            &key,
            t,
            time::OffsetDateTime::now_utc()
        )
        .await
        .unwrap(),
        Some(7)
    );
    // A consistent truncation: entries 6 and 7 gone, the head set back to entry 5.
    s.raw_sql("DELETE FROM privacy_log WHERE seq >= 6").await;
    s.raw_sql("UPDATE privacy_log_heads SET seq = 5, hash = (SELECT hash FROM privacy_log p WHERE p.tenant_id = privacy_log_heads.tenant_id AND p.seq = 5)").await;
    let b = verify(&*s.services.store, t, Some(&public_key(&s)))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(b.seq, 6, "{}", b.reason);
    assert!(b.reason.contains("cut off"), "{}", b.reason);
}

async fn a_forged_checkpoint_is_caught(b: Backend) {
    let (s, t) = logged(b).await;
    let key = s.services.keyring.audit_signing_key().unwrap().clone();
    strongroom_core::privacy::checkpoint(
        &*s.services.store,
        &key,
        t,
        time::OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    assert!(
        verify(&*s.services.store, t, Some(&public_key(&s)))
            .await
            .unwrap()
            .is_ok()
    );
    // Someone re-signs with a key of their own: the key file's public key does not accept it.
    let other = strongroom_crypto::Key32::generate();
    let forged = strongroom_crypto::sign::sign(&other, b"anything").unwrap();
    let hex = forged.iter().fold(String::new(), |mut h, b| {
        use std::fmt::Write as _;
        let _ = write!(h, "{b:02x}");
        h
    });
    let literal = if b == Backend::Postgres {
        format!("'\\x{hex}'::bytea")
    } else {
        format!("X'{hex}'")
    };
    assert!(
        s.raw_sql(&format!(
            "UPDATE privacy_checkpoints SET signature = {literal}"
        ))
        .await
            >= 1
    );
    let b = verify(&*s.services.store, t, Some(&public_key(&s)))
        .await
        .unwrap()
        .unwrap_err();
    assert!(b.reason.contains("no valid signature"), "{}", b.reason);
}

async fn the_writer_signs_checkpoints_by_itself(b: Backend) {
    let (s, t) = logged(b).await;
    let checkpoints = s.services.store.checkpoints(t).await.unwrap();
    assert!(
        !checkpoints.is_empty(),
        "the first commit of a tenant is checkpointed"
    );
    let pk = public_key(&s);
    for c in checkpoints {
        assert!(strongroom_crypto::sign::verify(
            &pk,
            &strongroom_core::privacy::checkpoint_message(t, c.seq, &c.hash, c.at),
            &c.signature
        ));
    }
}

/// Makes the database refuse privacy-log entries of one action, as a full disk or a fault
/// in the middle of an append would.
async fn refuse_entries(s: &TestServer, b: Backend, action: &str) {
    match b {
        Backend::Sqlite => {
            s.raw_sql(&format!(
                "CREATE TRIGGER refuse_{action} BEFORE INSERT ON privacy_log \
                 WHEN NEW.action = '{action}' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            ))
            .await;
        }
        Backend::Postgres => {
            s.raw_sql(
                "CREATE OR REPLACE FUNCTION refuse_entry() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql",
            )
            .await;
            s.raw_sql(&format!(
                "CREATE TRIGGER refuse_{action} BEFORE INSERT ON privacy_log FOR EACH ROW \
                 WHEN (NEW.action = '{action}') EXECUTE FUNCTION refuse_entry()"
            ))
            .await;
        }
    }
}

/// A change and its privacy-log entry commit together or not at all: when the entry cannot
/// be written, the answer is a 500 and the change did not happen (no user, no record, no
/// new value); once entries can be written again, the same requests succeed and are logged.
async fn a_change_without_its_entry_does_not_happen(b: Backend) {
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
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "notes", "fields": [{"name": "text", "type": "string", "personal": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = pia_client
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": pia, "data": {"text": "first"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let note = r.json["id"].as_str().unwrap().to_owned();
    let tenant = tenant_id(&s, &t).await;
    let entries = || async {
        verify(&*s.services.store, tenant, None)
            .await
            .unwrap()
            .unwrap()
    };
    let before = entries().await;

    refuse_entries(&s, b, "create").await;
    refuse_entries(&s, b, "update").await;
    admin
        .post(
            "/api/v1/users",
            &json!({"email": "sam@example.com", "name": "Sam", "roles": ["coach"]}),
        )
        .await
        .assert_problem(500, "internal");
    let r = admin.get("/api/v1/users").await;
    assert!(
        r.json
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["email"] != "sam@example.com"),
        "the user was created without its entry"
    );
    pia_client
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": pia, "data": {"text": "second"}}),
        )
        .await
        .assert_problem(500, "internal");
    assert_eq!(
        s.raw_sql("UPDATE records SET version = version").await,
        1,
        "a record was created without its entry"
    );
    admin
        .patch(
            &format!("/api/v1/users/{pia}"),
            &json!({"name": "Pia Changed"}),
        )
        .await
        .assert_problem(500, "internal");
    pia_client
        .patch(
            &format!("/api/v1/records/{note}"),
            &json!({"data": {"text": "changed"}}),
        )
        .await
        .assert_problem(500, "internal");
    let r = admin.get(&format!("/api/v1/users/{pia}")).await;
    assert_eq!(r.json["name"], "Pia", "the user changed without its entry");
    let r = pia_client.get(&format!("/api/v1/records/{note}")).await;
    assert_eq!(
        r.json["data"]["text"], "first",
        "the record changed without its entry"
    );
    assert_eq!(r.json["version"], 1);
    // The chain still verifies and holds only the reads just made (a list of two people,
    // one person, one record).
    let after_failures = entries().await;
    assert_eq!(after_failures, before + 4);

    for action in ["create", "update"] {
        s.raw_sql(&match b {
            Backend::Sqlite => format!("DROP TRIGGER refuse_{action}"),
            Backend::Postgres => format!("DROP TRIGGER refuse_{action} ON privacy_log"),
        })
        .await;
    }
    let r = admin
        .post(
            "/api/v1/users",
            &json!({"email": "sam@example.com", "name": "Sam", "roles": ["coach"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = pia_client
        .patch(
            &format!("/api/v1/records/{note}"),
            &json!({"data": {"text": "changed"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(entries().await, after_failures + 2);
}

both_backends!(
    a_change_without_its_entry_does_not_happen,
    a_tail_cut_with_the_head_rewound_is_caught_by_a_checkpoint,
    a_forged_checkpoint_is_caught,
    the_writer_signs_checkpoints_by_itself,
    reads_and_changes_are_logged_with_names_resolved_when_read,
    two_instances_on_one_database_keep_one_chain,
    an_edited_entry_is_detected,
    a_deleted_entry_is_detected,
    swapped_entries_are_detected,
    a_cut_tail_is_detected,
);
