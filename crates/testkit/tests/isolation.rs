//! The cross-tenant matrix: several tenants × every role × every endpoint that takes an id ×
//! ids taken from the other tenants. A request leaks if it succeeds, or if its answer differs
//! in any byte from the answer to an id that exists nowhere (which would reveal that the
//! foreign id exists), or if it carries anything of the other tenant. Counted and printed.

use serde_json::{Value, json};
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

struct Tenant {
    slug: String,
    /// (role, client) for administrator, content developer, coach, participant.
    clients: Vec<(&'static str, Client)>,
    participant: String,
    group: String,
    record: String,
    secret: String,
}

async fn tenant(s: &TestServer, slug: &str) -> Tenant {
    let (t, email, pw) = s.tenant(slug).await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (_, dev, _) = s
        .settled_user(
            &admin,
            &t,
            &format!("dev@{slug}.example"),
            json!(["content_developer"]),
        )
        .await;
    let (coach, cc, _) = s
        .settled_user(
            &admin,
            &t,
            &format!("coach@{slug}.example"),
            json!(["coach"]),
        )
        .await;
    let (part, cp, _) = s
        .settled_user(
            &admin,
            &t,
            &format!("p@{slug}.example"),
            json!(["participant"]),
        )
        .await;
    let g = admin.post("/api/v1/groups", &json!({"name": "G"})).await;
    let group = g.json["id"].as_str().unwrap().to_owned();
    for (u, role) in [(&coach, "coach"), (&part, "participant")] {
        let r = admin
            .put(
                &format!("/api/v1/groups/{group}/members/{u}"),
                &json!({"role": role}),
            )
            .await;
        assert_eq!(r.status, 204);
    }
    let r = dev
        .post(
            "/api/v1/collections",
            &json!({"name": "notes", "fields": [
                {"name": "text", "type": "string", "personal": true},
                {"name": "tag", "type": "string", "searchable": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let secret = format!("secret-of-{slug}-31337");
    let r = cp
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": part, "group_id": group, "visibility": "group",
                    "data": {"text": secret, "tag": "t"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let record = r.json["id"].as_str().unwrap().to_owned();
    let r = cp
        .put_bytes(
            &format!("/api/v1/records/{record}/files/f.txt"),
            "text/plain",
            secret.clone().into_bytes(),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    Tenant {
        slug: t,
        clients: vec![
            ("administrator", admin),
            ("content_developer", dev),
            ("coach", cc),
            ("participant", cp),
        ],
        participant: part,
        group,
        record,
        secret,
    }
}

/// One request of the matrix: method, path, JSON body (or raw bytes for files).
fn requests(
    own: &Tenant,
    user: &str,
    group: &str,
    record: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    let p = &own.participant;
    vec![
        ("GET", format!("/api/v1/records/{record}"), None),
        (
            "PATCH",
            format!("/api/v1/records/{record}"),
            Some(json!({"data": {"tag": "x"}})),
        ),
        (
            "PATCH",
            format!("/api/v1/records/{record}"),
            Some(json!({"hidden": true})),
        ),
        ("GET", format!("/api/v1/records/{record}/history"), None),
        ("GET", format!("/api/v1/records/{record}/files/f.txt"), None),
        ("PUT", format!("/api/v1/records/{record}/files/x.txt"), None),
        ("GET", format!("/api/v1/users/{user}"), None),
        (
            "PATCH",
            format!("/api/v1/users/{user}"),
            Some(json!({"roles": ["participant"]})),
        ),
        ("DELETE", format!("/api/v1/users/{user}"), None),
        (
            "PUT",
            format!("/api/v1/groups/{group}/members/{p}"),
            Some(json!({"role": "participant"})),
        ),
        (
            "PUT",
            format!("/api/v1/groups/{}/members/{user}", own.group),
            Some(json!({"role": "participant"})),
        ),
        (
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            Some(json!({"subject_id": user, "data": {"tag": "x"}})),
        ),
        (
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            Some(json!({"subject_id": p, "group_id": group, "data": {"tag": "x"}})),
        ),
        (
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            Some(json!({"subject_id": p, "parent_id": record, "data": {"tag": "x"}})),
        ),
        (
            "GET",
            format!("/api/v1/privacy-log?subject_id={user}"),
            None,
        ),
        ("GET", format!("/api/v1/privacy-log?actor_id={user}"), None),
    ]
}

async fn send(c: &Client, method: &str, path: &str, body: Option<&Value>) -> (u16, String) {
    let r = match (method, body) {
        ("GET", _) => c.get(path).await,
        ("DELETE", _) => c.delete(path).await,
        ("PATCH", Some(b)) => c.patch(path, b).await,
        ("POST", Some(b)) => c.post(path, b).await,
        ("PUT", Some(b)) => c.put(path, b).await,
        ("PUT", None) => c.put_bytes(path, "text/plain", b"intruder".to_vec()).await,
        _ => unreachable!(),
    };
    (r.status, r.body)
}

async fn no_tenant_reaches_another(b: Backend) {
    let s = TestServer::start(b).await;
    let mut tenants = Vec::new();
    for slug in ["alpha", "beta", "gamma"] {
        tenants.push(tenant(&s, slug).await);
    }
    let (mut requests_sent, mut leaks) = (0u32, Vec::new());
    for own in &tenants {
        for other in tenants.iter().filter(|o| o.slug != own.slug) {
            let nowhere = uuid::Uuid::now_v7().to_string();
            let foreign = requests(own, &other.participant, &other.group, &other.record);
            let absent = requests(own, &nowhere, &nowhere, &nowhere);
            for (role, c) in &own.clients {
                for ((method, path, body), (_, path_absent, body_absent)) in
                    foreign.iter().zip(&absent)
                {
                    let got = send(c, method, path, body.as_ref()).await;
                    let baseline = send(c, method, path_absent, body_absent.as_ref()).await;
                    requests_sent += 2;
                    let same = got.0 == baseline.0 && got.1 == baseline.1;
                    let succeeded = (200..300).contains(&got.0) && !path.contains("privacy-log");
                    let carries = got.1.contains(&other.secret)
                        || got.1.contains(&other.record)
                        || (got.1.contains(&other.participant) && !path.contains("privacy-log"));
                    let empty_log = !path.contains("privacy-log") || got.0 != 200 || got.1 == "[]";
                    if !same || succeeded || carries || !empty_log {
                        leaks.push(format!(
                            "{} {role} {method} {path}: {} {} (absent id: {} {})",
                            own.slug, got.0, got.1, baseline.0, baseline.1
                        ));
                    }
                }
            }
        }
    }
    // The other tenants' data is as it was: nothing was changed, added or deleted.
    for t in &tenants {
        let admin = &t.clients[0].1;
        let r = admin.get(&format!("/api/v1/records/{}", t.record)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.json["version"], 2,
            "create + one file, nothing else: {}",
            r.body
        );
        assert_eq!(r.json["hidden"], false);
        assert_eq!(r.json["data"]["tag"], "t");
        assert_eq!(r.json["files"].as_array().unwrap().len(), 1);
        let r = admin.get(&format!("/api/v1/users/{}", t.participant)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json["roles"], json!(["participant"]));
    }
    println!(
        "cross-tenant matrix ({b:?}): {} tenants × {} roles × {} endpoints × other tenants: {requests_sent} requests, {} leaks",
        tenants.len(),
        tenants[0].clients.len(),
        requests(&tenants[0], "u", "g", "r").len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

both_backends!(no_tenant_reaches_another);
