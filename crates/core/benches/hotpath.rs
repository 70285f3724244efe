//! One protected `GET /records/{id}`, broken into the steps `Services::get_record` takes, each
//! measured alone, and the whole read beside them, in the same run:
//!
//! * `token`: the access token parsed and its principal (session, user, roles, groups, key)
//!   read in one SQLite read transaction (`Services::authenticate`);
//! * `level2`: may the caller read records at all (Cedar, cached per exact caller and action);
//! * `record_read`: the record, its collection, its subject's wrapped key and its files, one
//!   read transaction;
//! * `level3`: the record's facts and Cedar's decision on them (entities built each time);
//! * `open`: the subject key unwrapped under the tenant KEK and the personal fields opened;
//! * `log_entry`: the privacy-log entry built, the client address sealed under the reader's key;
//! * `log_append`: that entry appended through the writer task and waited for until it is
//!   committed (`synchronous = FULL`: an fsync), nothing else queued;
//! * `json`: the answer serialised;
//! * `get_record`: the whole read, as the HTTP handler calls it.
//!
//! SQLite file in a temporary folder, the demo tenant (`Services::ensure_demo`), a record with
//! two personal fields read by the group's coach under the `training` template.
//!
//! Run: `cargo bench -p strongroom-core --bench hotpath`

#![allow(
    clippy::unwrap_used,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    clippy::indexing_slicing,
    reason = "a benchmark harness: a failed set-up should stop it loudly"
)]

use criterion::{Criterion, criterion_group, criterion_main};
use strongroom_core::access::Action;
use strongroom_core::privacy::RECORD_OBJECT;
use strongroom_core::records::{FieldDef, FieldType, NewRecord, parse_fields};
use strongroom_core::{Principal, Services};
use strongroom_domain::{Decision, RecordId};

mod common;

use common::CLIENT;

struct Setup {
    s: Services,
    coach_token: String,
    coach: Principal,
    record: RecordId,
    _dir: tempfile::TempDir,
}

fn field(name: &str, kind: FieldType, personal: bool) -> FieldDef {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "type": kind,
        "personal": personal,
    }))
    .unwrap()
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let s = common::services(dir.path(), "h.db").await;
    let creds = common::demo(&s, dir.path()).await;
    let admin = common::principal(&s, &creds, "admin").await;
    let coach_token = common::token(&s, &creds, "coach").await;
    let part = common::principal(&s, &creds, "participant1").await;
    s.create_collection(
        &admin,
        Some(CLIENT),
        "recordings",
        vec![
            field("title", FieldType::String, false),
            field("notes", FieldType::String, true),
            field("day", FieldType::Date, true),
        ],
        None,
    )
    .await
    .unwrap();
    let group = s.my_groups(&part).await.unwrap().first().map(|(g, _)| *g);
    let data = serde_json::json!({
        "title": "Interview practice", "notes": "nervous at the start", "day": "2026-11-02"
    });
    let record = s
        .create_record(
            &part,
            Some(CLIENT),
            "recordings",
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
    let coach = s.authenticate(&coach_token).await.unwrap();
    let read = s.get_record(&coach, Some(CLIENT), record).await.unwrap();
    assert_eq!(read.data["notes"], "nervous at the start");
    Setup {
        s,
        coach_token,
        coach,
        record,
        _dir: dir,
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let x = rt.block_on(setup());
    let (s, p, id) = (&x.s, &x.coach, x.record);
    let actor = Services::actor(p);
    let (view, _) = rt
        .block_on(s.store.record_with_files(p.tenant_id, id))
        .unwrap()
        .unwrap();
    let facts = rt.block_on(s.facts(&view)).unwrap();
    let fields = parse_fields(&view.collection.fields).unwrap();
    let entry = rt
        .block_on(s.access_entry(
            &actor,
            Some(CLIENT),
            "coach",
            Some(view.record.subject_id),
            (RECORD_OBJECT, Some(id.0)),
            "read",
            vec!["notes".into(), "day".into()],
            Decision::Allow,
        ))
        .unwrap();
    let info = rt.block_on(s.get_record(p, Some(CLIENT), id)).unwrap();

    let mut g = c.benchmark_group("hotpath");
    g.bench_function("token", |b| {
        b.to_async(&rt)
            .iter(|| async { s.authenticate(&x.coach_token).await.unwrap() });
    });
    g.bench_function("level2", |b| {
        b.to_async(&rt).iter(|| async {
            s.access
                .level2(&*s.store, &actor.0, Action::ReadRecord)
                .await
                .unwrap()
        });
    });
    g.bench_function("record_read", |b| {
        b.to_async(&rt).iter(|| async {
            s.store
                .record_with_files(p.tenant_id, id)
                .await
                .unwrap()
                .unwrap()
        });
    });
    g.bench_function("level3", |b| {
        b.to_async(&rt).iter(|| async {
            let facts = s.facts(&view).await.unwrap();
            let v = s
                .access
                .on_record(&*s.store, &actor.0, Action::ReadRecord, &facts)
                .await
                .unwrap();
            assert!(v.allowed());
        });
    });
    g.bench_function("open", |b| {
        b.to_async(&rt).iter(|| async {
            let key = s.subject_key_of(&view).await.unwrap();
            Services::open_data(
                p.tenant_id,
                &view.collection,
                &fields,
                id,
                key.as_ref(),
                &view.record.data,
            )
            .unwrap()
        });
    });
    g.bench_function("log_entry", |b| {
        b.to_async(&rt).iter(|| async {
            s.access_entry(
                &actor,
                Some(CLIENT),
                "coach",
                Some(facts.owner),
                (RECORD_OBJECT, Some(id.0)),
                "read",
                vec!["notes".into(), "day".into()],
                Decision::Allow,
            )
            .await
            .unwrap()
        });
    });
    g.bench_function("log_append", |b| {
        b.to_async(&rt)
            .iter(|| async { s.privacy.append(p.tenant_id, entry.clone()).await.unwrap() });
    });
    g.bench_function("json", |b| {
        b.iter(|| serde_json::to_vec(&info).unwrap());
    });
    g.bench_function("get_record", |b| {
        b.to_async(&rt).iter(|| async {
            let p = s.authenticate(&x.coach_token).await.unwrap();
            let info = s.get_record(&p, Some(CLIENT), id).await.unwrap();
            serde_json::to_vec(&info).unwrap()
        });
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
