//! Backups end to end below the CLI: a snapshot of a running installation (rows and file
//! blobs) restored into the other kind of store, value for value; a second snapshot stores
//! almost nothing new; a restore refuses a non-empty place and a damaged target.

use serde_json::json;
use strongroom_blobs::Blobs;
use strongroom_core::backup;
use strongroom_store::Store;
use strongroom_testkit::pg::PgDatabase;
use strongroom_testkit::{Backend, TestServer, both_backends};

/// An empty store of the other kind and an empty blob folder: where a restore goes.
struct Place {
    store: std::sync::Arc<dyn Store>,
    blobs: Blobs,
    _dir: tempfile::TempDir,
    _db: Option<PgDatabase>,
}

async fn other_place(b: Backend) -> Place {
    let dir = tempfile::tempdir().unwrap();
    let blobs = Blobs::local(&dir.path().join("blobs")).unwrap();
    let (store, db) = match b {
        Backend::Postgres => {
            let url = format!("sqlite://{}", dir.path().join("restored.db").display());
            (strongroom_store::open(&url).await.unwrap(), None)
        }
        Backend::Sqlite => {
            let db = PgDatabase::create().await;
            (strongroom_store::open(&db.url).await.unwrap(), Some(db))
        }
    };
    Place {
        store,
        blobs,
        _dir: dir,
        _db: db,
    }
}

impl Place {
    /// Restores a snapshot of `target` (`None`: the newest) here.
    async fn restore(
        &self,
        keys: &strongroom_crypto::backup::BackupKeys,
        target: &Blobs,
        snapshot: Option<&str>,
    ) -> Result<backup::RestoreSummary, strongroom_core::CoreError> {
        backup::restore(
            keys,
            target,
            snapshot,
            &*self.store,
            &self.blobs,
            &backup::quiet,
        )
        .await
    }
}

/// The tenant `acme` in a store.
async fn acme(store: &dyn Store) -> strongroom_domain::TenantId {
    store
        .tenant_by_slug(&strongroom_domain::Slug::parse("acme").unwrap())
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Whether every entry of `acme`'s privacy log holds in `store`, against the server's key file.
async fn chain_holds(s: &TestServer, store: &dyn Store) -> bool {
    let public =
        strongroom_crypto::sign::public_key(s.services.keyring.audit_signing_key().unwrap())
            .unwrap();
    strongroom_core::privacy::verify(store, acme(store).await, Some(&public))
        .await
        .unwrap()
        .is_ok()
}

/// A gauge's value in a `/metrics` text.
pub fn gauge(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {name} in {metrics}"))
        .trim()
        .parse()
        .unwrap()
}

fn sorted(mut d: strongroom_store::backup::Dump) -> strongroom_store::backup::Dump {
    for t in &mut d.tables {
        t.rows.sort();
    }
    d
}

async fn a_snapshot_restores_into_the_other_store(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    snapshot_and_restore(b, Blobs::local(dir.path()).unwrap()).await;
}

/// The same against a real S3-compatible server on loopback as the target.
async fn a_snapshot_in_an_s3_bucket_restores_too(b: Backend) {
    let s3 = strongroom_testkit::s3::S3Server::start().await;
    let target = s3.bucket("backups");
    snapshot_and_restore(b, target).await;
    assert!(
        s3.objects()
            .iter()
            .any(|(p, _)| p.to_string_lossy().contains("backups/chunks/")),
        "the chunks went to the bucket"
    );
}

/// The tenant `acme` with its administrator, the participant Pia (id and client) and a
/// recording about her (a record of the collection `recordings`, id).
pub struct Acme {
    pub admin: strongroom_testkit::Client,
    pub pia: String,
    pub c: strongroom_testkit::Client,
    pub rec: String,
}

pub async fn acme_with_a_recording(s: &TestServer) -> Acme {
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, c, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "recordings", "fields": [{"name": "notes", "type": "string", "personal": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c
        .post(
            "/api/v1/collections/recordings/records",
            &json!({"subject_id": pia, "data": {"notes": "nervous"}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let rec = r.json["id"].as_str().unwrap().to_owned();
    Acme { admin, pia, c, rec }
}

async fn snapshot_and_restore(b: Backend, target: Blobs) {
    let s = TestServer::start(b).await;
    let Acme { c, rec, .. } = acme_with_a_recording(&s).await;
    let video: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let r = c
        .put_bytes(
            &format!("/api/v1/records/{rec}/files/v.mp4"),
            "video/mp4",
            video,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);

    let keys = s.services.keyring.backup_keys().expect("a backup key");
    let (store, blobs) = (&*s.services.store, &s.services.blobs);
    let now = s.services.clock.now();
    let first = backup::run(
        store,
        blobs,
        &keys,
        &target,
        now,
        vec!["daily".into()],
        &backup::quiet,
    )
    .await
    .unwrap();
    assert!(first.bytes_new > 300_000, "{first:?}");
    assert_eq!(first.erased, 0);
    let before = sorted(store.dump().await.unwrap());
    // Nothing changed: the second snapshot shares every chunk and the blob; only its key
    // snapshot is new.
    let second = backup::run(store, blobs, &keys, &target, now, vec![], &backup::quiet)
        .await
        .unwrap();
    assert!(
        second.bytes_new * 20 < first.bytes_new,
        "{first:?} {second:?}"
    );
    let listed = backup::list(&keys, &target).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|l| l.snapshot.clone())
            .collect::<Vec<_>>(),
        [second.snapshot.clone(), first.snapshot.clone()]
    );
    assert_eq!(listed[1].tags, ["daily"]);

    // Into the other kind of store and an empty blob folder.
    let place = other_place(b).await;
    let (restored, restored_blobs) = (&*place.store, &place.blobs);
    let summary = place
        .restore(&keys, &target, Some(&first.snapshot))
        .await
        .unwrap();
    assert_eq!(summary.files, 1);
    assert_eq!(sorted(restored.dump().await.unwrap()), before);
    let key = blobs.keys("tenants").await.unwrap().pop().unwrap();
    assert_eq!(
        restored_blobs.get(&key).await.unwrap(),
        blobs.get(&key).await.unwrap(),
        "the file's blob, byte for byte"
    );
    assert!(
        chain_holds(&s, restored).await,
        "the privacy log's chain holds in the restored store"
    );

    // Not into a place that holds anything: refused, nothing written.
    let again = place.restore(&keys, &target, None).await;
    assert!(
        matches!(again, Err(strongroom_core::CoreError::Conflict(_))),
        "{again:?}"
    );
    assert_eq!(sorted(restored.dump().await.unwrap()), before);

    // A damaged chunk: named, and the empty store stays empty.
    let chunk = target.keys("chunks").await.unwrap().pop().unwrap();
    let mut bytes = target.get(&chunk).await.unwrap().unwrap().to_vec();
    bytes[30] ^= 1;
    target.put(&chunk, bytes).await.unwrap();
    let empty = other_place(b).await;
    let damaged = empty.restore(&keys, &target, Some(&first.snapshot)).await;
    let msg = format!("{damaged:?}");
    assert!(msg.contains(chunk.trim_start_matches("chunks/")), "{msg}");
    assert!(empty.store.is_empty().await.unwrap());
}

/// Seed 000's promise kept better: a person forgotten after a snapshot was taken does not come
/// back when that snapshot is restored — no login, no name, no files, no personal values —
/// and the target holds no key of theirs any more; everyone else comes back intact.
async fn a_person_forgotten_after_a_snapshot_stays_forgotten_in_its_restore(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let r = admin
        .post(
            "/api/v1/collections",
            &json!({"name": "recordings", "fields": [{"name": "notes", "type": "string", "personal": true}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut people = Vec::new();
    for who in ["pia", "bob"] {
        let (id, c, pw) = s
            .settled_user(
                &admin,
                &t,
                &format!("{who}@acme.example"),
                json!(["participant"]),
            )
            .await;
        let r = c
            .post(
                "/api/v1/collections/recordings/records",
                &json!({"subject_id": id, "data": {"notes": format!("{who} was nervous")}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let rec = r.json["id"].as_str().unwrap().to_owned();
        let r = c
            .put_bytes(
                &format!("/api/v1/records/{rec}/files/v.mp4"),
                "video/mp4",
                who.repeat(10_000).into_bytes(),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        people.push((id, pw));
    }
    let (pia, bob) = (people[0].clone(), people[1].clone());
    let keys = s.services.keyring.backup_keys().unwrap();
    let target_dir = tempfile::tempdir().unwrap();
    let target = Blobs::local(target_dir.path()).unwrap();
    let (store, blobs) = (&*s.services.store, &s.services.blobs);
    let now = s.services.clock.now();
    let first = backup::run(store, blobs, &keys, &target, now, vec![], &backup::quiet)
        .await
        .unwrap();
    let bob_blob = {
        let tenant = acme(store).await;
        let files = store
            .files_of_subject(tenant, bob.0.parse().unwrap())
            .await
            .unwrap();
        files[0].blob_key.clone()
    };

    let r = admin.delete(&format!("/api/v1/users/{}", pia.0)).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    backup::run(store, blobs, &keys, &target, now, vec![], &backup::quiet)
        .await
        .unwrap();
    assert_eq!(
        target.keys("keys").await.unwrap().len(),
        1,
        "only the newest key snapshot stays"
    );

    let place = other_place(b).await;
    let (restored, restored_blobs) = (&*place.store, &place.blobs);
    let mut summary = place
        .restore(&keys, &target, Some(&first.snapshot))
        .await
        .unwrap();
    let services = strongroom_core::Services {
        store: place.store.clone(),
        blobs: restored_blobs.clone(),
        ..s.services.clone()
    };
    assert_eq!(services.reapply_erasures(&mut summary).await.unwrap(), 1);

    let tenant = acme(restored).await;
    let pia_id: strongroom_domain::UserId = pia.0.parse().unwrap();
    let gone = restored.user_by_id(tenant, pia_id).await.unwrap().unwrap();
    assert_eq!(gone.status, strongroom_domain::UserStatus::Deleted);
    assert!(
        gone.subject_key.is_none() && gone.name_sealed.is_none() && gone.password_hash.is_none()
    );
    assert!(
        restored
            .files_of_subject(tenant, pia_id)
            .await
            .unwrap()
            .is_empty()
    );
    for v in restored.records_of_subject(tenant, pia_id).await.unwrap() {
        assert!(
            !v.record.data.contains("notes"),
            "a personal value came back: {}",
            v.record.data
        );
    }
    // Bob is intact, his file byte for byte; Pia's file is not in the restored blob store.
    let bob_user = restored
        .user_by_id(tenant, bob.0.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(bob_user.subject_key.is_some() && bob_user.password_hash.is_some());
    assert_eq!(
        restored_blobs.get(&bob_blob).await.unwrap(),
        blobs.get(&bob_blob).await.unwrap()
    );
    assert_eq!(restored_blobs.keys("tenants").await.unwrap(), [bob_blob]);
    assert!(chain_holds(&s, restored).await);
}

/// Pruning keeps what the policy says and removes the chunks only the removed snapshots
/// named; the kept snapshot still verifies, data read and restored.
async fn prune_keeps_what_the_policy_says_and_collects_unused_chunks(b: Backend) {
    let s = TestServer::start(b).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let keys = s.services.keyring.backup_keys().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = Blobs::local(dir.path()).unwrap();
    let (store, blobs) = (&*s.services.store, &s.services.blobs);
    let mut runs = Vec::new();
    for i in 0..3 {
        // Each round changes the store (a user, and the privacy log).
        s.settled_user(
            &admin,
            &t,
            &format!("u{i}@acme.example"),
            json!(["participant"]),
        )
        .await;
        let now = s.services.clock.now();
        runs.push(
            backup::run(store, blobs, &keys, &target, now, vec![], &backup::quiet)
                .await
                .unwrap(),
        );
    }
    let before = target.keys("chunks").await.unwrap().len();
    let nothing = backup::Keep {
        last: 0,
        hourly: 0,
        daily: 0,
        weekly: 0,
        monthly: 0,
    };
    assert!(
        backup::prune(&keys, &target, &nothing, false)
            .await
            .is_err()
    );
    let one = backup::Keep { last: 1, ..nothing };
    let dry = backup::prune(&keys, &target, &one, true).await.unwrap();
    assert_eq!(dry.removed.len(), 2);
    assert_eq!(
        target.keys("chunks").await.unwrap().len(),
        before,
        "a dry run removes nothing"
    );
    let done = backup::prune(&keys, &target, &one, false).await.unwrap();
    assert_eq!(done.kept, [runs[2].snapshot.clone()]);
    assert!(done.chunks_removed > 0, "{done:?}");
    assert_eq!(
        target.keys("chunks").await.unwrap().len(),
        before - done.chunks_removed
    );
    let scratch_dir = tempfile::tempdir().unwrap();
    let scratch = strongroom_store::open(&format!(
        "sqlite://{}",
        scratch_dir.path().join("s.db").display()
    ))
    .await
    .unwrap();
    let public =
        strongroom_crypto::sign::public_key(s.services.keyring.audit_signing_key().unwrap())
            .unwrap();
    let v = backup::verify(&keys, &target, None, Some(&*scratch), Some(&public))
        .await
        .unwrap();
    assert!(v.ok, "{v:?}");
    assert_eq!(v.snapshot, runs[2].snapshot);
}

/// With a backup target configured, a forget is followed by a durable job that rewrites the
/// key snapshot without the person's key and deletes the older ones: restoring a snapshot taken
/// before the forget — with no backup run since — brings back no key of theirs.
async fn a_forget_removes_the_persons_key_from_the_target_by_a_job(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let s = TestServer::start_with(b, |c| c.backup.target = Some(url)).await;
    let (t, email, pw) = s.tenant("acme").await;
    let (admin, _) = s.client().logged_in(&t, &email, &pw).await;
    let (pia, _, _) = s
        .settled_user(&admin, &t, "pia@acme.example", json!(["participant"]))
        .await;
    let keys = s.services.keyring.backup_keys().unwrap();
    let target = s
        .services
        .backup
        .target
        .clone()
        .expect("the target from the configuration");
    let (store, blobs) = (&*s.services.store, &s.services.blobs);
    let first = backup::run(
        store,
        blobs,
        &keys,
        &target,
        s.services.clock.now(),
        vec![],
        &backup::quiet,
    )
    .await
    .unwrap();
    let before = target.keys("keys").await.unwrap();
    assert_eq!(before, [format!("keys/{}", first.snapshot)]);

    let r = admin.delete(&format!("/api/v1/users/{pia}")).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    // Until the job has run, /metrics shows how long the forget has waited to reach the
    // target (here two minutes on the server's clock).
    s.clock.advance(time::Duration::minutes(2));
    let metrics = s.client().get("/metrics").await.body;
    let lag = gauge(&metrics, "strongroom_backup_keys_lag_seconds");
    assert!((119.0..=121.0).contains(&lag), "{lag}");
    let ran = s
        .services
        .run_installation_jobs(s.services.clock.now())
        .await
        .unwrap();
    assert!(
        ran.iter()
            .any(|(kind, _)| *kind == strongroom_domain::JobKind::BackupKeys),
        "{ran:?}"
    );
    let metrics = s.client().get("/metrics").await.body;
    assert!(gauge(&metrics, "strongroom_backup_keys_lag_seconds") < 0.5);
    let after = target.keys("keys").await.unwrap();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before, "the old key snapshot is gone");

    let place = other_place(b).await;
    let restored = &*place.store;
    let summary = place
        .restore(&keys, &target, Some(&first.snapshot))
        .await
        .unwrap();
    let tenant = acme(restored).await;
    assert!(
        restored
            .subject_key(tenant, pia.parse().unwrap())
            .await
            .unwrap()
            .is_none(),
        "the target held no key of the forgotten person"
    );
    assert_eq!(summary.forgotten.len(), 1);
}

both_backends!(
    a_forget_removes_the_persons_key_from_the_target_by_a_job,
    prune_keeps_what_the_policy_says_and_collects_unused_chunks,
    a_snapshot_restores_into_the_other_store,
    a_snapshot_in_an_s3_bucket_restores_too,
    a_person_forgotten_after_a_snapshot_stays_forgotten_in_its_restore
);
