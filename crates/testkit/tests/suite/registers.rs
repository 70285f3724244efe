//! The registers through the API: a tenant's processors (created, changed, removed, each a
//! privacy-log entry, invisible to other tenants), the operator's (every tenant reads them,
//! none changes them) and those the configuration implies (the host only, never a credential;
//! the country from `processors.locations`).

use serde_json::json;
use strongroom_testkit::{Backend, TestServer, both_backends};

async fn processors_of_the_tenant_the_operator_and_the_configuration(b: Backend) {
    let s = TestServer::start_with(b, |c| {
        c.mail.smtp_url = Some("smtp://relay-user:relay-secret@relay.example.net:587".into());
        c.processors
            .locations
            .insert("relay.example.net".into(), "DE".into());
    })
    .await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (t2, email2, pw2) = s.tenant("other").await;
    let (other, _) = s.client().logged_in(&t2, &email2, &pw2).await;
    let hosting = s
        .services
        .add_operator_processor(&strongroom_core::registers::ProcessorInput {
            name: "Hetzner Online GmbH".into(),
            purpose: "hosting".into(),
            data_categories: vec!["all data, encrypted".into()],
            location: "DE".into(),
            transfer_safeguard: None,
            dpa_signed_on: Some(time::macros::date!(2026 - 01 - 15)),
        })
        .await
        .unwrap();

    let r = admin
        .post(
            "/api/v1/processors",
            &json!({"name": "Mailchimp", "purpose": "newsletters",
                    "data_categories": ["e-mail addresses", "names"], "location": "US",
                    "transfer_safeguard": "EU-US Data Privacy Framework",
                    "dpa_signed_on": "2026-03-01"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json["scope"], "tenant");
    let id = r.json["id"].as_str().unwrap().to_owned();
    for bad in [
        json!({"name": "X", "purpose": "p", "data_categories": ["a"], "location": "germany"}),
        json!({"name": "X", "purpose": "p", "data_categories": [], "location": "DE"}),
        json!({"name": " ", "purpose": "p", "data_categories": ["a"], "location": "DE"}),
    ] {
        let r = admin.post("/api/v1/processors", &bad).await;
        assert!([400, 422].contains(&r.status), "{bad}: {}", r.body);
    }

    let list = admin.get("/api/v1/processors").await;
    assert_eq!(list.status, 200, "{}", list.body);
    let rows = list.json.as_array().unwrap();
    let find = |name: &str| rows.iter().find(|p| p["name"] == name).unwrap();
    assert_eq!(find("Mailchimp")["dpa_signed_on"], "2026-03-01");
    assert_eq!(find("Hetzner Online GmbH")["scope"], "operator");
    let relay = find("Mail relay");
    assert_eq!(
        (
            &relay["source"],
            &relay["host"],
            &relay["location"],
            &relay["scope"]
        ),
        (
            &json!("configuration"),
            &json!("relay.example.net"),
            &json!("DE"),
            &json!("operator")
        )
    );
    assert!(
        !list.body.contains("relay-secret") && !list.body.contains("relay-user"),
        "never a credential: {}",
        list.body
    );
    // The other tenant sees the operator's, not acme's.
    let theirs = other.get("/api/v1/processors").await;
    assert!(theirs.body.contains("Hetzner") && !theirs.body.contains("Mailchimp"));
    other
        .patch(
            &format!("/api/v1/processors/{id}"),
            &json!({"location": "FR"}),
        )
        .await
        .assert_problem(404, "not_found");

    // Changes, and the operator's entries are read-only.
    let r = admin
        .patch(
            &format!("/api/v1/processors/{id}"),
            &json!({"location": "IE"}),
        )
        .await;
    assert_eq!(
        (r.status, &r.json["location"]),
        (200, &json!("IE")),
        "{}",
        r.body
    );
    admin
        .patch(
            &format!("/api/v1/processors/{}", hosting.id),
            &json!({"location": "FR"}),
        )
        .await
        .assert_problem(403, "forbidden");
    admin
        .delete(&format!("/api/v1/processors/{}", hosting.id))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        admin
            .delete(&format!("/api/v1/processors/{id}"))
            .await
            .status,
        204
    );
    let log = admin.get("/api/v1/privacy-log").await;
    let actions: Vec<&str> = log
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"] == format!("processor/{id}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["delete", "update", "create"], "{}", log.body);
}

/// The breach register on the injected clock: the 72-hour deadline, reminders at 48 and 70
/// hours while the authority is not notified, overdue after the deadline, a late notification
/// only with the reasons for the delay, closing as not notifiable stops the reminders, and
/// every change is kept.
async fn breaches_run_on_the_72_hour_clock(b: Backend) {
    use strongroom_core::Clock as _;
    let mut s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let login = |s: &TestServer| {
        let (t, email, pw) = (t.clone(), email.clone(), pw.clone());
        let c = s.client();
        async move { c.logged_in(&t, &email, &pw).await.0 }
    };
    let admin = login(&s).await;
    let now = s.clock.now();
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let body = |title: &str, aware: time::OffsetDateTime| {
        json!({"title": title, "aware_at": rfc(aware), "nature": "a laptop with exports was stolen",
               "data_categories": ["names", "e-mail addresses"], "subjects_estimate": 120,
               "records_estimate": 480, "consequences": "phishing risk",
               "measures": "the disk was encrypted; passwords were reset"})
    };
    admin
        .post(
            "/api/v1/breaches",
            &body("future", now + time::Duration::hours(1)),
        )
        .await
        .assert_problem(400, "invalid_input");
    let aware = now - time::Duration::hours(1);
    let r = admin
        .post("/api/v1/breaches", &body("Stolen laptop", aware))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        r.json["deadline_at"],
        rfc(aware + time::Duration::hours(72))
    );
    assert_eq!(
        (r.json["status"].as_str(), r.json["overdue"].as_bool()),
        (Some("open"), Some(false))
    );
    let id = r.json["id"].as_str().unwrap().to_owned();
    let r = admin
        .post("/api/v1/breaches", &body("Misdirected mail", aware))
        .await;
    let quiet = r.json["id"].as_str().unwrap().to_owned();
    let r = admin
        .patch(
            &format!("/api/v1/breaches/{quiet}"),
            &json!({"status": "not_notifiable", "not_notifiable_reason": "one recipient, who deleted it"}),
        )
        .await;
    assert_eq!(r.json["status"], "not_notifiable", "{}", r.body);

    // 48 hours after awareness: one reminder, for the open breach only.
    s.clock
        .set(aware + time::Duration::hours(48) + time::Duration::seconds(1));
    let ran = s.services.run_retention(s.clock.now()).await.unwrap();
    let outcomes: Vec<&str> = ran
        .iter()
        .filter(|r| r.kind == strongroom_domain::JobKind::BreachRemind)
        .map(|r| r.outcome.as_str())
        .collect();
    assert!(
        outcomes.contains(&"reminded after 48 hours"),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|o| o.starts_with("no reminder")),
        "the closed one is not reminded: {outcomes:?}"
    );
    let mail = s.next_mail().await;
    assert!(
        mail.contains("Stolen laptop") && mail.contains("48 hours"),
        "{mail}"
    );
    s.clock
        .set(aware + time::Duration::hours(70) + time::Duration::seconds(1));
    s.services.run_retention(s.clock.now()).await.unwrap();
    let mail = s.next_mail().await;
    assert!(mail.contains("70 hours"), "{mail}");

    // Past the deadline: overdue; a late notification needs the reasons for the delay.
    s.clock.set(aware + time::Duration::hours(73));
    let admin = login(&s).await;
    let r = admin.get(&format!("/api/v1/breaches/{id}")).await;
    assert_eq!(r.json["overdue"], true, "{}", r.body);
    let notified = rfc(s.clock.now());
    admin
        .patch(
            &format!("/api/v1/breaches/{id}"),
            &json!({"authority_notified_at": notified}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let r = admin
        .patch(
            &format!("/api/v1/breaches/{id}"),
            &json!({"authority_notified_at": notified,
                    "delay_reason": "the extent was only known after the forensic report"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        (r.json["status"].as_str(), r.json["overdue"].as_bool()),
        (Some("notified"), Some(false))
    );
    assert_eq!(r.json["history"].as_array().unwrap().len(), 2, "{}", r.body);
    admin
        .patch(
            &format!("/api/v1/breaches/{quiet}"),
            &json!({"status": "open"}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let list = admin.get("/api/v1/breaches").await;
    assert_eq!(
        list.json.as_array().unwrap().len(),
        2,
        "every breach stays: {}",
        list.body
    );
    // Paged, newest first.
    let page = admin.get("/api/v1/breaches?limit=1").await;
    assert_eq!(page.json[0]["id"], quiet.as_str(), "{}", page.body);
    let next = page.next_page().expect("a next page");
    let rest = admin.get(&next).await;
    assert_eq!(rest.json[0]["id"], id.as_str(), "{}", rest.body);
    assert_eq!(rest.next_page(), None);
    admin
        .get("/api/v1/breaches?limit=0")
        .await
        .assert_problem(400, "invalid_input");
    let log = admin.get("/api/v1/privacy-log").await;
    let actions: Vec<&str> = log
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"] == format!("breach/{id}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "record"], "{}", log.body);
}

/// Disclosure requests: the administrators are told at once, an objection within the window
/// blocks the release (a final order overrides it), a release after the window holds exactly
/// the scope, encrypted to the recipient, and every record read is in the person's log.
async fn disclosures_wait_for_the_window_and_are_logged(b: Backend) {
    use secrecy::ExposeSecret as _;
    use strongroom_core::CoreError;
    let mut s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, pia_client, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
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
            &json!({"subject_id": pia, "data": {"text": "pia's diary"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let scope = format!("subject:{pia}");
    let (identity, recipient) = strongroom_crypto::recipient::new_identity();

    let first = s
        .services
        .open_disclosure("acme", "Police Amsterdam", "court warrant 12/2026", &scope)
        .await
        .unwrap();
    let mail = s.next_mail().await;
    assert!(
        mail.contains("Police Amsterdam") && mail.contains("objection"),
        "{mail}"
    );
    let early = s
        .services
        .release_disclosure(first.id, &recipient, "Olga Operator", false)
        .await;
    assert!(
        matches!(early, Err(CoreError::Conflict(_))),
        "the window is open"
    );
    let r = admin
        .post(
            &format!("/api/v1/disclosures/{}/objection", first.id),
            &json!({"reason": "the warrant names another person"}),
        )
        .await;
    assert_eq!(
        (r.status, r.json["status"].as_str()),
        (200, Some("objected")),
        "{}",
        r.body
    );
    let second = s
        .services
        .open_disclosure("acme", "Tax office", "tax law art. 5", &scope)
        .await
        .unwrap();
    let _ = s.next_mail().await;

    s.clock
        .advance(time::Duration::days(7) + time::Duration::seconds(1));
    let admin = s.client().logged_in(&t, &email, &pw).await.0;
    admin
        .post(
            &format!("/api/v1/disclosures/{}/objection", second.id),
            &json!({"reason": "too late"}),
        )
        .await
        .assert_problem(409, "conflict");
    // An objection blocks the release, but for a final order.
    assert!(matches!(
        s.services
            .release_disclosure(first.id, &recipient, "Olga Operator", false)
            .await,
        Err(CoreError::Conflict(_))
    ));
    let released = s
        .services
        .release_disclosure(second.id, &recipient, "Olga Operator", false)
        .await
        .unwrap();
    assert_eq!(released.records, 1);
    let opened =
        strongroom_crypto::recipient::open_with(identity.expose_secret(), &released.sealed)
            .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&opened).unwrap();
    assert_eq!(doc["records"][0]["data"]["text"], "pia's diary");
    assert_eq!(doc["requester"], "Tax office");
    let mail = s.next_mail().await;
    assert!(
        mail.contains("disclosed") || mail.contains("released"),
        "{mail}"
    );
    let overridden = s
        .services
        .release_disclosure(first.id, &recipient, "Olga Operator", true)
        .await
        .unwrap();
    assert_eq!(overridden.records, 1);

    // The person sees who disclosed what to whom.
    let pia_client = s
        .client()
        .logged_in(&t, "pia@acme.example", "a-settled-password-77x")
        .await
        .0;
    let mine = pia_client.get("/api/v1/me/privacy-log").await;
    assert!(
        mine.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "disclose"
                && e["via"] == format!("disclosure:{}", second.id)
                && e["actor"] == "Olga Operator (operator; disclosure to Tax office)"),
        "{}",
        mine.body
    );
    let list = admin.get("/api/v1/disclosures").await;
    let statuses: Vec<(&str, bool)> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["status"].as_str().unwrap(),
                d["final_order"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [("released", false), ("released", true)],
        "{}",
        list.body
    );

    // A withdrawn request is never released.
    let third = s
        .services
        .open_disclosure("acme", "Someone", "none", &scope)
        .await
        .unwrap();
    s.services.withdraw_disclosure(third.id).await.unwrap();
    assert!(matches!(
        s.services
            .release_disclosure(third.id, &recipient, "Olga Operator", true)
            .await,
        Err(CoreError::Conflict(_))
    ));
    assert!(s.verify_privacy_chain("acme").await.unwrap() > 0);
}

both_backends!(
    processors_of_the_tenant_the_operator_and_the_configuration,
    breaches_run_on_the_72_hour_clock,
    disclosures_wait_for_the_window_and_are_logged
);
