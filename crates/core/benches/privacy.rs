//! The privacy log's group commit, measured against committing each entry alone, in the same
//! run, on a SQLite file (`synchronous = FULL`: every commit reaches the disk).
//!
//! `group_commit_64`: 64 requests append concurrently through the writer task, which commits
//! what has queued in shared transactions. `one_commit_each_64`: the same 64 entries appended
//! concurrently straight to the store, one transaction each. `single_append`: one entry's
//! latency through the writer when nothing else is queued.
//!
//! Run: `cargo bench -p strongroom-core --bench privacy`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark harness: a failed set-up should stop it loudly"
)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;
use strongroom_core::privacy::{PrivacyLog, chain, genesis};
use strongroom_core::{Clock, SystemClock};
use strongroom_domain::{Region, Slug, TenantId, TenantName, TenantStatus};
use strongroom_store::{PrivacyEntry, Store, Tenant};

const N: usize = 64;

fn entry() -> PrivacyEntry {
    PrivacyEntry {
        at: time::OffsetDateTime::now_utc(),
        actor_id: Some(uuid::Uuid::now_v7()),
        via: "administrator".into(),
        subject_id: Some(uuid::Uuid::now_v7()),
        object_type: "users".into(),
        object_id: Some(uuid::Uuid::now_v7()),
        action: "read".into(),
        fields: vec!["email".into(), "name".into()],
        decision: strongroom_domain::Decision::Allow,
        client_sealed: None,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (store, tenant, log) = rt.block_on(async {
        let store: Arc<dyn Store> =
            strongroom_store::open(&format!("sqlite://{}", dir.path().join("p.db").display()))
                .await
                .unwrap();
        let tenant = Tenant {
            id: TenantId::new(),
            slug: Slug::parse("bench").unwrap(),
            name: TenantName::parse("Bench").unwrap(),
            region: Region::default(),
            status: TenantStatus::Active,
            lockout_threshold: 3,
            agreement_ends_at: None,
            created_at: time::OffsetDateTime::now_utc(),
            require_totp_roles: strongroom_domain::Roles::default(),
            break_glass: true,
        };
        // A tenant row is all the log needs (its keys and users are not involved).
        let keyring = strongroom_core::keys::Keyring::new(strongroom_crypto::KeyFile::generate());
        let (rows, keys) = keyring
            .new_tenant_keys(tenant.id, tenant.created_at)
            .unwrap();
        let admin = bench_admin(&keys, tenant.id);
        store.create_tenant(&tenant, &rows, &admin).await.unwrap();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let log = PrivacyLog::start(store.clone(), None, clock);
        (store, tenant.id, Arc::new(log))
    });

    let mut g = c.benchmark_group("privacy_log");
    g.sample_size(20);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("group_commit_64", |b| {
        b.to_async(&rt).iter_batched(
            || (0..N).map(|_| entry()).collect::<Vec<_>>(),
            |entries| {
                let log = log.clone();
                async move {
                    let tasks: Vec<_> = entries
                        .into_iter()
                        .map(|e| {
                            let log = log.clone();
                            tokio::spawn(async move { log.append(tenant, e).await.unwrap() })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("one_commit_each_64", |b| {
        b.to_async(&rt).iter_batched(
            || (0..N).map(|_| entry()).collect::<Vec<_>>(),
            |entries| {
                let store = store.clone();
                async move {
                    let tasks: Vec<_> = entries
                        .into_iter()
                        .map(|e| {
                            let store = store.clone();
                            tokio::spawn(async move {
                                store
                                    .append_privacy(tenant, &[e], genesis(tenant), chain)
                                    .await
                                    .unwrap()
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
            },
            BatchSize::SmallInput,
        );
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("single_append", |b| {
        b.to_async(&rt).iter_batched(
            entry,
            |e| {
                let log = log.clone();
                async move { log.append(tenant, e).await.unwrap() }
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

/// An administrator row for the bench tenant (sealed fields under a fresh subject key).
fn bench_admin(
    keys: &strongroom_core::keys::TenantKeys,
    tenant: TenantId,
) -> strongroom_store::NewUser {
    let id = strongroom_domain::UserId::new();
    let (wrapped, key) = keys.new_subject_key(id.0).unwrap();
    strongroom_store::NewUser {
        tenant_id: tenant,
        id,
        email_sealed: key
            .seal(tenant, "users", id.0, "email", b"bench@example.com")
            .unwrap(),
        email_index: keys.email_index("bench@example.com"),
        name_sealed: key.seal(tenant, "users", id.0, "name", b"Bench").unwrap(),
        subject_key: wrapped,
        roles: [strongroom_domain::Role::Administrator]
            .into_iter()
            .collect(),
        password_hash: "$argon2id$unused".into(),
        must_change_password: false,
        license_expires_at: None,
        now: time::OffsetDateTime::now_utc(),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
