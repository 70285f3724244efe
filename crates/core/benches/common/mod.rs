//! Set-up the core benches share: `Services` over a SQLite file in a folder (`synchronous =
//! FULL`, a fresh key file, a local blob folder, the mail outbox), and the demo tenant's users
//! signed in.

#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "each bench uses part of it; a failed set-up should stop a bench loudly"
)]

use secrecy::{ExposeSecret, SecretString};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use strongroom_core::mail::Mailer;
use strongroom_core::tenancy::DemoCredentials;
use strongroom_core::{AuthSettings, Principal, Services, SystemClock};

/// The client address the benches' requests come from.
pub const CLIENT: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// Services on `<dir>/<db>` with the system clock and default settings.
pub async fn services(dir: &Path, db: &str) -> Services {
    let store = strongroom_store::open(&format!("sqlite://{}", dir.join(db).display()))
        .await
        .unwrap();
    let mailer = Mailer::outbox(dir.join("outbox"), "B <b@example.com>").unwrap();
    let keyring = strongroom_core::keys::Keyring::new(strongroom_crypto::KeyFile::generate());
    let blobs = strongroom_blobs::Blobs::local(&dir.join("blobs")).unwrap();
    Services::new(
        store,
        mailer,
        Arc::new(SystemClock),
        AuthSettings::default(),
        keyring,
        blobs,
    )
    .unwrap()
}

/// The demo tenants (`Services::ensure_demo`), their credentials in `<dir>/demo.json`.
pub async fn demo(s: &Services, dir: &Path) -> DemoCredentials {
    s.ensure_demo(&dir.join("demo.json")).await.unwrap()
}

/// An access token of the demo tenant's user whose e-mail starts with `who`.
pub async fn token(s: &Services, creds: &DemoCredentials, who: &str) -> String {
    let demo = creds.tenants.iter().find(|t| t.slug == "demo").unwrap();
    let u = demo
        .users
        .iter()
        .find(|u| u.email.starts_with(who))
        .unwrap();
    let pair = s
        .login(
            "demo",
            &u.email,
            SecretString::from(u.password.clone()),
            CLIENT,
        )
        .await
        .unwrap();
    pair.access_token.expose_secret().to_owned()
}

/// That user as the services see them.
pub async fn principal(s: &Services, creds: &DemoCredentials, who: &str) -> Principal {
    s.authenticate(&token(s, creds, who).await).await.unwrap()
}
