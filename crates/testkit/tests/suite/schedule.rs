//! Backups on a schedule, the target's lock, and file replication, through the installation
//! worker `serve` runs (`Services::run_installation_jobs`, called here on the test's clock):
//! two instances on one database take each scheduled snapshot once; a failed and an overdue
//! backup mail the operator and show in `/metrics`; a prune never interleaves with a run;
//! uploads and deletions reach the replica.

#![allow(
    clippy::float_cmp,
    reason = "the gauges compared are whole numbers, exactly"
)]

use super::backup::gauge;
use strongroom_blobs::Blobs;
use strongroom_core::Clock as _;
use strongroom_core::backup;
use strongroom_domain::JobKind;
use strongroom_testkit::{Backend, TestServer, both_backends};
use time::Duration;

fn with_target(
    dir: &std::path::Path,
    interval: u64,
) -> impl FnOnce(&mut strongroom::config::Config) {
    let url = format!("file://{}", dir.display());
    move |c| {
        c.backup.target = Some(url);
        c.backup.interval_secs = interval;
        c.backup.keep.daily = 0;
        c.backup.keep.last = 2;
        c.mail.operator = Some("ops@vendor.example".into());
        c.retention.interval_secs = 0;
    }
}

/// 2030-01-01 10:10:00 UTC: ten minutes into an hour, so that the periods a test walks
/// through are the ones it means.
fn at_ten_past() -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(1_893_492_600).unwrap()
}

/// The snapshots in a target folder.
async fn snapshots(target: &Blobs) -> Vec<String> {
    target.keys("snapshots").await.unwrap()
}

/// Two instances on one database, both running the worker at the same moment, take the
/// period's snapshot once; the next period takes the next one, and each run is followed by a
/// prune with `backup.keep` (here: the last two).
async fn two_instances_take_each_scheduled_snapshot_once(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let a = TestServer::start_with(b, with_target(dir.path(), 60)).await;
    let other = a.second_instance().await;
    let (t, email, pw) = a.tenant("acme").await;
    a.client().logged_in(&t, &email, &pw).await;
    let target = a.services.backup.target.clone().unwrap();
    let t0 = at_ten_past();
    a.clock.set(t0);
    other.clock.set(t0);
    let (x, y) = tokio::join!(
        a.services.run_installation_jobs(t0),
        other.services.run_installation_jobs(t0)
    );
    let ran: Vec<_> = x.unwrap().into_iter().chain(y.unwrap()).collect();
    let runs = ran.iter().filter(|(k, _)| *k == JobKind::BackupRun).count();
    assert_eq!(runs, 1, "{ran:?}");
    assert_eq!(snapshots(&target).await.len(), 1);
    // The same period again, on either instance: nothing new.
    assert!(
        a.services
            .run_installation_jobs(t0)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        other
            .services
            .run_installation_jobs(t0 + Duration::seconds(5))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(snapshots(&target).await.len(), 1);
    // Three more periods: a snapshot each, pruned to the last two.
    for i in 1..=3 {
        let at = t0 + Duration::seconds(60 * i);
        let ran = other.services.run_installation_jobs(at).await.unwrap();
        assert_eq!(ran.len(), 1, "{ran:?}");
        assert!(ran[0].1.contains("pruned"), "{ran:?}");
    }
    assert_eq!(snapshots(&target).await.len(), 2);
    let status = a
        .services
        .backup_status(t0 + Duration::seconds(180))
        .await
        .unwrap();
    assert!(!status.overdue);
    assert_eq!(
        status.last_backup.map(time::OffsetDateTime::unix_timestamp),
        Some((t0 + Duration::seconds(180)).unix_timestamp())
    );
    assert!(
        status.runs.contains(&("backup".to_owned(), true, 4)),
        "{:?}",
        status.runs
    );
    assert!(status.runs.contains(&("prune".to_owned(), true, 4)));
    let metrics = a.client().get("/metrics").await.body;
    assert!(
        metrics.contains("strongroom_backup_runs_total{kind=\"backup\",outcome=\"ok\"} 4"),
        "{metrics}"
    );
}

/// A target that fails: the run is recorded as failed, the operator is mailed once (not at
/// every period), `/metrics` shows the failure, and after two periods without a success the
/// backup is overdue: one more mail, and the gauge.
async fn a_failing_backup_mails_the_operator_and_becomes_overdue(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_with(b, with_target(dir.path(), 60)).await;
    s.tenant("acme").await;
    // `chunks` is a file, so no chunk can be written under it.
    std::fs::write(dir.path().join("chunks"), b"in the way").unwrap();
    let t0 = at_ten_past();
    s.clock.set(t0);
    let ran = s.services.run_installation_jobs(t0).await.unwrap();
    assert!(ran[0].1.starts_with("failed"), "{ran:?}");
    let mail = s.next_mail().await;
    assert!(mail.contains("ops@vendor.example"), "{mail}");
    assert!(mail.contains("a scheduled backup failed"), "{mail}");
    let status = s.services.backup_status(t0).await.unwrap();
    assert_eq!(
        status
            .last_backup_failure
            .map(time::OffsetDateTime::unix_timestamp),
        Some(t0.unix_timestamp())
    );
    assert!(status.overdue, "never a success, and a failure");
    // The next period fails again: no second failure mail, but the overdue notice, once.
    let t1 = t0 + Duration::seconds(60);
    s.services.run_installation_jobs(t1).await.unwrap();
    s.services
        .run_installation_jobs(t1 + Duration::seconds(5))
        .await
        .unwrap();
    let mail = s.next_mail().await;
    assert!(mail.contains("backups are overdue"), "{mail}");
    assert_eq!(s.pending_mails(), 0, "one failure mail, one overdue mail");
    s.clock.set(t1);
    let metrics = s.client().get("/metrics").await.body;
    assert_eq!(gauge(&metrics, "strongroom_backup_overdue"), 1.0);
    assert_eq!(
        gauge(&metrics, "strongroom_backup_last_success_timestamp_seconds"),
        0.0
    );
    assert!(gauge(&metrics, "strongroom_backup_last_failure_timestamp_seconds") > 0.0);
    // Repaired: the next period succeeds and nothing is overdue.
    std::fs::remove_file(dir.path().join("chunks")).unwrap();
    let t2 = t1 + Duration::seconds(60);
    let ran = s.services.run_installation_jobs(t2).await.unwrap();
    assert!(ran[0].1.starts_with("snapshot"), "{ran:?}");
    assert!(!s.services.backup_status(t2).await.unwrap().overdue);
}

/// The lock: while a prune holds the target, a run is refused with who holds it (and the
/// scheduled run is retried, not failed); a verify and a restore share the target with each
/// other but not with a writer; a lock left by a process that died is taken over.
async fn the_target_lock_keeps_a_prune_and_a_run_apart(target: Blobs) {
    let prune = backup::lock_exclusive(&target, "backup prune")
        .await
        .unwrap();
    let busy = backup::lock_exclusive(&target, "backup run").await;
    let msg = format!("{:?}", busy.err().unwrap());
    assert!(msg.contains("in use by backup prune"), "{msg}");
    assert!(backup::lock_shared(&target, "backup verify").await.is_err());
    prune.release().await.unwrap();

    let v1 = backup::lock_shared(&target, "backup verify").await.unwrap();
    let v2 = backup::lock_shared(&target, "restore").await.unwrap();
    let busy = backup::lock_exclusive(&target, "backup run").await;
    assert!(format!("{:?}", busy.err().unwrap()).contains("in use by"));
    v1.release().await.unwrap();
    v2.release().await.unwrap();
    let run = backup::lock_exclusive(&target, "backup run").await.unwrap();
    run.release().await.unwrap();

    // A lock from seven hours ago: its process is gone.
    let old = (time::OffsetDateTime::now_utc() - Duration::hours(7)).unix_timestamp() * 1000;
    target
        .put(
            "locks/exclusive",
            format!(r#"{{"id":"x","what":"backup run","pid":1,"at":{old}}}"#).into_bytes(),
        )
        .await
        .unwrap();
    let taken = backup::lock_exclusive(&target, "backup prune")
        .await
        .unwrap();
    taken.release().await.unwrap();
    assert!(target.keys("locks").await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_holds_in_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    the_target_lock_keeps_a_prune_and_a_run_apart(Blobs::local(dir.path()).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lock_holds_in_an_s3_bucket() {
    let s3 = strongroom_testkit::s3::S3Server::start().await;
    let target = s3.bucket("locked");
    the_target_lock_keeps_a_prune_and_a_run_apart(target).await;
}

/// A scheduled run that meets a prune holding the target is retried soon, not failed or
/// mailed.
async fn a_scheduled_run_waits_for_a_prune(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = TestServer::start_with(b, with_target(dir.path(), 3600)).await;
    let target = s.services.backup.target.clone().unwrap();
    let prune = backup::lock_exclusive(&target, "backup prune")
        .await
        .unwrap();
    let t0 = at_ten_past();
    s.clock.set(t0);
    let ran = s.services.run_installation_jobs(t0).await.unwrap();
    assert!(ran[0].1.contains("failed, retried"), "{ran:?}");
    assert!(ran[0].1.contains("backup prune"), "{ran:?}");
    assert_eq!(s.pending_mails(), 0);
    prune.release().await.unwrap();
    let ran = s
        .services
        .run_installation_jobs(t0 + Duration::minutes(1))
        .await
        .unwrap();
    assert!(ran[0].1.starts_with("snapshot"), "{ran:?}");
    assert_eq!(snapshots(&target).await.len(), 1);
}

/// Every upload reaches the replica byte for byte, and every deletion too (a replaced file,
/// a forgotten person's files); until the worker has run, `/metrics` shows the lag.
async fn files_and_their_deletions_reach_the_replica(b: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let replica_dir = dir.path().join("replica");
    let url = format!("file://{}", replica_dir.display());
    let s = TestServer::start_with(b, |c| c.blobs.replica_url = Some(url)).await;
    let replica = s.services.replica.clone().unwrap();
    let super::backup::Acme { admin, pia, c, rec } = super::backup::acme_with_a_recording(&s).await;
    let put = |bytes: Vec<u8>| {
        let c = c.clone();
        let path = format!("/api/v1/records/{rec}/files/v.mp4");
        async move {
            let r = c.put_bytes(&path, "video/mp4", bytes).await;
            assert_eq!(r.status, 201, "{}", r.body);
        }
    };
    put(vec![7; 100_000]).await;
    let first = s.services.blobs.keys("tenants").await.unwrap();
    assert_eq!(first.len(), 1);
    s.clock.advance(Duration::seconds(3));
    let metrics = s.client().get("/metrics").await.body;
    assert!(gauge(&metrics, "strongroom_replication_lag_seconds") >= 3.0);
    s.services
        .run_installation_jobs(s.clock.now())
        .await
        .unwrap();
    assert_eq!(
        replica.get(&first[0]).await.unwrap(),
        s.services.blobs.get(&first[0]).await.unwrap(),
        "the same ciphertext"
    );
    let metrics = s.client().get("/metrics").await.body;
    assert_eq!(gauge(&metrics, "strongroom_replication_lag_seconds"), 0.0);

    // A new version replaces the file: the old blob leaves the replica, the new one arrives.
    put(vec![8; 50_000]).await;
    s.services
        .run_installation_jobs(s.clock.now())
        .await
        .unwrap();
    let now_keys = s.services.blobs.keys("tenants").await.unwrap();
    assert_eq!(replica.keys("tenants").await.unwrap(), now_keys);
    assert_ne!(now_keys, first);

    // The person is forgotten: their files leave the replica too.
    let r = admin.delete(&format!("/api/v1/users/{pia}")).await;
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    s.services
        .run_installation_jobs(s.clock.now())
        .await
        .unwrap();
    assert!(replica.keys("tenants").await.unwrap().is_empty());
    // The safety-net jobs scheduled before each upload find nothing left to do.
    let later = s.clock.now() + Duration::minutes(11);
    for (kind, outcome) in s.services.run_installation_jobs(later).await.unwrap() {
        assert_eq!(kind, JobKind::ReplicaSync);
        assert!(outcome.contains("deleted from the replica"), "{outcome}");
    }
    assert!(replica.keys("tenants").await.unwrap().is_empty());
}

both_backends!(
    two_instances_take_each_scheduled_snapshot_once,
    a_failing_backup_mails_the_operator_and_becomes_overdue,
    a_scheduled_run_waits_for_a_prune,
    files_and_their_deletions_reach_the_replica,
);
