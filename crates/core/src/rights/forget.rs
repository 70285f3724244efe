//! The right to be forgotten: `DELETE /me` and `DELETE /users/{id}`.
//!
//! In this order, so that a crash at any point leaves a state a repeat finishes:
//! 1. one transaction destroys the person's subject key (crypto-shredding: every field, file
//!    and client address sealed under it is unreadable from now on, on every instance and in
//!    every copy), removes their sealed e-mail and name and credentials, ends their sessions
//!    and memberships, and marks them deleted;
//! 2. each file of each record about them: the blob is deleted, then its row (a crash between
//!    the two leaves a row whose blob is gone, which the repeat removes; never a blob no row
//!    names);
//! 3. each record about them: personal values, the stored values before each change and the
//!    search entries of personal fields are removed; what is not personal stays, with the
//!    person as a pseudonymous id that every view shows as "Deleted GDPR".
//!
//! Repeating it on a forgotten person is not an error: it redoes steps 2 and 3 (idempotent).
//! The privacy log keeps its entries (ids only), so its chain still verifies.
//!
//! A record on **legal hold** is exempt (GDPR art. 17(3)(e)): its files and values stay, and so
//! does the subject's key, which step 1 then leaves in place. The account is gone all the same.
//! Releasing the last hold runs forgetting again, which finishes it (`deletion.rs`).

use crate::access::Action;
use crate::error::failed;
use crate::records::parse_fields;
use crate::{CoreError, Principal, Services};
use serde_json::{Map, Value};
use strongroom_domain::{Role, TenantId, UserId, UserStatus};
use strongroom_store::{ChangeLog, Scrub};

/// Records scrubbed per transaction.
const SCRUB_BATCH: usize = 1000;

/// What one run of forgetting did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ForgetReport {
    /// Whether the person's key is destroyed (false while a record about them is on hold).
    pub key_destroyed: bool,
    /// Records about the person kept because they are on legal hold.
    pub held_records: u32,
    pub files_deleted: u32,
    pub records_scrubbed: u32,
}

impl Services {
    /// `DELETE /users/{id}` (administrators; not themselves).
    pub async fn forget_user(&self, p: &Principal, id: UserId) -> Result<ForgetReport, CoreError> {
        self.authorize_logged(p, Action::ManageUsers, Some(id), "delete")
            .await?;
        if id == p.user_id {
            return Err(CoreError::Invalid(
                "administrators cannot delete their own account here; use DELETE /api/v1/me".into(),
            ));
        }
        self.forget_logged(p, id).await
    }

    /// `DELETE /me`: anyone may have themselves forgotten, except a tenant's last
    /// administrator (who would leave the tenant without one).
    pub async fn forget_me(&self, p: &Principal) -> Result<ForgetReport, CoreError> {
        if p.roles.contains(Role::Administrator) {
            let admins = self
                .store
                .list_users(p.tenant_id)
                .await?
                .into_iter()
                .filter(|u| u.status == UserStatus::Active && u.roles.contains(Role::Administrator))
                .count();
            if admins <= 1 {
                return Err(CoreError::Conflict(
                    "you are the tenant's last administrator: appoint another one first".into(),
                ));
            }
        }
        self.forget_logged(p, p.user_id).await
    }

    async fn forget_logged(&self, p: &Principal, id: UserId) -> Result<ForgetReport, CoreError> {
        let actor = Self::actor(p);
        let log = self
            .change_log(
                &actor,
                None,
                if id == p.user_id {
                    "subject"
                } else {
                    "administrator"
                },
                Some(id),
                ("users", Some(id.0)),
                "delete",
                vec![
                    "email".into(),
                    "name".into(),
                    "credentials".into(),
                    "records".into(),
                    "files".into(),
                ],
            )
            .await?;
        let report = self.forget(p.tenant_id, id, log).await?;
        tracing::info!(tenant = %p.tenant_id, actor = %p.user_id, user = %id,
            files = report.files_deleted, records = report.records_scrubbed, "user forgotten");
        if self.backup.target.is_some() {
            // Within minutes, no key of theirs is left in the backup target either.
            self.enqueue_installation(
                strongroom_domain::JobKind::BackupKeys,
                format!("backup.keys:{}:{}", id.0, uuid::Uuid::now_v7()),
                None,
                time::Duration::ZERO,
            )
            .await?;
        }
        Ok(report)
    }

    /// Forgets a person (steps in the module documentation). `NotFound` only for an id that
    /// never was a user of this tenant. `log` is appended with the first step (the key's
    /// destruction), not on a repeat that finishes an earlier forget.
    pub async fn forget(
        &self,
        tenant: TenantId,
        id: UserId,
        log: ChangeLog,
    ) -> Result<ForgetReport, CoreError> {
        let now = self.clock.now();
        let removed = self.store.forget_user(tenant, id, now, &log).await?;
        if !removed && self.store.user_by_id(tenant, id).await?.is_none() {
            return Err(CoreError::NotFound("user"));
        }
        let views = self.store.records_of_subject(tenant, id).await?;
        let held = Self::held_ids(&views);
        let mut report = ForgetReport {
            held_records: u32::try_from(held.len()).unwrap_or(u32::MAX),
            ..ForgetReport::default()
        };
        for f in self.store.files_of_subject(tenant, id).await? {
            if held.contains(&f.record_id) {
                continue;
            }
            self.blobs.delete(&f.blob_key).await?;
            self.replicate(&f.blob_key, crate::backup::Change::Deleted)
                .await?;
            if self
                .store
                .delete_file_version(
                    tenant,
                    &f,
                    id,
                    strongroom_domain::TombstoneReason::Forgotten,
                    now,
                    &ChangeLog::none(),
                )
                .await?
            {
                report.files_deleted += 1;
            }
        }
        let mut scrubs = Vec::new();
        for view in views.into_iter().filter(|v| !held.contains(&v.record.id)) {
            let fields = parse_fields(&view.collection.fields)?;
            let mut data: Map<String, Value> = serde_json::from_str(&view.record.data)
                .map_err(failed("stored record data does not parse"))?;
            let personal: Vec<String> = fields
                .iter()
                .filter(|f| f.personal)
                .map(|f| f.name.clone())
                .collect();
            for name in &personal {
                data.remove(name);
            }
            scrubs.push(Scrub {
                id: view.record.id,
                data: serde_json::to_string(&data)
                    .map_err(failed("scrubbed record data does not serialise"))?,
                unindex: personal,
            });
        }
        // Batches: one transaction (one fsync) per SCRUB_BATCH records.
        for batch in scrubs.chunks(SCRUB_BATCH) {
            self.store.scrub_records(tenant, batch).await?;
            report.records_scrubbed += u32::try_from(batch.len()).unwrap_or(u32::MAX);
        }
        // Step 1 destroyed the key unless a hold stood in the way; a repeat after the last
        // hold was released destroys it here.
        if held.is_empty() {
            self.store.destroy_subject_key(tenant, id, now).await?;
        }
        // As stored (a hold placed meanwhile keeps the key, and the store says so).
        report.key_destroyed = self.store.subject_key(tenant, id.0).await?.is_none();
        Ok(report)
    }
}
