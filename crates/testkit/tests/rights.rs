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

async fn export_holds_exactly_what_was_put_in(b: Backend) {
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
            json!([{"name": "title", "type": "string"}, {"name": "notes", "type": "string", "personal": true}]),
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
            &json!({"subject_id": p1, "group_id": g, "data": {"title": "Pitch", "notes": "first try"}}),
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
        json!({"title": "Pitch", "notes": "second try"})
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
        .get(&format!("/api/v1/privacy-log?subject_id={p1}&limit=1000"))
        .await;
    let exports: Vec<&Value> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "export")
        .collect();
    assert_eq!(exports.len(), 2, "{}", r.body);
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);
}

both_backends!(export_holds_exactly_what_was_put_in);
