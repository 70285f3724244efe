//! Deleting records, and the promises around it (seed 000: "maximum retention of (deleted)
//! data: 30 days"; seed 001: contracts past the legal retention period are purged with their
//! documents and history).
//!
//! * `DELETE /records/{id}` soft-deletes: the record answers 410 to those who may see it and
//!   disappears from searches; an administrator can restore it until the retention engine
//!   purges it (the tenant's `purge_deleted_after_days`, 30 by default).
//! * A collection may carry a **legal retention period**: a `date` field that ends the record
//!   (`end_field`) and a period in years or days. Each write copies the end date to the row
//!   (`ends_on`); records whose end date is older than the period are purged.
//! * A **legal hold** stops every deletion of a record: soft deletion (409), both purges, the
//!   deletion of recordings, the crypto-shredding of its subject when they are forgotten (the
//!   key stays until the last hold on their records is released, and forgetting finishes
//!   then), and the destruction of its tenant (deferred day by day).
//! * Purging removes the files' blobs, then in one transaction the file rows, history, search
//!   entries and the record, and leaves a tombstone (ids only): the record then answers 410
//!   to administrators and its subject, 404 to everyone else.
//!
//! Every deletion, restore, hold and release is a privacy-log entry.

use crate::access::Action;
use crate::privacy::RECORD_OBJECT;
use crate::records::LegalRetention;
use crate::{CoreError, Principal, Services};
use std::net::IpAddr;
use strongroom_domain::{RecordId, TenantId, Timestamp, TombstoneReason};
use strongroom_store::{ChangeLog, RecordView};

/// Records purged per store round trip.
const PURGE_BATCH: u32 = 1000;

impl Services {
    /// `DELETE /records/{id}`: soft deletion (levels 2 and 3, `deleteRecord`).
    pub async fn delete_record(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
    ) -> Result<(), CoreError> {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record(&actor, client, Action::DeleteRecord, id)
            .await?;
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(view.record.subject_id),
                (RECORD_OBJECT, Some(id.0)),
                "delete",
                Vec::new(),
            )
            .await?;
        if view.record.held_at.is_some()
            || !self
                .store
                .soft_delete_record(p.tenant_id, id, p.user_id, self.clock.now(), &log)
                .await?
        {
            return Err(CoreError::Conflict(
                "this record is on legal hold: it cannot be deleted until the hold is released"
                    .into(),
            ));
        }
        Ok(())
    }

    /// `POST /records/{id}/restore`: undoes a soft deletion until it is purged
    /// (`restoreRecord`: administrators in the templates).
    pub async fn restore_record(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
    ) -> Result<(), CoreError> {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record_even_deleted(&actor, client, Action::RestoreRecord, id)
            .await?;
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(view.record.subject_id),
                (RECORD_OBJECT, Some(id.0)),
                "restore",
                Vec::new(),
            )
            .await?;
        if !self.store.restore_record(p.tenant_id, id, &log).await? {
            return Err(CoreError::Conflict("this record is not deleted".into()));
        }
        Ok(())
    }

    /// `PUT` (`hold`) and `DELETE /records/{id}/legal-hold` (`holdRecord`: administrators in
    /// the templates). Idempotent. Releasing the last hold on a forgotten person's records
    /// finishes forgetting them.
    pub async fn set_legal_hold(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
        hold: bool,
    ) -> Result<(), CoreError> {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record_even_deleted(&actor, client, Action::HoldRecord, id)
            .await?;
        let now = self.clock.now();
        let subject = view.record.subject_id;
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(subject),
                (RECORD_OBJECT, Some(id.0)),
                if hold { "legal_hold" } else { "release_hold" },
                Vec::new(),
            )
            .await?;
        let changed = self
            .store
            .set_record_hold(p.tenant_id, id, hold.then_some((p.user_id, now)), &log)
            .await?;
        if !changed {
            return Ok(());
        }
        if !hold
            && self
                .store
                .user_by_id(p.tenant_id, subject)
                .await?
                .is_some_and(|u| u.status == strongroom_domain::UserStatus::Deleted)
        {
            // Finishing the forget that was logged when it was asked for.
            let report = self.forget(p.tenant_id, subject, ChangeLog::none()).await?;
            tracing::info!(tenant = %p.tenant_id, user = %subject, key_destroyed = report.key_destroyed,
                held = report.held_records, "forgetting resumed after a legal hold was released");
        }
        Ok(())
    }

    /// Purges a record and its replies for good (files' blobs first, then one transaction
    /// per record), skipping any on legal hold; how many records went. Idempotent.
    pub(crate) async fn purge(
        &self,
        tenant: TenantId,
        id: RecordId,
        reason: TombstoneReason,
    ) -> Result<u32, CoreError> {
        let mut order = Vec::new();
        let mut stack = vec![id];
        while let Some(r) = stack.pop() {
            if order.contains(&r) {
                continue;
            }
            stack.extend(self.store.replies_of(tenant, r).await?);
            order.push(r);
        }
        let mut purged = 0;
        // Replies before the record they answer.
        for r in order.into_iter().rev() {
            let Some((view, files)) = self.store.record_with_files(tenant, r).await? else {
                continue;
            };
            if view.record.held_at.is_some() {
                continue;
            }
            for f in &files {
                self.blobs.delete(&f.blob_key).await?;
                self.replicate(&f.blob_key, crate::backup::Change::Deleted)
                    .await?;
            }
            let log = self.retention_log(
                tenant,
                view.record.subject_id,
                "purge",
                vec![format!("record/{}", r.0), reason.as_str().to_owned()],
            );
            if self
                .store
                .purge_record(tenant, r, reason, self.clock.now(), &log)
                .await?
            {
                purged += 1;
            }
        }
        Ok(purged)
    }

    /// The records of a tenant due for purging at `now`: soft-deleted longer than the rules
    /// allow, and past their collection's legal retention period (at most `limit` of each).
    pub(crate) async fn due_for_purge(
        &self,
        tenant: TenantId,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<(RecordId, TombstoneReason)>, CoreError> {
        let rules = self.rules_of(tenant).await?;
        let mut due: Vec<(RecordId, TombstoneReason)> = self
            .store
            .deleted_before(tenant, now - rules.purge_deleted_after(), limit)
            .await?
            .into_iter()
            .map(|r| (r, TombstoneReason::Deleted))
            .collect();
        for c in self.store.list_collections(tenant).await? {
            if let Some(r) = LegalRetention::of(&c)? {
                let cutoff = r.cutoff(now)?;
                due.extend(
                    self.store
                        .ended_before(tenant, c.id, &cutoff, limit)
                        .await?
                        .into_iter()
                        .map(|r| (r, TombstoneReason::LegalRetention)),
                );
            }
        }
        Ok(due)
    }

    /// Purges everything of a tenant due at `now`; how many records went, per reason.
    pub(crate) async fn purge_due(
        &self,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<(u32, u32), CoreError> {
        let (mut deleted, mut ended) = (0, 0);
        loop {
            let due = self.due_for_purge(tenant, now, PURGE_BATCH).await?;
            let mut progress = 0;
            for (id, reason) in due {
                let n = self.purge(tenant, id, reason).await?;
                progress += n;
                if reason == TombstoneReason::Deleted {
                    deleted += n;
                } else {
                    ended += n;
                }
            }
            // Nothing went (all gone meanwhile, or held since): done.
            if progress == 0 {
                return Ok((deleted, ended));
            }
        }
    }

    /// The records among these that are on legal hold.
    pub(crate) fn held_ids(views: &[RecordView]) -> std::collections::HashSet<RecordId> {
        views
            .iter()
            .filter(|v| v.record.held_at.is_some())
            .map(|v| v.record.id)
            .collect()
    }
}
