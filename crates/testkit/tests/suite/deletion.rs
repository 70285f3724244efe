//! Deletion that keeps its promises, on both backends with two server instances sharing one
//! database: soft deletion (410, restorable, purged after 30 days, once), the per-collection
//! legal retention period (seed 001), the legal hold that stops every deletion (soft deletion,
//! purge, forgetting, tenant destruction) until it is released, and per-tenant rules.

use serde_json::{Value, json};
use strongroom_core::jobs::Ran;
use strongroom_domain::JobKind;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};
use time::{Duration, OffsetDateTime};

const PASSWORD: &str = "a-settled-password-77x";

/// A fresh login (the clock moves by days; access tokens live 15 minutes).
async fn login(s: &TestServer, t: &str, email: &str, pw: &str) -> Client {
    s.client().logged_in(t, email, pw).await.0
}

/// Runs the engine on both instances at once at `at`, as their schedulers would.
async fn run_at(s: &TestServer, s2: &TestServer, at: OffsetDateTime) -> Vec<Ran> {
    s.clock.set(at);
    s2.clock.set(at);
    let (a, b) = tokio::join!(s.services.run_retention(at), s2.services.run_retention(at));
    let mut ran = a.unwrap();
    ran.extend(b.unwrap());
    ran
}

fn purges(ran: &[Ran]) -> Vec<&str> {
    ran.iter()
        .filter(|r| r.kind == JobKind::Purge)
        .map(|r| r.outcome.as_str())
        .collect()
}

async fn blob_count(s: &TestServer) -> usize {
    s.services.blobs.keys("tenants").await.unwrap().len()
}

/// The privacy-log actions about a subject, in order.
async fn logged_actions(admin: &Client, subject: &str) -> Vec<String> {
    let r = admin
        .get(&format!(
            "/api/v1/privacy-log?subject_id={subject}&limit=500"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["decision"] != "deny")
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn soft_deletion_is_restorable_then_purged_after_30_days(b: Backend) {
    let s = TestServer::start(b).await;
    let s2 = s.second_instance().await;
    let (t, email, pw) = s.tenant("acme").await;
    let admin = login(&s, &t, &email, &pw).await;
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "notes", "fields": [
            {"name": "text", "type": "string", "personal": true, "searchable": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (pid, p, _) = s
        .settled_user(&admin, &t, "p@acme.example", json!(["participant"]))
        .await;
    let (_, other, _) = s
        .settled_user(&admin, &t, "o@acme.example", json!(["participant"]))
        .await;
    let r = p
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": pid, "data": {"text": "mine"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = format!("/api/v1/records/{}", r.json["id"].as_str().unwrap());
    let file = format!("{rec}/files/a.pdf");
    assert_eq!(
        p.put_bytes(&file, "application/pdf", b"pdf".to_vec())
            .await
            .status,
        201
    );
    assert_eq!(blob_count(&s).await, 1);

    // Someone who may not see it cannot delete it (and learns nothing).
    other.delete(&rec).await.assert_problem(404, "not_found");
    // The owner deletes it: gone for everyone who may see it, out of searches, file too.
    assert_eq!(p.delete(&rec).await.status, 204);
    p.get(&rec).await.assert_problem(410, "gone");
    p.get(&file).await.assert_problem(410, "gone");
    admin.get(&rec).await.assert_problem(410, "gone");
    other.get(&rec).await.assert_problem(404, "not_found");
    p.delete(&rec).await.assert_problem(410, "gone");
    p.patch(&rec, &json!({"data": {"text": "x"}}))
        .await
        .assert_problem(410, "gone");
    let r = p.get("/api/v1/collections/notes/records?text=mine").await;
    assert_eq!(r.json, json!([]), "{}", r.body);
    // Only an administrator restores.
    p.post(&format!("{rec}/restore"), &Value::Null)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        admin
            .post(&format!("{rec}/restore"), &Value::Null)
            .await
            .status,
        204
    );
    admin
        .post(&format!("{rec}/restore"), &Value::Null)
        .await
        .assert_problem(409, "conflict");
    let r = p.get(&rec).await;
    assert_eq!(r.json["data"]["text"], "mine", "{}", r.body);
    assert_eq!(
        p.get("/api/v1/collections/notes/records?text=mine")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // Deleted again; 29 days later it is still restorable, nothing purged.
    let deleted = strongroom_core::Clock::now(&*s.clock);
    assert_eq!(p.delete(&rec).await.status, 204);
    let ran = run_at(&s, &s2, deleted + Duration::days(29)).await;
    assert!(purges(&ran).is_empty(), "{ran:?}");
    assert_eq!(blob_count(&s).await, 1);
    let preview = s
        .services
        .retention_preview(deleted + Duration::days(30) + Duration::minutes(1))
        .await
        .unwrap();
    assert!(
        preview
            .iter()
            .any(|(p, state)| p.kind == JobKind::Purge && p.records == Some(1) && state == "due"),
        "{preview:?}"
    );
    // After 30 days: purged once (two instances), record, file and history gone.
    let ran = run_at(&s, &s2, deleted + Duration::days(30) + Duration::minutes(1)).await;
    assert_eq!(
        purges(&ran),
        ["purged 1 deleted records and 0 past their legal retention period"],
        "{ran:?}"
    );
    assert_eq!(blob_count(&s).await, 0);
    let admin = login(&s, &t, &email, &pw).await;
    let p = login(&s, &t, "p@acme.example", PASSWORD).await;
    let other = login(&s, &t, "o@acme.example", PASSWORD).await;
    admin.get(&rec).await.assert_problem(410, "gone");
    p.get(&rec).await.assert_problem(410, "gone");
    p.get(&file).await.assert_problem(410, "gone");
    other.get(&rec).await.assert_problem(404, "not_found");
    admin
        .get(&format!("{rec}/history"))
        .await
        .assert_problem(410, "gone");
    admin
        .post(&format!("{rec}/restore"), &Value::Null)
        .await
        .assert_problem(410, "gone");
    assert!(purges(&run_at(&s, &s2, deleted + Duration::days(31)).await).is_empty());
    let admin = login(&s, &t, &email, &pw).await;
    let actions = logged_actions(&admin, &pid).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "purge").count(),
        1,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "delete").count(),
        2,
        "{actions:?}"
    );
    assert!(actions.iter().any(|a| a == "restore"), "{actions:?}");
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);
}

/// Seed 001's contracts past the legal retention period, and a legal hold that stops every
/// deletion until it is released.
async fn legal_hold_stops_every_deletion_until_released(b: Backend) {
    let s = TestServer::start(b).await;
    let s2 = s.second_instance().await;
    let (t, email, pw) = s.tenant("acme").await;
    let admin = login(&s, &t, &email, &pw).await;
    let fields = json!([
        {"name": "title", "type": "string"},
        {"name": "contact", "type": "string", "personal": true},
        {"name": "ends", "type": "date"},
    ]);
    // The period is checked against the fields.
    for (bad, why) in [
        (json!({"end_field": "nope", "years": 7}), "no field"),
        (json!({"end_field": "contact", "years": 7}), "date field"),
        (json!({"end_field": "title", "days": 7}), "date field"),
        (json!({"end_field": "ends"}), "either years or days"),
        (
            json!({"end_field": "ends", "years": 1, "days": 1}),
            "either years or days",
        ),
        (json!({"end_field": "ends", "years": 0}), "1 to 100"),
    ] {
        let r = admin
            .post(
                "/api/v1/collections",
                &json!({"name": "contracts", "fields": fields, "retention": bad}),
            )
            .await;
        r.assert_problem(400, "invalid_input");
        assert!(r.body.contains(why), "{}", r.body);
    }
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "contracts", "fields": fields, "retention": {"end_field": "ends", "years": 1}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json["retention"],
        json!({"end_field": "ends", "years": 1})
    );
    let (pid, p, _) = s
        .settled_user(&admin, &t, "p@acme.example", json!(["participant"]))
        .await;
    let now = strongroom_core::Clock::now(&*s.clock);
    let long_ago = (now - Duration::days(800)).date().to_string();
    let soon = (now + Duration::days(30)).date().to_string();
    let mut recs = Vec::new();
    for (title, ends) in [
        ("held", &long_ago),
        ("ended", &long_ago),
        ("running", &soon),
    ] {
        // (The training template lets participants keep records about themselves.)
        let r = p
            .post(
                "/api/v1/collections/contracts/records",
                &json!({"subject_id": pid, "data": {"title": title, "contact": format!("{title} contact"), "ends": ends}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let rec = format!("/api/v1/records/{}", r.json["id"].as_str().unwrap());
        let put = p
            .put_bytes(
                &format!("{rec}/files/contract.pdf"),
                "application/pdf",
                title.as_bytes().to_vec(),
            )
            .await;
        assert_eq!(put.status, 201, "{}", put.body);
        recs.push(rec);
    }
    let (held, ended, running) = (&recs[0], &recs[1], &recs[2]);

    // Only an administrator places a hold; twice is fine.
    p.put(&format!("{held}/legal-hold"), &Value::Null)
        .await
        .assert_problem(403, "forbidden");
    for _ in 0..2 {
        let r = admin.put(&format!("{held}/legal-hold"), &Value::Null).await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    assert_eq!(admin.get(held).await.json["legal_hold"], true);
    // A held record cannot be deleted, not even by its owner or an administrator.
    p.delete(held).await.assert_problem(409, "conflict");
    admin.delete(held).await.assert_problem(409, "conflict");

    // The retention engine purges the ended contract with its document and history, not the
    // held one, not the running one; once, though two instances run.
    let ran = run_at(&s, &s2, now + Duration::minutes(1)).await;
    assert_eq!(
        purges(&ran),
        ["purged 0 deleted records and 1 past their legal retention period"],
        "{ran:?}"
    );
    assert_eq!(blob_count(&s).await, 2);
    let admin = login(&s, &t, &email, &pw).await;
    admin.get(ended).await.assert_problem(410, "gone");
    let r = admin.get(ended).await;
    assert!(r.body.contains("legal retention period"), "{}", r.body);
    assert_eq!(admin.get(held).await.status, 200);
    assert_eq!(admin.get(running).await.status, 200);

    // Forgetting the person keeps the held contract whole (art. 17(3)(e)), scrubs the rest.
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{pid}")).await.status,
        204
    );
    let r = admin.get(held).await;
    assert_eq!(r.json["data"]["contact"], "held contact", "{}", r.body);
    assert_eq!(
        admin
            .get_bytes(&format!("{held}/files/contract.pdf"), None)
            .await
            .2,
        Ok(b"held".to_vec())
    );
    let r = admin.get(running).await;
    assert!(r.json["data"].get("contact").is_none(), "{}", r.body);
    assert_eq!(r.json["data"]["title"], "running");
    admin
        .get(&format!("{running}/files/contract.pdf"))
        .await
        .assert_problem(410, "gone");
    let tenant = s
        .services
        .store
        .tenant_by_slug(&strongroom_domain::Slug::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let subject = uuid::Uuid::parse_str(&pid).unwrap();
    assert!(
        s.services
            .store
            .subject_key(tenant.id, subject)
            .await
            .unwrap()
            .is_some(),
        "the key stays while a record about the person is held"
    );
    s.client()
        .login("acme", "p@acme.example", PASSWORD)
        .await
        .assert_problem(401, "invalid_credentials");

    // The agreement ended 46 days ago: the tenant's destruction waits for the hold.
    s.services
        .store
        .set_agreement_end(tenant.id, Some(now - Duration::days(46)))
        .await
        .unwrap();
    let ran = run_at(&s, &s2, now + Duration::minutes(2)).await;
    let destroy: Vec<&Ran> = ran
        .iter()
        .filter(|r| r.kind == JobKind::DestroyTenant)
        .collect();
    assert_eq!(destroy.len(), 1, "{ran:?}");
    assert_eq!(destroy[0].outcome, "deferred: 1 records on legal hold");
    let ran = run_at(&s, &s2, now + Duration::hours(1)).await;
    assert!(ran.is_empty(), "{ran:?}");

    // Released: forgetting finishes at once (key destroyed, value and file gone) ...
    let admin = login(&s, &t, &email, &pw).await;
    let r = admin.delete(&format!("{held}/legal-hold")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        admin.delete(&format!("{held}/legal-hold")).await.status,
        204
    );
    assert!(
        s.services
            .store
            .subject_key(tenant.id, subject)
            .await
            .unwrap()
            .is_none()
    );
    let r = admin.get(held).await;
    assert!(r.json["data"].get("contact").is_none(), "{}", r.body);
    assert_eq!(r.json["legal_hold"], false);
    admin
        .get(&format!("{held}/files/contract.pdf"))
        .await
        .assert_problem(410, "gone");
    let actions = logged_actions(&admin, &pid).await;
    for a in ["legal_hold", "release_hold", "purge", "delete"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
    assert_eq!(
        actions.iter().filter(|a| *a == "legal_hold").count(),
        1,
        "a repeated hold is not logged twice: {actions:?}"
    );
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);
    // ... and the next day the tenant goes, with every row and blob.
    let ran = run_at(&s, &s2, now + Duration::days(1) + Duration::minutes(3)).await;
    assert!(
        ran.iter()
            .any(|r| r.kind == JobKind::DestroyTenant && r.outcome.starts_with("destroyed")),
        "{ran:?}"
    );
    let left: Vec<(String, i64)> = s
        .rows_of_tenant(tenant.id.0)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "rows left: {left:?}");
    assert_eq!(blob_count(&s).await, 0);
}

async fn retention_rules_are_per_tenant_validated_and_move_scheduled_steps(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let admin = login(&s, &t, &email, &pw).await;
    let (ot, oemail, opw) = s.tenant("other").await;
    let defaults = json!({"notice_after_days": 31, "delete_recordings_after_days": 45,
        "destroy_after_days": 45, "purge_deleted_after_days": 30});
    let r = admin.get("/api/v1/retention-rules").await;
    assert_eq!(r.json, defaults, "{}", r.body);
    let (uid, p, _) = s
        .settled_user(&admin, &t, "p@acme.example", json!(["participant"]))
        .await;
    p.get("/api/v1/retention-rules")
        .await
        .assert_problem(403, "forbidden");
    p.put("/api/v1/retention-rules", &defaults)
        .await
        .assert_problem(403, "forbidden");
    for bad in [
        json!({"notice_after_days": 45, "delete_recordings_after_days": 45, "destroy_after_days": 45, "purge_deleted_after_days": 30}),
        json!({"notice_after_days": 1, "delete_recordings_after_days": 45, "destroy_after_days": 45, "purge_deleted_after_days": 9999}),
    ] {
        admin
            .put("/api/v1/retention-rules", &bad)
            .await
            .assert_problem(400, "invalid_input");
    }
    admin
        .put("/api/v1/retention-rules", &json!({"notice_after_days": 1}))
        .await
        .assert_problem(422, "invalid_field");
    admin
        .put(
            "/api/v1/retention-rules",
            &json!({"notice_after_days": -1, "delete_recordings_after_days": 45, "destroy_after_days": 45, "purge_deleted_after_days": 30}),
        )
        .await
        .assert_problem(422, "invalid_field");
    assert_eq!(admin.get("/api/v1/retention-rules").await.json, defaults);

    // A licence expires: the notice is planned by the tenant's rules, and moves with them.
    let expiry = strongroom_core::Clock::now(&*s.clock) + Duration::hours(1);
    let at = |d: i64| expiry + Duration::days(d);
    let r = admin
        .patch(
            &format!("/api/v1/users/{uid}"),
            &json!({"license_expires_at": expiry.format(&time::format_description::well_known::Rfc3339).unwrap()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.clock.set(at(0));
    s.services.run_retention(at(0)).await.unwrap();
    let notice_at = |preview: &[(strongroom_core::jobs::Planned, String)]| {
        preview
            .iter()
            .find(|(p, _)| p.kind == JobKind::Notice)
            .map(|(p, _)| strongroom_domain::to_millis(p.run_at))
    };
    let ms = |d: i64| Some(strongroom_domain::to_millis(at(d)));
    let preview = s.services.retention_preview(at(0)).await.unwrap();
    assert_eq!(notice_at(&preview), ms(31));
    let admin = login(&s, &t, &email, &pw).await;
    let short = json!({"notice_after_days": 5, "delete_recordings_after_days": 12,
        "destroy_after_days": 45, "purge_deleted_after_days": 7});
    let r = admin.put("/api/v1/retention-rules", &short).await;
    assert_eq!((r.status, &r.json), (200, &short), "{}", r.body);
    assert_eq!(admin.get("/api/v1/retention-rules").await.json, short);
    // A security setting: the change is in the tenant's privacy log, rule by rule.
    let log = admin.get("/api/v1/privacy-log").await;
    let entry = log
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "update_retention_rules")
        .unwrap_or_else(|| panic!("{}", log.body));
    assert_eq!(
        entry["fields"],
        json!([
            "notice_after_days: 31 -> 5",
            "delete_recordings_after_days: 45 -> 12",
            "purge_deleted_after_days: 30 -> 7"
        ])
    );
    let other_admin = login(&s, &ot, &oemail, &opw).await;
    assert_eq!(
        other_admin.get("/api/v1/retention-rules").await.json,
        defaults
    );
    s.services.run_retention(at(1)).await.unwrap();
    let preview = s.services.retention_preview(at(1)).await.unwrap();
    assert_eq!(notice_at(&preview), ms(5));
    let ran = s.services.run_retention(at(5)).await.unwrap();
    assert!(
        ran.iter()
            .any(|r| r.kind == JobKind::Notice && r.outcome.starts_with("notified")),
        "{ran:?}"
    );
}

both_backends!(
    soft_deletion_is_restorable_then_purged_after_30_days,
    legal_hold_stops_every_deletion_until_released,
    retention_rules_are_per_tenant_validated_and_move_scheduled_steps,
);
