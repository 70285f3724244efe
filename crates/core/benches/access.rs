//! Cedar decisions of the access check, as a request makes them: entities built from the
//! caller (roles, three groups) and the record, then `is_authorized` against the tenant's
//! policy set (the `training` template, 19 policies).
//!
//! Criterion measures the mean; a decision's tail matters too, so after the criterion groups
//! the bench times 100 000 single decisions of each kind and prints p50, p99 and p99.9.
//!
//! Run: `cargo bench -p strongroom-core --bench access`

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::indexing_slicing,
    reason = "a benchmark harness: a failed set-up should stop it loudly, and it prints its figures"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};
use strongroom_core::access::{Access, Action, Actor, RecordFacts};
use strongroom_domain::{GroupId, MembershipRole, RecordId, Role, Roles, TenantId, UserId};
use strongroom_store::Store;

struct Setup {
    access: Access,
    store: std::sync::Arc<dyn Store>,
    coach: Actor,
    peer: Actor,
    record: RecordFacts,
    _dir: tempfile::TempDir,
}

fn setup(rt: &tokio::runtime::Runtime) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let store = rt.block_on(strongroom_store::open(&url)).unwrap();
    let tenant = TenantId::new();
    let groups: Vec<GroupId> = (0..3).map(|_| GroupId::new()).collect();
    let actor = |role: Role, m: MembershipRole| Actor {
        tenant,
        user: UserId::new(),
        roles: Roles([role].into_iter().collect()),
        memberships: groups.iter().map(|g| (*g, m)).collect(),
        policy_version: 0,
        client: None,
        support: None,
    };
    let coach = actor(Role::Coach, MembershipRole::Coach);
    let peer = actor(Role::Participant, MembershipRole::Participant);
    let record = RecordFacts {
        tenant,
        id: RecordId::new(),
        collection: "recordings".into(),
        owner: UserId::new(),
        author: UserId::new(),
        group: Some(groups[2]),
        visibility: strongroom_core::records::Visibility::Private,
        hidden: false,
        is_reply: false,
    };
    Setup {
        access: Access::new().unwrap(),
        store,
        coach,
        peer,
        record,
        _dir: dir,
    }
}

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{name}: p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs ({} decisions)",
        at(0.50).as_secs_f64() * 1e6,
        at(0.99).as_secs_f64() * 1e6,
        at(0.999).as_secs_f64() * 1e6,
        samples.len()
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let s = setup(&rt);
    let store = &*s.store;
    // Sanity: the coach may read, the peer of a private record may not.
    assert!(
        rt.block_on(
            s.access
                .on_record(store, &s.coach, Action::ReadRecord, &s.record)
        )
        .unwrap()
        .allowed()
    );
    assert!(
        !rt.block_on(
            s.access
                .on_record(store, &s.peer, Action::ReadRecord, &s.record)
        )
        .unwrap()
        .allowed()
    );
    let mut g = c.benchmark_group("cedar");
    g.bench_function("level3_record_allow", |b| {
        b.iter(|| {
            rt.block_on(
                s.access
                    .on_record(store, &s.coach, Action::ReadRecord, &s.record),
            )
        });
    });
    g.bench_function("level3_record_deny", |b| {
        b.iter(|| {
            rt.block_on(
                s.access
                    .on_record(store, &s.peer, Action::ReadRecord, &s.record),
            )
        });
    });
    g.bench_function("level4_file", |b| {
        b.iter(|| {
            rt.block_on(
                s.access
                    .on_file(store, &s.coach, &s.record, "video.mp4", "video/mp4"),
            )
        });
    });
    g.bench_function("level2_cached", |b| {
        b.iter(|| rt.block_on(s.access.level2(store, &s.coach, Action::ReadRecord)));
    });
    g.finish();

    let timed = |f: &dyn Fn()| {
        (0..100_000)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect::<Vec<_>>()
    };
    percentiles(
        "level 3 (record, allow)",
        timed(&|| {
            rt.block_on(
                s.access
                    .on_record(store, &s.coach, Action::ReadRecord, &s.record),
            )
            .unwrap();
        }),
    );
    percentiles(
        "level 3 (record, deny)",
        timed(&|| {
            rt.block_on(
                s.access
                    .on_record(store, &s.peer, Action::ReadRecord, &s.record),
            )
            .unwrap();
        }),
    );
    percentiles(
        "level 4 (file)",
        timed(&|| {
            rt.block_on(
                s.access
                    .on_file(store, &s.coach, &s.record, "video.mp4", "video/mp4"),
            )
            .unwrap();
        }),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
