//! Configuration: built-in defaults, then a TOML file, then `STRONGROOM_*` environment
//! variables (nested keys with `__`, e.g. `STRONGROOM_MAIL__SMTP_URL`), then command-line flags.
//! Unknown keys are errors, and every check says what to fix.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the embedded defaults live: SQLite file, mail outbox, demo credentials.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// `sqlite://PATH` or `postgres://…`; default `sqlite://<data_dir>/strongroom.db`.
    pub database_url: Option<String>,
    /// The key file (root keys, encrypted under the operator's passphrase); default
    /// `<data_dir>/strongroom.key`. Keep a copy in a safe place: without it nothing opens.
    pub key_file: Option<PathBuf>,
    /// Where encrypted files go: `file://DIR` or `s3://BUCKET[/PREFIX]`; default
    /// `file://<data_dir>/blobs`.
    pub blob_url: Option<String>,
    pub blobs: BlobConfig,
    /// A TLS-terminating reverse proxy fronts the server: allows a non-loopback listen address
    /// and trusts the last `X-Forwarded-For` entry as the client address.
    pub behind_proxy: bool,
    pub mail: MailConfig,
    pub auth: AuthConfig,
    pub retention: RetentionConfig,
    pub support: SupportConfig,
    pub processors: ProcessorsConfig,
    pub disclosure: DisclosureConfig,
    pub backup: BackupConfig,
    pub tls: TlsConfig,
    pub log: LogConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// The certificate chain (PEM), leaf first; replaced on disk, it is served from the next
    /// handshake on.
    pub cert_file: Option<PathBuf>,
    /// Its private key (PEM).
    pub key_file: Option<PathBuf>,
    /// `"1.3"` (the default: TLS 1.3 only) or `"1.2"`.
    pub min_version: String,
    /// Generate a self-signed certificate into `<data_dir>/tls/` (a first try only).
    pub self_signed: bool,
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            cert_file: None,
            key_file: None,
            min_version: "1.3".into(),
            self_signed: false,
        }
    }
}

impl TlsConfig {
    /// Whether `serve` speaks TLS.
    pub fn enabled(&self) -> bool {
        self.cert_file.is_some() || self.self_signed
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    /// Where snapshots go: `file:///abs/path` or `s3://bucket/prefix` (with the `blobs.s3_*`
    /// settings); `--to` / `--from` override it.
    pub target: Option<String>,
    /// Which snapshots `backup prune` keeps: `{last, hourly, daily, weekly, monthly}` counts
    /// (restic's semantics); default `daily = 30`.
    pub keep: strongroom_core::backup::Keep,
    /// `serve` takes a snapshot every so often, then prunes (0: no schedule, the default).
    pub interval_secs: u64,
    /// For an `s3://` target on another server than the blobs': its own endpoint and keys
    /// (each unset one falls back to `blobs.s3_*`).
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_allow_http: Option<bool>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BlobConfig {
    /// Largest file one upload may store, in MiB.
    pub max_file_mib: u64,
    /// For `s3://`: the server's URL (e.g. `http://127.0.0.1:9000` for a local MinIO or s3s);
    /// unset means AWS.
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    /// Allow plain HTTP to the endpoint (only for a server on loopback or a private network).
    pub s3_allow_http: bool,
    /// The access key id (not a secret); default `AWS_ACCESS_KEY_ID`.
    pub s3_access_key_id: Option<String>,
    /// A file holding the secret access key; default: the `AWS_SECRET_ACCESS_KEY` variable.
    /// The secret itself never goes into this configuration.
    pub s3_secret_access_key_file: Option<PathBuf>,
    /// A second object store every file is replicated to (`file://DIR` or `s3://…`, with the
    /// `blobs.s3_*` settings), uploads and deletions alike, by durable jobs.
    pub replica_url: Option<String>,
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self {
            max_file_mib: 2048,
            s3_endpoint: None,
            s3_region: None,
            s3_allow_http: false,
            s3_access_key_id: None,
            s3_secret_access_key_file: None,
            replica_url: None,
        }
    }
}

impl Config {
    /// The blob store URL, with the embedded default.
    pub fn blob_url(&self) -> String {
        self.blob_url
            .clone()
            .unwrap_or_else(|| format!("file://{}", self.data_dir.join("blobs").display()))
    }

    /// The backup target's S3 settings: `backup.s3_*` where set, else `blobs.s3_*`.
    pub fn backup_s3_settings(&self) -> Result<strongroom_blobs::S3Settings, String> {
        let (b, o) = (&self.blobs, &self.backup);
        Config {
            blobs: BlobConfig {
                s3_endpoint: o.s3_endpoint.clone().or_else(|| b.s3_endpoint.clone()),
                s3_region: o.s3_region.clone().or_else(|| b.s3_region.clone()),
                s3_allow_http: o.s3_allow_http.unwrap_or(b.s3_allow_http),
                s3_access_key_id: o
                    .s3_access_key_id
                    .clone()
                    .or_else(|| b.s3_access_key_id.clone()),
                s3_secret_access_key_file: o
                    .s3_secret_access_key_file
                    .clone()
                    .or_else(|| b.s3_secret_access_key_file.clone()),
                ..b.clone()
            },
            ..Config::default()
        }
        .s3_settings()
    }

    /// S3 settings with credentials from the secret file or the environment.
    pub fn s3_settings(&self) -> Result<strongroom_blobs::S3Settings, String> {
        let b = &self.blobs;
        let secret = match &b.s3_secret_access_key_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| {
                        format!("blobs.s3_secret_access_key_file {}: {e}", path.display())
                    })?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var("AWS_SECRET_ACCESS_KEY").ok(),
        };
        Ok(strongroom_blobs::S3Settings {
            endpoint: b.s3_endpoint.clone(),
            region: b.s3_region.clone(),
            allow_http: b.s3_allow_http,
            access_key_id: b
                .s3_access_key_id
                .clone()
                .or_else(|| std::env::var("AWS_ACCESS_KEY_ID").ok()),
            secret_access_key: secret.map(secrecy::SecretString::from),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// How often `serve` runs the retention engine; 0 turns it off (then run
    /// `strongroom retention run` from a scheduler instead).
    pub interval_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DisclosureConfig {
    /// How long a tenant may object to a disclosure request (1 to 90).
    pub objection_days: u32,
}

impl Default for DisclosureConfig {
    fn default() -> Self {
        Self { objection_days: 7 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessorsConfig {
    /// Where the hosts the configuration names (mail relay, object stores) are, as ISO 3166-1
    /// alpha-2 codes: `{ "smtp.example.net" = "DE" }`. A host not listed shows `unknown`.
    pub locations: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupportConfig {
    /// How long a support request waits for a tenant administrator's answer (1 to 168).
    pub pending_hours: u32,
}

impl Default for SupportConfig {
    fn default() -> Self {
        Self { pending_hours: 24 }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self { interval_secs: 60 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// `smtp://host:port`, `smtp://user:pass@host:587?tls=required` or `smtps://host:465`.
    /// Unset: mail is written to `<data_dir>/outbox` as `.eml` files.
    pub smtp_url: Option<String>,
    pub from: String,
    /// The operator's address: told of a failed or overdue backup.
    pub operator: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub reset_token_ttl_secs: u64,
    /// Login and reset attempts one client address may make per minute, after a burst.
    pub ip_attempts_per_minute: u32,
    pub ip_burst: u32,
    /// `POST /oauth/token` requests one address may make per minute.
    pub token_requests_per_minute: u32,
    /// Tokens one integration client may take per minute.
    pub client_tokens_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` (default) or `pretty`.
    pub format: String,
    /// A tracing filter such as `info` or `strongroom=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./strongroom-data"),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: None,
            key_file: None,
            blob_url: None,
            blobs: BlobConfig::default(),
            behind_proxy: false,
            mail: MailConfig::default(),
            auth: AuthConfig::default(),
            retention: RetentionConfig::default(),
            support: SupportConfig::default(),
            processors: ProcessorsConfig::default(),
            disclosure: DisclosureConfig::default(),
            backup: BackupConfig::default(),
            tls: TlsConfig::default(),
            log: LogConfig::default(),
        }
    }
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Strongroom <no-reply@strongroom.invalid>".into(),
            operator: None,
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        let d = strongroom_core::AuthSettings::default();
        Self {
            access_token_ttl_secs: d.access_ttl.as_secs(),
            refresh_token_ttl_secs: d.refresh_ttl.as_secs(),
            reset_token_ttl_secs: d.reset_ttl.as_secs(),
            ip_attempts_per_minute: d.ip_attempts_per_minute,
            ip_burst: d.ip_burst,
            token_requests_per_minute: d.token_requests_per_minute,
            client_tokens_per_minute: d.client_tokens_per_minute,
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "json".into(),
            level: "info".into(),
        }
    }
}

/// `STRONGROOM_*` variables that are not configuration keys: secrets read elsewhere, and the
/// `STRONGROOM_TEST_*` namespace of the test harness. Everything else with the prefix must be a
/// known key, so a typo is an error rather than a silently ignored setting.
fn is_config_key(key: &str) -> bool {
    !(key.starts_with("test_")
        || matches!(
            key,
            "passphrase" | "passphrase_file" | "new_passphrase" | "key_backup_passphrase"
        ))
}

/// Flags given on the command line; they win over file and environment.
#[derive(Debug, Default)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
}

impl Config {
    pub fn figment(file: Option<&Path>, overrides: &Overrides) -> Figment {
        let mut f = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            f = f.merge(Toml::file_exact(path));
        }
        f = f.merge(
            Env::prefixed("STRONGROOM_")
                .filter(|k| is_config_key(&k.as_str().to_ascii_lowercase()))
                .split("__")
                // API.md names it so: `STRONGROOM_BACKUP_TARGET` (as `…BACKUP__TARGET`).
                .map(|k| {
                    if k == "backup_target" {
                        "backup.target".into()
                    } else {
                        k.into()
                    }
                }),
        );
        if let Some(d) = &overrides.data_dir {
            f = f.merge(("data_dir", d));
        }
        if let Some(l) = &overrides.listen {
            f = f.merge(("listen", l.to_string()));
        }
        if let Some(c) = &overrides.tls_cert {
            f = f.merge(("tls.cert_file", c));
        }
        if let Some(k) = &overrides.tls_key {
            f = f.merge(("tls.key_file", k));
        }
        f
    }

    /// Loads and validates; the error names the setting and what to do.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Self, String> {
        if let Some(path) = file.filter(|p| !p.is_file()) {
            return Err(format!(
                "config file {} does not exist or is not a file",
                path.display()
            ));
        }
        let cfg: Config = Self::figment(file, overrides)
            .extract()
            .map_err(|e| format!("configuration: {e}"))?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> Result<(), String> {
        if !self.listen.ip().is_loopback() && !self.behind_proxy && !self.tls.enabled() {
            return Err(format!(
                "listen = {} is not a loopback address, and Strongroom serves plain HTTP only on loopback. \
                 Set tls.cert_file and tls.key_file (serve --tls-cert/--tls-key), or put a \
                 TLS-terminating reverse proxy in front and set behind_proxy = true \
                 (STRONGROOM_BEHIND_PROXY=true), or listen on 127.0.0.1.",
                self.listen
            ));
        }
        if self.tls.cert_file.is_some() != self.tls.key_file.is_some() {
            return Err("tls.cert_file and tls.key_file go together: set both or neither".into());
        }
        if !matches!(self.tls.min_version.as_str(), "1.2" | "1.3") {
            return Err("tls.min_version must be \"1.3\" (the default) or \"1.2\"".into());
        }
        let db = self.database_url();
        if !(db.starts_with("sqlite://")
            || db.starts_with("postgres://")
            || db.starts_with("postgresql://"))
        {
            return Err("database_url must start with sqlite:// or postgres://".into());
        }
        if self
            .blob_url
            .as_ref()
            .is_some_and(|b| !(b.starts_with("file://") || b.starts_with("s3://")))
        {
            return Err("blob_url must start with file:// or s3://".into());
        }
        for (name, url) in [
            ("backup.target", &self.backup.target),
            ("blobs.replica_url", &self.blobs.replica_url),
        ] {
            if url
                .as_ref()
                .is_some_and(|b| !(b.starts_with("file:///") || b.starts_with("s3://")))
            {
                return Err(format!(
                    "{name} must start with file:/// (an absolute folder) or s3://"
                ));
            }
        }
        if self.blobs.replica_url.is_some()
            && self.blobs.replica_url.as_deref() == Some(self.blob_url().as_str())
        {
            return Err("blobs.replica_url must be another place than blob_url".into());
        }
        if let Some(op) = &self.mail.operator
            && strongroom_domain::Email::parse(op).is_err()
        {
            return Err("mail.operator must be an e-mail address".into());
        }
        if self.blobs.max_file_mib == 0 || self.blobs.max_file_mib > 1024 * 1024 {
            return Err("blobs.max_file_mib must be between 1 and 1048576".into());
        }
        if self
            .mail
            .smtp_url
            .as_ref()
            .is_some_and(|s| !(s.starts_with("smtp://") || s.starts_with("smtps://")))
        {
            return Err("mail.smtp_url must start with smtp:// or smtps://".into());
        }
        if let Some((host, _)) = self
            .processors
            .locations
            .iter()
            .find(|(_, c)| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(format!(
                "processors.locations: {host:?} needs an ISO 3166-1 alpha-2 code such as \"DE\""
            ));
        }
        if !(1..=90).contains(&self.disclosure.objection_days) {
            return Err("disclosure.objection_days must be between 1 and 90".into());
        }
        if !(1..=168).contains(&self.support.pending_hours) {
            return Err("support.pending_hours must be between 1 and 168".into());
        }
        let a = &self.auth;
        if a.access_token_ttl_secs == 0
            || a.refresh_token_ttl_secs == 0
            || a.reset_token_ttl_secs == 0
        {
            return Err("auth.*_ttl_secs must be greater than 0".into());
        }
        if a.access_token_ttl_secs > 3600 {
            return Err("auth.access_token_ttl_secs must be at most 3600 (access tokens are short-lived; use refresh tokens)".into());
        }
        if a.ip_attempts_per_minute == 0
            || a.ip_burst == 0
            || a.token_requests_per_minute == 0
            || a.client_tokens_per_minute == 0
        {
            return Err("auth.ip_attempts_per_minute, auth.ip_burst, auth.token_requests_per_minute and auth.client_tokens_per_minute must be at least 1".into());
        }
        if self.log.format != "json" && self.log.format != "pretty" {
            return Err("log.format must be \"json\" or \"pretty\"".into());
        }
        Ok(())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!("sqlite://{}", self.data_dir.join("strongroom.db").display())
        })
    }

    pub fn key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("strongroom.key"))
    }

    pub fn auth_settings(&self) -> strongroom_core::AuthSettings {
        use std::time::Duration;
        strongroom_core::AuthSettings {
            access_ttl: Duration::from_secs(self.auth.access_token_ttl_secs),
            refresh_ttl: Duration::from_secs(self.auth.refresh_token_ttl_secs),
            reset_ttl: Duration::from_secs(self.auth.reset_token_ttl_secs),
            ip_attempts_per_minute: self.auth.ip_attempts_per_minute,
            ip_burst: self.auth.ip_burst,
            token_requests_per_minute: self.auth.token_requests_per_minute,
            client_tokens_per_minute: self.auth.client_tokens_per_minute,
            ..strongroom_core::AuthSettings::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail API fixes the closure's error type"
    )]
    fn layers_apply_in_order_and_unknown_keys_fail() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "s.toml",
                "listen = \"127.0.0.1:9000\"\n[mail]\nfrom = \"X <x@example.com>\"\n",
            )?;
            jail.set_env("STRONGROOM_LISTEN", "127.0.0.1:9001");
            jail.set_env("STRONGROOM_PASSPHRASE", "not a config key");
            jail.set_env("STRONGROOM_TEST_ANYTHING", "reserved for the test harness");
            let c = Config::load(Some(Path::new("s.toml")), &Overrides::default()).unwrap();
            assert_eq!(c.listen.port(), 9001, "environment wins over the file");
            assert_eq!(c.mail.from, "X <x@example.com>");
            let c = Config::load(
                Some(Path::new("s.toml")),
                &Overrides {
                    listen: Some("127.0.0.1:9002".parse().unwrap()),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(c.listen.port(), 9002, "flags win over the environment");

            jail.set_env("STRONGROOM_LISTNE", "127.0.0.1:1");
            let err = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(err.contains("listne"), "{err}");
            jail.clear_env();
            jail.set_env("STRONGROOM_BACKUP_TARGET", "file:///srv/backups");
            jail.set_env("STRONGROOM_BACKUP__INTERVAL_SECS", "60");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.backup.target.as_deref(), Some("file:///srv/backups"));
            assert_eq!(c.backup.interval_secs, 60);
            jail.set_env("STRONGROOM_MAIL__OPERATOR", "not an address");
            let err = Config::load(None, &Overrides::default()).unwrap_err();
            assert!(err.contains("mail.operator"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn non_loopback_needs_tls_or_behind_proxy() {
        let mut c = Config {
            listen: "0.0.0.0:8080".parse().unwrap(),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().contains("behind_proxy"));
        c.behind_proxy = true;
        assert!(c.validate().is_ok());
        c.behind_proxy = false;
        c.tls.cert_file = Some("/etc/strongroom/chain.pem".into());
        assert!(c.validate().unwrap_err().contains("go together"));
        c.tls.key_file = Some("/etc/strongroom/key.pem".into());
        assert!(c.validate().is_ok(), "TLS on a public address");
        c.tls.min_version = "1.1".into();
        assert!(c.validate().unwrap_err().contains("tls.min_version"));
    }

    #[test]
    fn bad_urls_are_named() {
        let c = Config {
            database_url: Some("mysql://x".into()),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().contains("database_url"));
        let c = Config {
            blob_url: Some("ftp://x".into()),
            ..Config::default()
        };
        assert!(c.validate().unwrap_err().contains("blob_url"));
    }
}
