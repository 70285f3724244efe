//! The `strongroom` binary as an operator runs it: real process, real files, real signals.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::too_many_lines,
    reason = "tests read as scenarios; helpers outside #[test] functions should stop the test loudly"
)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Child, Command, Stdio};
use strongroom_testkit::pg::PgDatabase;
use strongroom_testkit::{Backend, Client, both_backends};

const BIN: &str = env!("CARGO_BIN_EXE_strongroom");

fn strongroom(dir: &std::path::Path, db: Option<&PgDatabase>) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir")
        .arg(dir)
        .env("STRONGROOM_LOG__FORMAT", "json")
        .env_remove("RUST_LOG");
    if let Some(db) = db {
        c.env("STRONGROOM_DATABASE_URL", &db.url);
    }
    c
}

async fn database(b: Backend) -> Option<PgDatabase> {
    match b {
        Backend::Sqlite => None,
        Backend::Postgres => Some(PgDatabase::create().await),
    }
}

/// A running `strongroom serve`, its address read from the line it prints when ready.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(cmd: &mut Command) -> Server {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn strongroom");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("server printed its address before exiting")
                .unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.to_owned();
            }
        };
        Server { child, base }
    }

    /// SIGTERM, then the exit status and everything logged.
    fn stop(self) -> (std::process::ExitStatus, String) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let out = self.child.wait_with_output().unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// `serve` with TLS says so: `listening on https://…` (here the self-signed first try, whose
/// certificate lands in the data folder).
#[test]
fn serve_with_tls_listens_on_https() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        strongroom(dir.path(), None)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("STRONGROOM_TLS__SELF_SIGNED", "true"),
    );
    assert!(
        server.base.starts_with("https://127.0.0.1:"),
        "{}",
        server.base
    );
    assert!(dir.path().join("tls/self-signed.crt").exists());
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    assert!(log.contains("SELF-SIGNED TLS CERTIFICATE"), "{log}");
}

async fn tenant_create_prints_a_working_one_time_password(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(b).await;
    let out = strongroom(dir.path(), db.as_ref())
        .args([
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme B.V.",
            "--admin-email",
            "Boss@Acme.example",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let password = v["admin_password"].as_str().unwrap().to_owned();
    assert!(v["tenant_id"].is_string() && v["admin_user_id"].is_string());
    assert_eq!(password.len(), 24);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(&password),
        "the password is printed once, on stdout only"
    );

    let again = strongroom(dir.path(), db.as_ref())
        .args([
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "Other",
            "--admin-email",
            "x@acme.example",
        ])
        .output()
        .unwrap();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let bad = strongroom(dir.path(), db.as_ref())
        .args([
            "tenant",
            "create",
            "--slug",
            "Not A Slug",
            "--name",
            "X",
            "--admin-email",
            "x@acme.example",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--slug"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    let server = Server::start(strongroom(dir.path(), db.as_ref()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]));
    let c = Client::new(&server.base);
    let (admin, _) = c.logged_in("acme", "boss@acme.example", &password).await;
    assert_eq!(
        admin.get("/api/v1/me").await.json["must_change_password"],
        true
    );
    admin
        .get("/api/v1/users")
        .await
        .assert_problem(403, "password_change_required");
    let (status, _) = server.stop();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_logs_in_within_a_minute_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(strongroom(dir.path(), None).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
    ]));
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let tenants = creds["tenants"].as_array().unwrap();
    assert_eq!(
        tenants
            .iter()
            .map(|t| t["slug"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["demo", "other"]
    );
    let c = Client::new(&server.base);
    let mut secrets = Vec::new();
    for t in tenants {
        let users = t["users"].as_array().unwrap();
        let roles: Vec<&str> = users
            .iter()
            .map(|u| u["roles"][0].as_str().unwrap())
            .collect();
        assert_eq!(
            roles,
            ["administrator", "coach", "participant", "participant"]
        );
        for u in users {
            let (me, refresh) = c
                .logged_in(
                    t["slug"].as_str().unwrap(),
                    u["email"].as_str().unwrap(),
                    u["password"].as_str().unwrap(),
                )
                .await;
            let r = me.get("/api/v1/me").await;
            assert_eq!(
                (
                    r.json["tenant"].as_str(),
                    r.json["must_change_password"].as_bool()
                ),
                (t["slug"].as_str(), Some(false))
            );
            secrets.push(u["password"].as_str().unwrap().to_owned());
            secrets.push(u["email"].as_str().unwrap().to_owned());
            secrets.push(refresh);
        }
    }
    // The demo administrator sees the four people of their tenant.
    let demo_admin = &tenants[0]["users"][0];
    let (admin, _) = c
        .logged_in(
            "demo",
            demo_admin["email"].as_str().unwrap(),
            demo_admin["password"].as_str().unwrap(),
        )
        .await;
    assert_eq!(
        admin
            .get("/api/v1/users")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        4
    );
    c.login("demo", "participant1@demo.example", "a-wrong-password")
        .await
        .assert_problem(401, "invalid_credentials");
    assert_eq!(
        c.post(
            "/api/v1/auth/forgot",
            &json!({"tenant": "demo", "email": "coach@demo.example"})
        )
        .await
        .status,
        202
    );

    let (status, logs) = server.stop();
    assert!(status.success(), "graceful shutdown exits 0");
    assert!(logs.contains("server stopped"));
    for line in logs.lines() {
        serde_json::from_str::<Value>(line)
            .unwrap_or_else(|_| panic!("structured JSON log line: {line}"));
    }
    for s in &secrets {
        assert!(
            !logs.contains(s.as_str()),
            "a secret or an e-mail address reached the log"
        );
    }
    assert!(!logs.contains("a-wrong-password"));

    // Restarting in demo mode keeps the tenants and the credentials.
    let server = Server::start(strongroom(dir.path(), None).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
    ]));
    let again: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(again, creds);
    let (status, _) = server.stop();
    assert!(status.success());
}

#[test]
fn refuses_plain_http_beyond_loopback_and_names_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    let out = strongroom(dir.path(), None)
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("behind_proxy") && err.contains("loopback"),
        "{err}"
    );

    let out = strongroom(dir.path(), None)
        .args(["serve"])
        .env("STRONGROOM_LISTNE", "127.0.0.1:1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listne"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = strongroom(dir.path(), None)
        .args(["--config", "/nonexistent/strongroom.toml", "serve"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist"));

    std::fs::write(dir.path().join("bad.toml"), "listen = 8080\n").unwrap();
    let out = strongroom(dir.path(), None)
        .args(["--config"])
        .arg(dir.path().join("bad.toml"))
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("listen"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let no_db = format!("{}_no_such_database", strongroom_testkit::pg::admin_url());
    let out = strongroom(dir.path(), None)
        .args(["serve"])
        .env("STRONGROOM_DATABASE_URL", &no_db)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open the database"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn key_file_init_and_clear_errors_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str], passphrase: Option<&str>| {
        let mut c = strongroom(dir.path(), None);
        c.args(args).stdin(Stdio::null());
        if let Some(p) = passphrase {
            c.env("STRONGROOM_PASSPHRASE", p);
        }
        let out = c.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // Operator commands never create keys: without a key file they refuse.
    for args in [
        &["audit", "verify"][..],
        &["keys", "export", "--out", "/tmp/never-written.age"][..],
        &["keys", "rotate", "--tenant", "acme"][..],
    ] {
        let (ok, _, err) = run(args, None);
        assert!(
            !ok && err.contains("there is no key file"),
            "{args:?}: {err}"
        );
    }
    assert!(
        !dir.path().join("strongroom.key").exists() && !dir.path().join("dev-passphrase").exists()
    );
    let (ok, _, err) = run(&["init"], Some("short"));
    assert!(!ok && err.contains("at least 12 characters"), "{err}");
    let (ok, _, err) = run(&["init"], None);
    assert!(!ok && err.contains("STRONGROOM_PASSPHRASE"), "{err}");

    // Passphrase given but no key file yet: told to run init, nothing created.
    let (ok, _, err) = run(
        &[
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "A",
            "--admin-email",
            "a@acme.example",
        ],
        Some("a long production passphrase"),
    );
    assert!(!ok && err.contains("strongroom init"), "{err}");
    assert!(
        !dir.path().join("strongroom.db").exists(),
        "the keys are checked before the database is touched"
    );

    let (ok, out, err) = run(&["init"], Some("a long production passphrase"));
    assert!(ok, "{err}");
    assert!(out.contains("strongroom.key"));
    let key_file = dir.path().join("strongroom.key");
    let bytes = std::fs::read(&key_file).unwrap();
    assert!(
        bytes.starts_with(b"age-encryption.org/v1\n-> scrypt "),
        "an age file with a passphrase stanza"
    );
    assert_eq!(
        std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        !dir.path().join("dev-passphrase").exists(),
        "production passphrases are never stored"
    );
    let (ok, _, err) = run(&["init"], Some("a long production passphrase"));
    assert!(!ok && err.contains("never overwrites"), "{err}");

    let (ok, out, err) = run(
        &[
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "A",
            "--admin-email",
            "a@acme.example",
        ],
        Some("a long production passphrase"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("admin_password"));

    let (ok, _, err) = run(
        &["serve", "--listen", "127.0.0.1:0"],
        Some("not the passphrase at all"),
    );
    assert!(!ok && err.contains("does not open the key file"), "{err}");
    let (ok, _, err) = run(&["serve", "--listen", "127.0.0.1:0"], None);
    assert!(!ok && err.contains("needs its passphrase"), "{err}");

    let mut damaged = bytes.clone();
    let at = damaged.len() - 10;
    damaged[at] ^= 0x40;
    std::fs::write(&key_file, &damaged).unwrap();
    let (ok, _, err) = run(
        &["serve", "--listen", "127.0.0.1:0"],
        Some("a long production passphrase"),
    );
    assert!(!ok && err.contains("damaged"), "{err}");
    assert!(
        !err.contains("a long production passphrase"),
        "the passphrase never appears in messages"
    );
}

/// Root and tenant key rotation on a live data set: the data stays readable at every step,
/// the old passphrase stops working, and the end state holds one root and one KEK version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotate_root_and_tenant_keep_the_data_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = ("the first long passphrase", "the second long passphrase");
    let run = |args: &[&str], passphrase: &str| {
        let out = strongroom(dir.path(), None)
            .args(args)
            .env("STRONGROOM_PASSPHRASE", passphrase)
            .env("STRONGROOM_NEW_PASSPHRASE", new)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    run(&["init"], old);
    let created: Value = serde_json::from_str(
        run(
            &[
                "tenant",
                "create",
                "--slug",
                "acme",
                "--name",
                "Acme",
                "--admin-email",
                "boss@acme.example",
                // This test is about keys: its administrator acts without a second factor.
                "--require-totp-roles=",
            ],
            old,
        )
        .lines()
        .next()
        .unwrap(),
    )
    .unwrap();
    let initial = created["admin_password"].as_str().unwrap().to_owned();

    let serve = |passphrase: &str| {
        Server::start(
            strongroom(dir.path(), None)
                .args(["serve", "--listen", "127.0.0.1:0"])
                .env("STRONGROOM_PASSPHRASE", passphrase),
        )
    };
    let server = serve(old);
    let (admin, _) = Client::new(&server.base)
        .logged_in("acme", "boss@acme.example", &initial)
        .await;
    let r = admin
        .put(
            "/api/v1/me/password",
            &json!({"current_password": initial, "new_password": "boss-has-a-long-password"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let admin = admin.with_token(r.json["access_token"].as_str().unwrap());
    for i in 0..5 {
        let r = admin.post("/api/v1/users", &json!({"email": format!("rita{i}@example.com"), "name": format!("Rita Rotation {i}"), "roles": ["participant"]})).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    server.stop();

    let names_seen_by = |c: Client| async move {
        let users = c.get("/api/v1/users").await;
        let names: Vec<String> = users
            .json
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .filter_map(|u| u["name"].as_str().map(str::to_owned))
            .collect();
        assert_eq!(names.len(), 6, "{}", users.body);
        assert!(names.iter().any(|n| n == "Rita Rotation 4"));
    };
    let check = |passphrase: &'static str| async move {
        let server = serve(passphrase);
        let (c, _) = Client::new(&server.base)
            .logged_in("acme", "boss@acme.example", "boss-has-a-long-password")
            .await;
        names_seen_by(c).await;
        server.stop();
    };

    // A server started before the rotations keeps serving through them.
    let running = serve(old);
    let (live, _) = Client::new(&running.base)
        .logged_in("acme", "boss@acme.example", "boss-has-a-long-password")
        .await;
    names_seen_by(live.clone()).await;

    let out = run(&["keys", "rotate", "--root"], old);
    assert!(
        out.contains("--finish") && out.contains("tenants: 1/1"),
        "{out}"
    );
    let refused = strongroom(dir.path(), None)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("STRONGROOM_PASSPHRASE", old)
        .output()
        .unwrap();
    assert!(
        !refused.status.success(),
        "the old passphrase no longer opens the key file"
    );
    names_seen_by(live.clone()).await;
    check(new).await;
    // Resumable: running it again changes nothing and still succeeds.
    assert!(run(&["keys", "rotate", "--root"], new).contains("0 tenant key wrappings added"));

    let out = run(&["keys", "rotate", "--tenant", "acme"], new);
    assert!(
        out.contains("version 2") && out.contains("6 subject keys re-wrapped"),
        "{out}"
    );
    // The running server meets KEK version 2, reloads the tenant's keys, and still reads.
    names_seen_by(live.clone()).await;
    let r = live
        .post(
            "/api/v1/users",
            &json!({"email": "late@example.com", "name": "Late Arrival", "roles": ["coach"]}),
        )
        .await;
    assert_eq!(
        r.status, 201,
        "a user created during the rotation: {}",
        r.body
    );
    running.stop();
    let out = run(&["keys", "rotate", "--tenant", "acme"], new);
    assert!(out.contains("version 3"), "{out}");

    let out = run(&["keys", "rotate", "--root", "--finish"], new);
    assert!(out.contains("finished"), "{out}");
    let server = serve(new);
    let (c, _) = Client::new(&server.base)
        .logged_in("acme", "boss@acme.example", "boss-has-a-long-password")
        .await;
    let users = c.get("/api/v1/users").await;
    assert_eq!(
        users
            .json
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["name"].is_string())
            .count(),
        7,
        "{}",
        users.body
    );
    server.stop();

    let db = rusqlite::Connection::open(dir.path().join("strongroom.db")).unwrap();
    let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    assert_eq!(
        count("SELECT COUNT(DISTINCT root_key_id) FROM tenant_keys"),
        1,
        "one root wraps everything"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM tenant_keys WHERE purpose = 'kek'"),
        1,
        "the old KEK is retired"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM subject_keys WHERE kek_version <> 3"),
        0
    );
}

async fn keys_export_holds_live_keys_only(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(b).await;
    let server = Server::start(strongroom(dir.path(), db.as_ref()).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
    ]));
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    let admin_creds = &creds["tenants"][0]["users"][0];
    let (admin, _) = Client::new(&server.base)
        .logged_in(
            "demo",
            admin_creds["email"].as_str().unwrap(),
            admin_creds["password"].as_str().unwrap(),
        )
        .await;
    let users = admin.get("/api/v1/users").await;
    let gone = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "participant2@demo.example")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        admin.delete(&format!("/api/v1/users/{gone}")).await.status,
        204
    );
    server.stop();

    let file = dir.path().join("keys.age");
    let export = |passphrase: &str| {
        strongroom(dir.path(), db.as_ref())
            .args(["keys", "export", "--out"])
            .arg(&file)
            .env("STRONGROOM_KEY_BACKUP_PASSPHRASE", passphrase)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = export("a key backup passphrase");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("2 tenants and 7 subject keys"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !export("a key backup passphrase").status.success(),
        "never overwrites a backup"
    );
    let sealed = std::fs::read(&file).unwrap();
    let wrong = strongroom_crypto::keyfile::open_with_passphrase(
        &sealed,
        &secrecy::SecretString::from("another passphrase".to_owned()),
    );
    assert!(wrong.is_err());
    let json = strongroom_crypto::keyfile::open_with_passphrase(
        &sealed,
        &secrecy::SecretString::from("a key backup passphrase".to_owned()),
    )
    .unwrap();
    let backup: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(backup["format"], "strongroom-key-backup");
    let subjects: Vec<&str> = backup["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["subject_keys"].as_array().unwrap())
        .map(|k| k["subject_id"].as_str().unwrap())
        .collect();
    assert_eq!(subjects.len(), 7);
    assert!(
        !subjects.contains(&gone.as_str()),
        "a destroyed key is not in the backup"
    );
    assert!(
        backup["tenants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["tenant_keys"].as_array().unwrap().len() == 2)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_verify_exits_1_and_names_the_first_bad_entry() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(strongroom(dir.path(), None).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
    ]));
    let creds: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("demo-credentials.json")).unwrap(),
    )
    .unwrap();
    for t in creds["tenants"].as_array().unwrap() {
        let u = &t["users"][0];
        let (admin, _) = Client::new(&server.base)
            .logged_in(
                t["slug"].as_str().unwrap(),
                u["email"].as_str().unwrap(),
                u["password"].as_str().unwrap(),
            )
            .await;
        assert_eq!(admin.get("/api/v1/users").await.status, 200);
    }
    server.stop();
    let verify = |tenant: Option<&str>| {
        let mut c = strongroom(dir.path(), None);
        c.args(["audit", "verify"]);
        if let Some(t) = tenant {
            c.args(["--tenant", t]);
        }
        let out = c.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = verify(None);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("tenant demo: 4 entries, chain intact")
            && out.contains("tenant other: 4 entries, chain intact"),
        "{out}"
    );

    let db = rusqlite::Connection::open(dir.path().join("strongroom.db")).unwrap();
    let changed = db
        .execute("UPDATE privacy_log SET fields = 'name' WHERE seq = 3 AND tenant_id = (SELECT tenant_id FROM tenants WHERE slug = 'other')", [])
        .unwrap();
    assert_eq!(changed, 1);
    let (code, out) = verify(None);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("tenant other: BROKEN at entry 3")
            && out.contains("tenant demo: 4 entries, chain intact"),
        "{out}"
    );
    assert_eq!(verify(Some("demo")).0, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_run_plans_runs_and_rehearses_with_now() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(strongroom(dir.path(), None).args([
        "serve",
        "--demo",
        "--listen",
        "127.0.0.1:0",
    ]));
    server.stop();
    // One demo participant's licence expired on 2030-01-01.
    let db = rusqlite::Connection::open(dir.path().join("strongroom.db")).unwrap();
    let expiry_ms: i64 = 1_893_456_000_000;
    let changed = db
        .execute(
            "UPDATE users SET license_expires_at = ?1 WHERE user_id = (SELECT user_id FROM users WHERE roles = 'participant' LIMIT 1)",
            [expiry_ms],
        )
        .unwrap();
    assert_eq!(changed, 1);
    let run = |args: &[&str]| {
        let out = strongroom(dir.path(), None)
            .args(["retention", "run"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .collect::<Vec<_>>()
    };
    let jobs = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))
            .unwrap()
    };
    // Before expiry: nothing due.
    assert!(run(&["--now", "2029-12-31T00:00:00Z", "--dry-run"]).is_empty());
    // A rehearsal on day 40: hide and notice due, deletion scheduled; nothing written.
    let plan = run(&["--now", "2030-02-10T00:00:00Z", "--dry-run"]);
    let states: Vec<(String, String)> = plan
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("retention.hide".to_owned(), "due".to_owned()),
            ("retention.notice".to_owned(), "due".to_owned()),
            (
                "retention.delete_recordings".to_owned(),
                "scheduled".to_owned()
            ),
        ]
    );
    assert_eq!(jobs(&db), 0, "a dry run writes nothing");
    // The real run on day 40 does hide and notice; the rehearsal then shows them done.
    let ran = run(&["--now", "2030-02-10T00:00:00Z"]);
    let kinds: Vec<&str> = ran.iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["retention.hide", "retention.notice"]);
    let plan = run(&["--now", "2030-02-10T00:00:00Z", "--dry-run"]);
    assert_eq!(plan[0]["state"], "done");
    assert_eq!(plan[2]["state"], "pending");
    // Again: nothing runs twice.
    assert!(run(&["--now", "2030-02-10T00:00:00Z"]).is_empty());
    let out = strongroom(dir.path(), None)
        .args(["retention", "run", "--now", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--now: give an RFC 3339 time"));

    // The operator sets the end of tenant "other"'s agreement; 45 days later it is destroyed.
    let agreement = |args: &[&str]| {
        strongroom(dir.path(), None)
            .args(["tenant", "agreement", "--slug", "other"])
            .args(args)
            .output()
            .unwrap()
    };
    let out = agreement(&["--ends", "2030-01-01T00:00:00Z"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("destroyed 45 days later"));
    assert!(!agreement(&["--ends", "soon"]).status.success());
    let plan = run(&["--now", "2030-02-14T00:00:00Z", "--dry-run"]);
    assert!(
        plan.iter()
            .any(|p| p["kind"] == "retention.destroy_tenant" && p["state"] == "scheduled")
    );
    let ran = run(&["--now", "2030-02-15T00:00:00Z"]);
    assert!(
        ran.iter().any(|r| r["kind"] == "retention.destroy_tenant"
            && r["outcome"].as_str().unwrap().starts_with("destroyed")),
        "{ran:?}"
    );
    let left: i64 = db
        .query_row(
            "SELECT count(*) FROM tenants WHERE slug = 'other'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0);
    let out = agreement(&["--open-ended"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant other"));
}

/// `backup run` and `restore` as an operator runs them: a snapshot of one installation
/// restored into a new data folder holding only the key file (and, on PostgreSQL, into an
/// empty database), where `audit verify` passes; a restore into a place that holds data is
/// refused.
async fn backup_run_list_and_restore_into_a_new_data_folder(b: Backend) {
    let (dir, target) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = database(b).await;
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON on stdout")
    };
    ok(strongroom(dir.path(), db.as_ref())
        .args([
            "tenant",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--admin-email",
            "a@acme.example",
        ])
        .output()
        .unwrap());
    let to = format!("file://{}", target.path().display());
    let run = ok(strongroom(dir.path(), db.as_ref())
        .args(["backup", "run", "--to", &to, "--tag", "daily"])
        .output()
        .unwrap());
    assert!(run["bytes_new"].as_u64().unwrap() > 0, "{run}");
    let list = ok(strongroom(dir.path(), db.as_ref())
        .args(["backup", "list", "--to", &to])
        .output()
        .unwrap());
    assert_eq!(list[0]["snapshot"], run["snapshot"]);
    assert_eq!(list[0]["tags"], json!(["daily"]));
    let pruned = ok(strongroom(dir.path(), db.as_ref())
        .args([
            "backup",
            "prune",
            "--to",
            &to,
            "--keep-last",
            "1",
            "--dry-run",
        ])
        .output()
        .unwrap());
    assert_eq!(pruned["kept"], json!([run["snapshot"]]));
    let refused = strongroom(dir.path(), db.as_ref())
        .args(["backup", "prune", "--to", &to, "--keep-daily", "0"])
        .output()
        .unwrap();
    assert!(!refused.status.success(), "an empty policy deletes nothing");

    // A new data folder with the operator's key file (and, in development mode, its
    // passphrase file) in place, and nothing else.
    let new = tempfile::tempdir().unwrap();
    for f in ["strongroom.key", "dev-passphrase"] {
        std::fs::copy(dir.path().join(f), new.path().join(f)).unwrap();
    }
    let new_db = database(b).await;
    let restored = ok(strongroom(new.path(), new_db.as_ref())
        .args(["restore", "--from", &to, "--snapshot", "latest"])
        .output()
        .unwrap());
    assert_eq!(restored["snapshot"], run["snapshot"]);
    let verify = strongroom(new.path(), new_db.as_ref())
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).contains("tenant acme"));
    // The server starts on the restored installation with the operator's key file.
    let server = Server::start(strongroom(new.path(), new_db.as_ref()).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
    ]));
    let r = Client::new(&server.base).get("/healthz").await;
    assert_eq!(r.status, 200);
    let (status, log) = server.stop();
    assert!(status.success(), "{log}");
    // Again into the same place: refused.
    let again = strongroom(new.path(), new_db.as_ref())
        .args(["restore", "--from", &to])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2), "a refusal that wrote nothing");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("empty"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // A data folder that holds more than the key file: refused, nothing written.
    if b == Backend::Sqlite {
        let stray = tempfile::tempdir().unwrap();
        for f in ["strongroom.key", "dev-passphrase"] {
            std::fs::copy(dir.path().join(f), stray.path().join(f)).unwrap();
        }
        std::fs::write(stray.path().join("notes.txt"), "mine").unwrap();
        let refused = strongroom(stray.path(), None)
            .args(["restore", "--from", &to])
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(2));
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("notes.txt"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert!(
            !stray.path().join("strongroom.db").exists(),
            "nothing written"
        );
    }

    // Verification, and each kind of damage named (exit 1).
    let verify = |args: &[&str]| {
        let mut all = vec!["backup", "verify", "--to", &to];
        all.extend_from_slice(args);
        strongroom(dir.path(), db.as_ref())
            .args(&all)
            .output()
            .unwrap()
    };
    let drill = ok(verify(&["--read-data"]));
    assert_eq!(drill["ok"], true, "{drill}");
    assert!(
        drill["rows"].as_u64().unwrap() > 0 && drill["log_entries"].is_u64(),
        "{drill}"
    );
    // The drill is recorded in the live store, as the restore is in the restored one.
    let live = strongroom_store::open(&db.as_ref().map_or_else(
        || format!("sqlite://{}", dir.path().join("strongroom.db").display()),
        |d| d.url.clone(),
    ))
    .await
    .unwrap();
    let drill_row = live
        .last_backup_run("drill", true)
        .await
        .unwrap()
        .expect("a drill recorded");
    assert_eq!(drill_row.snapshot.as_deref(), run["snapshot"].as_str());
    assert!(
        live.last_backup_run("backup", true)
            .await
            .unwrap()
            .is_some()
    );
    drop(live);
    let chunks: Vec<_> = std::fs::read_dir(target.path().join("chunks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let damaged = |out: std::process::Output, names: &str| {
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
            panic!("no JSON; stderr: {}", String::from_utf8_lossy(&out.stderr))
        });
        assert_eq!(v["ok"], false);
        assert!(v["problem"].as_str().unwrap().contains(names), "{v}");
    };
    let original = std::fs::read(&chunks[0]).unwrap();
    let name = chunks[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut flipped = original.clone();
    flipped[20] ^= 1;
    std::fs::write(&chunks[0], &flipped).unwrap();
    assert_eq!(
        ok(verify(&[]))["ok"],
        true,
        "sizes alone do not see a flipped byte"
    );
    damaged(verify(&["--read-data"]), &name);
    std::fs::remove_file(&chunks[0]).unwrap();
    damaged(verify(&[]), &format!("chunk {name} is missing"));
    std::fs::write(&chunks[0], &original).unwrap();
    // Two chunks swapped: the first of them in the manifest's order is named.
    let other = std::fs::read(&chunks[1]).unwrap();
    let other_name = chunks[1]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    std::fs::write(&chunks[0], &other).unwrap();
    std::fs::write(&chunks[1], &original).unwrap();
    let out = verify(&["--read-data"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problem = v["problem"].as_str().unwrap();
    assert!(
        problem.contains(&name) || problem.contains(&other_name),
        "{problem}"
    );
    std::fs::write(&chunks[0], &original).unwrap();
    std::fs::write(&chunks[1], &other).unwrap();
    assert_eq!(
        ok(verify(&["--read-data"]))["ok"],
        true,
        "put back, it holds"
    );
    let manifest = std::fs::read_dir(target.path().join("snapshots"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let sealed = std::fs::read(&manifest).unwrap();
    std::fs::write(&manifest, &sealed[..sealed.len() - 1]).unwrap();
    damaged(verify(&[]), "manifest");
}

/// The operator's support commands as processes: `superuser add` prints a one-time password
/// (and creates the tenant `operator`), `support break-glass` opens a marked read grant on a
/// tenant and refuses more than 240 minutes, `superuser review` refuses one that leaves a
/// superuser undecided and records one that does not, and `superuser list` shows it all.
async fn superuser_and_break_glass_commands(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = database(b).await;
    let run = |args: &[&str]| {
        strongroom(dir.path(), db.as_ref())
            .args(args)
            .output()
            .unwrap()
    };
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).expect("JSON on stdout")
    };
    ok(run(&[
        "tenant",
        "create",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--admin-email",
        "a@acme.example",
    ]));
    let added = ok(run(&[
        "superuser",
        "add",
        "--email",
        "sam@vendor.example",
        "--name",
        "Sam Support",
    ]));
    assert!(added["superuser_id"].is_string() && added["initial_password"].is_string());
    let refused = run(&[
        "support",
        "break-glass",
        "--tenant",
        "acme",
        "--superuser",
        "sam@vendor.example",
        "--reason",
        "outage",
        "--minutes",
        "241",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("240"));
    let grant = ok(run(&[
        "support",
        "break-glass",
        "--tenant",
        "acme",
        "--superuser",
        "sam@vendor.example",
        "--reason",
        "outage",
        "--minutes",
        "60",
    ]));
    assert_eq!(grant["break_glass"], true);
    assert_eq!(grant["kind"], "read");
    assert_eq!(grant["superuser"], "Sam Support");
    let undecided = run(&["superuser", "review", "--reviewer", "Chief", "--keep"]);
    assert!(
        !undecided.status.success(),
        "clap wants at least one address"
    );
    ok(run(&[
        "superuser",
        "add",
        "--email",
        "ria@vendor.example",
        "--name",
        "Ria",
    ]));
    let undecided = run(&[
        "superuser",
        "review",
        "--reviewer",
        "Chief",
        "--keep",
        "sam@vendor.example",
    ]);
    assert!(!undecided.status.success());
    assert!(String::from_utf8_lossy(&undecided.stderr).contains("undecided"));
    ok(run(&[
        "superuser",
        "review",
        "--reviewer",
        "Chief",
        "--keep",
        "sam@vendor.example",
        "--remove",
        "ria@vendor.example",
    ]));
    let list = ok(run(&["superuser", "list"]));
    let sam = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "sam@vendor.example")
        .unwrap();
    assert_eq!(sam["grants_90d"], 1, "{list}");
    assert_eq!(sam["review_overdue"], false);
    assert!(sam["last_review_at"].is_string());
    let ria = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["email"] == "ria@vendor.example")
        .unwrap();
    assert_eq!(ria["status"], "disabled", "{list}");

    // The vendor's apps: registered once, listed, a bad redirect URI refused.
    let app = ok(run(&[
        "app",
        "add",
        "--name",
        "Vendor mobile",
        "--redirect-uri",
        "com.vendor.mobile:/oauth",
        "--redirect-uri",
        "http://127.0.0.1/callback",
    ]));
    let client_id = app["client_id"].as_str().unwrap().to_owned();
    assert!(
        client_id.starts_with("sri_AAAAAAAAAAAAAAAAAAAAAA_"),
        "{app}"
    );
    let listed = run(&["app", "list"]);
    assert!(listed.status.success());
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&client_id));
    let bad = run(&[
        "app",
        "add",
        "--name",
        "X",
        "--redirect-uri",
        "http://app.example/cb",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("loopback"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );

    // The registers' operator commands.
    let p = ok(run(&[
        "processor",
        "add",
        "--name",
        "Hetzner",
        "--purpose",
        "hosting",
        "--location",
        "DE",
        "--data-category",
        "all data, encrypted",
        "--dpa-signed-on",
        "2026-01-15",
    ]));
    assert_eq!(p["scope"], "operator");
    assert!(
        !run(&[
            "processor",
            "add",
            "--name",
            "X",
            "--purpose",
            "p",
            "--location",
            "Germany",
            "--data-category",
            "a",
        ])
        .status
        .success()
    );
    let breach = ok(run(&[
        "breach",
        "open",
        "--tenant",
        "acme",
        "--title",
        "Stolen laptop",
        "--aware-at",
        "2026-11-30T08:00:00Z",
        "--nature",
        "theft",
        "--data-category",
        "names",
        "--consequences",
        "phishing",
        "--measures",
        "disk encrypted",
    ]));
    assert_eq!(breach["status"], "open");
    assert_eq!(breach["deadline_at"], "2026-12-03T08:00:00Z");
    assert!(
        !run(&[
            "breach",
            "open",
            "--tenant",
            "acme",
            "--title",
            "t",
            "--aware-at",
            "yesterday",
            "--nature",
            "n",
            "--data-category",
            "a",
            "--consequences",
            "c",
            "--measures",
            "m",
        ])
        .status
        .success()
    );
}

both_backends!(
    superuser_and_break_glass_commands,
    backup_run_list_and_restore_into_a_new_data_folder,
    tenant_create_prints_a_working_one_time_password,
    keys_export_holds_live_keys_only
);
