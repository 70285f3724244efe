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

both_backends!(processors_of_the_tenant_the_operator_and_the_configuration);
