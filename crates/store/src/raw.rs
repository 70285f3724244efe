//! Rows as plain column values, and their checked conversion into typed models.
//! Shared by both backends so that a row means the same thing whichever store it came from.

use crate::{
    Collection, DeletionNotice, FileRow, Group, HistoryRow, Job, LoginEvent, PolicyRow, RecordRow,
    RecordView, Result, StoreError, Tenant, User, WrappedSubjectKey,
};
use strongroom_domain::{
    Decision, GroupId, LoginOutcome, MembershipRole, Region, Roles, Slug, TenantId, TenantName,
    TenantStatus, UserStatus, Visibility, from_millis,
};
use uuid::Uuid;

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in store"))
}

/// A job's stored status, strictly.
pub fn job_status(s: &str) -> Result<strongroom_domain::JobStatus> {
    strongroom_domain::JobStatus::parse(s).ok_or_else(|| corrupt("job status"))
}

pub struct RawTenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub region: String,
    pub status: String,
    pub lockout_threshold: i64,
    pub agreement_ends_at: Option<i64>,
    pub created_at: i64,
}

impl RawTenant {
    pub fn into_model(self) -> Result<Tenant> {
        Ok(Tenant {
            id: self.id.into(),
            slug: Slug::parse(&self.slug).map_err(|_| corrupt("tenant slug"))?,
            name: TenantName::parse(&self.name).map_err(|_| corrupt("tenant name"))?,
            region: Region::parse(&self.region).map_err(|_| corrupt("tenant region"))?,
            status: TenantStatus::parse(&self.status).ok_or_else(|| corrupt("tenant status"))?,
            lockout_threshold: u32::try_from(self.lockout_threshold)
                .map_err(|_| corrupt("lockout threshold"))?,
            agreement_ends_at: self.agreement_ends_at.map(from_millis),
            created_at: from_millis(self.created_at),
        })
    }
}

pub struct RawUser {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub email_sealed: Option<Vec<u8>>,
    pub name_sealed: Option<Vec<u8>>,
    pub roles: String,
    pub status: String,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub license_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub key_id: Option<Uuid>,
    pub kek_version: Option<i64>,
    pub wrapped_key: Option<Vec<u8>>,
}

impl RawUser {
    pub fn into_model(self) -> Result<User> {
        Ok(User {
            tenant_id: self.tenant_id.into(),
            id: self.id.into(),
            email_sealed: self.email_sealed,
            name_sealed: self.name_sealed,
            subject_key: match (self.key_id, self.kek_version, self.wrapped_key) {
                (Some(key_id), Some(v), Some(wrapped)) => Some(WrappedSubjectKey {
                    key_id,
                    kek_version: u32::try_from(v).map_err(|_| corrupt("key version"))?,
                    wrapped,
                }),
                _ => None,
            },
            roles: Roles::from_stored(&self.roles).map_err(|_| corrupt("user roles"))?,
            status: UserStatus::parse(&self.status).ok_or_else(|| corrupt("user status"))?,
            password_hash: self.password_hash,
            must_change_password: self.must_change_password,
            failed_logins: u32::try_from(self.failed_logins)
                .map_err(|_| corrupt("failure count"))?,
            license_expires_at: self.license_expires_at.map(from_millis),
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
        })
    }
}

pub struct RawGroup {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub name: String,
    pub created_at: i64,
}

impl RawGroup {
    pub fn into_model(self) -> Result<Group> {
        Ok(Group {
            tenant_id: self.tenant_id.into(),
            id: self.id.into(),
            name: TenantName::parse(&self.name).map_err(|_| corrupt("group name"))?,
            created_at: from_millis(self.created_at),
        })
    }
}

pub struct RawLogin {
    pub tenant_id: Uuid,
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub at: i64,
    pub ip_sealed: Option<Vec<u8>>,
    pub outcome: String,
}

impl RawLogin {
    pub fn into_model(self) -> Result<LoginEvent> {
        Ok(LoginEvent {
            tenant_id: self.tenant_id.into(),
            id: self.id.into(),
            user_id: self.user_id.map(Into::into),
            at: from_millis(self.at),
            ip_sealed: self.ip_sealed,
            outcome: LoginOutcome::parse(&self.outcome).ok_or_else(|| corrupt("login outcome"))?,
        })
    }
}

pub struct RawPrivacy {
    pub seq: i64,
    pub at: i64,
    pub actor_id: Option<Uuid>,
    pub via: String,
    pub subject_id: Option<Uuid>,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    pub action: String,
    pub fields: String,
    pub decision: String,
    pub client_sealed: Option<Vec<u8>>,
    pub hash: Vec<u8>,
}

impl RawPrivacy {
    pub fn into_model(self) -> Result<crate::PrivacyRecord> {
        Ok(crate::PrivacyRecord {
            seq: u64::try_from(self.seq).map_err(|_| corrupt("privacy seq"))?,
            hash: self
                .hash
                .as_slice()
                .try_into()
                .map_err(|_| corrupt("privacy hash"))?,
            entry: crate::PrivacyEntry {
                at: from_millis(self.at),
                actor_id: self.actor_id,
                via: self.via,
                subject_id: self.subject_id,
                object_type: self.object_type,
                object_id: self.object_id,
                action: self.action,
                fields: self
                    .fields
                    .split(',')
                    .filter(|f| !f.is_empty())
                    .map(str::to_owned)
                    .collect(),
                decision: Decision::parse(&self.decision)
                    .ok_or_else(|| corrupt("privacy decision"))?,
                client_sealed: self.client_sealed,
            },
        })
    }
}

/// `collection_id, name, fields, created_by, created_at`.
pub struct RawCollection {
    pub id: Uuid,
    pub name: String,
    pub fields: String,
    pub created_by: Uuid,
    pub created_at: i64,
    pub retention: Option<String>,
}

impl RawCollection {
    pub fn into_model(self, tenant: TenantId) -> Collection {
        Collection {
            tenant_id: tenant,
            id: self.id.into(),
            name: self.name,
            fields: self.fields,
            created_by: self.created_by.into(),
            created_at: from_millis(self.created_at),
            retention: self.retention,
        }
    }
}

/// The columns of `sql::RECORD_VIEW`, in order.
pub struct RawRecordView {
    pub id: Uuid,
    pub collection_id: Uuid,
    pub subject_id: Uuid,
    pub group_id: Option<Uuid>,
    pub parent_id: Option<Uuid>,
    pub visibility: String,
    pub hidden: bool,
    pub data: String,
    pub version: i64,
    pub created_by: Uuid,
    pub created_at: i64,
    pub updated_at: i64,
    pub collection: RawCollection,
    pub key: Option<(Uuid, i64, Vec<u8>)>,
    pub deleted_at: Option<i64>,
    pub held_at: Option<i64>,
    pub ends_on: Option<String>,
}

impl RawRecordView {
    pub fn into_model(self, tenant: TenantId) -> Result<RecordView> {
        let subject_key = self
            .key
            .map(|(key_id, v, wrapped)| {
                Ok::<_, StoreError>(WrappedSubjectKey {
                    key_id,
                    kek_version: u32::try_from(v).map_err(|_| corrupt("kek version"))?,
                    wrapped,
                })
            })
            .transpose()?;
        Ok(RecordView {
            record: RecordRow {
                tenant_id: tenant,
                id: self.id.into(),
                collection_id: self.collection_id.into(),
                subject_id: self.subject_id.into(),
                group_id: self.group_id.map(Into::into),
                parent_id: self.parent_id.map(Into::into),
                visibility: Visibility::parse(&self.visibility)
                    .ok_or_else(|| corrupt("record visibility"))?,
                hidden: self.hidden,
                data: self.data,
                version: u32::try_from(self.version).map_err(|_| corrupt("record version"))?,
                created_by: self.created_by.into(),
                created_at: from_millis(self.created_at),
                updated_at: from_millis(self.updated_at),
                ends_on: self.ends_on,
                deleted_at: self.deleted_at.map(from_millis),
                held_at: self.held_at.map(from_millis),
            },
            collection: self.collection.into_model(tenant),
            subject_key,
        })
    }
}

/// `record_id, version, at, actor_id, action, fields, data_before`.
pub struct RawHistory {
    pub record_id: Uuid,
    pub version: i64,
    pub at: i64,
    pub actor_id: Uuid,
    pub action: String,
    pub fields: String,
    pub data_before: Option<String>,
}

impl RawHistory {
    pub fn into_model(self) -> Result<HistoryRow> {
        Ok(HistoryRow {
            record_id: self.record_id.into(),
            version: u32::try_from(self.version).map_err(|_| corrupt("history version"))?,
            at: from_millis(self.at),
            actor_id: self.actor_id.into(),
            action: self.action,
            fields: serde_json::from_str(&self.fields).map_err(|_| corrupt("history fields"))?,
            data_before: self.data_before,
        })
    }
}

/// `record_id, name, file_id, blob_key, content_type, size, created_by, created_at`.
pub struct RawFile {
    pub record_id: Uuid,
    pub name: String,
    pub file_id: Uuid,
    pub blob_key: String,
    pub content_type: String,
    pub size: i64,
    pub created_by: Uuid,
    pub created_at: i64,
}

impl RawFile {
    pub fn into_model(self) -> Result<FileRow> {
        Ok(FileRow {
            record_id: self.record_id.into(),
            name: self.name,
            file_id: self.file_id.into(),
            blob_key: self.blob_key,
            content_type: self.content_type,
            size: u64::try_from(self.size).map_err(|_| corrupt("file size"))?,
            created_by: self.created_by.into(),
            created_at: from_millis(self.created_at),
        })
    }
}

/// `template, policies, version, updated_by, updated_at`.
pub struct RawPolicies {
    pub template: String,
    pub policies: String,
    pub version: i64,
    pub updated_by: Uuid,
    pub updated_at: i64,
}

impl RawPolicies {
    pub fn into_model(self) -> Result<PolicyRow> {
        Ok(PolicyRow {
            template: self.template,
            policies: self.policies,
            version: u64::try_from(self.version).map_err(|_| corrupt("policy version"))?,
            updated_by: self.updated_by.into(),
            updated_at: from_millis(self.updated_at),
        })
    }
}

pub fn membership(group: Uuid, role: &str) -> Result<(GroupId, MembershipRole)> {
    let role = MembershipRole::parse(role).ok_or_else(|| corrupt("membership role"))?;
    Ok((group.into(), role))
}

/// Field names as stored (a JSON array).
pub fn fields_json(fields: &[String]) -> String {
    serde_json::to_string(fields).unwrap_or_else(|_| "[]".to_owned())
}

/// `job_id, tenant_id, kind, subject_id, param, run_at, attempts`.
pub struct RawJob {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub kind: String,
    pub subject_id: Option<Uuid>,
    pub param: i64,
    pub run_at: i64,
    pub attempts: i64,
}

impl RawJob {
    pub fn into_model(self) -> Result<Job> {
        Ok(Job {
            id: self.id,
            tenant_id: self.tenant_id.into(),
            kind: self.kind,
            subject_id: self.subject_id.map(Into::into),
            param: self.param,
            run_at: from_millis(self.run_at),
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("job attempts"))?,
        })
    }
}

/// `notice_id, user_id, what, expiry_at, due_at, created_at, kept_at, done_at`.
pub struct RawNotice {
    pub id: Uuid,
    pub user_id: Uuid,
    pub what: String,
    pub expiry_at: i64,
    pub due_at: i64,
    pub created_at: i64,
    pub kept_at: Option<i64>,
    pub done_at: Option<i64>,
}

impl RawNotice {
    pub fn into_model(self, tenant: TenantId) -> DeletionNotice {
        DeletionNotice {
            tenant_id: tenant,
            id: self.id,
            user_id: self.user_id.into(),
            what: self.what,
            expiry_at: from_millis(self.expiry_at),
            due_at: from_millis(self.due_at),
            created_at: from_millis(self.created_at),
            kept_at: self.kept_at.map(from_millis),
            done_at: self.done_at.map(from_millis),
        }
    }
}
