//! Rows as plain column values, and their checked conversion into typed models.
//! Shared by both backends so that a row means the same thing whichever store it came from.

use crate::{Group, LoginEvent, Result, StoreError, Tenant, User, WrappedSubjectKey};
use strongroom_domain::{
    LoginOutcome, Region, Roles, Slug, TenantName, TenantStatus, UserStatus, from_millis,
};
use uuid::Uuid;

fn corrupt(what: &str) -> StoreError {
    StoreError::Backend(format!("unreadable {what} in store"))
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
                decision: self.decision,
                client_sealed: self.client_sealed,
            },
        })
    }
}
