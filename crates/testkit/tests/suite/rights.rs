//! Data-subject rights, end to end on both backends: the export (right of access and
//! portability).

use serde_json::{Value, json};
use std::io::Read;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            // Entries carry the time of the export, not the format's 1980 default.
            assert!(
                f.last_modified().unwrap().year() >= 2024,
                "{:?}",
                f.last_modified()
            );
            (f.name().unwrap().to_string(), data)
        })
        .collect()
}

async fn export(c: &Client, path: &str) -> (u16, String, Vec<u8>) {
    let (status, headers, body) = c.get_bytes(path, None).await;
    let ct = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, body.expect("a whole body"))
}

/// Tenant "acme": Pia (participant) and Cas (coach of her group G). Pia keeps a recording
/// with personal notes and a personal, searchable day, two files, and one change; Cas gives
/// feedback on it and reads it.
struct Pia {
    s: TestServer,
    admin: Client,
    p1: String,
    c1: Client,
    coach: String,
    cc: Client,
    group: String,
    rec: String,
    fb: String,
    video: Vec<u8>,
    notes: Vec<u8>,
}

async fn pia(b: Backend) -> Pia {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (p1, c1, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let (coach, cc, _) = s
        .settled_user(&admin, &t, "cas@acme.example", json!(["coach"]))
        .await;
    let g = admin.post("/api/v1/groups", &json!({"name": "G"})).await;
    let g = g.json["id"].as_str().unwrap().to_owned();
    for (u, role) in [(&p1, "participant"), (&coach, "coach")] {
        admin
            .put(
                &format!("/api/v1/groups/{g}/members/{u}"),
                &json!({"role": role}),
            )
            .await;
    }
    for (name, fields) in [
        (
            "recordings",
            json!([{"name": "title", "type": "string"}, {"name": "notes", "type": "string", "personal": true}, {"name": "day", "type": "date", "personal": true, "searchable": true}]),
        ),
        (
            "feedback",
            json!([{"name": "text", "type": "string", "personal": true}]),
        ),
    ] {
        let r = admin
            .post(
                "/api/v1/collections",
                &json!({"name": name, "fields": fields}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "group_id": g, "data": {"title": "Pitch", "notes": "first try", "day": "2026-10-09"}}),
        )
        .await;
    let rec = r.json["id"].as_str().unwrap().to_owned();
    let video: Vec<u8> = (0..150_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    let notes = b"what I want to improve".to_vec();
    for (name, ct, data) in [
        ("video.mp4", "video/mp4", &video),
        ("notes.txt", "text/plain", &notes),
    ] {
        let r = c1
            .put_bytes(
                &format!("/api/v1/records/{rec}/files/{name}"),
                ct,
                data.clone(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = c1
        .patch(
            &format!("/api/v1/records/{rec}"),
            &json!({"data": {"notes": "second try"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = cc
        .post(
            "/api/v1/collections/feedback/records",
            &json!({"subject_id": p1, "parent_id": rec, "data": {"text": "good pace"}}),
        )
        .await;
    let fb = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(cc.get(&format!("/api/v1/records/{rec}")).await.status, 200);
    Pia {
        s,
        admin,
        p1,
        c1,
        coach,
        cc,
        group: g,
        rec,
        fb,
        video,
        notes,
    }
}

async fn export_holds_exactly_what_was_put_in(b: Backend) {
    let Pia {
        s,
        admin,
        p1,
        c1,
        coach,
        cc,
        group: g,
        rec,
        fb,
        video,
        notes,
    } = pia(b).await;
    let (status, ct, zip) = export(&c1, "/api/v1/me/export").await;
    assert_eq!(status, 200);
    assert_eq!(ct, "application/zip");
    let files = unzip(&zip);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "README.txt",
            "export.json",
            &format!("files/{rec}/notes.txt"),
            &format!("files/{rec}/video.mp4"),
        ]
    );
    assert_eq!(
        files[&format!("files/{rec}/video.mp4")],
        video,
        "byte-identical"
    );
    assert_eq!(files[&format!("files/{rec}/notes.txt")], notes);
    assert!(String::from_utf8_lossy(&files["README.txt"]).contains("login_history"));
    let doc: Value = serde_json::from_slice(&files["export.json"]).unwrap();
    assert_eq!(doc["profile"]["email"], "pia@acme.example");
    assert_eq!(doc["profile"]["name"], "Name of pia@acme.example");
    assert_eq!(doc["groups"], json!([{"id": g, "role": "participant"}]));
    let logins = doc["login_history"].as_array().unwrap();
    assert!(!logins.is_empty() && logins.iter().all(|l| l["client"] == "127.0.0.1"));
    // The records about her: her recording (current values) and the coach's feedback.
    let records = doc["records"].as_array().unwrap();
    assert_eq!(records.len(), 2);
    let mine = records.iter().find(|r| r["id"] == rec.as_str()).unwrap();
    assert_eq!(
        mine["data"],
        json!({"title": "Pitch", "notes": "second try", "day": "2026-10-09"})
    );
    assert_eq!(mine["files"].as_array().unwrap().len(), 2);
    assert_eq!(mine["files"][1]["path"], format!("files/{rec}/video.mp4"));
    let theirs = records.iter().find(|r| r["id"] == fb.as_str()).unwrap();
    assert_eq!(theirs["data"], json!({"text": "good pace"}));
    // The changes she made, and the objects she owns (not the coach's feedback).
    let actions: Vec<&str> = doc["changes_made"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["create", "put_file", "put_file", "update"]);
    let owned: Vec<&str> = doc["objects_owned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(owned, [rec.as_str()]);
    // Who viewed her data.
    assert!(doc["privacy_log"].as_array().unwrap().iter().any(|e| {
        e["actor_id"] == coach.as_str()
            && e["object"] == format!("record/{rec}")
            && e["action"] == "read"
    }));

    // Administrators may export anyone of their tenant; others may not; other tenants get 404.
    cc.get(&format!("/api/v1/users/{p1}/export"))
        .await
        .assert_problem(403, "forbidden");
    let (status, _, zip) = export(&admin, &format!("/api/v1/users/{p1}/export")).await;
    assert_eq!(status, 200);
    assert_eq!(unzip(&zip)[&format!("files/{rec}/video.mp4")], video);
    let (t2, e2, pw2) = s.tenant("other").await;
    let (other, _) = s.client().logged_in(&t2, &e2, &pw2).await;
    other
        .get(&format!("/api/v1/users/{p1}/export"))
        .await
        .assert_problem(404, "not_found");
    // Each export is in the privacy log.
    let r = admin
        .get(&format!("/api/v1/privacy-log?subject_id={p1}&limit=500"))
        .await;
    let exports: Vec<&Value> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "export")
        .collect();
    assert_eq!(exports.len(), 3, "{}", r.body);
    // Two exports, and the coach's refused one.
    let refused: Vec<&&Value> = exports.iter().filter(|e| e["decision"] == "deny").collect();
    assert_eq!(refused.len(), 1, "{}", r.body);
    assert_eq!(refused[0]["actor_id"], coach.as_str());
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);
}

async fn forgetting_leaves_nothing_readable_and_the_log_verifies(b: Backend) {
    let Pia {
        s,
        admin,
        p1,
        c1,
        coach,
        cc,
        rec,
        fb,
        ..
    } = pia(b).await;
    let search = "/api/v1/collections/recordings/records?day=2026-10-09";
    assert_eq!(cc.get(search).await.json.as_array().unwrap().len(), 1);
    assert_eq!(s.services.blobs.keys("tenants").await.unwrap().len(), 2);

    // A crash right after the key was destroyed: the repeat finishes the rest.
    let tenant = s
        .services
        .store
        .tenant_by_slug(&strongroom_domain::Slug::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap();
    let p1_id = strongroom_domain::UserId::from(uuid::Uuid::parse_str(&p1).unwrap());
    assert!(
        s.services
            .store
            .forget_user(
                tenant.id,
                p1_id,
                time::OffsetDateTime::now_utc(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    assert_eq!(
        c1.get("/api/v1/me").await.status,
        401,
        "sessions end at once"
    );
    let r = admin.delete(&format!("/api/v1/users/{p1}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // And once more: harmless.
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{p1}")).await.status,
        204
    );
    // A forgotten person is no user any more: no profile, no export (as schemathesis's
    // "deleted resource still available" check expects).
    assert_eq!(admin.get(&format!("/api/v1/users/{p1}")).await.status, 404);
    assert_eq!(
        admin
            .get(&format!("/api/v1/users/{p1}/export"))
            .await
            .status,
        404
    );

    // No blob left, no personal value stored, no search entry, nothing readable.
    assert!(s.services.blobs.keys("tenants").await.unwrap().is_empty());
    assert!(cc.get(search).await.json.as_array().unwrap().is_empty());
    let db = s.database_bytes();
    for needle in [
        "pia@acme.example",
        "Name of pia",
        "second try",
        "first try",
        "good pace",
        "2026-10-09",
    ] {
        assert!(
            !db.windows(needle.len()).any(|w| w == needle.as_bytes()),
            "{needle} is still stored"
        );
    }
    // What is not personal stays, pseudonymised; the files are gone.
    let r = cc.get(&format!("/api/v1/records/{rec}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["data"], json!({"title": "Pitch"}));
    assert_eq!(r.json["files"], json!([]));
    let r = cc.get(&format!("/api/v1/records/{fb}")).await;
    assert_eq!(r.json["data"], json!({}), "{}", r.body);
    let r = cc.get(&format!("/api/v1/records/{rec}/history")).await;
    let h = r.json.as_array().unwrap();
    assert!(h.iter().all(|e| e["before"].is_null()), "{}", r.body);
    assert_eq!(h[0]["actor"], "Deleted GDPR");
    // Every log view names her "Deleted GDPR"; the chain verifies.
    let r = admin
        .get(&format!("/api/v1/privacy-log?actor_id={p1}&limit=500"))
        .await;
    let entries = r.json.as_array().unwrap();
    assert!(!entries.is_empty());
    assert!(
        entries.iter().all(|e| e["actor"] == "Deleted GDPR"),
        "{}",
        r.body
    );
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);

    // DELETE /me: the coach goes; their token dies with them. The last administrator may not.
    let r = cc.delete("/api/v1/me").await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(cc.get("/api/v1/me").await.status, 401);
    let r = admin.get(&format!("/api/v1/users/{coach}")).await;
    assert_eq!(r.status, 404, "{}", r.body);
    admin
        .delete("/api/v1/me")
        .await
        .assert_problem(409, "conflict");
}

both_backends!(
    export_holds_exactly_what_was_put_in,
    forgetting_leaves_nothing_readable_and_the_log_verifies,
);
