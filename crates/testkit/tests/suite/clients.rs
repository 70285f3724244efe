//! Integration clients through the API and the token endpoint, on the server's injected
//! clock: scopes decide at levels 2 and 3 (and a tenant policy that permits everything does
//! not widen them), every access is in the privacy log with the client named, the token
//! endpoint answers RFC 6749 errors, tokens carry only the scopes asked for, expire, and die
//! with their client, a rotated secret overlaps for the time stated, and the endpoint
//! throttles without ever locking a client out.

use serde_json::{Value, json};
use strongroom_testkit::{Backend, Client, TestServer, both_backends};
use time::Duration;

struct Fixture {
    s: TestServer,
    admin: Client,
    /// The administrator's e-mail and password (to log in again after the clock moved).
    admin_login: (String, String),
    pia: String,
    pia_client: Client,
    reading: String,
    note: String,
}

async fn fixture(b: Backend, tweak: impl FnOnce(&mut strongroom::config::Config)) -> Fixture {
    let s = TestServer::start_with(b, tweak).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, pia_client, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    for name in ["readings", "notes"] {
        let r = admin
            .post(
                "/api/v1/collections",
                &json!({"name": name, "fields": [
                    {"name": "value", "type": "string", "personal": true},
                    {"name": "tag", "type": "string", "searchable": true}]}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let mut ids = Vec::new();
    for name in ["readings", "notes"] {
        let r = pia_client
            .post(
                &format!("/api/v1/collections/{name}/records"),
                &json!({"subject_id": pia, "data": {"value": format!("{name}-of-pia"), "tag": "t"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.json["id"].as_str().unwrap().to_owned());
    }
    let note = ids.pop().unwrap();
    let reading = ids.pop().unwrap();
    Fixture {
        s,
        admin,
        admin_login: (email, pw),
        pia,
        pia_client,
        reading,
        note,
    }
}

impl Fixture {
    async fn relogin(&mut self) {
        let (email, pw) = self.admin_login.clone();
        self.admin = self.s.client().logged_in("acme", &email, &pw).await.0;
    }
}

fn entries<'a>(log: &'a Value, via: &str) -> Vec<&'a Value> {
    log.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["via"] == via)
        .collect()
}

async fn scopes_decide_at_levels_two_and_three(b: Backend) {
    let f = fixture(b, |_| {}).await;
    let (id, client_id, secret) =
        f.s.integration_client(&f.admin, "Sensor sync", &["records:read:readings"])
            .await;
    let r =
        f.s.client()
            .oauth_token(
                &[("grant_type", "client_credentials")],
                Some((&client_id, &secret)),
            )
            .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["expires_in"], 900);
    assert_eq!(r.json["scope"], "records:read:readings");
    assert_eq!(r.headers["cache-control"], "no-store");
    let c =
        f.s.client()
            .with_token(r.json["access_token"].as_str().unwrap());

    // Level 3: its collection only; another record is as absent as a foreign one.
    let r = c.get(&format!("/api/v1/records/{}", f.reading)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["data"]["value"], "readings-of-pia");
    c.get(&format!("/api/v1/records/{}", f.note))
        .await
        .assert_problem(404, "not_found");
    // Level 2: nothing it has no scope for.
    let create = json!({"subject_id": f.pia, "data": {"value": "x", "tag": "t"}});
    for r in [
        c.post("/api/v1/collections/readings/records", &create)
            .await,
        c.get("/api/v1/users").await,
        c.get("/api/v1/privacy-log").await,
        c.patch("/api/v1/tenant", &json!({"lockout_threshold": 9}))
            .await,
        c.get("/api/v1/clients").await,
        c.get("/api/v1/me/export").await,
        c.delete("/api/v1/me").await,
        c.get("/api/v1/me").await,
    ] {
        r.assert_problem(403, "forbidden");
    }

    // A tenant policy that permits everything to everyone does not widen a client's scopes:
    // the base layer keeps it there.
    let current = f.admin.get("/api/v1/policies").await;
    let text = format!(
        "{}\n@id(\"everything\")\npermit (principal, action, resource);\n",
        current.json["policies"].as_str().unwrap()
    );
    let r = f
        .admin
        .put(
            "/api/v1/policies",
            &json!({"policies": text, "version": current.json["version"]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    c.get(&format!("/api/v1/records/{}", f.note))
        .await
        .assert_problem(404, "not_found");
    c.post("/api/v1/collections/readings/records", &create)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        c.get(&format!("/api/v1/records/{}", f.reading))
            .await
            .status,
        200
    );

    // The privacy log names the client, for the tenant and for the person.
    let via = format!("client:{client_id}");
    let log = f
        .admin
        .get(&format!("/api/v1/privacy-log?subject_id={}", f.pia))
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    let by_client = entries(&log.json, &via);
    assert!(
        by_client
            .iter()
            .any(|e| e["decision"] == "allow" && e["object"] == format!("record/{}", f.reading)),
        "{}",
        log.body
    );
    assert!(
        by_client
            .iter()
            .any(|e| e["decision"] == "deny" && e["object"] == format!("record/{}", f.note)),
        "{}",
        log.body
    );
    assert!(
        by_client
            .iter()
            .all(|e| e["actor"] == "Sensor sync" && e["actor_id"] == id.as_str())
    );
    let mine = f.pia_client.get("/api/v1/me/privacy-log").await;
    assert!(
        entries(&mine.json, &via)
            .iter()
            .any(|e| e["actor"] == "Sensor sync"),
        "{}",
        mine.body
    );
    // Creating the client was a security-setting change, logged with what it was.
    let all = f.admin.get("/api/v1/privacy-log").await;
    assert!(
        all.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["object"] == format!("client/{id}")
                && e["action"] == "create"
                && e["fields"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("scopes: records:read:readings"))),
        "{}",
        all.body
    );
    // So was replacing the policies.
    assert!(
        all.json
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["object"] == "policies/"
                && e["action"] == "replace"
                && e["fields"]
                    .as_array()
                    .unwrap()
                    .contains(&json!("version: 0 -> 1"))),
        "{}",
        all.body
    );
    // Reads with users:read and privacy-log:read go through the same check.
    let (_, wide_id, wide_secret) =
        f.s.integration_client(&f.admin, "Directory", &["users:read", "privacy-log:read"])
            .await;
    let w = f.s.client().as_integration(&wide_id, &wide_secret).await;
    assert_eq!(w.get("/api/v1/users").await.status, 200);
    assert_eq!(w.get("/api/v1/privacy-log").await.status, 200);
    w.get(&format!("/api/v1/records/{}", f.reading))
        .await
        .assert_problem(403, "forbidden");
    // Files: files:write uploads to records of its collection (another's record is absent),
    // files:read (with records:read: a download reads its record) downloads; records:read
    // alone opens no file.
    let (_, files_id, files_secret) =
        f.s.integration_client(
            &f.admin,
            "Uploader",
            &[
                "records:read:readings",
                "files:read:readings",
                "files:write:readings",
            ],
        )
        .await;
    let up = f.s.client().as_integration(&files_id, &files_secret).await;
    let file = format!("/api/v1/records/{}/files/scan.txt", f.reading);
    let r = up
        .put_bytes(&file, "text/plain", b"a scan of pia".to_vec())
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let (status, _, body) = up.get_bytes(&file, None).await;
    assert_eq!((status, body.unwrap()), (200, b"a scan of pia".to_vec()));
    c.get(&file).await.assert_problem(403, "forbidden");
    up.put_bytes(
        &format!("/api/v1/records/{}/files/scan.txt", f.note),
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .assert_problem(404, "not_found");
    assert!(
        f.s.verify_privacy_chain("acme").await.unwrap() > 0,
        "the chain verifies"
    );
}

async fn the_token_endpoint_answers_as_rfc_6749_says(b: Backend) {
    let f = fixture(b, |_| {}).await;
    let (_, client_id, secret) =
        f.s.integration_client(
            &f.admin,
            "Sync",
            &["records:read:readings", "records:write:readings"],
        )
        .await;
    let c = f.s.client();
    let grant = ("grant_type", "client_credentials");
    let oauth = |r: &strongroom_testkit::Resp, status: u16, error: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        assert_eq!(r.json["error"], error, "{}", r.body);
        assert!(r.json["error_description"].is_string(), "{}", r.body);
        assert!(
            r.content_type.starts_with("application/json"),
            "{}",
            r.content_type
        );
    };
    let r = c
        .oauth_token(&[grant], Some((&client_id, "srs_wrong")))
        .await;
    oauth(&r, 401, "invalid_client");
    assert_eq!(r.headers["www-authenticate"], "Basic realm=\"strongroom\"");
    let wrong_secret = format!("{}x", &secret[..secret.len() - 1]);
    oauth(
        &c.oauth_token(
            &[
                grant,
                ("client_id", &client_id),
                ("client_secret", &wrong_secret),
            ],
            None,
        )
        .await,
        401,
        "invalid_client",
    );
    oauth(&c.oauth_token(&[grant], None).await, 401, "invalid_client");
    oauth(
        &c.oauth_token(&[grant], Some(("sri_nobody", &secret))).await,
        401,
        "invalid_client",
    );
    oauth(
        &c.oauth_token(
            &[grant, ("scope", "records:read:notes")],
            Some((&client_id, &secret)),
        )
        .await,
        400,
        "invalid_scope",
    );
    oauth(
        &c.oauth_token(&[grant, ("scope", "admin")], Some((&client_id, &secret)))
            .await,
        400,
        "invalid_scope",
    );
    oauth(
        &c.oauth_token(
            &[("grant_type", "password"), ("username", "x")],
            Some((&client_id, &secret)),
        )
        .await,
        400,
        "unsupported_grant_type",
    );
    oauth(
        &c.oauth_token(&[], Some((&client_id, &secret))).await,
        400,
        "invalid_request",
    );
    oauth(
        &c.oauth_token(&[grant, grant], Some((&client_id, &secret)))
            .await,
        400,
        "invalid_request",
    );
    oauth(
        &c.oauth_token(
            &[grant, ("client_id", &client_id), ("client_secret", &secret)],
            Some((&client_id, &secret)),
        )
        .await,
        400,
        "invalid_request",
    );
    let json_body = c
        .post("/oauth/token", &json!({"grant_type": "client_credentials"}))
        .await;
    oauth(&json_body, 400, "invalid_request");

    // Form authentication, and a token with only the scope asked for.
    let r = c
        .oauth_token(
            &[
                grant,
                ("scope", "records:read:readings"),
                ("client_id", &client_id),
                ("client_secret", &secret),
            ],
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json["scope"], "records:read:readings");
    let read_only = c.with_token(r.json["access_token"].as_str().unwrap());
    assert_eq!(
        read_only
            .get(&format!("/api/v1/records/{}", f.reading))
            .await
            .status,
        200
    );
    read_only
        .post(
            "/api/v1/collections/readings/records",
            &json!({"subject_id": f.pia, "data": {"value": "x", "tag": "t"}}),
        )
        .await
        .assert_problem(403, "forbidden");
    let writer = c.as_integration(&client_id, &secret).await;
    let r = writer
        .post(
            "/api/v1/collections/readings/records",
            &json!({"subject_id": f.pia, "data": {"value": "x", "tag": "t"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    // The metadata (RFC 8414) points at the endpoint.
    let m = c.get("/.well-known/oauth-authorization-server").await;
    assert_eq!(m.status, 200, "{}", m.body);
    assert_eq!(m.json["token_endpoint"], c.url("/oauth/token"));
    assert_eq!(m.json["issuer"], c.url(""));
    assert_eq!(
        m.json["grant_types_supported"],
        json!(["client_credentials", "authorization_code", "refresh_token"])
    );
    assert_eq!(m.json["authorization_endpoint"], c.url("/oauth/authorize"));
}

async fn tokens_expire_die_with_the_client_and_secrets_rotate_with_an_overlap(b: Backend) {
    let mut f = fixture(b, |_| {}).await;
    let (id, client_id, old) =
        f.s.integration_client(&f.admin, "Rotating", &["records:read:readings"])
            .await;
    let c = f.s.client();
    let record = format!("/api/v1/records/{}", f.reading);
    let early = c.as_integration(&client_id, &old).await;
    assert_eq!(early.get(&record).await.status, 200);
    f.s.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    early
        .get(&record)
        .await
        .assert_problem(401, "unauthenticated");
    // The administrator's own token expired with it: log in again.
    f.relogin().await;

    // Rotation: the old secret works for the overlap, then not; the new one from the start.
    f.admin
        .post(
            &format!("/api/v1/clients/{id}/secret"),
            &json!({"overlap_seconds": 86_401}),
        )
        .await
        .assert_problem(400, "invalid_input");
    let r = f
        .admin
        .post(
            &format!("/api/v1/clients/{id}/secret"),
            &json!({"overlap_seconds": 3600}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let new = r.json["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    let grant = [("grant_type", "client_credentials")];
    assert_eq!(
        c.oauth_token(&grant, Some((&client_id, &old))).await.status,
        200
    );
    assert_eq!(
        c.oauth_token(&grant, Some((&client_id, &new))).await.status,
        200
    );
    let listed = f.admin.get(&format!("/api/v1/clients/{id}")).await;
    assert!(
        listed.json["previous_secret_until"].is_string(),
        "{}",
        listed.body
    );
    assert!(!listed.body.contains(&new) && !listed.body.contains(&old));
    f.s.clock.advance(Duration::seconds(3601));
    f.relogin().await;
    assert_eq!(
        c.oauth_token(&grant, Some((&client_id, &old))).await.status,
        401
    );
    let live = c.as_integration(&client_id, &new).await;
    assert_eq!(live.get(&record).await.status, 200);

    // Paged list, newest first.
    let (second, _, _) =
        f.s.integration_client(&f.admin, "Second", &["users:read"])
            .await;
    let page = f.admin.get("/api/v1/clients?limit=1").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.json[0]["id"], second.as_str());
    let next = page.next_page().expect("a next page");
    let rest = f.admin.get(&next).await;
    assert_eq!(rest.json[0]["id"], id.as_str(), "{}", rest.body);
    assert_eq!(rest.next_page(), None);

    // Deletion: the live token dies at once, no new one is issued, the log still names it.
    let r = f.admin.delete(&format!("/api/v1/clients/{id}")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    live.get(&record)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        c.oauth_token(&grant, Some((&client_id, &new))).await.status,
        401
    );
    f.admin
        .delete(&format!("/api/v1/clients/{id}"))
        .await
        .assert_problem(404, "not_found");
    let log = f
        .admin
        .get(&format!("/api/v1/privacy-log?subject_id={}", f.pia))
        .await;
    assert!(
        entries(&log.json, &format!("client:{client_id}"))
            .iter()
            .all(|e| e["actor"] == "Rotating"),
        "{}",
        log.body
    );
    let all = f.admin.get("/api/v1/privacy-log").await.json;
    let actions: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["object"] == format!("client/{id}"))
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["delete", "rotate_secret", "create"],
        "newest first"
    );
}

async fn the_token_endpoint_throttles_but_never_locks_a_client_out(b: Backend) {
    let f = fixture(b, |c| {
        c.auth.client_tokens_per_minute = 2;
        c.auth.token_requests_per_minute = 12;
    })
    .await;
    let (_, client_id, secret) =
        f.s.integration_client(&f.admin, "Busy", &["records:read:readings"])
            .await;
    let c = f.s.client();
    let grant = [("grant_type", "client_credentials")];
    // Wrong secrets are refused, and do not count against the client.
    for _ in 0..5 {
        assert_eq!(
            c.oauth_token(&grant, Some((&client_id, "srs_x")))
                .await
                .status,
            401
        );
    }
    for _ in 0..2 {
        assert_eq!(
            c.oauth_token(&grant, Some((&client_id, &secret)))
                .await
                .status,
            200
        );
    }
    // Tokens per client: the third within the minute waits.
    let r = c.oauth_token(&grant, Some((&client_id, &secret))).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json["error"], "slow_down");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Requests per address: this address has used 8 of its 12; then it is refused too.
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            c.oauth_token(&grant, Some((&client_id, "srs_x")))
                .await
                .status,
        );
    }
    assert_eq!(statuses[0], 401, "{statuses:?}");
    assert_eq!(statuses[7], 429, "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [401, 429].contains(s)),
        "{statuses:?}"
    );
}

both_backends!(
    scopes_decide_at_levels_two_and_three,
    the_token_endpoint_answers_as_rfc_6749_says,
    tokens_expire_die_with_the_client_and_secrets_rotate_with_an_overlap,
    the_token_endpoint_throttles_but_never_locks_a_client_out
);
