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

use crate::error::failed;
use crate::jobs::job;
use crate::{CoreError, Services};
use strongroom_domain::{
    JobId, JobKind, NoticeId, TenantId, TenantStatus, Timestamp, UserId, UserStatus, from_millis,
    to_millis,
};
use strongroom_store::{ChangeLog, DeletionNotice, Job, NewJob, PrivacyEntry, User};

/// What a notice announces the deletion of.
pub const RECORDINGS: &str = "recordings";

/// Is a file a recording (what the seed deletes 45 days after expiry)?
pub fn is_recording(content_type: &str) -> bool {
    content_type.starts_with("video/") || content_type.starts_with("audio/")
}

impl Services {
    /// The steps due by `now`'s licences: for an expired licence, hide, notice and delete at
    /// their times; for a renewed one that was hidden for an earlier expiry, show again.
    pub(crate) async fn retention_steps(&self, now: Timestamp) -> Result<Vec<NewJob>, CoreError> {
        let mut steps = Vec::new();
        for tenant in self.store.list_tenants().await? {
            let rules = self.rules_of(tenant.id).await?;
            if let Some(end) = tenant.agreement_ends_at.filter(|e| *e <= now) {
                let ms = to_millis(end);
                steps.push(NewJob {
                    id: JobId::new(),
                    tenant_id: tenant.id,
                    kind: JobKind::DestroyTenant,
                    subject_id: None,
                    dedupe_key: format!("{}:{}:{ms}", JobKind::DestroyTenant, tenant.id.0),
                    param: ms,
                    run_at: end + rules.destroy_after(),
                    now,
                    object: None,
                });
            }
            if tenant.status != TenantStatus::Active {
                continue;
            }
            // Who was hidden for which expiry: one look per tenant, not one per user.
            let hidden: Vec<(UserId, i64)> = self
                .store
                .jobs_of_kind(tenant.id, JobKind::Hide)
                .await?
                .into_iter()
                .filter(|s| s.status == strongroom_domain::JobStatus::Done)
                .filter_map(|s| s.job.subject_id.map(|u| (u, s.job.param)))
                .collect();
            for u in self.store.list_users(tenant.id).await? {
                if u.status == UserStatus::Deleted {
                    continue;
                }
                match u.license_expires_at {
                    Some(e) if e <= now => {
                        let ms = to_millis(e);
                        steps.push(job(JobKind::Hide, tenant.id, u.id, ms, e, now));
                        steps.push(job(
                            JobKind::Notice,
                            tenant.id,
                            u.id,
                            ms,
                            e + rules.notice_after(),
                            now,
                        ));
                        steps.push(job(
                            JobKind::DeleteRecordings,
                            tenant.id,
                            u.id,
                            ms,
                            e + rules.delete_after(),
                            now,
                        ));
                    }
                    _ => {
                        for (_, expiry) in hidden.iter().filter(|(who, _)| *who == u.id) {
                            steps.push(job(JobKind::Unhide, tenant.id, u.id, *expiry, now, now));
                        }
                    }
                }
            }
        }
        Ok(steps)
    }

    pub(crate) async fn run_user_job(&self, j: &Job, now: Timestamp) -> Result<String, CoreError> {
        let Some(user_id) = j.subject_id else {
            return Ok("nothing to do".into());
        };
        let Some(user) = self.store.user_by_id(j.tenant_id, user_id).await? else {
            return Ok("skipped: no such user".into());
        };
        let expiry = from_millis(j.param);
        let same_expiry =
            user.status != UserStatus::Deleted && user.license_expires_at == Some(expiry);
        match j.kind {
            JobKind::Hide if same_expiry => {
                let log = self.retention_log(j.tenant_id, user_id, "hide", vec!["records".into()]);
                let n = self
                    .store
                    .set_subject_hidden(j.tenant_id, user_id, true, &log)
                    .await?;
                Ok(format!("hid {n} records"))
            }
            JobKind::Notice if same_expiry => self.send_notice(&user, expiry, now).await,
            JobKind::DeleteRecordings if same_expiry => {
                self.delete_recordings(&user, expiry, now).await
            }
            JobKind::Unhide if user.license_expires_at.is_none_or(|e| e > now) => {
                let log =
                    self.retention_log(j.tenant_id, user_id, "unhide", vec!["records".into()]);
                let n = self
                    .store
                    .set_subject_hidden(j.tenant_id, user_id, false, &log)
                    .await?;
                Ok(format!("showed {n} records again"))
            }
            JobKind::Hide | JobKind::Notice | JobKind::DeleteRecordings | JobKind::Unhide => {
                Ok("skipped: the licence changed since this was planned".into())
            }
            JobKind::DestroyTenant
            | JobKind::Purge
            | JobKind::BackupKeys
            | JobKind::BackupRun
            | JobKind::BackupOverdue
            | JobKind::ReplicaSync
            | JobKind::BreachRemind => Ok(format!("skipped: {} is no job about a person", j.kind)),
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
                decision: strongroom_domain::Decision::Allow,
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
            id: NoticeId::new(),
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
            self.replicate(&f.blob_key, crate::backup::Change::Deleted)
                .await?;
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
                    strongroom_domain::TombstoneReason::RecordingsExpired,
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

    /// `GET /me/deletion-notices`.
    /// `GET /me/deletion-notices`: a page of my notices, newest first.
    pub async fn my_deletion_notices(
        &self,
        p: &crate::Principal,
        after: Option<NoticeId>,
        limit: u32,
    ) -> Result<Vec<DeletionNotice>, CoreError> {
        Ok(self
            .store
            .notices_page(p.tenant_id, p.user_id, after, limit)
            .await?)
    }

    /// `POST /me/deletion-notices/{id}/keep`: the user's veto.
    pub async fn keep_deletion(&self, p: &crate::Principal, id: NoticeId) -> Result<(), CoreError> {
        let actor = Self::actor(p);
        let log = self
            .change_log(
                &actor,
                None,
                "subject",
                Some(p.user_id),
                ("deletion_notice", Some(id.0)),
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
