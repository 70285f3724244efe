//! The durable job runner: the planner schedules jobs with dedupe keys, the worker claims due
//! jobs with a lease, runs their handler, and records the outcome (done, deferred, retried
//! with backoff, failed after five attempts). Handlers are idempotent; nothing is lost on a
//! restart. The job kinds and their handlers live with their capability (`lifecycle`).

use crate::{CoreError, Services};
use serde::Serialize;
use strongroom_domain::{JobId, JobKind, TenantId, Timestamp, UserId, from_millis};
use strongroom_store::{Job, NewJob};
use time::Duration;

/// A claimed job may run this long before another worker may take it over.
const LEASE: Duration = Duration::minutes(5);

/// Attempts before a job is given up (and stays visible as `failed`).
const MAX_ATTEMPTS: u32 = 5;

/// Jobs claimed at a time.
const CLAIM_BATCH: u32 = 32;

/// What a job's handler did: finished, or waits (a legal hold) until `run_at`.
enum Step {
    Done(String),
    Defer(Timestamp, String),
}

/// One step the planner schedules (or, dry, would schedule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub kind: JobKind,
    pub tenant: TenantId,
    /// The user it concerns; none for a tenant-wide step.
    pub user: Option<UserId>,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: Timestamp,
    /// For a purge: how many records are due.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub records: Option<u64>,
}

/// One job a worker ran, and what it did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Ran {
    pub kind: JobKind,
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub outcome: String,
}

fn key(kind: JobKind, tenant: TenantId, user: UserId, expiry: i64) -> String {
    format!("{kind}:{}:{}:{expiry}", tenant.0, user.0)
}

pub(crate) fn job(
    kind: JobKind,
    tenant: TenantId,
    user: UserId,
    expiry: i64,
    run_at: Timestamp,
    now: Timestamp,
) -> NewJob {
    NewJob {
        id: JobId::new(),
        tenant_id: tenant,
        kind,
        subject_id: Some(user),
        dedupe_key: key(kind, tenant, user, expiry),
        param: expiry,
        run_at,
        now,
        object: None,
    }
}

impl Services {
    /// Schedules what is due (idempotent); how many jobs were new.
    pub async fn plan_retention(&self, now: Timestamp) -> Result<u32, CoreError> {
        let mut added = 0;
        for step in self.retention_steps(now).await? {
            if self.store.enqueue(&step).await? {
                added += 1;
            }
        }
        Ok(added)
    }

    /// `strongroom retention run --dry-run`: the steps due by `now` (scheduled or not), and
    /// which of them have run already; nothing is written.
    pub async fn retention_preview(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(Planned, String)>, CoreError> {
        let mut out = Vec::new();
        for step in self.retention_steps(now).await? {
            let done = match step.subject_id {
                Some(user) => self
                    .store
                    .jobs_of_subject(step.tenant_id, user)
                    .await?
                    .into_iter()
                    .find(|s| s.job.kind == step.kind && s.job.param == step.param)
                    .map(|s| s.status.as_str().to_owned()),
                // A tenant-wide step that has run leaves no tenant behind to plan it again.
                None => None,
            };
            let state = done.unwrap_or_else(|| {
                if step.run_at <= now {
                    "due"
                } else {
                    "scheduled"
                }
                .to_owned()
            });
            out.push((
                Planned {
                    kind: step.kind,
                    tenant: step.tenant_id,
                    user: step.subject_id,
                    run_at: step.run_at,
                    records: None,
                },
                state,
            ));
        }
        for tenant in self.store.list_tenants().await? {
            let due = self.due_for_purge(tenant.id, now, u32::MAX).await?;
            if !due.is_empty() {
                out.push((
                    Planned {
                        kind: JobKind::Purge,
                        tenant: tenant.id,
                        user: None,
                        run_at: now,
                        records: Some(due.len() as u64),
                    },
                    "due".into(),
                ));
            }
        }
        Ok(out)
    }

    /// Plans, then claims and runs due jobs until none is due at `now`, then purges what is
    /// due in every tenant.
    pub async fn run_retention(&self, now: Timestamp) -> Result<Vec<Ran>, CoreError> {
        self.plan_retention(now).await?;
        let mut ran = Vec::new();
        loop {
            let jobs = self
                .store
                .claim_jobs(
                    now,
                    now + LEASE,
                    CLAIM_BATCH,
                    strongroom_store::Queue::Tenants,
                )
                .await?;
            if jobs.is_empty() {
                for tenant in self.store.list_tenants().await? {
                    let (deleted, ended) = match self.purge_due(tenant.id, now).await {
                        Ok(n) => n,
                        // Destroyed meanwhile by another instance: nothing left to purge.
                        Err(_) if self.store.tenant_by_id(tenant.id).await?.is_none() => {
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    if deleted + ended > 0 {
                        ran.push(Ran {
                            kind: JobKind::Purge,
                            tenant: tenant.id,
                            user: None,
                            outcome: format!(
                                "purged {deleted} deleted records and {ended} past their legal retention period"
                            ),
                        });
                    }
                }
                return Ok(ran);
            }
            for j in jobs {
                match self.run_job(&j, now).await {
                    Ok(step) => {
                        let outcome = match step {
                            Step::Done(outcome) => {
                                self.store.finish_job(j.id, &outcome, now).await?;
                                outcome
                            }
                            Step::Defer(at, outcome) => {
                                self.store.defer_job(j.id, at, &outcome, now).await?;
                                outcome
                            }
                        };
                        ran.push(Ran {
                            kind: j.kind,
                            tenant: j.tenant_id,
                            user: j.subject_id,
                            outcome,
                        });
                    }
                    Err(e) => {
                        // Exponential backoff from one minute; given up after MAX_ATTEMPTS.
                        let wait = Duration::minutes(1 << j.attempts.min(10));
                        tracing::warn!(kind = %j.kind, tenant = %j.tenant_id, attempt = j.attempts, error = %e, "job failed");
                        self.store
                            .retry_job(j.id, MAX_ATTEMPTS, now + wait, &e.to_string(), now)
                            .await?;
                    }
                }
            }
        }
    }

    async fn run_job(&self, j: &Job, now: Timestamp) -> Result<Step, CoreError> {
        // A job planned (by another instance) while its tenant was being destroyed: remove
        // what such races left of the tenant, this job's row included.
        if self.store.tenant_by_id(j.tenant_id).await?.is_none() {
            self.store.destroy_tenant_rows(j.tenant_id).await?;
            return Ok(Step::Done("skipped: the tenant was destroyed".into()));
        }
        if j.kind == JobKind::DestroyTenant {
            let held = self.store.held_records(j.tenant_id).await?;
            if held > 0 {
                tracing::warn!(tenant = %j.tenant_id, held, "tenant destruction deferred: records on legal hold");
                return Ok(Step::Defer(
                    now + Duration::days(1),
                    format!("deferred: {held} records on legal hold"),
                ));
            }
            return self
                .destroy_tenant(j.tenant_id, from_millis(j.param))
                .await
                .map(Step::Done);
        }
        if j.kind == JobKind::BreachRemind {
            return self.remind_breach(j).await.map(Step::Done);
        }
        if j.kind == JobKind::BackupKeys {
            // Scheduled under its tenant by an older version; now an installation job.
            return self.refresh_backup_keys().await.map(Step::Done);
        }
        self.run_user_job(j, now).await.map(Step::Done)
    }
}
