//! Test harness: starts the real server on port 0 against a fresh SQLite file or a fresh
//! PostgreSQL database, and talks to it over HTTP with a small typed client.
//!
//! PostgreSQL is found at `STRONGROOM_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test gets its own database, dropped
//! when the test's server is dropped.

pub mod client;
/// The test stores (a fresh PostgreSQL database per test, `Backend`, `both_backends!`): kept
/// beside the storage suite that uses them first, and shared here.
#[path = "../../store/tests/support/mod.rs"]
pub mod pg;
pub mod s3;
pub mod smtp;

pub use client::{Client, Resp};

use std::sync::Arc;
use strongroom::config::Config;
use strongroom_core::mail::Sent;
use strongroom_core::{ManualClock, Services};
use tokio::sync::broadcast;

pub use pg::Backend;

/// A running server, its data folder and database; all removed on drop.
pub struct TestServer {
    pub base: String,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub config: Config,
    pub dir: tempfile::TempDir,
    mail: broadcast::Receiver<Sent>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    db: Option<pg::PgDatabase>,
}

impl TestServer {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    /// Starts a server after `tweak` has adjusted the configuration.
    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        // Server logs go to the test's captured output; `RUST_LOG` widens them (default: warnings).
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| "warn".into()),
            )
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let db = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(pg::PgDatabase::create().await),
        };
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: db.as_ref().map(|d| d.url.clone()),
            ..Config::default()
        };
        tweak(&mut config);
        Self::launch(config, dir, db).await
    }

    /// Another server on the same database, data folder (key file, blobs) and configuration:
    /// a second instance, as behind a load balancer. It has its own clock; set both.
    pub async fn second_instance(&self) -> Self {
        let mut config = self.config.clone();
        config.listen = "127.0.0.1:0".parse().unwrap();
        Self::launch(config, tempfile::tempdir().expect("temp dir"), None).await
    }

    async fn launch(config: Config, dir: tempfile::TempDir, db: Option<pg::PgDatabase>) -> Self {
        config.validate().expect("valid test config");
        let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
        let app = strongroom::startup::build_with_clock(&config, clock.clone())
            .await
            .expect("server builds");
        let base = format!(
            "{}://{}",
            if app.tls() { "https" } else { "http" },
            app.addr
        );
        let services = app.services.clone();
        let mail = services.mailer.subscribe();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app.run(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            services,
            clock,
            config,
            dir,
            mail,
            shutdown: Some(tx),
            db,
        }
    }

    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Creates a tenant through the service layer (as `strongroom tenant create` does) and
    /// returns (slug, admin e-mail, admin password) with the password already changed so
    /// that the administrator can act at once.
    pub async fn tenant(&self, slug: &str) -> (String, String, String) {
        use secrecy::ExposeSecret;
        use strongroom_domain::{Email, Region, Slug, TenantName};
        let email = format!("admin@{slug}.example");
        let created = self
            .services
            .create_tenant(
                Slug::parse(slug).unwrap(),
                TenantName::parse(slug).unwrap(),
                Region::default(),
                Email::parse(&email).unwrap(),
                false,
                // As the demo's: tests of the required factor set it themselves.
                strongroom_domain::Roles::default(),
            )
            .await
            .expect("tenant created");
        let initial = created.admin_password.expose_secret().to_owned();
        let new = format!("{slug}-admin-passphrase-9f3k");
        let c = self.client();
        let r = c.login(slug, &email, &initial).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let c = c.with_token(r.json["access_token"].as_str().unwrap());
        let r = c
            .put(
                "/api/v1/me/password",
                &serde_json::json!({"current_password": initial, "new_password": new}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (slug.to_owned(), email, new)
    }

    /// Creates a user through the administrator's API and settles their initial password;
    /// returns (id, a client logged in as them, their password).
    pub async fn settled_user(
        &self,
        admin: &Client,
        tenant: &str,
        email: &str,
        roles: serde_json::Value,
    ) -> (String, Client, String) {
        let r = admin
            .post(
                "/api/v1/users",
                &serde_json::json!({"email": email, "name": format!("Name of {email}"), "roles": roles}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.json["id"].as_str().unwrap().to_owned();
        let initial = r.json["initial_password"].as_str().unwrap().to_owned();
        let (c, _) = self.client().logged_in(tenant, email, &initial).await;
        let pw = "a-settled-password-77x";
        let r = c
            .put(
                "/api/v1/me/password",
                &serde_json::json!({"current_password": initial, "new_password": pw}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        (
            id,
            c.with_token(r.json["access_token"].as_str().unwrap()),
            pw.to_owned(),
        )
    }

    /// Creates an integration client through the administrator's API; returns (id, client
    /// id, secret).
    pub async fn integration_client(
        &self,
        admin: &Client,
        name: &str,
        scopes: &[&str],
    ) -> (String, String, String) {
        let r = admin
            .post(
                "/api/v1/clients",
                &serde_json::json!({"name": name, "scopes": scopes}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let field = |k: &str| r.json[k].as_str().unwrap().to_owned();
        (field("id"), field("client_id"), field("client_secret"))
    }

    /// Verifies a tenant's privacy-log chain and checkpoints against the key file's audit
    /// key; the number of entries.
    ///
    /// # Errors
    /// Where the chain breaks, described.
    pub async fn verify_privacy_chain(&self, slug: &str) -> Result<u64, String> {
        let tenant = self
            .services
            .store
            .tenant_by_slug(&strongroom_domain::Slug::parse(slug).unwrap())
            .await
            .unwrap()
            .expect("tenant exists");
        let key = strongroom_crypto::sign::public_key(
            self.services
                .keyring
                .audit_signing_key()
                .expect("an audit key"),
        )
        .unwrap();
        strongroom_core::privacy::verify(&*self.services.store, tenant.id, Some(&key))
            .await
            .unwrap()
            .map_err(|b| format!("{b:?}"))
    }

    /// Waits until the server has sent its next mail (through any transport).
    pub async fn next_sent(&mut self) -> Sent {
        tokio::time::timeout(std::time::Duration::from_secs(10), self.mail.recv())
            .await
            .expect("a mail within 10 s")
            .expect("mail channel open")
    }

    /// Waits for the next mail written to the outbox and returns its raw text.
    pub async fn next_mail(&mut self) -> String {
        let file = self.next_sent().await.file.expect("outbox transport");
        std::fs::read_to_string(file).expect("outbox file readable")
    }

    /// Runs SQL directly against this server's database (to play an attacker with database
    /// access, or to inspect what is stored). Returns the rows changed.
    pub async fn raw_sql(&self, sql: &str) -> u64 {
        match &self.db {
            Some(db) => {
                use sqlx::Connection as _;
                let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&mut conn)
                    .await
                    .expect("raw SQL")
                    .rows_affected()
            }
            None => {
                let conn = rusqlite::Connection::open(self.sqlite_path()).expect("open SQLite");
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .unwrap();
                conn.execute(sql, []).expect("raw SQL") as u64
            }
        }
    }

    /// For every table with a `tenant_id` column, how many rows belong to `tenant`.
    pub async fn rows_of_tenant(&self, tenant: uuid::Uuid) -> Vec<(String, i64)> {
        match &self.db {
            Some(db) => {
                use sqlx::{Connection as _, Row as _};
                let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
                let tables: Vec<String> = sqlx::query(
                    "SELECT table_name::text FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = 'public' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect();
                let mut out = Vec::new();
                for t in tables {
                    let n: i64 = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT count(*) FROM {t} WHERE tenant_id = $1"
                    )))
                    .bind(tenant)
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
                    .get(0);
                    out.push((t, n));
                }
                out
            }
            None => {
                let conn = rusqlite::Connection::open(self.sqlite_path()).expect("open SQLite");
                let tables: Vec<String> = conn
                    .prepare("SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) p WHERE p.name = 'tenant_id') ORDER BY 1")
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                tables
                    .into_iter()
                    .map(|t| {
                        let n: i64 = conn
                            .query_row(
                                &format!("SELECT count(*) FROM {t} WHERE tenant_id = ?1"),
                                [tenant],
                                |r| r.get(0),
                            )
                            .unwrap();
                        (t, n)
                    })
                    .collect()
            }
        }
    }

    pub fn sqlite_path(&self) -> std::path::PathBuf {
        self.config.data_dir.join("strongroom.db")
    }

    /// Every byte the database holds: the SQLite file with its WAL, or a `pg_dump`.
    pub fn database_bytes(&self) -> Vec<u8> {
        match &self.db {
            Some(db) => {
                let out = std::process::Command::new("pg_dump")
                    .arg(&db.url)
                    .output()
                    .expect("pg_dump (postgresql-client) installed");
                assert!(
                    out.status.success(),
                    "pg_dump: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
            None => {
                let mut bytes = std::fs::read(self.sqlite_path()).unwrap();
                if let Ok(wal) = std::fs::read(self.sqlite_path().with_extension("db-wal")) {
                    bytes.extend(wal);
                }
                bytes
            }
        }
    }

    /// Mails sent so far that nobody has read (without waiting).
    pub fn pending_mails(&mut self) -> usize {
        let mut n = 0;
        while self.mail.try_recv().is_ok() {
            n += 1;
        }
        n
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// The password-reset token (`srp_…`) in a reset mail.
pub fn reset_token(mail: &str) -> String {
    let start = mail.find("srp_").expect("a reset token in the mail");
    mail.get(start..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

/// A port the OS says is free now, to hand to a helper server.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (at most 10 s) until a helper server accepts connections on `port`.
pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not listen on port {port}");
}
