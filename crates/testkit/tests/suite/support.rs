//! Vendor support under the customer's grant, through the API on the injected clock: a
//! superuser (tenant `operator`) must enrol a second factor first and sees nothing of a
//! tenant without a grant; a request mails the tenant's administrators, who approve (shorter),
//! deny or revoke; a session under a read grant reads and writes nothing, every read is in the
//! person's privacy log naming the superuser and the grant, the first use is mailed, and a
//! revoked, ended or expired grant gives nothing; removing a superuser ends their grants.

use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use strongroom_crypto::totp::TotpSecret;
use strongroom_testkit::{Backend, Client, TestServer, both_backends};
use time::Duration;

fn code(s: &TestServer, secret: &TotpSecret) -> String {
    use strongroom_core::Clock as _;
    secret
        .code_at(u64::try_from(s.clock.now().unix_timestamp()).unwrap())
        .unwrap()
}

struct Fixture {
    s: TestServer,
    admin: Client,
    pia_id: String,
    pia: Client,
    record: String,
    /// The superuser, logged in with their second factor.
    sam: Client,
    sam_secret: TotpSecret,
}

/// A tenant with a participant's record, and a superuser who settled their password and
/// enrolled their factor (which the operator tenant requires before anything else).
async fn fixture(b: Backend) -> Fixture {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia_id, pia, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "notes", "fields": [
                {"name": "text", "type": "string", "personal": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = pia
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": pia_id, "data": {"text": "pia's note"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let record = r.json["id"].as_str().unwrap().to_owned();

    let (_, initial) = s
        .services
        .add_superuser(
            strongroom_domain::Email::parse("sam@vendor.example").unwrap(),
            strongroom_domain::PersonName::parse("Sam Support").unwrap(),
        )
        .await
        .unwrap();
    let (sam, _) = s
        .client()
        .logged_in("operator", "sam@vendor.example", initial.expose_secret())
        .await;
    let r = sam
        .put(
            "/api/v1/me/password",
            &json!({"current_password": initial.expose_secret(), "new_password": "sam-supports-long-phrases"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let sam = sam.with_token(r.json["access_token"].as_str().unwrap());
    // The operator tenant requires the second factor before anything else.
    sam.get("/api/v1/support/requests")
        .await
        .assert_problem(403, "totp_enrolment_required");
    let r = sam.post("/api/v1/me/totp", &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let secret = TotpSecret::from_base32(r.json["secret"].as_str().unwrap()).unwrap();
    let r = sam
        .post(
            "/api/v1/me/totp/confirm",
            &json!({"code": code(&s, &secret)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let mut f = Fixture {
        s,
        admin,
        pia_id,
        pia,
        record,
        sam,
        sam_secret: secret,
    };
    f.relogin_sam().await;
    f
}

async fn ask(f: &Fixture, minutes: u32) -> Value {
    let r = f
        .sam
        .post(
            "/api/v1/support/requests",
            &json!({"tenant": "acme", "reason": "ticket 4711: a note does not save",
                    "minutes": minutes, "kind": "read"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["status"], "pending");
    r.json
}

async fn session(f: &Fixture, id: &str) -> strongroom_testkit::Resp {
    f.sam
        .post(
            &format!("/api/v1/support/requests/{id}/session"),
            &json!({}),
        )
        .await
}

async fn no_grant_no_access_then_a_read_grant_reads_and_is_logged(b: Backend) {
    let mut f = fixture(b).await;
    let record = format!("/api/v1/records/{}", f.record);
    // Without a grant a superuser is an outsider to the tenant: refused at level 2, the same
    // answer for the record as for an id that exists nowhere.
    let (got, nowhere) = (
        f.sam.get(&record).await,
        f.sam
            .get(&format!("/api/v1/records/{}", uuid::Uuid::now_v7()))
            .await,
    );
    got.assert_problem(403, "forbidden");
    assert_eq!(got.body, nowhere.body);
    assert_eq!(f.sam.get("/api/v1/users").await.status, 403);
    assert_eq!(f.sam.get("/api/v1/privacy-log").await.status, 403);

    let req = ask(&f, 60).await;
    let id = req["id"].as_str().unwrap().to_owned();
    let mail = f.s.next_mail().await;
    assert!(
        mail.contains("Sam Support") && mail.contains("ticket 4711") && mail.contains(&id),
        "{mail}"
    );
    let list = f.admin.get("/api/v1/support/requests").await;
    assert_eq!(list.json[0]["id"], id.as_str(), "{}", list.body);
    assert_eq!(list.json[0]["superuser"], "Sam Support");
    assert_eq!(list.json[0]["status"], "pending");
    session(&f, &id).await.assert_problem(409, "conflict");

    // Approval may shorten, never lengthen.
    f.admin
        .post(
            &format!("/api/v1/support/requests/{id}/approve"),
            &json!({"minutes": 61}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let r = f
        .admin
        .post(
            &format!("/api/v1/support/requests/{id}/approve"),
            &json!({"minutes": 30}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["status"], "approved");
    f.admin
        .post(&format!("/api/v1/support/requests/{id}/deny"), &json!({}))
        .await
        .assert_problem(409, "conflict");

    let r = session(&f, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json["expires_in"].as_u64().unwrap() <= 900);
    let support =
        f.s.client()
            .with_token(r.json["access_token"].as_str().unwrap());
    let mail = f.s.next_mail().await;
    assert!(
        mail.contains("started using"),
        "the first use is mailed: {mail}"
    );

    // A read grant reads as an administrator would, and changes nothing.
    let r = support.get(&record).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["data"]["text"], "pia's note");
    assert_eq!(support.get("/api/v1/users").await.status, 200);
    for r in [
        support
            .patch(&record, &json!({"data": {"text": "changed"}}))
            .await,
        support
            .post(
                "/api/v1/users",
                &json!({"email": "x@acme.example", "name": "X", "roles": ["participant"]}),
            )
            .await,
        support
            .get(&format!("/api/v1/users/{}/export", f.pia_id))
            .await,
        support
            .patch("/api/v1/tenant", &json!({"lockout_threshold": 9}))
            .await,
    ] {
        assert_eq!(r.status, 403, "{}", r.body);
    }
    support
        .get("/api/v1/me/export")
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        f.admin.get(&record).await.json["data"]["text"],
        "pia's note",
        "nothing changed"
    );

    // The person sees that vendor support (named) looked, under which grant.
    let via = format!("support:{id}");
    let mine = f.pia.get("/api/v1/me/privacy-log").await;
    let seen: Vec<&Value> = mine
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == via.as_str())
        .collect();
    assert!(
        seen.iter().any(|e| e["decision"] == "allow"
            && e["object"] == format!("record/{}", f.record)
            && e["actor"] == "Sam Support (vendor support)"),
        "{}",
        mine.body
    );
    // The tenant's log has the request and the administrator's answer.
    let log = f.admin.get("/api/v1/privacy-log").await;
    let actions: Vec<&str> = log
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"] == format!("support_request/{id}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["approve", "request"], "{}", log.body);

    // Revoking ends the session at once.
    let r = f
        .admin
        .delete(&format!("/api/v1/support/requests/{id}"))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    support
        .get(&record)
        .await
        .assert_problem(401, "unauthenticated");
    session(&f, &id).await.assert_problem(409, "conflict");
    let mine = f.sam.get("/api/v1/support/requests").await;
    assert_eq!(mine.json[0]["status"], "revoked", "{}", mine.body);
    assert_eq!(mine.json[0]["tenant"], "acme");
    assert!(f.s.verify_privacy_chain("acme").await.unwrap() > 0);
}

async fn requests_expire_grants_end_and_a_removed_superuser_holds_nothing(b: Backend) {
    let mut f = fixture(b).await;
    let record = format!("/api/v1/records/{}", f.record);
    // Unanswered for a day: expired, and no longer approvable.
    let old = ask(&f, 60).await;
    let _ = f.s.next_mail().await;
    f.s.clock
        .advance(Duration::hours(24) + Duration::seconds(1));
    f.relogin().await;
    f.relogin_sam().await;
    let id = old["id"].as_str().unwrap();
    f.admin
        .post(
            &format!("/api/v1/support/requests/{id}/approve"),
            &json!({}),
        )
        .await
        .assert_problem(409, "conflict");
    let list = f.admin.get("/api/v1/support/requests").await;
    assert_eq!(list.json[0]["status"], "expired", "{}", list.body);

    // A grant ends on time: its session stops, no new one.
    let short = ask(&f, 10).await;
    let id = short["id"].as_str().unwrap();
    let r = f
        .admin
        .post(
            &format!("/api/v1/support/requests/{id}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = session(&f, id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let support =
        f.s.client()
            .with_token(r.json["access_token"].as_str().unwrap());
    assert_eq!(support.get(&record).await.status, 200);
    f.s.clock
        .advance(Duration::minutes(10) + Duration::seconds(1));
    support
        .get(&record)
        .await
        .assert_problem(401, "unauthenticated");
    f.relogin().await;
    f.relogin_sam().await;
    session(&f, id).await.assert_problem(409, "conflict");

    // Denied: no session.
    let denied = ask(&f, 10).await;
    let id = denied["id"].as_str().unwrap();
    let r = f
        .admin
        .post(&format!("/api/v1/support/requests/{id}/deny"), &json!({}))
        .await;
    assert_eq!((r.status, r.json["status"].as_str()), (200, Some("denied")));
    session(&f, id).await.assert_problem(409, "conflict");
    // The list is paged, newest first.
    let page = f.admin.get("/api/v1/support/requests?limit=2").await;
    assert_eq!(page.json.as_array().unwrap().len(), 2, "{}", page.body);
    assert_eq!(page.json[0]["id"], id, "{}", page.body);
    let next = page.next_page().expect("a next page");
    let rest = f.admin.get(&next).await;
    assert_eq!(rest.json.as_array().unwrap().len(), 1, "{}", rest.body);

    // Removing the superuser ends what they hold; their name stays in the list.
    let open = ask(&f, 10).await;
    let email = strongroom_domain::Email::parse("sam@vendor.example").unwrap();
    f.s.services.remove_superuser(&email).await.unwrap();
    f.sam
        .get("/api/v1/support/requests")
        .await
        .assert_problem(401, "unauthenticated");
    let list = f.admin.get("/api/v1/support/requests").await;
    let row = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == open["id"])
        .unwrap();
    assert_eq!(row["status"], "revoked");
    assert_eq!(row["superuser"], "Sam Support");
    let listed = f.s.services.list_superusers().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, strongroom_domain::UserStatus::Disabled);
    assert!(listed[0].last_login_at.is_some());
    assert_eq!(listed[0].grants_90d, 1, "the one approved grant");

    // The operator tenant is reserved, and no customer's user becomes a superuser.
    let err =
        f.s.services
            .create_tenant(
                strongroom_domain::Slug::parse("operator").unwrap(),
                strongroom_domain::TenantName::parse("Fake").unwrap(),
                strongroom_domain::Region::default(),
                strongroom_domain::Email::parse("x@fake.example").unwrap(),
                true,
                strongroom_domain::Roles::default(),
            )
            .await;
    assert!(matches!(err, Err(strongroom_core::CoreError::Invalid(_))));
    f.admin
        .post(
            "/api/v1/users",
            &json!({"email": "evil@acme.example", "name": "Evil", "roles": ["superuser"]}),
        )
        .await
        .assert_problem(400, "invalid_input");
}

/// An act_as grant sees what that user sees and no more, and the log names the superuser.
async fn an_act_as_grant_sees_what_that_user_sees(b: Backend) {
    let mut f = fixture(b).await;
    let (per_id, per, _) =
        f.s.settled_user(&f.admin, "acme", "per@acme.example", json!(["participant"]))
            .await;
    let r = per
        .post(
            "/api/v1/collections/notes/records",
            &json!({"subject_id": per_id, "data": {"text": "per's own note"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let pers = r.json["id"].as_str().unwrap().to_owned();
    let r = f
        .sam
        .post(
            "/api/v1/support/requests",
            &json!({"tenant": "acme", "reason": "pia sees an error", "minutes": 30, "kind": "act_as"}),
        )
        .await;
    r.assert_problem(400, "invalid_input");
    let r = f
        .sam
        .post(
            "/api/v1/support/requests",
            &json!({"tenant": "acme", "reason": "pia sees an error", "minutes": 30,
                    "kind": "act_as", "user_id": f.pia_id}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.json["id"].as_str().unwrap().to_owned();
    let _ = f.s.next_mail().await;
    let r = f
        .admin
        .post(
            &format!("/api/v1/support/requests/{id}/approve"),
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = session(&f, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let acting =
        f.s.client()
            .with_token(r.json["access_token"].as_str().unwrap());
    let r = acting.get(&format!("/api/v1/records/{}", f.record)).await;
    assert_eq!(r.status, 200, "pia's own record: {}", r.body);
    acting
        .get(&format!("/api/v1/records/{pers}"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(acting.get("/api/v1/users").await.status, 403, "pia may not");
    acting
        .get("/api/v1/me/export")
        .await
        .assert_problem(403, "forbidden");
    acting
        .delete("/api/v1/me")
        .await
        .assert_problem(403, "forbidden");
    let mine = f.pia.get("/api/v1/me/privacy-log").await;
    assert!(
        mine.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["via"] == format!("support:{id}")
                && e["actor"] == "Sam Support (vendor support)"
                && e["object"] == format!("record/{}", f.record)),
        "{}",
        mine.body
    );
}

/// Break-glass: a read grant without approval, mailed at once and marked; refused past 240
/// minutes and where the tenant turned it off.
async fn break_glass_is_mailed_at_once_marked_and_can_be_refused(b: Backend) {
    let mut f = fixture(b).await;
    let sam = strongroom_domain::Email::parse("sam@vendor.example").unwrap();
    let reason = "outage: the tenant's administrators cannot be reached";
    assert!(matches!(
        f.s.services.break_glass("acme", &sam, reason, 241).await,
        Err(strongroom_core::CoreError::Invalid(_))
    ));
    let grant =
        f.s.services
            .break_glass("acme", &sam, reason, 60)
            .await
            .unwrap();
    assert!(grant.break_glass);
    assert_eq!(grant.status, strongroom_domain::SupportStatus::Approved);
    let mail = f.s.next_mail().await;
    assert!(
        mail.contains("BREAK-GLASS") && mail.contains(reason),
        "{mail}"
    );
    let id = grant.id.0.to_string();
    let list = f.admin.get("/api/v1/support/requests").await;
    assert_eq!(list.json[0]["id"], id.as_str(), "{}", list.body);
    assert_eq!(list.json[0]["break_glass"], true);
    assert_eq!(list.json[0]["kind"], "read");
    let r = session(&f, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let support =
        f.s.client()
            .with_token(r.json["access_token"].as_str().unwrap());
    assert_eq!(
        support
            .get(&format!("/api/v1/records/{}", f.record))
            .await
            .status,
        200
    );
    let log = f.admin.get("/api/v1/privacy-log").await;
    assert!(
        log.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "break_glass"
                && e["via"] == format!("support:{id}")
                && e["actor"] == "Sam Support (vendor support)"),
        "{}",
        log.body
    );

    // The tenant turns it off: refused from then on, and the change is logged.
    let r = f
        .admin
        .patch("/api/v1/tenant", &json!({"break_glass": false}))
        .await;
    assert_eq!(
        (r.status, &r.json["break_glass"]),
        (200, &json!(false)),
        "{}",
        r.body
    );
    assert!(matches!(
        f.s.services.break_glass("acme", &sam, reason, 60).await,
        Err(strongroom_core::CoreError::Forbidden(_))
    ));
    let log = f.admin.get("/api/v1/privacy-log").await;
    assert!(
        log.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "update_settings"
                && e["fields"] == json!(["break_glass: true -> false"])),
        "{}",
        log.body
    );
}

/// Reviews: every privileged account decided, or refused; removals applied; overdue after
/// 92 days — for the operator's superusers and a tenant's administrators alike.
async fn reviews_decide_every_account_and_fall_due_after_92_days(b: Backend) {
    let mut f = fixture(b).await;
    let email = |e: &str| strongroom_domain::Email::parse(e).unwrap();
    f.s.services
        .add_superuser(
            email("ria@vendor.example"),
            strongroom_domain::PersonName::parse("Ria Retired").unwrap(),
        )
        .await
        .unwrap();
    let sam = email("sam@vendor.example");
    let ria = email("ria@vendor.example");
    assert!(matches!(
        f.s.services
            .review_superusers("Chief Officer", std::slice::from_ref(&sam), &[])
            .await,
        Err(strongroom_core::CoreError::ReviewIncomplete(_))
    ));
    let review =
        f.s.services
            .review_superusers(
                "Chief Officer",
                std::slice::from_ref(&sam),
                std::slice::from_ref(&ria),
            )
            .await
            .unwrap();
    assert_eq!(review.decisions.len(), 2);
    let list = f.s.services.list_superusers().await.unwrap();
    let by = |name: &str| {
        list.iter()
            .find(|s| s.name.as_ref().unwrap().as_str() == name)
            .unwrap()
    };
    assert_eq!(
        by("Ria Retired").status,
        strongroom_domain::UserStatus::Disabled
    );
    assert_eq!(
        by("Sam Support").status,
        strongroom_domain::UserStatus::Active
    );
    assert!(by("Sam Support").last_review_at.is_some() && !by("Sam Support").review_overdue);

    // A tenant's administrators.
    let (ada, ada_client, _) =
        f.s.settled_user(
            &f.admin,
            "acme",
            "ada@acme.example",
            json!(["administrator", "coach"]),
        )
        .await;
    let me = f.admin.get("/api/v1/me").await.json["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let st = f.admin.get("/api/v1/access-reviews").await;
    assert_eq!(st.status, 200, "{}", st.body);
    assert_eq!(st.json["administrators"].as_array().unwrap().len(), 2);
    assert_eq!(st.json["review_overdue"], false);
    f.admin
        .post(
            "/api/v1/access-reviews",
            &json!({"decisions": [{"user_id": me, "keep": true}]}),
        )
        .await
        .assert_problem(422, "review_incomplete");
    f.admin
        .post(
            "/api/v1/access-reviews",
            &json!({"decisions": [{"user_id": me, "keep": false}, {"user_id": ada, "keep": true}]}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let r = f
        .admin
        .post(
            "/api/v1/access-reviews",
            &json!({"decisions": [{"user_id": me, "keep": true}, {"user_id": ada, "keep": false}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // Ada keeps her account and her other role, not the administrator's.
    assert_eq!(ada_client.get("/api/v1/users").await.status, 403);
    let u = f.admin.get(&format!("/api/v1/users/{ada}")).await;
    assert_eq!(u.json["roles"], json!(["coach"]), "{}", u.body);
    let st = f.admin.get("/api/v1/access-reviews").await;
    assert_eq!(st.json["administrators"].as_array().unwrap().len(), 1);
    assert_eq!(st.json["reviews"][0]["reviewer"], "Administrator");
    assert!(st.json["last_review_at"].is_string());

    // A quarter and a day later both are overdue.
    f.s.clock.advance(Duration::days(93));
    f.relogin().await;
    let st = f.admin.get("/api/v1/access-reviews").await;
    assert_eq!(st.json["review_overdue"], true, "{}", st.body);
    let list = f.s.services.list_superusers().await.unwrap();
    assert!(
        list.iter()
            .find(|s| s.status == strongroom_domain::UserStatus::Active)
            .unwrap()
            .review_overdue
    );
}

impl Fixture {
    /// The superuser logs in again, with a code of a fresh time step.
    async fn relogin_sam(&mut self) {
        self.s.clock.advance(Duration::seconds(30));
        let r = self
            .s
            .client()
            .post(
                "/api/v1/auth/login",
                &json!({"tenant": "operator", "email": "sam@vendor.example",
                        "password": "sam-supports-long-phrases",
                        "totp": code(&self.s, &self.sam_secret)}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        self.sam = self
            .s
            .client()
            .with_token(r.json["access_token"].as_str().unwrap());
    }

    /// The administrator logs in again (their token lives 15 minutes on the moved clock).
    async fn relogin(&mut self) {
        self.admin = self
            .s
            .client()
            .logged_in("acme", "admin@acme.example", "acme-admin-passphrase-9f3k")
            .await
            .0;
    }
}

both_backends!(
    reviews_decide_every_account_and_fall_due_after_92_days,
    an_act_as_grant_sees_what_that_user_sees,
    break_glass_is_mailed_at_once_marked_and_can_be_refused,
    no_grant_no_access_then_a_read_grant_reads_and_is_logged,
    requests_expire_grants_end_and_a_removed_superuser_holds_nothing
);
