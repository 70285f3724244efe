//! The retention engine (seed 000): when a participant's licence expires their records are
//! hidden; 31 days later they are told by mail that their recordings go in 14 days and may
//! keep them; 45 days after expiry the recordings are deleted unless kept. A renewed licence
//! cancels what is pending and shows the records again.
//!
//! Two halves, both driven by the injected clock:
//! * the **planner** looks at every user's licence and schedules jobs with a dedupe key per
//!   (step, tenant, user, expiry): planning twice, or on two instances, schedules once;
//! * the **worker** claims due jobs (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two instances
//!   never run one job) and runs idempotent handlers, which check at run time that the licence
//!   still has the expiry the job was planned for (a renewal turns them into no-ops). A failed
//!   handler is retried with exponential backoff; a crash leaves the job `running` with a lease
//!   that expires, after which another worker claims it. Nothing is lost on restart.
//!
//! The periods are the tenant's rules (`GET/PUT /retention-rules`, seed 000's by default); the
//! planner computes each step's time from them on every run, so a change moves what has not
//! run yet. After the jobs, each run purges what is due (`deletion.rs`): records soft-deleted
//! longer than the rules allow, and records past their collection's legal retention period.
//! A legal hold defers the destruction of its tenant, a day at a time.
//!
//! Every action is a privacy-log entry (actor: none; via: `retention`).

use crate::access::Action;
use crate::error::failed;
use crate::{CoreError, Services};
use serde::{Deserialize, Serialize};
use strongroom_domain::{
    TenantId, TenantStatus, Timestamp, UserId, UserStatus, from_millis, to_millis,
};
use strongroom_store::{ChangeLog, DeletionNotice, Job, NewJob, PrivacyEntry, User};
use time::Duration;

pub const HIDE: &str = "retention.hide";
pub const NOTICE: &str = "retention.notice";
pub const DELETE_RECORDINGS: &str = "retention.delete_recordings";
pub const UNHIDE: &str = "retention.unhide";
pub const DESTROY_TENANT: &str = "retention.destroy_tenant";
/// Not a job: records soft-deleted too long ago, or past their legal retention period, are
/// found in the records table itself (the durable state) on every run.
pub const PURGE: &str = "retention.purge";

/// What a notice announces the deletion of.
pub const RECORDINGS: &str = "recordings";

/// A claimed job may run this long before another worker may take it over.
const LEASE: Duration = Duration::minutes(5);
/// Attempts before a job is given up (and stays visible as `failed`).
const MAX_ATTEMPTS: u32 = 5;
/// Jobs claimed at a time.
const CLAIM_BATCH: u32 = 32;

/// A tenant's retention rules (`GET/PUT /retention-rules`); the defaults are seed 000's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    /// Licence expiry to the mail that announces the deletion of recordings.
    pub notice_after_days: u32,
    /// Licence expiry to the deletion of recordings (unless the user keeps them).
    pub delete_recordings_after_days: u32,
    /// End of the agreement to the destruction of the tenant.
    pub destroy_after_days: u32,
    /// Soft deletion to the purge.
    pub purge_deleted_after_days: u32,
}

impl Default for RetentionRules {
    fn default() -> Self {
        Self {
            notice_after_days: 31,
            delete_recordings_after_days: 45,
            destroy_after_days: 45,
            purge_deleted_after_days: 30,
        }
    }
}

/// The longest period a rule may set (ten years).
const MAX_DAYS: u32 = 3650;

impl RetentionRules {
    pub fn check(&self) -> Result<(), CoreError> {
        for (name, v) in [
            ("notice_after_days", self.notice_after_days),
            (
                "delete_recordings_after_days",
                self.delete_recordings_after_days,
            ),
            ("destroy_after_days", self.destroy_after_days),
            ("purge_deleted_after_days", self.purge_deleted_after_days),
        ] {
            if v > MAX_DAYS {
                return Err(CoreError::Invalid(format!("{name}: 0 to {MAX_DAYS}")));
            }
        }
        if self.notice_after_days >= self.delete_recordings_after_days {
            return Err(CoreError::Invalid(
                "notice_after_days: the notice must come before the deletion (less than delete_recordings_after_days)".into(),
            ));
        }
        Ok(())
    }
    fn notice_after(&self) -> Duration {
        Duration::days(i64::from(self.notice_after_days))
    }
    fn delete_after(&self) -> Duration {
        Duration::days(i64::from(self.delete_recordings_after_days))
    }
    fn destroy_after(&self) -> Duration {
        Duration::days(i64::from(self.destroy_after_days))
    }
    pub(crate) fn purge_deleted_after(&self) -> Duration {
        Duration::days(i64::from(self.purge_deleted_after_days))
    }
}

/// What a job's handler did: finished, or waits (a legal hold) until `run_at`.
enum Step {
    Done(String),
    Defer(Timestamp, String),
}

/// One step the planner schedules (or, dry, would schedule).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Planned {
    pub kind: String,
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
    pub kind: String,
    pub tenant: TenantId,
    pub user: Option<UserId>,
    pub outcome: String,
}

/// Is a file a recording (what the seed deletes 45 days after expiry)?
pub fn is_recording(content_type: &str) -> bool {
    content_type.starts_with("video/") || content_type.starts_with("audio/")
}

fn key(kind: &str, tenant: TenantId, user: UserId, expiry: i64) -> String {
    format!("{kind}:{}:{}:{expiry}", tenant.0, user.0)
}

fn job(
    kind: &str,
    tenant: TenantId,
    user: UserId,
    expiry: i64,
    run_at: Timestamp,
    now: Timestamp,
) -> NewJob {
    NewJob {
        id: uuid::Uuid::now_v7(),
        tenant_id: tenant,
        kind: kind.to_owned(),
        subject_id: Some(user),
        dedupe_key: key(kind, tenant, user, expiry),
        param: expiry,
        run_at,
        now,
    }
}

impl Services {
    /// The steps due by `now`'s licences: for an expired licence, hide, notice and delete at
    /// their times; for a renewed one that was hidden for an earlier expiry, show again.
    async fn retention_steps(&self, now: Timestamp) -> Result<Vec<NewJob>, CoreError> {
        let mut steps = Vec::new();
        for tenant in self.store.list_tenants().await? {
            let rules = self.rules_of(tenant.id).await?;
            if let Some(end) = tenant.agreement_ends_at.filter(|e| *e <= now) {
                let ms = to_millis(end);
                steps.push(NewJob {
                    id: uuid::Uuid::now_v7(),
                    tenant_id: tenant.id,
                    kind: DESTROY_TENANT.to_owned(),
                    subject_id: None,
                    dedupe_key: format!("{DESTROY_TENANT}:{}:{ms}", tenant.id.0),
                    param: ms,
                    run_at: end + rules.destroy_after(),
                    now,
                });
            }
            if tenant.status != TenantStatus::Active {
                continue;
            }
            // Who was hidden for which expiry: one look per tenant, not one per user.
            let hidden: Vec<(UserId, i64)> = self
                .store
                .jobs_of_kind(tenant.id, HIDE)
                .await?
                .into_iter()
                .filter(|s| s.status == "done")
                .filter_map(|s| s.job.subject_id.map(|u| (u, s.job.param)))
                .collect();
            for u in self.store.list_users(tenant.id).await? {
                if u.status == UserStatus::Deleted {
                    continue;
                }
                match u.license_expires_at {
                    Some(e) if e <= now => {
                        let ms = to_millis(e);
                        steps.push(job(HIDE, tenant.id, u.id, ms, e, now));
                        steps.push(job(
                            NOTICE,
                            tenant.id,
                            u.id,
                            ms,
                            e + rules.notice_after(),
                            now,
                        ));
                        steps.push(job(
                            DELETE_RECORDINGS,
                            tenant.id,
                            u.id,
                            ms,
                            e + rules.delete_after(),
                            now,
                        ));
                    }
                    _ => {
                        for (_, expiry) in hidden.iter().filter(|(who, _)| *who == u.id) {
                            steps.push(job(UNHIDE, tenant.id, u.id, *expiry, now, now));
                        }
                    }
                }
            }
        }
        Ok(steps)
    }

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
                    .map(|s| s.status),
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
                        kind: PURGE.into(),
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
            let jobs = self.store.claim_jobs(now, now + LEASE, CLAIM_BATCH).await?;
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
                            kind: PURGE.into(),
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
        if j.kind == DESTROY_TENANT {
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
        self.run_user_job(j, now).await.map(Step::Done)
    }

    async fn run_user_job(&self, j: &Job, now: Timestamp) -> Result<String, CoreError> {
        let Some(user_id) = j.subject_id else {
            return Ok("nothing to do".into());
        };
        let Some(user) = self.store.user_by_id(j.tenant_id, user_id).await? else {
            return Ok("skipped: no such user".into());
        };
        let expiry = from_millis(j.param);
        let same_expiry =
            user.status != UserStatus::Deleted && user.license_expires_at == Some(expiry);
        match j.kind.as_str() {
            HIDE if same_expiry => {
                let log = self.retention_log(j.tenant_id, user_id, "hide", vec!["records".into()]);
                let n = self
                    .store
                    .set_subject_hidden(j.tenant_id, user_id, true, &log)
                    .await?;
                Ok(format!("hid {n} records"))
            }
            NOTICE if same_expiry => self.send_notice(&user, expiry, now).await,
            DELETE_RECORDINGS if same_expiry => self.delete_recordings(&user, expiry, now).await,
            UNHIDE if user.license_expires_at.is_none_or(|e| e > now) => {
                let log =
                    self.retention_log(j.tenant_id, user_id, "unhide", vec!["records".into()]);
                let n = self
                    .store
                    .set_subject_hidden(j.tenant_id, user_id, false, &log)
                    .await?;
                Ok(format!("showed {n} records again"))
            }
            HIDE | NOTICE | DELETE_RECORDINGS | UNHIDE => {
                Ok("skipped: the licence changed since this was planned".into())
            }
            other => Ok(format!("skipped: unknown job kind {other}")),
        }
    }

    /// The entry of a change retention makes, for the store to append inside the change's
    /// own transaction.
    pub(crate) fn retention_log(
        &self,
        tenant: TenantId,
        subject: UserId,
        action: &str,
        fields: Vec<String>,
    ) -> ChangeLog {
        crate::privacy::change_log(
            tenant,
            vec![PrivacyEntry {
                at: self.clock.now(),
                actor_id: None,
                via: "retention".into(),
                subject_id: Some(subject.0),
                object_type: "retention".into(),
                object_id: Some(subject.0),
                action: action.into(),
                fields,
                decision: "allow".into(),
                client_sealed: None,
            }],
        )
    }

    /// The notice 14 days ahead (at least once: a crash between the mail and the notice row
    /// sends the mail again).
    async fn send_notice(
        &self,
        user: &User,
        expiry: Timestamp,
        now: Timestamp,
    ) -> Result<String, CoreError> {
        let rules = self.rules_of(user.tenant_id).await?;
        if self
            .store
            .notice_for(user.tenant_id, user.id, RECORDINGS, expiry)
            .await?
            .is_some()
        {
            return Ok("already notified".into());
        }
        let due = expiry + rules.delete_after();
        let days_ahead = rules
            .delete_recordings_after_days
            .saturating_sub(rules.notice_after_days);
        let notice = DeletionNotice {
            tenant_id: user.tenant_id,
            id: uuid::Uuid::now_v7(),
            user_id: user.id,
            what: RECORDINGS.into(),
            expiry_at: expiry,
            due_at: due,
            created_at: now,
            kept_at: None,
            done_at: None,
        };
        let keys = self
            .tenant_keys_for(user.tenant_id, std::slice::from_ref(user))
            .await?;
        let info = Self::open_user(&keys, user.clone())?;
        if let Some(email) = &info.email {
            let date = due
                .date()
                .format(time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(failed("a due date does not format"))?;
            let body = format!(
                "Hello,\n\nyour licence expired, so your recordings will be deleted on {date} \
                 (in {days_ahead} days).\n\nTo keep them, sign in and confirm:\n    \
                 POST /api/v1/me/deletion-notices/{}/keep\n\nYour other data is not affected.\n",
                notice.id
            );
            self.mailer
                .send(
                    email,
                    &format!("Your recordings will be deleted in {days_ahead} days"),
                    body,
                )
                .await?;
        }
        let log = self.retention_log(user.tenant_id, user.id, "notice", vec![RECORDINGS.into()]);
        self.store.insert_notice(&notice, &log).await?;
        Ok(format!("notified; deletion on {due}"))
    }

    /// Deletes the recordings (video and audio files) of records about the user, unless they
    /// kept them: each blob before its row, so a repeat finishes a half-done run.
    async fn delete_recordings(
        &self,
        user: &User,
        expiry: Timestamp,
        now: Timestamp,
    ) -> Result<String, CoreError> {
        let notice = self
            .store
            .notice_for(user.tenant_id, user.id, RECORDINGS, expiry)
            .await?;
        if notice.as_ref().is_some_and(|n| n.kept_at.is_some()) {
            return Ok("kept by the user".into());
        }
        let mut deleted = 0u32;
        let held = Self::held_ids(
            &self
                .store
                .records_of_subject(user.tenant_id, user.id)
                .await?,
        );
        for f in self.store.files_of_subject(user.tenant_id, user.id).await? {
            if !is_recording(&f.content_type) || held.contains(&f.record_id) {
                continue;
            }
            self.blobs.delete(&f.blob_key).await?;
            let log = self.retention_log(
                user.tenant_id,
                user.id,
                "delete",
                vec![format!("record/{}/files/{}", f.record_id.0, f.name)],
            );
            if self
                .store
                .delete_file_version(
                    user.tenant_id,
                    &f,
                    user.id,
                    crate::deletion::REASON_RECORDINGS,
                    now,
                    &log,
                )
                .await?
            {
                deleted += 1;
            }
        }
        if let Some(n) = notice {
            self.store.finish_notice(user.tenant_id, n.id, now).await?;
        }
        Ok(format!("deleted {deleted} recordings"))
    }

    /// Destroys a tenant whose agreement ended at `end` (unless it was extended since): closes
    /// it and destroys its keys (everything unreadable at once), deletes its blobs, then every
    /// row. Each step is idempotent, so a retry after a crash finishes the rest.
    async fn destroy_tenant(&self, tenant: TenantId, end: Timestamp) -> Result<String, CoreError> {
        let Some(t) = self.store.tenant_by_id(tenant).await? else {
            return Ok("already destroyed".into());
        };
        if t.agreement_ends_at != Some(end) {
            return Ok("skipped: the agreement changed since this was planned".into());
        }
        self.store.destroy_tenant_keys(tenant).await?;
        self.keyring.forget_tenant(tenant);
        let blobs = self.blobs.keys(&format!("tenants/{}", tenant.0)).await?;
        for key in &blobs {
            self.blobs.delete(key).await?;
        }
        self.store.destroy_tenant_rows(tenant).await?;
        tracing::warn!(tenant = %tenant, slug = %t.slug.as_str(), blobs = blobs.len(), "tenant destroyed (agreement ended)");
        Ok(format!("destroyed with {} blobs", blobs.len()))
    }

    /// A tenant's rules: its own, or the defaults.
    pub(crate) async fn rules_of(&self, tenant: TenantId) -> Result<RetentionRules, CoreError> {
        match self.store.retention_rules(tenant).await? {
            Some(json) => {
                serde_json::from_str(&json).map_err(failed("stored retention rules do not parse"))
            }
            None => Ok(RetentionRules::default()),
        }
    }

    /// `GET /retention-rules` (administrators).
    pub async fn retention_rules(&self, p: &crate::Principal) -> Result<RetentionRules, CoreError> {
        self.authorize_logged(p, Action::ManageRetention, None, "read_retention_rules")
            .await?;
        self.rules_of(p.tenant_id).await
    }

    /// `PUT /retention-rules` (administrators): takes effect on the next retention run, for
    /// steps already scheduled too.
    pub async fn put_retention_rules(
        &self,
        p: &crate::Principal,
        rules: RetentionRules,
    ) -> Result<RetentionRules, CoreError> {
        self.authorize_logged(p, Action::ManageRetention, None, "update_retention_rules")
            .await?;
        rules.check()?;
        let json =
            serde_json::to_string(&rules).map_err(failed("retention rules do not serialise"))?;
        self.store
            .put_retention_rules(p.tenant_id, &json, p.user_id, self.clock.now())
            .await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, ?rules, "retention rules changed");
        Ok(rules)
    }

    /// `GET /me/deletion-notices`.
    pub async fn my_deletion_notices(
        &self,
        p: &crate::Principal,
    ) -> Result<Vec<DeletionNotice>, CoreError> {
        Ok(self.store.notices_of(p.tenant_id, p.user_id).await?)
    }

    /// `POST /me/deletion-notices/{id}/keep`: the user's veto.
    pub async fn keep_deletion(
        &self,
        p: &crate::Principal,
        id: uuid::Uuid,
    ) -> Result<(), CoreError> {
        let actor = Self::actor(p);
        let log = self
            .change_log(
                &actor,
                None,
                "subject",
                Some(p.user_id),
                ("deletion_notice", Some(id)),
                "keep",
                vec![RECORDINGS.into()],
            )
            .await?;
        if !self
            .store
            .keep_notice(p.tenant_id, p.user_id, id, self.clock.now(), &log)
            .await?
        {
            return Err(CoreError::NotFound("deletion notice"));
        }
        Ok(())
    }
}
