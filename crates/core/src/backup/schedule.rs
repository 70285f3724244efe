//! Backups on a schedule and the installation's own jobs. `serve` runs
//! [`Services::run_installation_jobs`] every few seconds (and at once when an upload or a
//! forget wakes it): it schedules the current period's `backup.run` (one job per period, by
//! its dedupe key, so two instances on one database never take one snapshot twice), a
//! `backup.overdue` notice once per overdue spell, and runs the due installation jobs —
//! scheduled backups (then a prune), the key snapshot's refresh after a forget, replication.
//! Every backup, drill, verify, prune and restore is recorded in the live store
//! ([`record`]), whichever process ran it: `/metrics` reads [`Services::backup_status`] from
//! those rows.

use super::{Keep, RunSummary, lock, prune, quiet, run};
use crate::{CoreError, Services};
use strongroom_blobs::Blobs;
use strongroom_domain::{Email, JobId, JobKind, TenantId, Timestamp, from_millis, to_millis};
use strongroom_store::{BackupRun, Job, NewJob, Queue, Store};
use time::Duration;

/// A claimed installation job may run this long before another instance may take it over.
const LEASE: Duration = Duration::minutes(10);

/// Installation jobs retry until they succeed (a target or a replica may be away for long),
/// at most this far apart.
const MAX_BACKOFF: Duration = Duration::minutes(5);

/// Attempts before an installation job is given up (about three days at the longest backoff).
const MAX_ATTEMPTS: u32 = 1000;

/// The backup settings `serve` runs with.
#[derive(Clone, Debug, Default)]
pub struct BackupSettings {
    /// `backup.target`: where snapshots go; a forget then also refreshes its key snapshot.
    pub target: Option<Blobs>,
    /// `backup.interval_secs`: a snapshot every so often (0: none scheduled).
    pub interval_secs: u64,
    /// `backup.keep`: the prune after each scheduled snapshot.
    pub keep: Keep,
    /// `mail.operator`: told of a failed or overdue backup.
    pub operator: Option<Email>,
}

/// A backup step's outcome, as [`record`] stores it.
pub struct Outcome<'a> {
    pub kind: &'static str,
    pub at: Timestamp,
    pub snapshot: Option<&'a str>,
    pub bytes: u64,
    pub seconds: f64,
    /// What failed (a chunk, a table, the target), or `None`.
    pub problem: Option<&'a str>,
}

/// Records a backup step in the live store and logs it (one line per step).
pub async fn record(store: &dyn Store, o: &Outcome<'_>) -> Result<(), CoreError> {
    match o.problem {
        None => tracing::info!(
            kind = o.kind,
            snapshot = o.snapshot,
            bytes = o.bytes,
            seconds = o.seconds,
            "backup step done"
        ),
        Some(p) => tracing::warn!(
            kind = o.kind,
            snapshot = o.snapshot,
            problem = p,
            "backup step failed"
        ),
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "seconds of a run, far below u64::MAX ms"
    )]
    let millis = (o.seconds * 1000.0).max(0.0) as u64;
    store
        .record_backup_run(&BackupRun {
            id: uuid::Uuid::now_v7(),
            kind: o.kind.to_owned(),
            at: o.at,
            snapshot: o.snapshot.map(str::to_owned),
            bytes: o.bytes,
            millis,
            ok: o.problem.is_none(),
            detail: o.problem.map(str::to_owned),
        })
        .await?;
    Ok(())
}

/// What `/metrics` shows of backups, read from the live store.
#[derive(Clone, Debug, Default)]
pub struct BackupStatus {
    pub last_backup: Option<Timestamp>,
    pub last_backup_failure: Option<Timestamp>,
    pub last_drill: Option<Timestamp>,
    pub last_drill_failure: Option<Timestamp>,
    /// A schedule is set and no snapshot succeeded within two of its periods.
    pub overdue: bool,
    /// How long the oldest pending refresh of the key snapshot has waited (a forget not yet
    /// carried into the target), and the oldest pending replication.
    pub keys_lag_seconds: f64,
    pub replication_lag_seconds: f64,
    /// Runs per kind and outcome.
    pub runs: Vec<(String, bool, u64)>,
}

pub(crate) fn installation_job(
    kind: JobKind,
    dedupe_key: String,
    object: Option<String>,
    run_at: Timestamp,
    now: Timestamp,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant_id: TenantId::INSTALLATION,
        kind,
        subject_id: None,
        dedupe_key,
        param: to_millis(run_at),
        run_at,
        now,
        object,
    }
}

fn lag(oldest: Option<Timestamp>, now: Timestamp) -> f64 {
    oldest.map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0))
}

impl Services {
    /// Schedules an installation job and wakes the worker.
    pub(crate) async fn enqueue_installation(
        &self,
        kind: JobKind,
        dedupe_key: String,
        object: Option<String>,
        delay: Duration,
    ) -> Result<(), CoreError> {
        let now = self.clock.now();
        self.store
            .enqueue(&installation_job(
                kind,
                dedupe_key,
                object,
                now + delay,
                now,
            ))
            .await?;
        self.wake.notify_one();
        Ok(())
    }

    /// The period a scheduled snapshot belongs to, and when it starts.
    fn backup_period(&self, now: Timestamp) -> Option<(i64, Timestamp)> {
        let every = i64::try_from(self.backup.interval_secs)
            .ok()?
            .checked_mul(1000)?;
        if every == 0 || self.backup.target.is_none() {
            return None;
        }
        let slot = to_millis(now).div_euclid(every);
        Some((slot, from_millis(slot * every)))
    }

    /// One pass of the installation worker: plans what the schedule calls for, then runs
    /// every due installation job, the quick ones first. What each did. (`serve` runs the two
    /// lanes as two tasks, so that replication never waits behind a snapshot.)
    pub async fn run_installation_jobs(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(JobKind, String)>, CoreError> {
        self.plan_installation(now).await?;
        let mut ran = self.run_installation_lane(now, Queue::Installation).await?;
        ran.extend(self.run_installation_lane(now, Queue::Snapshots).await?);
        Ok(ran)
    }

    /// Schedules the period's snapshot and, when backups are overdue, one notice.
    pub async fn plan_installation(&self, now: Timestamp) -> Result<(), CoreError> {
        if let Some((slot, start)) = self.backup_period(now) {
            self.store
                .enqueue(&installation_job(
                    JobKind::BackupRun,
                    format!("backup.run:{slot}"),
                    None,
                    start,
                    now,
                ))
                .await?;
            let last = self
                .store
                .last_backup_run("backup", true)
                .await?
                .map(|r| r.at);
            let failed = self
                .store
                .last_backup_run("backup", false)
                .await?
                .map(|r| r.at);
            if self.overdue(now, last, failed) {
                let since = last.map_or(0, to_millis);
                self.store
                    .enqueue(&installation_job(
                        JobKind::BackupOverdue,
                        format!("backup.overdue:{since}"),
                        None,
                        now,
                        now,
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    /// Runs the due jobs of one installation queue until none is due at `now`.
    pub async fn run_installation_lane(
        &self,
        now: Timestamp,
        queue: Queue,
    ) -> Result<Vec<(JobKind, String)>, CoreError> {
        let mut ran = Vec::new();
        loop {
            let jobs = self.store.claim_jobs(now, now + LEASE, 8, queue).await?;
            if jobs.is_empty() {
                return Ok(ran);
            }
            for j in jobs {
                match self.run_installation_job(&j, now).await {
                    Ok(outcome) => {
                        self.store.finish_job(j.id, &outcome, now).await?;
                        ran.push((j.kind, outcome));
                    }
                    Err(e) => {
                        let wait = Duration::seconds(15 << j.attempts.min(10)).min(MAX_BACKOFF);
                        tracing::warn!(kind = %j.kind, attempt = j.attempts, error = %e, "installation job failed");
                        self.store
                            .retry_job(j.id, MAX_ATTEMPTS, now + wait, &e.to_string(), now)
                            .await?;
                        ran.push((j.kind, format!("failed, retried: {e}")));
                    }
                }
            }
        }
    }

    async fn run_installation_job(&self, j: &Job, now: Timestamp) -> Result<String, CoreError> {
        match j.kind {
            JobKind::BackupKeys => self.refresh_backup_keys().await,
            JobKind::BackupRun => self.scheduled_backup(now).await,
            JobKind::BackupOverdue => {
                let last = self.store.last_backup_run("backup", true).await?;
                let since = last.map_or_else(|| "ever".to_owned(), |r| r.at.to_string());
                self.mail_operator(
                    "Strongroom: backups are overdue",
                    format!(
                        "No backup has succeeded since {since}, though backup.interval_secs is {}.\n\
                         Look at the server's log and at /metrics (strongroom_backup_*).\n",
                        self.backup.interval_secs
                    ),
                )
                .await
            }
            JobKind::ReplicaSync => self.sync_replica(j.object.as_deref().unwrap_or("")).await,
            other => Err(CoreError::internal(
                "an installation job of a tenant's kind",
                other,
            )),
        }
    }

    /// A scheduled snapshot, then a prune. A failure is recorded and mailed (the first after a
    /// success; then the overdue notice), and the job ends: the next period tries again. A
    /// target in use by another process (a prune, a verify) is retried soon instead.
    async fn scheduled_backup(&self, now: Timestamp) -> Result<String, CoreError> {
        let (Some(target), Some(keys)) = (&self.backup.target, self.keyring.backup_keys()) else {
            return Ok("skipped: no backup target".into());
        };
        let done = run(
            &*self.store,
            &self.blobs,
            &keys,
            target,
            now,
            vec!["scheduled".into()],
            &quiet,
        )
        .await;
        let summary: RunSummary = match done {
            Ok(s) => s,
            Err(e @ CoreError::Conflict(_)) => return Err(e),
            Err(e) => {
                let problem = e.to_string();
                let previous = self.store.last_backup_run("backup", false).await?;
                let last_ok = self.store.last_backup_run("backup", true).await?;
                record(
                    &*self.store,
                    &Outcome {
                        kind: "backup",
                        at: now,
                        snapshot: None,
                        bytes: 0,
                        seconds: 0.0,
                        problem: Some(&problem),
                    },
                )
                .await?;
                let first = match (previous, last_ok) {
                    (None, _) => true,
                    (Some(p), Some(ok)) => p.at < ok.at,
                    (Some(_), None) => false,
                };
                if first {
                    self.mail_operator(
                        "Strongroom: a scheduled backup failed",
                        format!("The scheduled backup at {now} failed: {problem}\n"),
                    )
                    .await?;
                }
                return Ok(format!("failed: {problem}"));
            }
        };
        record(
            &*self.store,
            &Outcome {
                kind: "backup",
                at: now,
                snapshot: Some(&summary.snapshot),
                bytes: summary.bytes_new,
                seconds: summary.seconds,
                problem: None,
            },
        )
        .await?;
        let started = std::time::Instant::now();
        let pruned = prune(&keys, target, &self.backup.keep, false).await;
        let (outcome, problem) = match &pruned {
            Ok(p) => (
                format!(
                    "snapshot {}, {} bytes new; pruned {} snapshots",
                    summary.snapshot,
                    summary.bytes_new,
                    p.removed.len()
                ),
                None,
            ),
            Err(e) => (
                format!("snapshot {}; prune failed: {e}", summary.snapshot),
                Some(e.to_string()),
            ),
        };
        record(
            &*self.store,
            &Outcome {
                kind: "prune",
                at: now,
                snapshot: None,
                bytes: 0,
                seconds: started.elapsed().as_secs_f64(),
                problem: problem.as_deref(),
            },
        )
        .await?;
        Ok(outcome)
    }

    /// Mails the operator (`mail.operator`), if one is configured; what was done.
    async fn mail_operator(&self, subject: &str, body: String) -> Result<String, CoreError> {
        let Some(to) = &self.backup.operator else {
            tracing::warn!(subject, "no mail.operator to tell");
            return Ok("no mail.operator configured".into());
        };
        self.mailer.send(to, subject, body).await?;
        Ok("operator mailed".into())
    }

    /// The backup figures `/metrics` shows.
    pub async fn backup_status(&self, now: Timestamp) -> Result<BackupStatus, CoreError> {
        let at = |r: Option<BackupRun>| r.map(|r| r.at);
        let s = &self.store;
        let mut status = BackupStatus {
            last_backup: at(s.last_backup_run("backup", true).await?),
            last_backup_failure: at(s.last_backup_run("backup", false).await?),
            last_drill: at(s.last_backup_run("drill", true).await?),
            last_drill_failure: at(s.last_backup_run("drill", false).await?),
            overdue: false,
            keys_lag_seconds: lag(s.oldest_open_job(JobKind::BackupKeys, now).await?, now),
            replication_lag_seconds: lag(s.oldest_open_job(JobKind::ReplicaSync, now).await?, now),
            runs: s.count_backup_runs().await?,
        };
        status.overdue = self.overdue(now, status.last_backup, status.last_backup_failure);
        Ok(status)
    }

    /// A schedule is set and no snapshot succeeded within two of its periods (or none ever
    /// did, and one failed).
    fn overdue(
        &self,
        now: Timestamp,
        last_ok: Option<Timestamp>,
        failed: Option<Timestamp>,
    ) -> bool {
        if self.backup_period(now).is_none() {
            return false;
        }
        let every = Duration::seconds(i64::try_from(self.backup.interval_secs).unwrap_or(0));
        match (last_ok, failed) {
            (Some(ok), _) => now - ok > every * 2,
            (None, failed) => failed.is_some(),
        }
    }
}

/// The target lock, for callers outside this folder (tests, the CLI's checks).
pub use lock::{TargetLock, exclusive as lock_exclusive, shared as lock_shared};
