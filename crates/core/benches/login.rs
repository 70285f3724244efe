//! The login path, measured against its floor: one bare Argon2id verification (OWASP
//! parameters) in the same run. `login/*` go through the whole service (throttle, tenant and
//! user lookup, verification, failure counting, login history, session) on a SQLite file.
//! `unknown_email` against `wrong_password` shows whether timing reveals which accounts exist.
//!
//! Run: `cargo bench -p strongroom-core --bench login`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark harness: a failed set-up should stop it loudly"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strongroom_core::mail::Mailer;
use strongroom_core::{AuthSettings, Services, SystemClock};
use strongroom_domain::{Email, Region, Slug, TenantName};

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

/// A SQLite-backed service with one tenant whose administrator can log in; throttling off and
/// the lockout threshold at its maximum so repeated failures keep taking the same path.
async fn setup(dir: &std::path::Path) -> (Services, SecretString) {
    let store = strongroom_store::open(&format!("sqlite://{}", dir.join("b.db").display()))
        .await
        .unwrap();
    let mailer = Mailer::outbox(dir.join("outbox"), "B <b@example.com>").unwrap();
    let auth = AuthSettings {
        ip_attempts_per_minute: u32::MAX / 2,
        ip_burst: u32::MAX / 2,
        ..AuthSettings::default()
    };
    let keyring = strongroom_core::keys::Keyring::new(strongroom_crypto::KeyFile::generate());
    let blobs = strongroom_blobs::Blobs::local(&dir.join("blobs")).unwrap();
    let s = Services::new(store, mailer, Arc::new(SystemClock), auth, keyring, blobs).unwrap();
    let email = Email::parse("bench@example.com").unwrap();
    let t = s
        .create_tenant(
            Slug::parse("bench").unwrap(),
            TenantName::parse("Bench").unwrap(),
            Region::default(),
            email,
            true,
            strongroom_domain::Roles::default(),
        )
        .await
        .unwrap();
    s.store
        .set_tenant_settings(
            t.tenant_id,
            &strongroom_store::TenantSettings {
                lockout_threshold: 100,
                require_totp_roles: strongroom_domain::Roles::default(),
                break_glass: true,
            },
            &strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap();
    (s, t.admin_password)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (services, password) = rt.block_on(setup(dir.path()));
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let tenant = rt
        .block_on(
            services
                .store
                .tenant_by_slug(&Slug::parse("bench").unwrap()),
        )
        .unwrap()
        .unwrap();
    let admin = rt
        .block_on(services.store.list_users(tenant.id))
        .unwrap()
        .remove(0);
    let phc = admin.password_hash.clone().unwrap();
    let hasher = strongroom_crypto::PasswordHasher::owasp().unwrap();

    let mut g = c.benchmark_group("login");
    g.sample_size(30);
    g.bench_function("argon2id_verify_baseline", |b| {
        b.iter(|| assert!(hasher.verify(&phc, &password).unwrap()));
    });
    g.bench_function("success", |b| {
        b.to_async(&rt).iter(|| async {
            services
                .login("bench", "bench@example.com", password.clone(), ip)
                .await
                .unwrap()
        });
    });
    // Each attempt starts from zero failures (reset untimed), so every one takes the same path.
    g.bench_function("wrong_password", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let (services, tenant, user) = (&services, tenant.id, admin.id);
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    services
                        .store
                        .clear_login_failures(tenant, user)
                        .await
                        .unwrap();
                    let start = Instant::now();
                    services
                        .login("bench", "bench@example.com", secret("not-the-password"), ip)
                        .await
                        .unwrap_err();
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    // A new address each time: always its first failure, as for the account above.
    g.bench_function("unknown_email", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let services = &services;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let email = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());
                    let start = Instant::now();
                    services
                        .login("bench", &email, secret("not-the-password"), ip)
                        .await
                        .unwrap_err();
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
