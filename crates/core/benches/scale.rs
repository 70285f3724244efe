//! A tenant at scale: 100,000 users and 1,000,000 privacy-log entries, seeded through the
//! store (every user row built as `POST /users` builds it — fresh subject key, blind index,
//! sealed e-mail and name — under one precomputed Argon2id hash: 100,000 hashes would take
//! about an hour here), then the administrator's reads through the services, timed one by one:
//!
//! * a page of users (100, newest first, each decrypted and logged), from the start and from a
//!   cursor deep in the list;
//! * a user found by e-mail (blind index);
//! * a page of the privacy log (100, newest first; and filtered by one subject);
//! * a page of a search answer (100 records of 10,000 with the searched value in 1,000 of
//!   them, each checked in Cedar, decrypted and logged);
//! * forgetting one user among them (`DELETE /users/{id}`);
//! * `audit verify` of the whole chain against bare SHA-256 over the same entries (the chain
//!   function over entries already in memory).
//!
//! SQLite file, `synchronous = FULL`. Not a criterion loop (the data takes minutes to seed):
//! p50 and p99 of 200 calls each are printed. `STRONGROOM_BENCH_USERS` and
//! `STRONGROOM_BENCH_ENTRIES` shrink it for a quick check.
//!
//! Run: `cargo bench -p strongroom-core --bench scale`

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::indexing_slicing,
    reason = "a benchmark harness: a failed set-up should stop it loudly, and it prints its figures"
)]

use secrecy::SecretString;
use std::future::Future;
use std::time::{Duration, Instant};
use strongroom_core::privacy::{chain, genesis};
use strongroom_core::records::{FieldDef, NewRecord};
use strongroom_core::tenancy::NewUserRequest;
use strongroom_core::{Principal, Services};
use strongroom_domain::{Decision, Email, PersonName, Role, Roles, UserId};
use strongroom_store::{ChangeLog, PrivacyEntry, PrivacyQuery};

mod common;

use common::CLIENT;
const CALLS: usize = 200;
const RECORDS: usize = 10_000;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small deterministic generator (no dependency for a bench's choice of cursors).
struct Lcg(u64);
impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) as usize) % n
    }
}

async fn timed<F, Fut>(name: &str, mut f: F)
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut samples: Vec<Duration> = Vec::with_capacity(CALLS);
    for i in 0..CALLS {
        let t = Instant::now();
        f(i).await;
        samples.push(t.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e3;
    println!(
        "| {name} | {:.2} | {:.2} | {:.2} |",
        at(0.5),
        at(0.99),
        at(1.0)
    );
}

struct Seeded {
    s: Services,
    admin: Principal,
    users: Vec<UserId>,
    _dir: tempfile::TempDir,
}

async fn seed(n_users: usize, n_entries: usize) -> Seeded {
    let dir = tempfile::tempdir().unwrap();
    let s = common::services(dir.path(), "s.db").await;
    let creds = common::demo(&s, dir.path()).await;
    let admin = common::principal(&s, &creds, "admin").await;
    let part = common::principal(&s, &creds, "participant1").await;
    let tenant = admin.tenant_id;

    let t = Instant::now();
    let keys = s
        .keyring
        .tenant_fresh(&*s.store, tenant, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let hash = s
        .hasher
        .hash(SecretString::from("one precomputed password".to_owned()))
        .await
        .unwrap();
    let mut users = Vec::with_capacity(n_users);
    for i in 0..n_users {
        let row = s
            .user_row(
                &keys,
                NewUserRequest {
                    email: Email::parse(&format!("user{i}@example.com")).unwrap(),
                    name: PersonName::parse(&format!("User {i}")).unwrap(),
                    roles: Roles([Role::Participant].into_iter().collect()),
                    license_expires_at: None,
                },
                hash.clone(),
                false,
            )
            .unwrap();
        users.push(row.id);
        s.store.insert_user(&row, &ChangeLog::none()).await.unwrap();
    }
    println!(
        "seeded {n_users} users in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut rng = Lcg(7);
    let mut written = 0;
    while written < n_entries {
        let batch: Vec<PrivacyEntry> = (0..1000.min(n_entries - written))
            .map(|_| PrivacyEntry {
                at: time::OffsetDateTime::now_utc(),
                actor_id: Some(users[rng.below(users.len())].0),
                via: "coach".into(),
                subject_id: Some(users[rng.below(users.len())].0),
                object_type: "record".into(),
                object_id: Some(uuid::Uuid::now_v7()),
                action: "read".into(),
                fields: vec!["notes".into(), "day".into()],
                decision: Decision::Allow,
                client_sealed: None,
            })
            .collect();
        written += batch.len();
        s.store
            .append_privacy(tenant, &batch, genesis(tenant), chain)
            .await
            .unwrap();
    }
    println!(
        "seeded {n_entries} privacy-log entries in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let fields: Vec<FieldDef> = serde_json::from_value(serde_json::json!([
        {"name": "title", "type": "string", "searchable": true},
        {"name": "notes", "type": "string", "personal": true}
    ]))
    .unwrap();
    s.create_collection(&admin, Some(CLIENT), "notes", fields, None)
        .await
        .unwrap();
    let group = s.my_groups(&part).await.unwrap().first().map(|(g, _)| *g);
    for i in 0..RECORDS {
        let data = serde_json::json!({"title": format!("t{}", i % 10), "notes": "nervous"});
        s.create_record(
            &part,
            Some(CLIENT),
            "notes",
            NewRecord {
                subject_id: part.user_id,
                group_id: group,
                parent_id: None,
                visibility: None,
                data: data.as_object().unwrap().clone(),
            },
        )
        .await
        .unwrap();
    }
    println!(
        "created {RECORDS} records through the API's service in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    Seeded {
        s,
        admin,
        users,
        _dir: dir,
    }
}

async fn run() {
    let n_users = env("STRONGROOM_BENCH_USERS", 100_000);
    let n_entries = env("STRONGROOM_BENCH_ENTRIES", 1_000_000);
    let x = seed(n_users, n_entries).await;
    let (s, admin) = (&x.s, &x.admin);
    let mut rng = Lcg(11);
    let cursors: Vec<UserId> = (0..CALLS)
        .map(|_| x.users[rng.below(x.users.len())])
        .collect();
    let head = s
        .store
        .privacy_head(admin.tenant_id)
        .await
        .unwrap()
        .unwrap()
        .0;
    let seqs: Vec<u64> = (0..CALLS)
        .map(|_| 1 + rng.below(head as usize) as u64)
        .collect();

    println!("\n| call ({CALLS} each) | p50 (ms) | p99 (ms) | max (ms) |");
    println!("|---|---|---|---|");
    timed("users: first page of 100", |_| async {
        assert_eq!(s.list_users(admin, None, 100).await.unwrap().len(), 100);
    })
    .await;
    timed("users: page of 100 after a random cursor", |i| {
        let after = cursors[i];
        async move {
            s.list_users(admin, Some(after), 100).await.unwrap();
        }
    })
    .await;
    timed("users: one by e-mail (blind index)", |i| async move {
        let found = s
            .find_user_by_email(admin, &format!("user{}@example.com", i * 397 % n_users))
            .await
            .unwrap();
        assert_eq!(found.len(), 1);
    })
    .await;
    timed("privacy log: page of 100 before a random entry", |i| {
        let before = seqs[i];
        async move {
            let q = PrivacyQuery {
                subject: None,
                actor: None,
                from: None,
                to: None,
                before: Some(before),
                limit: 100,
            };
            s.privacy_log(admin, q).await.unwrap();
        }
    })
    .await;
    timed("privacy log: page of 100 about one subject", |i| {
        let subject = cursors[i];
        async move {
            let q = PrivacyQuery {
                subject: Some(subject.0),
                actor: None,
                from: None,
                to: None,
                before: None,
                limit: 100,
            };
            s.privacy_log(admin, q).await.unwrap();
        }
    })
    .await;
    timed(
        "search: page of 100 records (1,000 match)",
        |i| async move {
            let page = s
                .search_records(
                    admin,
                    Some(CLIENT),
                    "notes",
                    "title",
                    &format!("t{}", i % 10),
                    (None, 100),
                )
                .await
                .unwrap();
            assert_eq!(page.records.len(), 100);
        },
    )
    .await;

    let victim = x.users[x.users.len() / 2];
    let t = Instant::now();
    s.forget_user(admin, victim).await.unwrap();
    println!(
        "\nforgetting one user of {n_users}: {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // verify against the chain function over the same entries, already in memory.
    let tenant = admin.tenant_id;
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let page = s.store.privacy_page(tenant, after, 1000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        all.extend(page);
    }
    let t = Instant::now();
    let mut prev = genesis(tenant);
    for r in &all {
        prev = chain(tenant, &prev, r.seq, &r.entry);
    }
    let bare = t.elapsed().as_secs_f64();
    assert_eq!(prev, all.last().unwrap().hash);
    drop(all);
    let public = s
        .keyring
        .audit_signing_key()
        .map(|k| strongroom_crypto::sign::public_key(k).unwrap());
    let t = Instant::now();
    let verified = strongroom_core::privacy::verify(&*s.store, tenant, public.as_deref())
        .await
        .unwrap()
        .unwrap();
    let full = t.elapsed().as_secs_f64();
    println!(
        "audit verify of {verified} entries: {full:.2} s; bare SHA-256 chain over the same \
         entries in memory: {bare:.2} s; ratio {:.2}",
        bare / full
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}
