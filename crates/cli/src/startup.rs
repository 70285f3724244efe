//! Builds the application from a configuration: store, mailer, services, router, listener.

use crate::config::Config;
use std::net::SocketAddr;
use std::sync::Arc;
use strongroom_core::mail::Mailer;
use strongroom_core::{Clock, Services, SystemClock};
use tokio::net::TcpListener;

pub struct Application {
    pub services: Services,
    pub listener: TcpListener,
    pub addr: SocketAddr,
    behind_proxy: bool,
    /// TLS, if configured (the certificate reloads when its files change).
    tls: Option<axum_server::tls_rustls::RustlsConfig>,
}

/// Opens everything the configuration names. Fails with a message that says what to fix.
pub async fn build(config: &Config) -> anyhow::Result<Application> {
    build_with_clock(config, Arc::new(SystemClock)).await
}

pub async fn build_with_clock(
    config: &Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Application> {
    let services = services(config, clock).await?;
    // The certificate is checked before the port is taken: a bad one stops the start. (The
    // metrics recorder first, so that the certificate's expiry gauge is recorded.)
    strongroom_http::metrics::Metrics::global();
    let tls = crate::tls::TlsFiles::from_config(config)?
        .map(|files| files.serve())
        .transpose()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr()?;
    Ok(Application {
        services,
        listener,
        addr,
        behind_proxy: config.behind_proxy,
        tls,
    })
}

/// The domain services alone (for CLI commands that need no listener).
pub async fn services(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<Services> {
    crate::tls::install_provider();
    std::fs::create_dir_all(&config.data_dir).map_err(|e| {
        anyhow::anyhow!("cannot create data_dir {}: {e}", config.data_dir.display())
    })?;
    // Keys first: a wrong passphrase or a damaged key file stops us before anything is touched.
    let config_for_keys = config.clone();
    let key_file =
        tokio::task::spawn_blocking(move || crate::keys::load(&config_for_keys)).await??;
    let keyring = strongroom_core::keys::Keyring::new(key_file);
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot open the database ({}): {e}",
                redact_url(&config.database_url())
            )
        })?;
    let mailer = match &config.mail.smtp_url {
        Some(url) => Mailer::smtp(url, &config.mail.from),
        None => Mailer::outbox(config.data_dir.join("outbox"), &config.mail.from),
    }?;
    let blobs = strongroom_blobs::Blobs::open(
        &config.blob_url(),
        &config.s3_settings().map_err(|e| anyhow::anyhow!(e))?,
    )
    .map_err(|e| anyhow::anyhow!("cannot open the blob store: {e}"))?;
    let mut services = Services::new(store, mailer, clock, config.auth_settings(), keyring, blobs)?;
    services.max_file_bytes = config.blobs.max_file_mib * 1024 * 1024;
    services.processor_settings = configured_processors(config);
    services.disclosure_window = time::Duration::days(i64::from(config.disclosure.objection_days));
    services.transport = strongroom_core::reports::TransportSettings {
        tls_min_version: config.tls.enabled().then(|| config.tls.min_version.clone()),
        behind_proxy: config.behind_proxy,
    };
    services.support_pending =
        std::time::Duration::from_secs(u64::from(config.support.pending_hours) * 3600);
    services.backup = strongroom_core::backup::BackupSettings {
        target: config
            .backup
            .target
            .as_deref()
            .map(|url| crate::backup::open_target(config, url))
            .transpose()?,
        interval_secs: config.backup.interval_secs,
        keep: config.backup.keep,
        operator: config
            .mail
            .operator
            .as_deref()
            .map(strongroom_domain::Email::parse)
            .transpose()
            .map_err(|_| anyhow::anyhow!("mail.operator must be an e-mail address"))?,
    };
    if let Some(url) = &config.blobs.replica_url {
        services.replica = Some(
            strongroom_blobs::Blobs::open(
                url,
                &config.s3_settings().map_err(|e| anyhow::anyhow!(e))?,
            )
            .map_err(|e| anyhow::anyhow!("cannot open the replica (blobs.replica_url): {e}"))?,
        );
    }
    Ok(services)
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!(
            "{}://***@{}",
            url.get(..s).unwrap_or(""),
            url.get(at + 1..).unwrap_or("")
        ),
        _ => url.to_owned(),
    }
}

impl Application {
    pub fn router(&self) -> strongroom_http::Router {
        let router = strongroom_http::router(strongroom_http::AppState::new(
            self.services.clone(),
            self.behind_proxy,
        ));
        if self.tls.is_some() {
            strongroom_http::with_hsts(router)
        } else {
            router
        }
    }

    /// Whether it serves TLS.
    pub fn tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` resolves; in-flight requests finish first.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router();
        self.serve(app, shutdown).await
    }

    /// [`Self::run`] with the router built beforehand (`serve` builds it before it says it
    /// is listening, so a router that cannot be built fails before that line).
    pub async fn serve(
        self,
        app: strongroom_http::Router,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        match self.tls {
            Some(tls) => strongroom_http::serve_tls(self.listener, app, tls, shutdown).await,
            None => strongroom_http::serve(self.listener, app, shutdown).await,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_lose_their_password() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h:5432/db"),
            "postgres://***@h:5432/db"
        );
        assert_eq!(super::redact_url("sqlite://./x.db"), "sqlite://./x.db");
    }
}

/// The processors the configuration implies (GDPR Art. 28: whoever handles the data for us):
/// the mail relay and the object stores (blobs, their replica, the backup target), with the
/// host only. A local folder is no processor.
fn configured_processors(config: &Config) -> strongroom_core::registers::ProcessorSettings {
    use strongroom_core::registers::ConfiguredProcessor;
    let mut configured = Vec::new();
    let categories = |c: &[&str]| c.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    if let Some(host) = config.mail.smtp_url.as_deref().and_then(host_of) {
        configured.push(ConfiguredProcessor {
            name: "Mail relay".into(),
            purpose: "delivers the installation's mail (password resets, notices, alerts)".into(),
            host,
            data_categories: categories(&["e-mail addresses", "message contents"]),
        });
    }
    let stores = [
        (
            config.blob_url.as_deref(),
            config.blobs.s3_endpoint.as_deref(),
            "Object storage",
            "stores the encrypted files",
        ),
        (
            config.blobs.replica_url.as_deref(),
            config.blobs.s3_endpoint.as_deref(),
            "Object storage (replica)",
            "keeps a replica of the encrypted files",
        ),
        (
            config.backup.target.as_deref(),
            config
                .backup
                .s3_endpoint
                .as_deref()
                .or(config.blobs.s3_endpoint.as_deref()),
            "Backup storage",
            "keeps the encrypted backups",
        ),
    ];
    for (url, endpoint, name, purpose) in stores {
        if !url.is_some_and(|u| u.starts_with("s3://")) {
            continue;
        }
        let host = endpoint
            .and_then(host_of)
            .unwrap_or_else(|| "s3.amazonaws.com".to_owned());
        configured.push(ConfiguredProcessor {
            name: name.into(),
            purpose: purpose.into(),
            host,
            data_categories: categories(&["all personal data, encrypted"]),
        });
    }
    strongroom_core::registers::ProcessorSettings {
        configured,
        locations: config.processors.locations.clone(),
    }
}

/// The host of a URL, without credentials, port or path (by hand: the forms are fixed —
/// `scheme://[user[:pass]@]host[:port][/…]` — and no URL crate is a dependency here).
fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split_once(']').map(|(h, _)| format!("{h}]"))?
    } else {
        host.split(':').next()?.to_owned()
    };
    (!host.is_empty()).then_some(host)
}

#[cfg(test)]
mod host_tests {
    #![allow(clippy::unwrap_used)]
    use super::host_of;

    #[test]
    fn hosts_come_without_credentials_ports_or_paths() {
        for (url, host) in [
            (
                "smtp://user:secret@mail.example.net:587?tls=required",
                "mail.example.net",
            ),
            (
                "https://s3.eu-central-1.amazonaws.com/bucket/x",
                "s3.eu-central-1.amazonaws.com",
            ),
            ("http://[::1]:9000/b", "[::1]"),
            ("smtps://relay.example", "relay.example"),
        ] {
            assert_eq!(host_of(url).unwrap(), host, "{url}");
        }
        assert_eq!(host_of("not a url"), None);
        assert_eq!(host_of("smtp://user@"), None);
    }
}
