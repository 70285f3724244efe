//! The cross-tenant matrix: several tenants × every role (and an integration client with
//! every scope on the tenant's collection, and the vendor's superuser without a grant) ×
//! every endpoint that takes an id
//! (derived from the served OpenAPI document) × ids taken from the other tenants. A request leaks if it succeeds, or if its answer differs
//! in any byte from the answer to an id that exists nowhere (which would reveal that the
//! foreign id exists), or if it carries anything of the other tenant. Counted and printed.

use serde_json::{Value, json};
use strongroom_testkit::{Backend, Client, TestServer, both_backends};

struct Tenant {
    slug: String,
    /// (role, client) for administrator, content developer, coach, participant, and an
    /// integration client.
    clients: Vec<(&'static str, Client)>,
    /// The integration client's id.
    integration: String,
    /// A support request of this tenant.
    support_request: String,
    /// A processor of this tenant's register.
    processor: String,
    /// A breach of this tenant's register.
    breach: String,
    /// A disclosure request against this tenant.
    disclosure: String,
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
    let (integration, client_id, client_secret) = s
        .integration_client(
            &admin,
            "Everything on notes",
            &[
                "records:read:notes",
                "records:write:notes",
                "files:read:notes",
                "files:write:notes",
                "users:read",
                "privacy-log:read",
            ],
        )
        .await;
    let program = s.client().as_integration(&client_id, &client_secret).await;
    // A support request in this tenant (stored directly: its superuser matters not here).
    let tenant_id = s
        .services
        .store
        .tenant_by_slug(&strongroom_domain::Slug::parse(slug).unwrap())
        .await
        .unwrap()
        .unwrap()
        .id;
    let request = strongroom_store::SupportRequest {
        tenant_id,
        id: strongroom_domain::SupportRequestId::new(),
        superuser_id: strongroom_domain::UserId::new(),
        reason: "matrix".into(),
        kind: strongroom_domain::SupportKind::Read,
        user_id: None,
        minutes: 60,
        status: strongroom_domain::SupportStatus::Pending,
        created_at: time::OffsetDateTime::now_utc(),
        pending_until: time::OffsetDateTime::now_utc() + time::Duration::days(1),
        starts_at: None,
        ends_at: None,
        decided_by: None,
        decided_at: None,
        break_glass: false,
        first_used_at: None,
    };
    s.services
        .store
        .insert_support_request(&request, &strongroom_store::ChangeLog::none())
        .await
        .unwrap();
    let r = admin
        .post(
            "/api/v1/processors",
            &json!({"name": format!("Processor of {slug}"), "purpose": "p",
                    "data_categories": ["e-mail addresses"], "location": "DE"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let processor = r.json["id"].as_str().unwrap().to_owned();
    let r = admin
        .post(
            "/api/v1/breaches",
            &json!({"title": format!("Breach of {slug}"), "aware_at": "2026-01-01T00:00:00Z",
                    "nature": "n", "data_categories": ["names"], "subjects_estimate": 1,
                    "records_estimate": 1, "consequences": "c", "measures": "m"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let breach = r.json["id"].as_str().unwrap().to_owned();
    let disclosure = s
        .services
        .open_disclosure(slug, "Police", "warrant", &format!("subject:{part}"))
        .await
        .unwrap()
        .id
        .to_string();
    Tenant {
        slug: t,
        processor,
        breach,
        disclosure,
        clients: vec![
            ("administrator", admin),
            ("content_developer", dev),
            ("coach", cc),
            ("participant", cp),
            ("integration_client", program),
        ],
        integration,
        support_request: request.id.0.to_string(),
        participant: part,
        group,
        record,
        secret,
    }
}

/// A superuser of the operator tenant, their password settled and their second factor
/// enrolled (which that tenant requires before anything else), logged in.
async fn superuser(s: &TestServer) -> Client {
    use secrecy::ExposeSecret as _;
    use strongroom_core::Clock as _;
    let (_, initial) = s
        .services
        .add_superuser(
            strongroom_domain::Email::parse("sam@vendor.example").unwrap(),
            strongroom_domain::PersonName::parse("Sam Support").unwrap(),
        )
        .await
        .unwrap();
    let (c, _) = s
        .client()
        .logged_in("operator", "sam@vendor.example", initial.expose_secret())
        .await;
    let r = c
        .put(
            "/api/v1/me/password",
            &json!({"current_password": initial.expose_secret(), "new_password": "sam-supports-long-phrases"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let c = c.with_token(r.json["access_token"].as_str().unwrap());
    let r = c.post("/api/v1/me/totp", &json!({})).await;
    let secret =
        strongroom_crypto::totp::TotpSecret::from_base32(r.json["secret"].as_str().unwrap())
            .unwrap();
    let now = u64::try_from(s.clock.now().unix_timestamp()).unwrap();
    let r = c
        .post(
            "/api/v1/me/totp/confirm",
            &json!({"code": secret.code_at(now).unwrap()}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c
}

/// A request body: JSON, or raw bytes for a file.
#[derive(Clone)]
enum Body {
    None,
    Json(Value),
    Bytes,
}

/// The bodies that reach past validation for an operation (method, path template); an
/// operation not listed gets `{}`, which the server refuses the same way for every id.
fn bodies(method: &str, template: &str) -> Vec<Value> {
    match (method, template) {
        ("PATCH", "/api/v1/records/{id}") => {
            vec![json!({"data": {"tag": "x"}}), json!({"hidden": true})]
        }
        ("PATCH", "/api/v1/users/{id}") => vec![json!({"roles": ["participant"]})],
        ("PUT", "/api/v1/groups/{id}/members/{user_id}") => vec![json!({"role": "participant"})],
        _ => vec![json!({})],
    }
}

/// Every operation of the served OpenAPI document with an id in its path, with the ids of
/// another tenant put in (by the segment before each parameter), plus the requests that carry
/// a foreign id in their body or query. A new route with an id is covered without editing
/// this test; a parameter it cannot fill fails the test.
/// The ids a request puts in: another tenant's (or ids that exist nowhere).
#[derive(Clone, Copy)]
struct Ids<'a> {
    user: &'a str,
    group: &'a str,
    record: &'a str,
    client: &'a str,
    request: &'a str,
    processor: &'a str,
    breach: &'a str,
    disclosure: &'a str,
}

impl<'a> Ids<'a> {
    fn of(t: &'a Tenant) -> Self {
        Ids {
            user: &t.participant,
            group: &t.group,
            record: &t.record,
            client: &t.integration,
            request: &t.support_request,
            processor: &t.processor,
            breach: &t.breach,
            disclosure: &t.disclosure,
        }
    }

    fn all(id: &'a str) -> Self {
        Ids {
            user: id,
            group: id,
            record: id,
            client: id,
            request: id,
            processor: id,
            breach: id,
            disclosure: id,
        }
    }
}

fn requests(spec: &Value, own: &Tenant, ids: &Ids<'_>) -> Vec<(String, String, Body)> {
    let Ids {
        user,
        group,
        record,
        client,
        request,
        processor,
        breach,
        disclosure,
    } = *ids;
    let mut out = Vec::new();
    for (template, ops) in spec["paths"].as_object().unwrap() {
        if !template.contains('{') {
            continue;
        }
        let segments: Vec<&str> = template.split('/').collect();
        let mut path = Vec::new();
        let mut has_id = false;
        for (k, seg) in segments.iter().enumerate() {
            if !seg.starts_with('{') {
                path.push((*seg).to_owned());
                continue;
            }
            let before = segments.get(k.wrapping_sub(1)).copied().unwrap_or("");
            let value = match before {
                // No foreign notice exists; another tenant's record id stands in for one.
                "records" | "deletion-notices" => record,
                "users" | "members" => user,
                "groups" => group,
                "clients" => client,
                "requests" => request,
                "processors" => processor,
                "breaches" => breach,
                "disclosures" => disclosure,
                "files" => "f.txt",
                // Collections are named within a tenant: a name is not another tenant's id.
                "collections" => "notes",
                other => {
                    panic!("{template}: no id of another tenant for a parameter after {other:?}")
                }
            };
            has_id |= !matches!(before, "files" | "collections");
            path.push(value.to_owned());
        }
        if !has_id {
            continue;
        }
        let path = path.join("/");
        for (method, op) in ops.as_object().unwrap() {
            let method = method.to_uppercase();
            let content = &op["requestBody"]["content"];
            if content.get("application/octet-stream").is_some() {
                out.push((method, path.clone(), Body::Bytes));
            } else if content.get("application/json").is_some() {
                for b in bodies(&method, template) {
                    out.push((method.clone(), path.clone(), Body::Json(b)));
                }
            } else {
                out.push((method, path.clone(), Body::None));
            }
        }
    }
    out.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let p = &own.participant;
    let json_req = |m: &str, path: String, b: Value| (m.to_owned(), path, Body::Json(b));
    out.extend([
        json_req(
            "PUT",
            format!("/api/v1/groups/{}/members/{user}", own.group),
            json!({"role": "participant"}),
        ),
        json_req(
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            json!({"subject_id": user, "data": {"tag": "x"}}),
        ),
        json_req(
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            json!({"subject_id": p, "group_id": group, "data": {"tag": "x"}}),
        ),
        json_req(
            "POST",
            "/api/v1/collections/notes/records".to_owned(),
            json!({"subject_id": p, "parent_id": record, "data": {"tag": "x"}}),
        ),
        (
            "GET".to_owned(),
            format!("/api/v1/privacy-log?subject_id={user}"),
            Body::None,
        ),
        (
            "GET".to_owned(),
            format!("/api/v1/privacy-log?actor_id={user}"),
            Body::None,
        ),
    ]);
    out
}

/// A privacy-log page with the queried id and the entries' positions and times left out.
fn own_log(body: &str, id: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(&body.replace(id, "ID")).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e["seq"] = Value::Null;
            e["at"] = Value::Null;
            e
        })
        .collect()
}

async fn send(c: &Client, method: &str, path: &str, body: &Body) -> (u16, String) {
    let r = match (method, body) {
        ("GET", _) => c.get(path).await,
        ("DELETE", _) => c.delete(path).await,
        ("PATCH", Body::Json(b)) => c.patch(path, b).await,
        ("POST", Body::Json(b)) => c.post(path, b).await,
        ("PUT", Body::Json(b)) => c.put(path, b).await,
        ("POST", Body::None) => c.post(path, &json!({})).await,
        ("PUT", Body::None) => c.put(path, &json!({})).await,
        ("PUT", Body::Bytes) => c.put_bytes(path, "text/plain", b"intruder".to_vec()).await,
        other => panic!("no way to send {other:?}", other = other.0),
    };
    (r.status, r.body)
}

async fn no_tenant_reaches_another(b: Backend) {
    let s = TestServer::start(b).await;
    let mut tenants = Vec::new();
    for slug in ["alpha", "beta", "gamma"] {
        tenants.push(tenant(&s, slug).await);
    }
    let spec = s.client().get("/openapi.json").await.json;
    // The operations the hand-kept list of earlier versions missed are in.
    let derived = requests(
        &spec,
        &tenants[0],
        &Ids {
            user: "u",
            group: "g",
            record: "r",
            client: "c",
            request: "q",
            processor: "p",
            breach: "b",
            disclosure: "d",
        },
    );
    for (method, path) in [
        ("DELETE", "/api/v1/records/r"),
        ("POST", "/api/v1/records/r/restore"),
        ("PUT", "/api/v1/records/r/legal-hold"),
        ("DELETE", "/api/v1/records/r/legal-hold"),
        ("POST", "/api/v1/me/deletion-notices/r/keep"),
        ("GET", "/api/v1/users/u/export"),
        ("DELETE", "/api/v1/clients/c"),
        ("POST", "/api/v1/clients/c/secret"),
        ("POST", "/api/v1/support/requests/q/approve"),
        ("DELETE", "/api/v1/support/requests/q"),
        ("PATCH", "/api/v1/processors/p"),
        ("PATCH", "/api/v1/breaches/b"),
        ("POST", "/api/v1/disclosures/d/objection"),
    ] {
        assert!(
            derived.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is not in the matrix"
        );
    }
    let (mut requests_sent, mut leaks) = (0u32, Vec::new());
    for own in &tenants {
        for other in tenants.iter().filter(|o| o.slug != own.slug) {
            let nowhere = uuid::Uuid::now_v7().to_string();
            let foreign = requests(&spec, own, &Ids::of(other));
            let absent = requests(&spec, own, &Ids::all(&nowhere));
            for (role, c) in &own.clients {
                for ((method, path, body), (_, path_absent, body_absent)) in
                    foreign.iter().zip(&absent)
                {
                    let got = send(c, method, path, body).await;
                    let baseline = send(c, method, path_absent, body_absent).await;
                    requests_sent += 2;
                    // The tenant's own privacy log records its own callers' attempts on the
                    // foreign id as on the absent one: the same entries, but for the id.
                    let log = path.contains("privacy-log") && got.0 == 200;
                    let same = got.0 == baseline.0
                        && (got.1 == baseline.1
                            || (log
                                && own_log(&got.1, &other.participant)
                                    == own_log(&baseline.1, &nowhere)));
                    let succeeded = (200..300).contains(&got.0) && !path.contains("privacy-log");
                    let carries = got.1.contains(&other.secret)
                        || got.1.contains(&other.record)
                        || (got.1.contains(&other.participant) && !path.contains("privacy-log"));
                    // Entries about the foreign id are only this tenant's own denials.
                    let empty_log = !log
                        || serde_json::from_str::<Value>(&got.1)
                            .unwrap()
                            .as_array()
                            .unwrap()
                            .iter()
                            .all(|e| e["decision"] == "deny");
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
    // A superuser of the vendor, without a grant, is an outsider to every tenant: every
    // request about a tenant's ids answers as about ids that exist nowhere.
    let superuser = superuser(&s).await;
    assert_eq!(
        superuser.get("/api/v1/support/requests").await.status,
        200,
        "the superuser's token is settled, not held at enrolment"
    );
    for other in &tenants {
        let nowhere = uuid::Uuid::now_v7().to_string();
        let foreign = requests(&spec, other, &Ids::of(other));
        let absent = requests(&spec, other, &Ids::all(&nowhere));
        for ((method, path, body), (_, path_absent, body_absent)) in foreign.iter().zip(&absent) {
            let got = send(&superuser, method, path, body).await;
            let baseline = send(&superuser, method, path_absent, body_absent).await;
            requests_sent += 2;
            if got != baseline || (200..300).contains(&got.0) || got.1.contains(&other.secret) {
                leaks.push(format!(
                    "superuser {method} {path}: {} {} (absent id: {} {})",
                    got.0, got.1, baseline.0, baseline.1
                ));
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
        let r = admin
            .get(&format!("/api/v1/clients/{}", t.integration))
            .await;
        assert_eq!(
            r.status, 200,
            "the client is still there, unrotated: {}",
            r.body
        );
        assert!(r.json["previous_secret_until"].is_null(), "{}", r.body);
        let r = admin.get("/api/v1/support/requests").await;
        assert_eq!(r.json[0]["status"], "pending", "untouched: {}", r.body);
        let r = admin.get("/api/v1/disclosures").await;
        assert_eq!(r.json[0]["status"], "open", "untouched: {}", r.body);
        let r = admin.get(&format!("/api/v1/breaches/{}", t.breach)).await;
        assert_eq!(
            r.json["history"].as_array().unwrap().len(),
            1,
            "untouched: {}",
            r.body
        );
        let r = admin.get("/api/v1/processors").await;
        assert!(
            r.body
                .contains(&format!("\"name\":\"Processor of {}\"", t.slug)),
            "untouched: {}",
            r.body
        );
    }
    println!(
        "cross-tenant matrix ({b:?}): {} tenants × {} roles × {} endpoints × other tenants: {requests_sent} requests, {} leaks",
        tenants.len(),
        tenants[0].clients.len(),
        derived.len(),
        leaks.len()
    );
    assert!(leaks.is_empty(), "leaks:\n{}", leaks.join("\n"));
}

both_backends!(no_tenant_reaches_another);
