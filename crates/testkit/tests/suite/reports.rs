//! The TOM report through the API: every statement follows what the installation does — the
//! lockout threshold as set, backups missing until configured and run, the last drill with
//! its seconds, a break-glass grant listed, a tampered privacy log reported with its entry —
//! in Markdown and in HTML.

use serde_json::json;
use strongroom_testkit::{Backend, TestServer, both_backends};

async fn the_report_states_what_the_installation_does(b: Backend) {
    let target = tempfile::tempdir().unwrap();
    let to = format!("file://{}", target.path().display());
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let report = |c: &strongroom_testkit::Client| {
        let c = c.clone();
        async move {
            let r = c.get("/api/v1/reports/tom").await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(
                r.content_type.starts_with("text/markdown"),
                "{}",
                r.content_type
            );
            r.body
        }
    };
    let md = report(&admin).await;
    assert!(md.contains("blocked after 3 wrong passwords"), "{md}");
    assert!(md.contains("Backups are NOT CONFIGURED"), "{md}");
    assert!(md.contains("NO RESTORE DRILL has run yet"), "{md}");
    assert!(md.contains("TLS IS OFF"), "{md}");
    assert!(md.contains("Verified while writing this report"), "{md}");
    assert!(
        md.contains("No break-glass access in the last 90 days"),
        "{md}"
    );
    assert!(
        md.contains("[setting lockout_threshold of this tenant]"),
        "evidence named: {md}"
    );

    // A setting changes: so does the report.
    let r = admin
        .patch("/api/v1/tenant", &json!({"lockout_threshold": 5}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        report(&admin)
            .await
            .contains("blocked after 5 wrong passwords")
    );

    // A snapshot and a restore drill, run as `strongroom backup run` and `backup verify
    // --read-data` run them (the operator's side, on the same store).
    strongroom::backup::run(&s.config, Some(&to), vec![])
        .await
        .unwrap();
    let (_, ok) = strongroom::backup::verify(&s.config, Some(&to), None, true)
        .await
        .unwrap();
    assert!(ok, "the drill passes");
    let md = report(&admin).await;
    assert!(
        md.contains("Last restore drill:") && md.contains("seconds (measured RTO)"),
        "{md}"
    );
    assert!(
        md.contains("Last snapshot:") && md.contains(" bytes, "),
        "{md}"
    );
    assert!(!md.contains("NO RESTORE DRILL"), "{md}");

    // Break-glass is listed.
    s.services
        .add_superuser(
            strongroom_domain::Email::parse("sam@vendor.example").unwrap(),
            strongroom_domain::PersonName::parse("Sam Support").unwrap(),
        )
        .await
        .unwrap();
    s.services
        .break_glass(
            "acme",
            &strongroom_domain::Email::parse("sam@vendor.example").unwrap(),
            "outage 17",
            30,
        )
        .await
        .unwrap();
    let md = report(&admin).await;
    assert!(
        md.contains("BREAK-GLASS") && md.contains("Sam Support") && md.contains("outage 17"),
        "{md}"
    );
    assert!(md.contains("superusers have NEVER BEEN REVIEWED"), "{md}");

    // HTML on request.
    let r = admin
        .send(
            admin
                .raw()
                .get(admin.url("/api/v1/reports/tom"))
                .header("accept", "text/html"),
        )
        .await;
    assert!(
        r.content_type.starts_with("text/html"),
        "{}",
        r.content_type
    );
    assert!(
        r.body.contains("<h2>1. Pseudonymisation and encryption"),
        "{}",
        r.body
    );

    // A tampered privacy log: the report says so and names the entry.
    assert_eq!(
        s.raw_sql("UPDATE privacy_log SET action = 'tampered' WHERE seq = 2")
            .await,
        1
    );
    let md = report(&admin).await;
    assert!(
        md.contains("VERIFICATION FAILED") && md.contains("entry 2"),
        "{md}"
    );
}

both_backends!(the_report_states_what_the_installation_does);
