//! The seed-000 life cycle, day by day, on both backends with two server instances sharing
//! one database: hidden at licence expiry (owner, peer and coach refused; an administrator
//! reads and reopens), a notice mail on day 31 read from a real SMTP server, one user's veto
//! honoured and another's recordings deleted on day 45, nothing early, nothing twice, and a
//! renewed licence cancelling everything.

use serde_json::{Value, json};
use strongroom_domain::JobKind;
use strongroom_testkit::{Backend, Client, TestServer, both_backends, smtp::SmtpServer};
use time::{Duration, OffsetDateTime};

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// The notice id in a mail (quoted-printable soft breaks undone).
fn notice_id(mail: &str) -> String {
    let plain = mail.replace("=\r\n", "").replace("=\n", "");
    let at = plain.find("deletion-notices/").expect("a keep link") + "deletion-notices/".len();
    plain[at..at + 36].to_owned()
}

struct Person {
    id: String,
    email: String,
    rec: String,
}

const PASSWORD: &str = "a-settled-password-77x";

/// A fresh login (the clock moves by days; access tokens live 15 minutes).
async fn login(s: &TestServer, email: &str) -> Client {
    s.client().logged_in("train", email, PASSWORD).await.0
}

async fn person(
    s: &TestServer,
    admin: &Client,
    t: &str,
    name: &str,
    group: &str,
    expiry: OffsetDateTime,
) -> Person {
    let email = format!("{name}@train.example");
    let (id, client, _) = s
        .settled_user(admin, t, &email, json!(["participant"]))
        .await;
    let r = admin
        .patch(
            &format!("/api/v1/users/{id}"),
            &json!({"license_expires_at": rfc3339(expiry)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    admin
        .put(
            &format!("/api/v1/groups/{group}/members/{id}"),
            &json!({"role": "participant"}),
        )
        .await;
    let r = client
        .post(
            "/api/v1/collections/answers/records",
            &json!({"subject_id": id, "group_id": group, "visibility": "group", "data": {"text": format!("answer of {name}")}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json["id"].as_str().unwrap().to_owned();
    for (file, ct) in [("video.mp4", "video/mp4"), ("sheet.pdf", "application/pdf")] {
        let r = client
            .put_bytes(
                &format!("/api/v1/records/{rec}/files/{file}"),
                ct,
                format!("{name} {file}").repeat(1000).into_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    Person { id, email, rec }
}

/// Runs the engine on both instances at once at `at`, as their schedulers would.
async fn run_day(
    s: &TestServer,
    s2: &TestServer,
    at: OffsetDateTime,
) -> Vec<strongroom_core::jobs::Ran> {
    s.clock.set(at);
    s2.clock.set(at);
    let (a, b) = tokio::join!(s.services.run_retention(at), s2.services.run_retention(at));
    let mut ran = a.unwrap();
    ran.extend(b.unwrap());
    ran
}

async fn blob_count(s: &TestServer) -> usize {
    s.services.blobs.keys("tenants").await.unwrap().len()
}

async fn status(c: &Client, path: &str) -> u16 {
    c.get(path).await.status
}

async fn seed_000_life_cycle_day_by_day(b: Backend) {
    let smtp = SmtpServer::start().await;
    let s = TestServer::start_with(b, |c| {
        c.mail.smtp_url = Some(smtp.url());
        // Everyone logs in afresh on each simulated day.
        c.auth.ip_burst = 10_000;
        c.auth.ip_attempts_per_minute = 10_000;
    })
    .await;
    let s2 = s.second_instance().await;
    let (t, email, pw) = s.tenant("train").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let r = admin
        .post("/api/v1/collections", &json!({"name": "answers", "fields": [{"name": "text", "type": "string", "personal": true}]}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = admin.post("/api/v1/groups", &json!({"name": "G"})).await;
    let g = g.json["id"].as_str().unwrap().to_owned();
    let (coach, _, _) = s
        .settled_user(&admin, &t, "coach@train.example", json!(["coach"]))
        .await;
    admin
        .put(
            &format!("/api/v1/groups/{g}/members/{coach}"),
            &json!({"role": "coach"}),
        )
        .await;
    let start = strongroom_core::Clock::now(&*s.clock);
    let expiry = start + Duration::days(10);
    let keeper = person(&s, &admin, &t, "kim", &g, expiry).await;
    let loser = person(&s, &admin, &t, "lou", &g, expiry).await;
    let renewed = person(&s, &admin, &t, "ren", &g, expiry).await;
    let (_, peer, _) = s
        .settled_user(&admin, &t, "pat@train.example", json!(["participant"]))
        .await;
    let pat_id = peer.get("/api/v1/me").await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .put(
            &format!("/api/v1/groups/{g}/members/{pat_id}"),
            &json!({"role": "participant"}),
        )
        .await;
    let rec = |p: &Person| format!("/api/v1/records/{}", p.rec);
    let video = |p: &Person| format!("/api/v1/records/{}/files/video.mp4", p.rec);
    let sheet = |p: &Person| format!("/api/v1/records/{}/files/sheet.pdf", p.rec);
    let day = |d: i64| run_day(&s, &s2, expiry + Duration::days(d));
    let blobs = || blob_count(&s);
    assert_eq!(blobs().await, 6);

    // The day before expiry: nothing happens.
    let ran = day(-1).await;
    assert!(ran.is_empty(), "{ran:?}");
    assert_eq!(
        status(&login(&s, &keeper.email).await, &rec(&keeper)).await,
        200
    );

    // Expiry: hidden from owner, peer and coach; an administrator reads and may reopen.
    day(0).await;
    for who in [
        keeper.email.as_str(),
        "pat@train.example",
        "coach@train.example",
    ] {
        let c = &login(&s, who).await;
        assert_eq!(status(c, &rec(&keeper)).await, 403);
        assert_eq!(status(c, &video(&keeper)).await, 403);
    }
    let admin = s.client().logged_in(&t, &email, &pw).await.0;
    assert_eq!(status(&admin, &rec(&loser)).await, 200);
    let r = admin.patch(&rec(&loser), &json!({"hidden": false})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        status(&login(&s, &loser.email).await, &rec(&loser)).await,
        200,
        "reopened"
    );
    assert_eq!(
        status(&login(&s, &loser.email).await, &rec(&keeper)).await,
        403,
        "others stay hidden"
    );

    // Day 5: one licence is renewed: shown again, and nothing further will happen to it.
    day(5).await;
    let admin = s.client().logged_in(&t, &email, &pw).await.0;
    let r = admin
        .patch(
            &format!("/api/v1/users/{}", renewed.id),
            &json!({"license_expires_at": rfc3339(expiry + Duration::days(365))}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ran = day(6).await;
    assert!(ran.iter().any(|r| r.kind == JobKind::Unhide), "{ran:?}");
    assert_eq!(
        status(&login(&s, &renewed.email).await, &rec(&renewed)).await,
        200
    );

    // Day 30: no notice yet. Day 31: one mail each to the two expired users, none twice.
    day(30).await;
    assert!(smtp.messages().is_empty());
    day(31).await;
    day(31).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "{mails:?}");
    let to = |who: &str| {
        mails
            .iter()
            .find(|m| m.contains(&format!("{who}@train.example")))
            .cloned()
    };
    assert!(to("ren").is_none());
    let kim_mail = to("kim").expect("a mail to kim");
    assert!(to("lou").is_some());
    assert!(kim_mail.contains("Your recordings will be deleted in 14 days"));
    // Kim keeps her recordings through the link in the mail.
    let id = notice_id(&kim_mail);
    let r = login(&s, &keeper.email)
        .await
        .post(
            &format!("/api/v1/me/deletion-notices/{id}/keep"),
            &Value::Null,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    // Nobody else can use her notice.
    login(&s, &loser.email)
        .await
        .post(
            &format!("/api/v1/me/deletion-notices/{id}/keep"),
            &Value::Null,
        )
        .await
        .assert_problem(404, "not_found");
    let r = login(&s, &loser.email)
        .await
        .get("/api/v1/me/deletion-notices")
        .await;
    assert_eq!(r.json.as_array().unwrap().len(), 1, "{}", r.body);
    assert!(r.json[0]["kept_at"].is_null());

    // Day 44: nothing deleted early.
    day(44).await;
    assert_eq!(blobs().await, 6);
    // Day 45: Lou's recording goes, her document stays; Kim's recording stays (kept).
    let ran = day(45).await;
    assert_eq!(
        ran.iter()
            .filter(|r| r.kind == JobKind::DeleteRecordings)
            .count(),
        3,
        "one job per expired user, run by one instance: {ran:?}"
    );
    assert_eq!(blobs().await, 5);
    let admin = s.client().logged_in(&t, &email, &pw).await.0;
    // Deleted by retention: 410 to those who may see the record.
    admin.get(&video(&loser)).await.assert_problem(410, "gone");
    assert_eq!(status(&admin, &sheet(&loser)).await, 200);
    assert_eq!(status(&admin, &video(&keeper)).await, 200);
    assert_eq!(status(&admin, &video(&renewed)).await, 200);
    // Later runs delete nothing more; the deletion is logged exactly once.
    let ran = day(46).await;
    assert!(ran.is_empty(), "{ran:?}");
    let admin = s.client().logged_in(&t, &email, &pw).await.0;
    let r = admin
        .get(&format!(
            "/api/v1/privacy-log?subject_id={}&limit=500",
            loser.id
        ))
        .await;
    let deletions: Vec<&Value> = r
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == "retention" && e["action"] == "delete")
        .collect();
    assert_eq!(deletions.len(), 1, "{}", r.body);
    let r = login(&s, &loser.email)
        .await
        .get("/api/v1/me/deletion-notices")
        .await;
    assert!(r.json[0]["done_at"].is_string(), "{}", r.body);
    assert!(s.verify_privacy_chain("train").await.unwrap() > 0);
}

/// Agreement end + 45 days: the tenant is destroyed — no row in any table, no blob, no key —
/// and nothing happens to another tenant or earlier.
async fn tenant_destroyed_45_days_after_the_agreement_ends(b: Backend) {
    let s = TestServer::start(b).await;
    let s2 = s.second_instance().await;
    let mut ids = Vec::new();
    for slug in ["gone", "stays"] {
        let (t, email, pw) = s.tenant(slug).await;
        let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
        admin
            .post("/api/v1/collections", &json!({"name": "docs", "fields": [{"name": "text", "type": "string", "personal": true}]}))
            .await;
        let me = admin.get("/api/v1/me").await.json["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = admin
            .post(
                "/api/v1/collections/docs/records",
                &json!({"subject_id": me, "data": {"text": "x"}}),
            )
            .await;
        let rec = r.json["id"].as_str().unwrap().to_owned();
        admin
            .put_bytes(
                &format!("/api/v1/records/{rec}/files/a.pdf"),
                "application/pdf",
                b"pdf".to_vec(),
            )
            .await;
        admin.post("/api/v1/users", &json!({"email": format!("u@{slug}.example"), "name": "U", "roles": ["participant"]})).await;
        let tenant = s
            .services
            .store
            .tenant_by_slug(&strongroom_domain::Slug::parse(slug).unwrap())
            .await
            .unwrap()
            .unwrap();
        ids.push((slug, tenant.id.0, email, pw, rec));
    }
    let end = strongroom_core::Clock::now(&*s.clock) + Duration::days(1);
    let (_, gone, ..) = &ids[0];
    assert_eq!(
        s.raw_sql(&format!(
            "UPDATE tenants SET agreement_ends_at = {} WHERE slug = 'gone'",
            strongroom_domain::to_millis(end)
        ))
        .await,
        1
    );
    let before: i64 = s.rows_of_tenant(*gone).await.iter().map(|(_, n)| n).sum();
    assert!(before > 20, "{before}");

    // Day 44 after the end: nothing yet (the dry run says it is scheduled).
    let preview = s
        .services
        .retention_preview(end + Duration::days(44))
        .await
        .unwrap();
    assert!(
        preview
            .iter()
            .any(|(p, state)| p.kind == JobKind::DestroyTenant && state == "scheduled")
    );
    run_day(&s, &s2, end + Duration::days(44)).await;
    // Nothing gone; the one new row is the scheduled destruction.
    let rows = s.rows_of_tenant(*gone).await;
    assert_eq!(rows.iter().map(|(_, n)| n).sum::<i64>(), before + 1);
    assert!(rows.contains(&("jobs".to_owned(), 1)), "{rows:?}");
    // Day 45: gone, on whichever instance ran it, once.
    let ran = run_day(&s, &s2, end + Duration::days(45)).await;
    // (An instance that planned while the other destroyed may run a no-op; one destroys.)
    let destroyed: Vec<_> = ran
        .iter()
        .filter(|r| r.kind == JobKind::DestroyTenant && r.outcome.starts_with("destroyed"))
        .collect();
    assert_eq!(destroyed.len(), 1, "{ran:?}");
    let left: Vec<(String, i64)> = s
        .rows_of_tenant(*gone)
        .await
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect();
    assert!(left.is_empty(), "rows left: {left:?}");
    assert!(
        s.services
            .blobs
            .keys(&format!("tenants/{gone}"))
            .await
            .unwrap()
            .is_empty()
    );
    let login = s
        .client()
        .login("gone", "admin@gone.example", &ids[0].3)
        .await;
    assert_eq!(login.status, 401, "{}", login.body);
    // The other tenant is untouched.
    let (slug, stays, email, pw, rec) = &ids[1];
    let (admin, _) = s.client().logged_in(slug, email, pw).await;
    assert_eq!(
        admin.get(&format!("/api/v1/records/{rec}")).await.status,
        200
    );
    assert_eq!(
        s.services
            .blobs
            .keys(&format!("tenants/{stays}"))
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(s.verify_privacy_chain("stays").await.unwrap() > 0);
}

both_backends!(
    seed_000_life_cycle_day_by_day,
    tenant_destroyed_45_days_after_the_agreement_ends,
);
