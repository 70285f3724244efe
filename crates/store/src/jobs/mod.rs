//! The durable job queue: installation-wide, claimed by due time across tenants with a lease,
//! retried with backoff, given up after a number of attempts.

use crate::exec::{Access, Backend, Exec, args};
use crate::{Job, JobState, NewJob, Result, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{JobId, JobKind, TenantId, Timestamp, UserId};

/// Which jobs a worker claims.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Queue {
    /// The tenants' jobs (retention).
    Tenants,
    /// The installation's quick jobs (tenant [`TenantId::INSTALLATION`]): the key snapshot's
    /// refresh, replication.
    Installation,
    /// The installation's scheduled snapshots (`backup.run`), which take long: a lane of their
    /// own, so replication never waits behind one.
    Snapshots,
}

/// The durable job queue, the one table claimed across tenants (every job carries its tenant).
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Schedules a job unless one with its dedupe key exists (then moves it to the new time
    /// if it has not run yet); whether it was added or moved.
    async fn enqueue(&self, job: &NewJob) -> Result<bool>;

    /// Claims up to `limit` due jobs of one queue (pending, or running with an expired lease)
    /// until `lease_until`. Two instances never claim the same job (PostgreSQL: `FOR UPDATE
    /// SKIP LOCKED`; SQLite: one writer).
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        queue: Queue,
    ) -> Result<Vec<Job>>;

    /// Since when the oldest unfinished installation job of `kind` has been due, if one is
    /// due by `now`.
    async fn oldest_open_job(&self, kind: JobKind, now: Timestamp) -> Result<Option<Timestamp>>;

    /// Marks a claimed job done, with what it did.
    async fn finish_job(&self, id: JobId, outcome: &str, now: Timestamp) -> Result<()>;

    /// A failed attempt: pending again at `run_at`, or failed after `max_attempts`.
    async fn retry_job(
        &self,
        id: JobId,
        max_attempts: u32,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// A job that ran but could not act yet (a legal hold stands in the way): pending again at
    /// `run_at`, the attempt not counted.
    async fn defer_job(
        &self,
        id: JobId,
        run_at: Timestamp,
        outcome: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// A tenant's jobs of one kind, by due time.
    async fn jobs_of_kind(&self, tenant: TenantId, kind: JobKind) -> Result<Vec<JobState>>;

    /// The jobs concerning one user, by due time.
    async fn jobs_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<JobState>>;
}

#[async_trait]
impl<B: Backend> JobStore for B {
    async fn enqueue(&self, job: &NewJob) -> Result<bool> {
        let j = job.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(
                        sql::ENQUEUE_JOB,
                        args![
                            j.id,
                            j.tenant_id,
                            j.kind,
                            j.subject_id,
                            j.dedupe_key.as_str(),
                            j.param,
                            j.run_at,
                            j.now,
                            &j.object
                        ],
                    )
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        queue: Queue,
    ) -> Result<Vec<Job>> {
        self.write_one(move |c| {
            Box::pin(async move {
                // PostgreSQL skips rows another instance is claiming (`FOR UPDATE SKIP
                // LOCKED`); SQLite's one writer makes the claim atomic as it is.
                let claim =
                    <B::Conn as Exec>::DIALECT.pick(sql::CLAIM_JOBS_SQLITE, sql::CLAIM_JOBS_PG);
                let mut jobs = c
                    .query(
                        claim,
                        args![
                            lease_until,
                            now,
                            TenantId::INSTALLATION,
                            queue != Queue::Tenants,
                            JobKind::BackupRun,
                            queue == Queue::Snapshots,
                            limit
                        ],
                        rows::job,
                    )
                    .await?;
                jobs.sort_by_key(|j| (j.run_at, j.id));
                Ok(jobs)
            })
        })
        .await
    }

    async fn oldest_open_job(&self, kind: JobKind, now: Timestamp) -> Result<Option<Timestamp>> {
        self.run(Access::Point, move |c| {
            Box::pin(async move {
                c.query_one(
                    sql::OLDEST_OPEN_JOB,
                    args![TenantId::INSTALLATION, kind, now],
                    |r| r.get::<Option<Timestamp>>(0),
                )
                .await
            })
        })
        .await
    }

    async fn finish_job(&self, id: JobId, outcome: &str, now: Timestamp) -> Result<()> {
        let outcome = outcome.to_owned();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::FINISH_JOB, args![outcome.as_str(), now, id])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn retry_job(
        &self,
        id: JobId,
        max_attempts: u32,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let error = error.to_owned();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::RETRY_JOB,
                    args![max_attempts, run_at, error.as_str(), now, id],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn defer_job(
        &self,
        id: JobId,
        run_at: Timestamp,
        outcome: &str,
        now: Timestamp,
    ) -> Result<()> {
        let outcome = outcome.to_owned();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(sql::DEFER_JOB, args![run_at, outcome.as_str(), now, id])
                    .await?;
                Ok(())
            })
        })
        .await
    }

    async fn jobs_of_kind(&self, tenant: TenantId, kind: JobKind) -> Result<Vec<JobState>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::JOBS_OF_KIND, args![tenant, kind], rows::job_state)
                    .await
            })
        })
        .await
    }

    async fn jobs_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<JobState>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::JOBS_OF_SUBJECT,
                    args![tenant, subject],
                    rows::job_state,
                )
                .await
            })
        })
        .await
    }
}
