//! The rows the store reads and writes, as typed values.

use strongroom_domain::{
    Email, FamilyId, GroupId, LoginEventId, LoginOutcome, MembershipRole, PersonName, Region,
    Roles, SessionId, Slug, TenantId, TenantName, TenantStatus, Timestamp, UserId, UserStatus,
};

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: Slug,
    pub name: TenantName,
    pub region: Region,
    pub status: TenantStatus,
    pub lockout_threshold: u32,
    pub agreement_ends_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email: Email,
    pub email_index: [u8; 32],
    pub name: PersonName,
    pub roles: Roles,
    pub password_hash: String,
    pub must_change_password: bool,
    pub license_expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// A user as stored. `email` and `name` are `None` once the person is forgotten.
#[derive(Clone)]
pub struct User {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email: Option<Email>,
    pub name: Option<PersonName>,
    pub roles: Roles,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    pub failed_logins: u32,
    pub license_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("tenant_id", &self.tenant_id)
            .field("id", &self.id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

/// Fields an administrator may change; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub name: Option<PersonName>,
    pub roles: Option<Roles>,
    /// `Some(None)` clears the licence expiry.
    pub license_expires_at: Option<Option<Timestamp>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailureCount {
    pub failed: u32,
    /// This failure is the one that blocked the account.
    pub blocked_now: bool,
}

#[derive(Clone, Debug)]
pub struct Group {
    pub tenant_id: TenantId,
    pub id: GroupId,
    pub name: TenantName,
    pub created_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub user_id: UserId,
    pub role: MembershipRole,
}

#[derive(Clone, Debug)]
pub struct LoginEvent {
    pub tenant_id: TenantId,
    pub id: LoginEventId,
    pub user_id: Option<UserId>,
    pub at: Timestamp,
    pub ip: String,
    pub outcome: LoginOutcome,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub tenant_id: TenantId,
    pub id: SessionId,
    pub family_id: FamilyId,
    pub user_id: UserId,
    pub access_digest: [u8; 32],
    pub access_expires_at: Timestamp,
    pub refresh_digest: [u8; 32],
    pub refresh_expires_at: Timestamp,
    pub now: Timestamp,
}

/// Who is calling, as established from a live access token.
#[derive(Clone, Debug)]
pub struct SessionPrincipal {
    pub tenant_id: TenantId,
    pub session_id: SessionId,
    pub family_id: FamilyId,
    pub user_id: UserId,
    pub roles: Roles,
    pub must_change_password: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was live; the successor is stored. Carries the user.
    Rotated(UserId),
    /// The token was already spent: the family is now revoked.
    Reused,
    /// Unknown, expired, revoked, or the user can no longer log in.
    Invalid,
}
