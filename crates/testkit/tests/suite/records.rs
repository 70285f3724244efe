//! Records, files and the four-level access check, end to end on both backends: the seed-000
//! training scenario, validation, files with ranges and limits, the policy API.

use serde_json::json;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

/// Deterministic bytes that look like nothing in particular (no repeated 64 KiB segments).
fn payload(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[0]
        })
        .collect()
}

struct Training {
    s: TestServer,
    admin: Client,
    p1: (String, Client),
    p2: (String, Client),
    coach: (String, Client),
    outsider: (String, Client),
    developer: Client,
    group: String,
}

/// Tenant "train": P1, P2 in group G coached by C; Q in group H; D a content developer.
/// D defines the collections `recordings` and `feedback`.
async fn training(b: Backend) -> Training {
    training_with(TestServer::start(b).await).await
}

async fn training_with(s: TestServer) -> Training {
    let (t, email, pw) = s.tenant("train").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (p1, c1, _) = s
        .settled_user(&admin, &t, "p1@train.example", json!(["participant"]))
        .await;
    let (p2, c2, _) = s
        .settled_user(&admin, &t, "p2@train.example", json!(["participant"]))
        .await;
    let (co, cc, _) = s
        .settled_user(&admin, &t, "coach@train.example", json!(["coach"]))
        .await;
    let (q, cq, _) = s
        .settled_user(&admin, &t, "q@train.example", json!(["participant"]))
        .await;
    let (_, dev, _) = s
        .settled_user(
            &admin,
            &t,
            "dev@train.example",
            json!(["content_developer"]),
        )
        .await;
    let g = admin.post("/api/v1/groups", &json!({"name": "G"})).await;
    let g = g.json["id"].as_str().unwrap().to_owned();
    let h = admin.post("/api/v1/groups", &json!({"name": "H"})).await;
    let h = h.json["id"].as_str().unwrap().to_owned();
    for (grp, user, role) in [
        (&g, &p1, "participant"),
        (&g, &p2, "participant"),
        (&g, &co, "coach"),
        (&h, &q, "participant"),
    ] {
        let r = admin
            .put(
                &format!("/api/v1/groups/{grp}/members/{user}"),
                &json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, 204, "{}", r.body);
    }
    let r = dev
        .post(
            "/api/v1/collections",
            &json!({"name": "recordings", "fields": [
                {"name": "title", "type": "string", "searchable": true, "required": true},
                {"name": "notes", "type": "string", "personal": true},
                {"name": "day", "type": "date", "personal": true, "searchable": true}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = dev
        .post(
            "/api/v1/collections",
            &json!({"name": "feedback", "fields": [
                {"name": "text", "type": "string", "personal": true, "required": true},
                {"name": "score", "type": "integer"}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Training {
        s,
        admin,
        p1: (p1, c1),
        p2: (p2, c2),
        coach: (co, cc),
        outsider: (q, cq),
        developer: dev,
        group: g,
    }
}

async fn log_has(
    admin: &Client,
    subject: &str,
    actor: &str,
    object: &str,
    via: &str,
    decision: &str,
) -> bool {
    let r = admin
        .get(&format!(
            "/api/v1/privacy-log?subject_id={subject}&limit=500"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json.as_array().unwrap().iter().any(|e| {
        e["actor_id"] == actor
            && e["object"] == object
            && e["decision"] == decision
            && e["via"].as_str().unwrap().contains(via)
    })
}

async fn seed_000_training_scenario(b: Backend) {
    scenario(training(b).await).await;
}

/// The same scenario with files in a real S3-compatible server (s3s-fs on loopback).
async fn seed_000_with_files_on_s3(b: Backend) {
    let s3 = strongroom_testkit::s3::S3Server::start().await;
    let t = training_with(TestServer::start_with(b, |c| s3.configure(c)).await).await;
    let video = scenario(t).await;
    let objects = s3.objects();
    assert_eq!(objects.len(), 1, "one video object in the bucket");
    let (path, bytes) = &objects[0];
    assert!(
        path.to_string_lossy().contains("blobs/tenants/"),
        "{}",
        path.display()
    );
    assert!(bytes.len() > video.len());
    assert!(!bytes.windows(32).any(|w| w == &video[1000..1032]));
}

/// Seed 000 on the training template; returns the video P1 uploaded.
async fn scenario(t: Training) -> Vec<u8> {
    let (p1, c1) = &t.p1;
    let (p2, c2) = &t.p2;
    let (coach, cc) = &t.coach;
    let (q, cq) = &t.outsider;

    // P1 saves a recording, privately, in group G, and uploads the video.
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "group_id": t.group, "data": {
                "title": "Interview practice", "notes": "nervous at the start", "day": "2026-11-02"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json["id"].as_str().unwrap().to_owned();
    let video = payload(200_000, 1);
    let r = c1
        .put_bytes(
            &format!("/api/v1/records/{rec}/files/video.mp4"),
            "video/mp4",
            video.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["size"], 200_000);

    // C gives feedback on it.
    let r = cc
        .post(
            "/api/v1/collections/feedback/records",
            &json!({"subject_id": p1, "parent_id": rec, "data": {"text": "good eye contact", "score": 4}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let fb = r.json["id"].as_str().unwrap().to_owned();

    let file = format!("/api/v1/records/{rec}/files/video.mp4");
    // C and P1 read both, and the video.
    for c in [cc, c1] {
        let r = c.get(&format!("/api/v1/records/{rec}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json["data"]["notes"], "nervous at the start");
        assert_eq!(r.json["files"][0]["name"], "video.mp4");
        assert_eq!(r.json["files"][0]["content_type"], "video/mp4");
        let r = c.get(&format!("/api/v1/records/{fb}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json["data"]["text"], "good eye contact");
        let (status, headers, body) = c.get_bytes(&file, None).await;
        assert_eq!(status, 200);
        assert_eq!(headers["content-type"], "video/mp4");
        assert_eq!(body.unwrap(), video);
    }
    // P2 does not see a private recording, nor its feedback; Q never; D has no record rights.
    for c in [c2, cq] {
        for path in [
            format!("/api/v1/records/{rec}"),
            format!("/api/v1/records/{fb}"),
            file.clone(),
            format!("/api/v1/records/{rec}/history"),
        ] {
            c.get(&path).await.assert_problem(404, "not_found");
        }
    }
    t.developer
        .get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(403, "forbidden");
    // P2 may not reply to it either, nor share it.
    c2.post(
        "/api/v1/collections/feedback/records",
        &json!({"subject_id": p1, "parent_id": rec, "data": {"text": "x"}}),
    )
    .await
    .assert_problem(400, "invalid_input");
    c2.patch(
        &format!("/api/v1/records/{rec}"),
        &json!({"visibility": "group"}),
    )
    .await
    .assert_problem(404, "not_found");

    // P1 shares it with the group: now P2 sees recording, feedback and video; Q still not.
    let r = c1
        .patch(
            &format!("/api/v1/records/{rec}"),
            &json!({"visibility": "group"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["visibility"], "group");
    let r = c2.get(&format!("/api/v1/records/{rec}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c2.get(&format!("/api/v1/records/{fb}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (status, _, body) = c2.get_bytes(&file, Some("bytes=65530-65545")).await;
    assert_eq!(status, 206);
    assert_eq!(body.unwrap(), video[65530..=65545].to_vec());
    cq.get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(cq.get_bytes(&file, None).await.0, 404);

    // An administrator of another tenant gets 404 for everything.
    let (t2, e2, pw2) = t.s.tenant("other").await;
    let (other, _) = t.s.client().logged_in(&t2, &e2, &pw2).await;
    for path in [
        format!("/api/v1/records/{rec}"),
        format!("/api/v1/records/{fb}"),
        format!("/api/v1/records/{rec}/history"),
        file.clone(),
    ] {
        other.get(&path).await.assert_problem(404, "not_found");
    }

    // Every read is in the privacy log, with the right actor and role; so are the denials.
    let admin = &t.admin;
    let rec_obj = format!("record/{rec}");
    let fb_obj = format!("record/{fb}");
    let file_obj = format!("file/{rec}");
    assert!(log_has(admin, p1, coach, &rec_obj, "coach", "allow").await);
    assert!(log_has(admin, p1, coach, &fb_obj, "coach", "allow").await);
    assert!(log_has(admin, p1, coach, &file_obj, "coach", "allow").await);
    assert!(log_has(admin, p1, p1, &rec_obj, "participant", "allow").await);
    assert!(log_has(admin, p1, p1, &file_obj, "participant", "allow").await);
    assert!(log_has(admin, p1, p2, &rec_obj, "participant", "allow").await);
    assert!(log_has(admin, p1, p2, &file_obj, "participant", "allow").await);
    assert!(log_has(admin, p1, p2, &rec_obj, "participant", "deny").await);
    assert!(log_has(admin, p1, q, &rec_obj, "participant", "deny").await);
    // The client address is kept (sealed under the actor's key) for administrators.
    let r = admin
        .get(&format!(
            "/api/v1/privacy-log?subject_id={p1}&actor_id={coach}"
        ))
        .await;
    assert!(
        r.json
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["client"] == "127.0.0.1"),
        "{}",
        r.body
    );
    // P1 sees who viewed their data (but not the viewers' addresses).
    let r = c1.get("/api/v1/me/privacy-log").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("127.0.0.1"), "{}", r.body);
    assert!(
        r.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor"] == "Name of coach@train.example" && e["object"] == rec_obj)
    );

    // The history names who changed what.
    let r = c1.get(&format!("/api/v1/records/{rec}/history")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let h = r.json.as_array().unwrap();
    let actions: Vec<&str> = h.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["create", "put_file", "update"]);
    assert_eq!(h[0]["actor"], "Name of p1@train.example");
    assert_eq!(h[2]["fields"], json!(["visibility"]));
    assert_eq!(h[2]["before"]["visibility"], "private");

    // Hidden by retention (here set by hand): owner, peer and coach get 403; the
    // administrator reads it and reopens it.
    let r = admin
        .patch(&format!("/api/v1/records/{rec}"), &json!({"hidden": true}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    for c in [c1, c2, cc] {
        c.get(&format!("/api/v1/records/{rec}"))
            .await
            .assert_problem(403, "forbidden");
        c.get(&format!("/api/v1/records/{fb}"))
            .await
            .assert_problem(403, "forbidden");
        assert_eq!(c.get_bytes(&file, None).await.0, 403);
    }
    cq.get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(404, "not_found");
    let r = admin.get(&format!("/api/v1/records/{rec}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    c1.patch(&format!("/api/v1/records/{rec}"), &json!({"hidden": false}))
        .await
        .assert_problem(403, "forbidden");
    let r = admin
        .patch(&format!("/api/v1/records/{rec}"), &json!({"hidden": false}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c1.get(&format!("/api/v1/records/{rec}")).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The chain of all this verifies.
    let n = t.s.verify_privacy_chain("train").await.unwrap();
    assert!(n > 30, "{n} entries");
    video
}

async fn records_validate_their_input(b: Backend) {
    let t = training(b).await;
    let (p1, c1) = &t.p1;
    let url = "/api/v1/collections/recordings/records";
    for (body, needle) in [
        (
            json!({"subject_id": p1, "data": {}}),
            "data.title: required",
        ),
        (
            json!({"subject_id": p1, "data": {"title": 5}}),
            "data.title: expected a string",
        ),
        (
            json!({"subject_id": p1, "data": {"title": "x", "day": "yesterday"}}),
            "data.day: expected a date",
        ),
        (
            json!({"subject_id": p1, "data": {"title": "x", "mood": "ok"}}),
            "data.mood: the collection has no such field",
        ),
        (
            json!({"subject_id": p1, "visibility": "world", "data": {"title": "x"}}),
            "visibility",
        ),
        (
            json!({"subject_id": "not-a-uuid", "data": {"title": "x"}}),
            "subject_id",
        ),
        (
            json!({"subject_id": p1, "group_id": uuid::Uuid::now_v7(), "data": {"title": "x"}}),
            "group_id: no such group",
        ),
    ] {
        let r = c1.post(url, &body).await;
        assert!(r.status == 400 || r.status == 422, "{}", r.body);
        assert!(r.body.contains(needle), "{} lacks {needle}", r.body);
    }
    // A participant may not create records about someone else.
    let (p2, _) = &t.p2;
    c1.post(url, &json!({"subject_id": p2, "data": {"title": "x"}}))
        .await
        .assert_problem(403, "forbidden");
    c1.post(
        "/api/v1/collections/nope/records",
        &json!({"subject_id": p1, "data": {}}),
    )
    .await
    .assert_problem(404, "not_found");
    // Collections: names, duplicates, types; participants may not define them.
    let dev = &t.developer;
    for (body, status) in [
        (
            json!({"name": "Bad Name", "fields": [{"name": "a", "type": "string"}]}),
            400,
        ),
        (json!({"name": "x", "fields": []}), 400),
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "string"}, {"name": "a", "type": "integer"}]}),
            400,
        ),
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "blob"}]}),
            422,
        ),
        (
            json!({"name": "x", "fields": [{"name": "a", "type": "number", "searchable": true}]}),
            400,
        ),
        (
            json!({"name": "recordings", "fields": [{"name": "a", "type": "string"}]}),
            409,
        ),
    ] {
        let r = dev.post("/api/v1/collections", &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
    }
    c1.post(
        "/api/v1/collections",
        &json!({"name": "mine", "fields": [{"name": "a", "type": "string"}]}),
    )
    .await
    .assert_problem(403, "forbidden");
    let r = c1.get("/api/v1/collections").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json.as_array().unwrap().len(), 2);

    // Search: equality on a searchable field, only what the caller may read.
    let (_, cc) = &t.coach;
    for (title, day) in [
        ("Pitch", "2026-01-01"),
        ("Pitch", "2026-01-02"),
        ("Other", "2026-01-01"),
    ] {
        let r = c1
            .post(
                url,
                &json!({"subject_id": p1, "group_id": t.group, "data": {"title": title, "day": day}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let r = cc.get(&format!("{url}?title=Pitch")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json.as_array().unwrap().len(), 2);
    let r = cc.get(&format!("{url}?day=2026-01-01")).await;
    assert_eq!(r.json.as_array().unwrap().len(), 2, "{}", r.body);
    let r = t.p2.1.get(&format!("{url}?title=Pitch")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json.as_array().unwrap().len(),
        0,
        "private records stay private"
    );
    cc.get(&format!("{url}?notes=x"))
        .await
        .assert_problem(400, "invalid_input");
    cc.get(&format!("{url}?title=a&day=2026-01-01"))
        .await
        .assert_problem(400, "invalid_input");

    // Updates: validated, merged, versioned.
    let r = c1
        .post(
            url,
            &json!({"subject_id": p1, "data": {"title": "v1", "notes": "n1"}}),
        )
        .await;
    let id = r.json["id"].as_str().unwrap().to_owned();
    c1.patch(
        &format!("/api/v1/records/{id}"),
        &json!({"data": {"title": null}}),
    )
    .await
    .assert_problem(400, "invalid_input");
    let r = c1
        .patch(
            &format!("/api/v1/records/{id}"),
            &json!({"data": {"notes": "n2"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["data"], json!({"title": "v1", "notes": "n2"}));
    assert_eq!(r.json["version"], 2);
    let r = c1.get(&format!("/api/v1/records/{id}/history")).await;
    assert_eq!(r.json[1]["before"], json!({"notes": "n1"}), "{}", r.body);
}

async fn personal_fields_and_files_are_stored_encrypted(b: Backend) {
    let t = training(b).await;
    let (p1, c1) = &t.p1;
    let secret_note = "my-very-secret-note-4711";
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "data": {"title": "t", "notes": secret_note, "day": "2026-03-04"}}),
        )
        .await;
    let rec = r.json["id"].as_str().unwrap().to_owned();
    let mut file = b"plaintext-marker-of-the-file ".repeat(5000);
    file.extend(payload(100, 3));
    let r = c1
        .put_bytes(
            &format!("/api/v1/records/{rec}/files/doc.txt"),
            "text/plain",
            file.clone(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let db = t.s.database_bytes();
    for needle in [secret_note.as_bytes(), b"2026-03-04".as_slice()] {
        assert!(
            !db.windows(needle.len()).any(|w| w == needle),
            "plaintext in the database"
        );
    }
    let keys = t.s.services.blobs.keys("tenants").await.unwrap();
    assert_eq!(keys.len(), 1);
    let blob_dir = t.s.config.data_dir.join("blobs");
    let blob = std::fs::read(blob_dir.join(&keys[0])).unwrap();
    assert!(blob.len() > file.len());
    assert!(!blob.windows(16).any(|w| w == &b"plaintext-marker"[..]));
    // A flipped bit in the first segment: a clean 500, no byte of it served.
    let mut tampered = blob.clone();
    tampered[100] ^= 1;
    std::fs::write(blob_dir.join(&keys[0]), &tampered).unwrap();
    let url = format!("/api/v1/records/{rec}/files/doc.txt");
    let (status, _, _) = c1.get_bytes(&url, None).await;
    assert_eq!(status, 500);
    // A flipped bit in a later segment: the download breaks off rather than serve forged bytes.
    let mut tampered = blob.clone();
    tampered[100_000] ^= 1;
    std::fs::write(blob_dir.join(&keys[0]), &tampered).unwrap();
    // (The head may or may not have left before the stream broke: 200 or no answer at all.)
    let (status, _, body) = c1.get_bytes(&url, None).await;
    assert!(status == 200 || status == 0, "{status}");
    match body {
        Err(_) => {}
        Ok(bytes) => assert!(bytes.len() < file.len(), "a tampered file was served whole"),
    }
}

async fn files_have_limits_ranges_and_replacements(b: Backend) {
    let s = TestServer::start_with(b, |c| c.blobs.max_file_mib = 1).await;
    let t = training_with(s).await;
    let (p1, c1) = &t.p1;
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "data": {"title": "t"}}),
        )
        .await;
    let rec = r.json["id"].as_str().unwrap().to_owned();
    let url = |n: &str| format!("/api/v1/records/{rec}/files/{n}");
    // Too large: refused, nothing stored, no blob left behind.
    c1.put_bytes(
        &url("big.bin"),
        "application/octet-stream",
        payload(1_100_000, 2),
    )
    .await
    .assert_problem(413, "payload_too_large");
    assert!(t.s.services.blobs.keys("tenants").await.unwrap().is_empty());
    // Chunked (no Content-Length) and too large: also refused while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..20).map(|i| Ok(payload(64 * 1024, i))).collect();
    let r = c1
        .send(
            c1.raw()
                .put(c1.url(&url("big.bin")))
                .header("content-type", "application/octet-stream")
                .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
                    chunks,
                ))),
        )
        .await;
    r.assert_problem(413, "payload_too_large");
    assert!(t.s.services.blobs.keys("tenants").await.unwrap().is_empty());
    let r = c1.get(&format!("/api/v1/records/{rec}")).await;
    assert_eq!(r.json["files"], json!([]));
    // Bad names and types.
    c1.put_bytes(&url(".hidden"), "text/plain", b"x".to_vec())
        .await
        .assert_problem(400, "invalid_input");
    c1.put_bytes(&url("a.txt"), "nonsense", b"x".to_vec())
        .await
        .assert_problem(400, "invalid_input");
    // A type that is not ASCII is refused, not stored as some other type.
    let r = c1
        .send(
            c1.raw()
                .put(c1.url(&url("a.txt")))
                .header(
                    "content-type",
                    reqwest::header::HeaderValue::from_bytes(b"text/pl\xe4in").unwrap(),
                )
                .body(b"x".to_vec()),
        )
        .await;
    r.assert_problem(400, "invalid_input");
    assert!(
        r.json["detail"].as_str().unwrap().contains("Content-Type"),
        "{}",
        r.body
    );
    // Empty, exact segment size, and segment + 1.
    for len in [0, 65_536, 65_537, 3 * 65_536 + 5] {
        let data = payload(len, 7);
        let r = c1
            .put_bytes(&url("f.bin"), "application/octet-stream", data.clone())
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let (status, h, body) = c1.get_bytes(&url("f.bin"), None).await;
        assert_eq!(status, 200);
        assert_eq!(h["accept-ranges"], "bytes");
        assert_eq!(body.unwrap(), data, "len {len}");
        if len > 10 {
            for (range, want) in [
                ("bytes=0-0".to_owned(), 0..1),
                (format!("bytes={}-", len - 3), len - 3..len),
                ("bytes=-4".to_owned(), len - 4..len),
                // A suffix longer than the file is the whole file (RFC 9110).
                (format!("bytes=-{}", len + 100), 0..len),
                (format!("bytes=1-{}", len - 2), 1..len - 1),
            ] {
                let (status, h, body) = c1.get_bytes(&url("f.bin"), Some(&range)).await;
                assert_eq!(status, 206, "{range}");
                assert_eq!(body.unwrap(), data[want.clone()].to_vec(), "{range}");
                assert_eq!(
                    h["content-range"].to_str().unwrap(),
                    format!("bytes {}-{}/{len}", want.start, want.end - 1)
                );
            }
            let (status, _, _) = c1
                .get_bytes(&url("f.bin"), Some(&format!("bytes={}-", len + 10)))
                .await;
            assert_eq!(status, 416);
        }
    }
    // A page uploaded as text/html is still only ever a download: saved, not sniffed, and
    // sandboxed if rendered, so it cannot run script on the API's (and console's) origin.
    let page = b"<html><script>fetch('/api/v1/me')</script></html>".to_vec();
    let r = c1
        .put_bytes(&url("page.html"), "text/html", page.clone())
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    for range in [None, Some("bytes=0-5")] {
        let (status, h, body) = c1.get_bytes(&url("page.html"), range).await;
        assert!(status == 200 || status == 206, "{status}");
        assert_eq!(
            h["content-disposition"],
            "attachment; filename=\"page.html\"; filename*=UTF-8''page%2Ehtml"
        );
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["content-security-policy"], "sandbox");
        assert!(page.starts_with(&body.unwrap()));
    }
    // Replacing kept one blob only (and the page added one).
    assert_eq!(t.s.services.blobs.keys("tenants").await.unwrap().len(), 2);
    assert_eq!(c1.get_bytes(&url("missing.bin"), None).await.0, 404);
}

async fn tenant_policies_are_validated_and_take_effect_at_once(b: Backend) {
    let t = training(b).await;
    let (p1, c1) = &t.p1;
    let (_, c2) = &t.p2;
    let admin = &t.admin;
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "group_id": t.group, "visibility": "group", "data": {"title": "t"}}),
        )
        .await;
    let rec = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(c2.get(&format!("/api/v1/records/{rec}")).await.status, 200);

    let r = admin.get("/api/v1/policies").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["template"], "training");
    assert_eq!(r.json["version"], 0);
    let text = r.json["policies"].as_str().unwrap().to_owned();
    assert!(text.contains("@id(\"group-peer\")"));
    c1.get("/api/v1/policies")
        .await
        .assert_problem(403, "forbidden");

    // Invalid policies are refused with the validator's reason and change nothing.
    for (bad, needle) in [
        ("permit(principal, action, resource", "do not parse"),
        (
            "permit(principal, action == Action::\"readRecord\", resource is Record) when { resource.nope };",
            "do not validate",
        ),
        (
            "permit(principal, action == Action::\"fly\", resource);",
            "do not validate",
        ),
    ] {
        let r = admin
            .put("/api/v1/policies", &json!({"policies": bad, "version": 0}))
            .await;
        r.assert_problem(400, "invalid_input");
        assert!(r.body.contains(needle), "{}", r.body);
    }
    admin
        .put(
            "/api/v1/policies",
            &json!({"template": "nope", "version": 0}),
        )
        .await
        .assert_problem(400, "invalid_input");
    assert_eq!(c2.get(&format!("/api/v1/records/{rec}")).await.status, 200);

    // Without the group-peer rule, P2 loses access on the very next request.
    let start = text.find("@id(\"group-peer\")").unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    let edited = format!("{}{}", &text[..start], &text[end..]);
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"policies": edited, "version": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["version"], 1);
    c2.get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(c1.get(&format!("/api/v1/records/{rec}")).await.status, 200);
    // A stale version is refused.
    admin
        .put(
            "/api/v1/policies",
            &json!({"template": "training", "version": 0}),
        )
        .await
        .assert_problem(409, "conflict");
    // Back to the template: P2 reads again.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"template": "training", "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c2.get(&format!("/api/v1/records/{rec}")).await.status, 200);
    // The contracts template: group members are readers whatever the visibility.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"template": "contracts", "version": 2}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["template"], "contracts");
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "group_id": t.group, "data": {"title": "contract"}}),
        )
        .await;
    let contract = r.json["id"].as_str().unwrap().to_owned();
    let r = c2.get(&format!("/api/v1/records/{contract}")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = t
        .outsider
        .1
        .get(&format!("/api/v1/records/{contract}"))
        .await;
    r.assert_problem(404, "not_found");
    // The dossier template: case workers (coaches of the group) write; the person reads their
    // own dossier but does not write it; group peers see nothing.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"template": "dossier", "version": 3}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (_, cc) = &t.coach;
    c1.post(
        "/api/v1/collections/recordings/records",
        &json!({"subject_id": p1, "group_id": t.group, "data": {"title": "self"}}),
    )
    .await
    .assert_problem(403, "forbidden");
    let r = cc
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "group_id": t.group, "data": {"title": "intake"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let entry = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        c1.get(&format!("/api/v1/records/{entry}")).await.status,
        200
    );
    c1.patch(
        &format!("/api/v1/records/{entry}"),
        &json!({"data": {"title": "changed"}}),
    )
    .await
    .assert_problem(403, "forbidden");
    c2.get(&format!("/api/v1/records/{entry}"))
        .await
        .assert_problem(404, "not_found");
    // A role change takes effect on the next request too (level-2 cache keyed by roles).
    let r = admin
        .patch(
            &format!("/api/v1/users/{}", t.p2.0),
            &json!({"roles": ["content_developer"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c2.get(&format!("/api/v1/records/{contract}"))
        .await
        .assert_problem(403, "forbidden");
}

/// A stored value the code cannot read is an error, never a default: a record whose
/// visibility is corrupt answers 500 (and is logged), not "private".
async fn corrupt_rows_are_never_read_as_defaults(b: Backend) {
    let t = training(b).await;
    let (p1, c1) = &t.p1;
    let r = c1
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": p1, "visibility": "group", "data": {"title": "t"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json["id"].as_str().unwrap().to_owned();
    assert_eq!(
        t.s.raw_sql("UPDATE records SET visibility = 'public'")
            .await,
        1
    );
    c1.get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(500, "internal");
    t.admin
        .get(&format!("/api/v1/records/{rec}"))
        .await
        .assert_problem(500, "internal");
}

/// Administration is a policy decision too: the template's "administration" permit is what
/// lets administrators manage users, and a tenant may give it to another role. A change that
/// would leave nobody able to administer the tenant is refused, and so are the base layer's
/// reserved ids; nothing is stored then.
async fn administration_is_decided_by_the_tenant_policies(b: Backend) {
    let t = training(b).await;
    let admin = &t.admin;
    let (_, coach) = &t.coach;
    let text = admin.get("/api/v1/policies").await.json["policies"]
        .as_str()
        .unwrap()
        .to_owned();
    let start = text.find("@id(\"administration\")").unwrap();
    let end = start + text[start..].find("};").unwrap() + 2;
    let permit = text[start..end].to_owned();
    let without = format!("{}{}", &text[..start], &text[end..]);
    // Without the permit nobody could administer the tenant: refused.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"policies": without, "version": 0}),
        )
        .await;
    r.assert_problem(400, "invalid_input");
    assert!(r.body.contains("administer"), "{}", r.body);
    // The base layer's ids are reserved.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"policies": format!("{text}\n@id(\"base:mine\")\npermit(principal, action, resource);"), "version": 0}),
        )
        .await;
    r.assert_problem(400, "invalid_input");
    assert!(r.body.contains("reserved"), "{}", r.body);
    assert_eq!(admin.get("/api/v1/policies").await.json["version"], 0);
    assert_eq!(coach.get("/api/v1/users").await.status, 403);

    // Coaches administer too: they may now list users, the next request already.
    let coaches = permit
        .replace("@id(\"administration\")", "@id(\"coaches-administer\")")
        .replace(
            "principal.roles.contains(\"administrator\")",
            "principal.roles.contains(\"coach\")",
        );
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"policies": format!("{text}\n{coaches}"), "version": 0}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = coach.get("/api/v1/users").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // And only coaches: administrators lose user management, but coaches can still
    // administer, so the change is allowed.
    let r = admin
        .put(
            "/api/v1/policies",
            &json!({"policies": format!("{without}\n{coaches}"), "version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    admin
        .get("/api/v1/users")
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(coach.get("/api/v1/users").await.status, 200);
}

both_backends!(
    administration_is_decided_by_the_tenant_policies,
    corrupt_rows_are_never_read_as_defaults,
    seed_000_training_scenario,
    seed_000_with_files_on_s3,
    records_validate_their_input,
    personal_fields_and_files_are_stored_encrypted,
    files_have_limits_ranges_and_replacements,
    tenant_policies_are_validated_and_take_effect_at_once,
);

#[test]
fn payload_is_not_periodic() {
    let p = payload(200_000, 1);
    assert_ne!(p[..65_536], p[65_536..131_072]);
}
