//! Built-in TLS (rustls, aws-lc-rs): the certificate chain and key from PEM files (`tls.*`),
//! TLS 1.3 only unless `tls.min_version = "1.2"`, HTTP/2 and HTTP/1.1 by ALPN, and a
//! certificate replaced on disk picked up by the next handshake — open connections keep
//! theirs — through a watcher that compares the files' size and modification time every
//! [`WATCH_EVERY`]. The settings are checked as they load (seed 000: "settings are checked
//! automatically"): an expired certificate is refused, one about to expire is logged, and its
//! expiry is a metric. `tls.self_signed` generates a certificate into the data folder for a
//! first try.

use crate::config::{Config, TlsConfig};
use anyhow::Context as _;
use axum_server::tls_rustls::RustlsConfig;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Makes aws-lc-rs the process's rustls provider (what every rustls client without its own
/// configuration uses: the S3 and SMTP clients); a second call changes nothing.
pub fn install_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A certificate that expires within this is served with a warning in the log.
pub const EXPIRY_WARNING: time::Duration = time::Duration::days(14);

/// When a certificate stops being valid (`notAfter`).
pub fn not_after(cert: &CertificateDer<'_>) -> anyhow::Result<time::OffsetDateTime> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| anyhow::anyhow!("not an X.509 certificate: {e}"))?;
    time::OffsetDateTime::from_unix_timestamp(parsed.validity().not_after.timestamp())
        .context("a certificate expiry out of range")
}

/// How often the watcher looks at the certificate and key files.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);

/// The files TLS serves from.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// TLS 1.2 allowed too.
    pub allow_tls12: bool,
}

impl TlsFiles {
    /// From the configuration; `None` without TLS. A self-signed certificate is generated into
    /// `<data_dir>/tls/` on first use.
    pub fn from_config(config: &Config) -> anyhow::Result<Option<Self>> {
        let t: &TlsConfig = &config.tls;
        let allow_tls12 = t.min_version == "1.2";
        match (&t.cert_file, &t.key_file) {
            (Some(cert), Some(key)) => Ok(Some(Self {
                cert: cert.clone(),
                key: key.clone(),
                allow_tls12,
            })),
            _ if t.self_signed => {
                let (cert, key) = self_signed(&config.data_dir)?;
                Ok(Some(Self {
                    cert,
                    key,
                    allow_tls12,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The rustls configuration from the files as they are now. A certificate that has
    /// expired is refused; one that expires within [`EXPIRY_WARNING`] is served with a warning
    /// in the log; its expiry is the gauge `strongroom_tls_certificate_expiry_timestamp_seconds`.
    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let chain = CertificateDer::pem_file_iter(&self.cert)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .map_err(|e| anyhow::anyhow!("tls.cert_file {}: {e}", self.cert.display()))?;
        let leaf = chain.first().with_context(|| {
            format!("tls.cert_file {} holds no certificate", self.cert.display())
        })?;
        let expires =
            not_after(leaf).with_context(|| format!("tls.cert_file {}", self.cert.display()))?;
        let now = time::OffsetDateTime::now_utc();
        anyhow::ensure!(
            expires > now,
            "tls.cert_file {}: the certificate expired on {expires}",
            self.cert.display()
        );
        if expires - now < EXPIRY_WARNING {
            tracing::warn!(cert = %self.cert.display(), %expires, "the TLS certificate expires soon: renew it (the file is reloaded when it changes)");
        }
        let key = PrivateKeyDer::from_pem_file(&self.key)
            .map_err(|e| anyhow::anyhow!("tls.key_file {}: {e}", self.key.display()))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if self.allow_tls12 {
            &[&rustls::version::TLS13, &rustls::version::TLS12]
        } else {
            &[&rustls::version::TLS13]
        };
        let mut c = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .context("TLS protocol versions")?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                anyhow::anyhow!("tls.cert_file and tls.key_file do not make a certificate: {e}")
            })?;
        c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        #[allow(
            clippy::cast_precision_loss,
            reason = "seconds since 1970 fit an f64 exactly"
        )]
        metrics::gauge!("strongroom_tls_certificate_expiry_timestamp_seconds")
            .set(expires.unix_timestamp() as f64);
        Ok(c)
    }

    /// The configuration to serve with, and a watcher that reloads it when the files change
    /// (a change that does not load is logged and the certificate in use kept).
    pub fn serve(&self) -> anyhow::Result<RustlsConfig> {
        let config = RustlsConfig::from_config(Arc::new(self.server_config()?));
        let (files, reloading) = (self.clone(), config.clone());
        tokio::spawn(async move {
            let mut seen = files.stamp();
            loop {
                tokio::time::sleep(WATCH_EVERY).await;
                let now = files.stamp();
                if now == seen {
                    continue;
                }
                seen = now;
                match files.server_config() {
                    Ok(c) => {
                        reloading.reload_from_config(Arc::new(c));
                        tracing::info!(cert = %files.cert.display(), "TLS certificate reloaded");
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the changed TLS files do not load; the certificate in use is kept");
                    }
                }
            }
        });
        Ok(config)
    }

    /// Size and modification time of both files.
    fn stamp(&self) -> [Option<(u64, SystemTime)>; 2] {
        let of = |p: &Path| {
            let m = std::fs::metadata(p).ok()?;
            Some((m.len(), m.modified().ok()?))
        };
        [of(&self.cert), of(&self.key)]
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1` in `<data_dir>/tls/`, made once.
fn self_signed(data_dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join("tls");
    let (cert, key) = (dir.join("self-signed.crt"), dir.join("self-signed.key"));
    if !(cert.exists() && key.exists()) {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .context("generating a self-signed certificate")?;
        write_private(&key, made.signing_key.serialize_pem().as_bytes())?;
        std::fs::write(&cert, made.cert.pem())
            .with_context(|| format!("cannot write {}", cert.display()))?;
    }
    tracing::warn!(
        cert = %cert.display(),
        "SELF-SIGNED TLS CERTIFICATE: clients cannot verify who they talk to. For production, set tls.cert_file and tls.key_file to a certificate from a CA"
    );
    Ok((cert, key))
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    o.mode(0o600);
    o.open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn files(dir: &Path, not_after: time::OffsetDateTime) -> TlsFiles {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = not_after - time::Duration::days(90);
        params.not_after = not_after;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let (c, k) = (dir.join("c.pem"), dir.join("k.pem"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        TlsFiles {
            cert: c,
            key: k,
            allow_tls12: false,
        }
    }

    #[test]
    fn an_expired_certificate_is_refused_and_its_expiry_read() {
        let dir = tempfile::tempdir().unwrap();
        let soon = time::OffsetDateTime::now_utc() + time::Duration::days(3);
        let f = files(dir.path(), soon);
        assert!(
            f.server_config().is_ok(),
            "expiring soon: served (with a warning)"
        );
        let pem = std::fs::read(&f.cert).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(
            not_after(&der).unwrap().unix_timestamp(),
            soon.unix_timestamp()
        );
        let past = time::OffsetDateTime::now_utc() - time::Duration::days(1);
        let err = files(dir.path(), past).server_config().unwrap_err();
        assert!(err.to_string().contains("expired"), "{err}");
    }

    #[test]
    fn a_key_that_does_not_match_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let later = time::OffsetDateTime::now_utc() + time::Duration::days(90);
        let f = files(dir.path(), later);
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&f.key, other.serialize_pem()).unwrap();
        let err = f.server_config().unwrap_err();
        assert!(
            err.to_string().contains("do not make a certificate"),
            "{err}"
        );
    }
}
