//! Forgetting a subject with 100,000 records (SQLite file, `synchronous = FULL`): how long
//! until everything about them is unreadable (the subject key destroyed: one transaction,
//! whatever the number of records), and how long until the personal values are gone from every
//! record too (scrubbed in transactions of 1,000 records).
//!
//! Not a criterion loop (each run destroys its data): three runs on fresh databases, timings
//! printed. Run: `cargo bench -p strongroom-core --bench forget`

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark harness: a failed set-up should stop it loudly, and it prints its figures"
)]

mod common;

use std::time::Instant;
use strongroom_domain::{CollectionId, Email, Region, Slug, TenantName};
use strongroom_store::Collection;

/// `STRONGROOM_BENCH_RECORDS` overrides it (e.g. for a quick check).
fn records() -> usize {
    std::env::var("STRONGROOM_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

async fn run(dir: &std::path::Path) -> (f64, f64) {
    let db = dir.join("f.db");
    let s = common::services(dir, "f.db").await;
    let t = s
        .create_tenant(
            Slug::parse("bench").unwrap(),
            TenantName::parse("Bench").unwrap(),
            Region::default(),
            Email::parse("bench@example.com").unwrap(),
            true,
            strongroom_domain::Roles::default(),
        )
        .await
        .unwrap();
    let c = Collection {
        tenant_id: t.tenant_id,
        id: CollectionId::new(),
        name: "notes".into(),
        fields: r#"[{"name":"title","type":"string"},{"name":"notes","type":"string","personal":true},{"name":"day","type":"date","personal":true,"searchable":true}]"#.into(),
        created_by: t.admin_user_id,
        created_at: time::OffsetDateTime::now_utc(),
        retention: None,
    };
    s.store.insert_collection(&c).await.unwrap();
    // 100k records with sealed-looking personal values, their history and search entries,
    // written in one transaction straight into the file (the API would take minutes).
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        let tx = conn.transaction().unwrap();
        let fake = "AQ".repeat(60);
        for i in 0..records() {
            let id = uuid::Uuid::now_v7();
            let data = format!(r#"{{"title":"t{i}","notes":"{fake}","day":"{fake}"}}"#);
            tx.execute(
                "INSERT INTO records (tenant_id, record_id, collection_id, subject_id, visibility, hidden, data, version, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 'private', 0, ?5, 1, ?4, 0, 0)",
                rusqlite::params![t.tenant_id.0, id, c.id.0, t.admin_user_id.0, data],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO record_history (tenant_id, record_id, version, at, actor_id, action, fields, data_before) VALUES (?1, ?2, 1, 0, ?3, 'update', '[\"notes\"]', ?4)",
                rusqlite::params![t.tenant_id.0, id, t.admin_user_id.0, data],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO record_index (tenant_id, collection_id, field, digest, record_id) VALUES (?1, ?2, 'day', ?3, ?4)",
                rusqlite::params![t.tenant_id.0, c.id.0, &id.as_bytes()[..], id],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let start = Instant::now();
    assert!(
        s.store
            .forget_user(
                t.tenant_id,
                t.admin_user_id,
                time::OffsetDateTime::now_utc(),
                &strongroom_store::ChangeLog::none()
            )
            .await
            .unwrap()
    );
    let unreadable = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let report = s
        .forget(
            t.tenant_id,
            t.admin_user_id,
            strongroom_store::ChangeLog::none(),
        )
        .await
        .unwrap();
    let purged = start.elapsed().as_secs_f64();
    assert_eq!(report.records_scrubbed as usize, records());
    let left: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT count(*) FROM records WHERE data LIKE '%notes%' OR data LIKE '%day%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "personal values left behind");
    (unreadable, purged)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for round in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let (unreadable, purged) = rt.block_on(run(dir.path()));
        println!(
            "run {round}: {} records unreadable after {:.2} ms (key destroyed); personal values purged from all in {:.2} s",
            records(),
            unreadable * 1e3,
            purged
        );
    }
}
