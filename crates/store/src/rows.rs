//! Rows read into typed models, strictly: a value the model cannot hold is an unreadable row
//! (a backend error, logged), never a default. Written once over [`Row`], so a row means the
//! same thing whichever store it came from.

use crate::exec::Row;
use crate::{
    Collection, DeletionNotice, FileRow, Group, HistoryRow, Job, JobState, KeyPurpose, LoginEvent,
    PolicyRow, PrivacyEntry, PrivacyRecord, RecordRow, RecordView, Result, StoreError, Tenant,
    TenantKeyRow, User, WrappedSubjectKey,
};
use strongroom_domain::{
    Decision, GroupId, JobKind, JobStatus, LoginOutcome, MembershipRole, Region, Roles, Slug,
    TenantId, TenantName, TenantStatus, UserStatus, Visibility,
};

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in store"))
}

/// Parses a stored text column with `parse`; `what` names it in the error.
fn parsed<T, E>(
    r: &dyn Row,
    i: usize,
    what: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<T> {
    parse(&r.get::<String>(i)?).map_err(|_| corrupt(what))
}

fn known<T>(r: &dyn Row, i: usize, what: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(&r.get::<String>(i)?).ok_or_else(|| corrupt(what))
}

/// `tenant_id, slug, name, region, status, lockout_threshold, agreement_ends_at, created_at,
/// require_totp_roles, break_glass`.
pub fn tenant(r: &dyn Row) -> Result<Tenant> {
    Ok(Tenant {
        id: r.get(0)?,
        slug: parsed(r, 1, "tenant slug", Slug::parse)?,
        name: parsed(r, 2, "tenant name", TenantName::parse)?,
        region: parsed(r, 3, "tenant region", Region::parse)?,
        status: known(r, 4, "tenant status", TenantStatus::parse)?,
        lockout_threshold: r.get(5)?,
        agreement_ends_at: r.get(6)?,
        created_at: r.get(7)?,
        require_totp_roles: parsed(r, 8, "tenant settings", Roles::from_stored)?,
        break_glass: r.get(9)?,
    })
}

/// A wrapped subject key from columns `key_id, kek_version, wrapped` starting at `first`;
/// `None` when the key is absent (destroyed, or a LEFT JOIN found none).
pub fn subject_key_at(r: &dyn Row, first: usize) -> Result<Option<WrappedSubjectKey>> {
    let Some(key_id) = r.get(first)? else {
        return Ok(None);
    };
    Ok(Some(WrappedSubjectKey {
        key_id,
        kek_version: r.get(first + 1)?,
        wrapped: r.get(first + 2)?,
    }))
}

pub fn subject_key(r: &dyn Row) -> Result<WrappedSubjectKey> {
    subject_key_at(r, 0)?.ok_or_else(|| corrupt("subject key"))
}

/// A user row with its subject key (`sql::USER_BY_ID`'s columns).
pub fn user(r: &dyn Row) -> Result<User> {
    Ok(User {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        email_sealed: r.get(2)?,
        name_sealed: r.get(3)?,
        roles: parsed(r, 4, "user roles", Roles::from_stored)?,
        status: known(r, 5, "user status", UserStatus::parse)?,
        password_hash: r.get(6)?,
        must_change_password: r.get(7)?,
        failed_logins: r.get(8)?,
        license_expires_at: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        subject_key: subject_key_at(r, 12)?,
    })
}

/// `purpose, version, root_key_id, wrapped, created_at` of the tenant's keys.
pub fn tenant_key(tenant: TenantId) -> impl Fn(&dyn Row) -> Result<TenantKeyRow> {
    move |r| {
        Ok(TenantKeyRow {
            tenant_id: tenant,
            purpose: known(r, 0, "key purpose", KeyPurpose::parse)?,
            version: r.get(1)?,
            root_key_id: r.get(2)?,
            wrapped: r.get(3)?,
            created_at: r.get(4)?,
        })
    }
}

/// `tenant_id, group_id, name, created_at`.
pub fn group(r: &dyn Row) -> Result<Group> {
    Ok(Group {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        name: parsed(r, 2, "group name", TenantName::parse)?,
        created_at: r.get(3)?,
    })
}

/// `group_id, role` (or `user_id, role`).
pub fn membership(r: &dyn Row) -> Result<(GroupId, MembershipRole)> {
    Ok((
        r.get(0)?,
        known(r, 1, "membership role", MembershipRole::parse)?,
    ))
}

/// `tenant_id, event_id, user_id, at, ip_sealed, outcome`.
pub fn login(r: &dyn Row) -> Result<LoginEvent> {
    Ok(LoginEvent {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        user_id: r.get(2)?,
        at: r.get(3)?,
        ip_sealed: r.get(4)?,
        outcome: known(r, 5, "login outcome", LoginOutcome::parse)?,
    })
}

/// `seq, at, actor_id, via, subject_id, object_type, object_id, action, fields, decision,
/// client_sealed, hash`.
pub fn privacy(r: &dyn Row) -> Result<PrivacyRecord> {
    let fields: String = r.get(8)?;
    Ok(PrivacyRecord {
        seq: r.get(0)?,
        hash: r.get(11)?,
        entry: PrivacyEntry {
            at: r.get(1)?,
            actor_id: r.get(2)?,
            via: r.get(3)?,
            subject_id: r.get(4)?,
            object_type: r.get(5)?,
            object_id: r.get(6)?,
            action: r.get(7)?,
            fields: fields
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned)
                .collect(),
            decision: known(r, 9, "privacy decision", Decision::parse)?,
            client_sealed: r.get(10)?,
        },
    })
}

/// A chain head or checkpoint position: `seq, hash`.
pub fn head(r: &dyn Row) -> Result<(u64, [u8; 32])> {
    Ok((r.get(0)?, r.get(1)?))
}

/// `collection_id, name, fields, created_by, created_at, retention`.
pub fn collection(tenant: TenantId) -> impl Fn(&dyn Row) -> Result<Collection> {
    move |r| {
        Ok(Collection {
            tenant_id: tenant,
            id: r.get(0)?,
            name: r.get(1)?,
            fields: r.get(2)?,
            created_by: r.get(3)?,
            created_at: r.get(4)?,
            retention: r.get(5)?,
        })
    }
}

/// The columns of `sql::RECORD_VIEW`, in order.
pub fn record_view(tenant: TenantId) -> impl Fn(&dyn Row) -> Result<RecordView> {
    move |r| {
        Ok(RecordView {
            record: RecordRow {
                tenant_id: tenant,
                id: r.get(0)?,
                collection_id: r.get(1)?,
                subject_id: r.get(2)?,
                group_id: r.get(3)?,
                parent_id: r.get(4)?,
                visibility: known(r, 5, "record visibility", Visibility::parse)?,
                hidden: r.get(6)?,
                data: r.get(7)?,
                version: r.get(8)?,
                created_by: r.get(9)?,
                created_at: r.get(10)?,
                updated_at: r.get(11)?,
                deleted_at: r.get(19)?,
                held_at: r.get(20)?,
                ends_on: r.get(22)?,
            },
            collection: Collection {
                tenant_id: tenant,
                id: r.get(1)?,
                name: r.get(12)?,
                fields: r.get(13)?,
                created_by: r.get(14)?,
                created_at: r.get(15)?,
                retention: r.get(21)?,
            },
            subject_key: subject_key_at(r, 16)?,
        })
    }
}

/// `record_id, version, at, actor_id, action, fields, data_before`.
pub fn history(r: &dyn Row) -> Result<HistoryRow> {
    let fields: String = r.get(5)?;
    Ok(HistoryRow {
        record_id: r.get(0)?,
        version: r.get(1)?,
        at: r.get(2)?,
        actor_id: r.get(3)?,
        action: r.get(4)?,
        fields: serde_json::from_str(&fields).map_err(|_| corrupt("history fields"))?,
        data_before: r.get(6)?,
    })
}

/// `record_id, name, file_id, blob_key, content_type, size, created_by, created_at`.
pub fn file(r: &dyn Row) -> Result<FileRow> {
    Ok(FileRow {
        record_id: r.get(0)?,
        name: r.get(1)?,
        file_id: r.get(2)?,
        blob_key: r.get(3)?,
        content_type: r.get(4)?,
        size: r.get(5)?,
        created_by: r.get(6)?,
        created_at: r.get(7)?,
    })
}

/// `template, policies, version, updated_by, updated_at`.
pub fn policies(r: &dyn Row) -> Result<PolicyRow> {
    Ok(PolicyRow {
        template: r.get(0)?,
        policies: r.get(1)?,
        version: r.get(2)?,
        updated_by: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

/// Field names as stored (a JSON array).
pub fn fields_json(fields: &[String]) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}

/// `job_id, tenant_id, kind, subject_id, param, run_at, attempts`.
pub fn job(r: &dyn Row) -> Result<Job> {
    Ok(Job {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: known(r, 2, "job kind", JobKind::parse)?,
        subject_id: r.get(3)?,
        param: r.get(4)?,
        run_at: r.get(5)?,
        attempts: r.get(6)?,
        object: r.get(7)?,
    })
}

/// `run_id, kind, at, snapshot, bytes, millis, ok, detail`.
pub fn backup_run(r: &dyn Row) -> Result<crate::BackupRun> {
    Ok(crate::BackupRun {
        id: r.get(0)?,
        kind: r.get(1)?,
        at: r.get(2)?,
        snapshot: r.get(3)?,
        bytes: r.get(4)?,
        millis: r.get(5)?,
        ok: r.get(6)?,
        detail: r.get(7)?,
    })
}

/// A job with its `status, outcome` (`sql::JOBS_OF_SUBJECT`'s columns).
pub fn job_state(r: &dyn Row) -> Result<JobState> {
    Ok(JobState {
        job: job(r)?,
        status: known(r, 8, "job status", JobStatus::parse)?,
        outcome: r.get(9)?,
    })
}

/// `notice_id, user_id, what, expiry_at, due_at, created_at, kept_at, done_at`.
pub fn notice(tenant: TenantId) -> impl Fn(&dyn Row) -> Result<DeletionNotice> {
    move |r| {
        Ok(DeletionNotice {
            tenant_id: tenant,
            id: r.get(0)?,
            user_id: r.get(1)?,
            what: r.get(2)?,
            expiry_at: r.get(3)?,
            due_at: r.get(4)?,
            created_at: r.get(5)?,
            kept_at: r.get(6)?,
            done_at: r.get(7)?,
        })
    }
}
