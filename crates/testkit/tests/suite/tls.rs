//! Built-in TLS against a real TLS client (reqwest on rustls) and certificates the test makes:
//! TLS 1.3 only by default (a TLS 1.2 client is refused), TLS 1.2 when configured, HTTP/2 by
//! ALPN, HSTS on every answer, the certificate's expiry in `/metrics`, a certificate replaced on disk served from the next handshake
//! while an open connection keeps working, and the self-signed first try.

use rustls::SupportedProtocolVersion;
use rustls::version::{TLS12, TLS13};
use strongroom_testkit::{Backend, TestServer};

/// A certificate for `localhost` and `127.0.0.1`: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let c =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    (c.cert.pem(), c.signing_key.serialize_pem())
}

/// A client that trusts only `cert_pem` and speaks only `versions`.
fn client(cert_pem: &str, versions: &[&'static SupportedProtocolVersion]) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap())
        .unwrap();
    let mut tls = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_protocol_versions(versions)
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .build()
        .unwrap()
}

use rustls::pki_types::pem::PemObject as _;

/// `GET base/path` with a client.
async fn get(c: &reqwest::Client, base: &str, path: &str) -> reqwest::Result<reqwest::Response> {
    c.get(format!("{base}{path}")).send().await
}

/// Writes a certificate and key as the server's files (replacing them whole, as a renewal
/// tool does).
fn install(dir: &std::path::Path, (cert, key): &(String, String)) {
    for (name, pem) in [("server.key", key), ("server.crt", cert)] {
        let tmp = dir.join(format!("{name}.new"));
        std::fs::write(&tmp, pem).unwrap();
        std::fs::rename(&tmp, dir.join(name)).unwrap();
    }
}

async fn tls_server(dir: &std::path::Path, min: &str) -> TestServer {
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    let min = min.to_owned();
    TestServer::start_with(Backend::Sqlite, move |c| {
        c.tls.cert_file = Some(cert);
        c.tls.key_file = Some(key);
        c.tls.min_version = min;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_13_only_by_default_with_http2_and_hsts() {
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate();
    install(dir.path(), &pair);
    let s = tls_server(dir.path(), "1.3").await;
    assert!(s.base.starts_with("https://"), "{}", s.base);
    let r = get(&client(&pair.0, &[&TLS13]), &s.base, "/healthz")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "HTTP/2 by ALPN");
    assert_eq!(
        r.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let refused = get(&client(&pair.0, &[&TLS12]), &s.base, "/healthz").await;
    assert!(refused.is_err(), "a TLS 1.2 client is refused: {refused:?}");
    // An error answer carries HSTS too.
    let r = get(&client(&pair.0, &[&TLS13]), &s.base, "/api/v1/me")
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("strict-transport-security"));
    // The certificate's expiry is a metric (the recorder is the process's: any TLS test's
    // certificate, each valid for years).
    let metrics = get(&client(&pair.0, &[&TLS13]), &s.base, "/metrics")
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let expiry: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("strongroom_tls_certificate_expiry_timestamp_seconds "))
        .unwrap_or_else(|| panic!("{metrics}"))
        .parse()
        .unwrap();
    let now = (time::OffsetDateTime::now_utc() - time::OffsetDateTime::UNIX_EPOCH).as_seconds_f64();
    assert!(expiry > now, "{expiry}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_12_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let pair = certificate();
    install(dir.path(), &pair);
    let s = tls_server(dir.path(), "1.2").await;
    let r = get(&client(&pair.0, &[&TLS12]), &s.base, "/healthz")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

/// A renewed certificate is served to the next connection; a connection opened before keeps
/// working (its client trusts only the old certificate, so a new connection would fail).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (old, new) = (certificate(), certificate());
    install(dir.path(), &old);
    let s = tls_server(dir.path(), "1.3").await;
    let url = format!("{}/healthz", s.base);
    let open = client(&old.0, &[&TLS13]);
    assert_eq!(open.get(&url).send().await.unwrap().status(), 200);
    install(dir.path(), &new);
    // The watcher looks every half second: poll new connections until they get the new one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if client(&new.0, &[&TLS13]).get(&url).send().await.is_ok() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let fresh = client(&old.0, &[&TLS13]).get(&url).send().await;
    assert!(fresh.is_err(), "a new connection gets the new certificate");
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        200,
        "the open connection keeps working"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_for_a_first_try() {
    let s = TestServer::start_with(Backend::Sqlite, |c| c.tls.self_signed = true).await;
    let cert = std::fs::read_to_string(s.dir.path().join("tls/self-signed.crt")).unwrap();
    let key = s.dir.path().join("tls/self-signed.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let r = get(&client(&cert, &[&TLS13]), &s.base, "/healthz")
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
