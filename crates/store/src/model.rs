//! The rows the store reads and writes, as typed values.

use strongroom_domain::{
    ClientId, CollectionId, Decision, FamilyId, FileId, GroupId, JobId, JobKind, LoginEventId,
    LoginOutcome, MembershipRole, NoticeId, RecordId, Region, Roles, Scopes, SessionId, Slug,
    SupportKind, SupportRequestId, SupportStatus, TenantId, TenantName, TenantStatus, Timestamp,
    TombstoneReason, UserId, UserStatus, Visibility,
};
use uuid::Uuid;

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
    /// Users holding any of these roles must enrol a second factor before anything else.
    pub require_totp_roles: Roles,
    /// Whether the operator may open a break-glass support grant.
    pub break_glass: bool,
}

/// A tenant's security settings, as `PATCH /tenant` changes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    /// Wrong passwords in a row that block an account (1 to 100).
    pub lockout_threshold: u32,
    pub require_totp_roles: Roles,
    pub break_glass: bool,
}

/// What a tenant key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// Key-encryption key: wraps the tenant's subject keys.
    Kek,
    /// HMAC key of the tenant's blind indexes (equality search on encrypted values).
    BlindIndex,
}

impl KeyPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::Kek => "kek",
            KeyPurpose::BlindIndex => "blind_index",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "kek" => Some(KeyPurpose::Kek),
            "blind_index" => Some(KeyPurpose::BlindIndex),
            _ => None,
        }
    }
}

/// A tenant key, wrapped under one root key. A key has one row per root key that wraps it
/// (more than one only during a root rotation).
#[derive(Clone, Debug)]
pub struct TenantKeyRow {
    pub tenant_id: TenantId,
    pub purpose: KeyPurpose,
    pub version: u32,
    pub root_key_id: [u8; 16],
    pub wrapped: Vec<u8>,
    pub created_at: Timestamp,
}

/// A data subject's key as stored: wrapped under a version of the tenant's key-encryption key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedSubjectKey {
    pub key_id: Uuid,
    pub kek_version: u32,
    pub wrapped: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct NewUser {
    pub tenant_id: TenantId,
    pub id: UserId,
    /// Sealed under the user's own subject key, created with the user.
    pub email_sealed: Vec<u8>,
    pub email_index: [u8; 32],
    pub name_sealed: Vec<u8>,
    pub subject_key: WrappedSubjectKey,
    pub roles: Roles,
    pub password_hash: String,
    pub must_change_password: bool,
    pub license_expires_at: Option<Timestamp>,
    pub now: Timestamp,
}

/// A user as stored: personal fields sealed. Sealed fields and the subject key are `None`
/// once the person is forgotten.
#[derive(Clone)]
pub struct User {
    pub tenant_id: TenantId,
    pub id: UserId,
    pub email_sealed: Option<Vec<u8>>,
    pub name_sealed: Option<Vec<u8>>,
    pub subject_key: Option<WrappedSubjectKey>,
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
    /// A new name, already sealed under the user's subject key.
    pub name_sealed: Option<Vec<u8>>,
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
    /// The client address, sealed (see `strongroom-core::auth`).
    pub ip_sealed: Option<Vec<u8>>,
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
    /// The app the session was issued to through an authorization code.
    pub client_id: Option<ClientId>,
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
    /// Version of the tenant's stored policies (0: the template), to notice a change.
    pub policy_version: u64,
    /// The groups the user belongs to, with the role in each (for the access policies).
    pub memberships: Vec<(GroupId, MembershipRole)>,
    /// The user's live subject key (seals their client address in the privacy log).
    pub subject_key: Option<WrappedSubjectKey>,
    /// The roles the tenant requires a second factor of, and whether this user has one.
    pub require_totp_roles: Roles,
    pub totp_active: bool,
    /// Set when the caller is an integration client, not a person: then `user_id` is the
    /// client's id, and roles, memberships and subject key are empty.
    pub client: Option<ClientCaller>,
    /// Set when the caller is vendor support under a grant: then `user_id` is the superuser
    /// (of the operator tenant), `tenant_id` the customer's tenant.
    pub support: Option<SupportCaller>,
}

/// A support request as stored; once approved it is the grant (same id). `status` is the
/// decided state: a pending request past `pending_until`, or a grant past `ends_at`, is
/// expired (`SupportRequest::status_at`).
#[derive(Clone, Debug)]
pub struct SupportRequest {
    pub tenant_id: TenantId,
    pub id: SupportRequestId,
    /// A user of the operator tenant.
    pub superuser_id: UserId,
    pub reason: String,
    pub kind: SupportKind,
    /// For `act_as`: the user support acts as.
    pub user_id: Option<UserId>,
    pub minutes: u32,
    pub status: SupportStatus,
    pub created_at: Timestamp,
    pub pending_until: Timestamp,
    pub starts_at: Option<Timestamp>,
    pub ends_at: Option<Timestamp>,
    pub decided_by: Option<UserId>,
    pub decided_at: Option<Timestamp>,
    pub break_glass: bool,
    pub first_used_at: Option<Timestamp>,
}

impl SupportRequest {
    /// The state at `now`: the decided one, or `expired` once its time is up.
    pub fn status_at(&self, now: Timestamp) -> SupportStatus {
        match self.status {
            SupportStatus::Pending if self.pending_until <= now => SupportStatus::Expired,
            SupportStatus::Approved if self.ends_at.is_none_or(|e| e <= now) => {
                SupportStatus::Expired
            }
            s => s,
        }
    }
}

/// An access review as stored: who reviewed, when, and the decisions as JSON
/// (`[{"user_id","keep"}]`, written and read by the core).
#[derive(Clone, Debug)]
pub struct AccessReview {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub reviewer_id: Option<UserId>,
    pub reviewer: String,
    pub at: Timestamp,
    pub decisions: String,
}

/// A processor (GDPR Art. 28, 30) as stored; `tenant_id` is the installation's id for the
/// operator's own.
#[derive(Clone, Debug)]
pub struct ProcessorRow {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub name: String,
    pub purpose: String,
    /// JSON array of strings (written and read by the core).
    pub data_categories: String,
    pub location: String,
    pub transfer_safeguard: Option<String>,
    /// `YYYY-MM-DD`.
    pub dpa_signed_on: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A breach (Art. 33) as stored.
#[derive(Clone, Debug)]
pub struct BreachRow {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub title: String,
    pub aware_at: Timestamp,
    pub nature: String,
    /// JSON array of strings.
    pub data_categories: String,
    pub subjects_estimate: i64,
    pub records_estimate: i64,
    pub consequences: String,
    pub measures: String,
    /// `open`, `notified` or `not_notifiable`.
    pub status: String,
    pub authority_notified_at: Option<Timestamp>,
    pub subjects_notified_at: Option<Timestamp>,
    pub delay_reason: Option<String>,
    pub not_notifiable_reason: Option<String>,
    /// The administrator who recorded it; `None` for the operator.
    pub recorded_by: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One change of a breach: who, when, what (JSON array of "field: value" lines).
#[derive(Clone, Debug)]
pub struct BreachChange {
    pub id: Uuid,
    pub at: Timestamp,
    pub actor_id: Option<UserId>,
    pub fields: String,
}

/// A disclosure request (seed 004) as stored.
#[derive(Clone, Debug)]
pub struct DisclosureRow {
    pub tenant_id: TenantId,
    pub id: Uuid,
    pub requester: String,
    pub legal_basis: String,
    /// `subject:<user id>` or `collection:<name>`.
    pub scope: String,
    /// `open`, `objected`, `released` or `withdrawn`.
    pub status: String,
    pub opened_at: Timestamp,
    pub objection_until: Timestamp,
    pub objection_reason: Option<String>,
    pub objected_by: Option<UserId>,
    pub objected_at: Option<Timestamp>,
    pub released_at: Option<Timestamp>,
    /// The operator who released it, as named.
    pub released_by: Option<String>,
    pub final_order: bool,
    pub records_released: Option<i64>,
    pub withdrawn_at: Option<Timestamp>,
}

/// The grant behind a live support session.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SupportCaller {
    pub request_id: SupportRequestId,
    /// The superuser (a user of the operator tenant).
    pub superuser_id: UserId,
    pub kind: SupportKind,
    pub user_id: Option<UserId>,
    pub ends_at: Timestamp,
    pub break_glass: bool,
}

/// An integration client behind a live client token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientCaller {
    pub id: ClientId,
    /// The scopes this token was granted (never more than the client's).
    pub scopes: Scopes,
}

/// An integration client as stored (its secrets as digests).
#[derive(Clone, Debug)]
pub struct ClientRow {
    pub tenant_id: TenantId,
    pub id: ClientId,
    pub name: String,
    pub scopes: Scopes,
    pub secret_digest: Option<[u8; 32]>,
    /// During a rotation: the previous secret's digest and until when it still works.
    pub previous_digest: Option<[u8; 32]>,
    pub previous_until: Option<Timestamp>,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub kind: strongroom_domain::ClientKind,
    /// A public client's registered redirect URIs (none for a confidential one).
    pub redirect_uris: Vec<String>,
}

/// An authorization code to store (its digest), bound to the app, the person, the redirect
/// URI and the PKCE challenge (S256, base64url).
#[derive(Clone, Debug)]
pub struct NewAuthCode {
    pub tenant_id: TenantId,
    pub digest: [u8; 32],
    pub client_id: ClientId,
    pub user_id: UserId,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

/// What a presented authorization code turned out to be.
#[derive(Clone, Debug)]
pub enum CodeOutcome {
    /// Unused and live: now spent; what it was bound to.
    Spent {
        client_id: ClientId,
        user_id: UserId,
        redirect_uri: String,
        code_challenge: String,
    },
    /// Spent before: the sessions it was exchanged for are revoked.
    Reused,
    /// Unknown or expired.
    Invalid,
}

/// A person's consent to an app.
#[derive(Clone, Debug)]
pub struct Consent {
    pub client_id: ClientId,
    pub created_at: Timestamp,
}

/// A client access token to store (its digest) with the scopes it grants.
#[derive(Clone, Debug)]
pub struct NewClientToken {
    pub tenant_id: TenantId,
    pub digest: [u8; 32],
    pub client_id: ClientId,
    pub scopes: Scopes,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
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

/// One privacy-log entry, before it has its place in the chain. Ids only, never names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyEntry {
    pub at: Timestamp,
    pub actor_id: Option<Uuid>,
    /// The role or grant the actor acted in.
    pub via: String,
    pub subject_id: Option<Uuid>,
    pub object_type: String,
    pub object_id: Option<Uuid>,
    /// `read`, `create`, `update`, `delete`, …
    pub action: String,
    pub fields: Vec<String>,
    pub decision: Decision,
    /// The actor's client address, sealed.
    pub client_sealed: Option<Vec<u8>>,
}

/// An entry in its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyRecord {
    pub seq: u64,
    pub entry: PrivacyEntry,
    pub hash: [u8; 32],
}

/// How an entry is chained: its hash from the tenant, the previous hash, its sequence number
/// and its contents. Supplied by the caller, so the store knows no cryptography.
pub type ChainFn =
    fn(tenant: TenantId, prev: &[u8; 32], seq: u64, entry: &PrivacyEntry) -> [u8; 32];

/// The privacy-log entries of a change, appended to the tenant's chain inside the change's
/// own transaction (holding the chain head's lock there): a change and its entry commit
/// together or not at all. Empty for a change nobody acted in (set-up, tests).
#[derive(Clone, Debug)]
pub struct ChangeLog {
    pub tenant: TenantId,
    /// The hash before the tenant's first entry.
    pub genesis: [u8; 32],
    pub chain: ChainFn,
    pub entries: Vec<PrivacyEntry>,
}

impl ChangeLog {
    /// No entry: the change is not an access to anyone's personal data (creating a tenant's
    /// first administrator, finishing a forget logged when it was asked for, a test's
    /// fixture). Nothing is appended, so no tenant or chain is needed.
    pub fn none() -> Self {
        fn unused(_: TenantId, prev: &[u8; 32], _: u64, _: &PrivacyEntry) -> [u8; 32] {
            *prev
        }
        Self {
            tenant: TenantId(Uuid::nil()),
            genesis: [0; 32],
            chain: unused,
            entries: Vec::new(),
        }
    }
}

/// Which entries to list, newest first.
#[derive(Clone, Debug)]
pub struct PrivacyQuery {
    pub subject: Option<Uuid>,
    pub actor: Option<Uuid>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    /// Entries before this sequence number only (the cursor: the last `seq` of the previous
    /// page).
    pub before: Option<u64>,
    pub limit: u32,
}

/// A signed statement that a tenant's chain had `hash` at `seq`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrivacyCheckpoint {
    pub seq: u64,
    pub hash: [u8; 32],
    pub at: Timestamp,
    pub signature: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    pub tenant_id: TenantId,
    pub id: CollectionId,
    pub name: String,
    /// The field definitions as JSON (the core parses and validates them).
    pub fields: String,
    pub created_by: UserId,
    pub created_at: Timestamp,
    /// The legal retention period as JSON (`{"end_field", "years"|"days"}`), if any.
    pub retention: Option<String>,
}

/// A record as stored: `data` is JSON whose personal values are field ciphertexts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub tenant_id: TenantId,
    pub id: RecordId,
    pub collection_id: CollectionId,
    pub subject_id: UserId,
    pub group_id: Option<GroupId>,
    pub parent_id: Option<RecordId>,
    pub visibility: Visibility,
    pub hidden: bool,
    pub data: String,
    pub version: u32,
    pub created_by: UserId,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The end date (`YYYY-MM-DD`) of a record of a collection with a legal retention period:
    /// written from the end field on every write.
    pub ends_on: Option<String>,
    /// Soft-deleted (read only; set through `soft_delete_record`).
    pub deleted_at: Option<Timestamp>,
    /// On legal hold (read only; set through `set_record_hold`).
    pub held_at: Option<Timestamp>,
}

/// A record with what reading it needs: its collection and its subject's live key.
#[derive(Clone, Debug)]
pub struct RecordView {
    pub record: RecordRow,
    pub collection: Collection,
    pub subject_key: Option<WrappedSubjectKey>,
}

/// One blind-index entry of a searchable field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexEntry {
    pub field: String,
    pub digest: [u8; 32],
}

/// One change of a record: who, when, what (field names), and the stored data before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    pub record_id: RecordId,
    pub version: u32,
    pub at: Timestamp,
    pub actor_id: UserId,
    pub action: String,
    pub fields: Vec<String>,
    pub data_before: Option<String>,
}

/// A record write: the new row, its index entries, and the history entry it adds.
#[derive(Clone, Debug)]
pub struct RecordWrite {
    pub record: RecordRow,
    pub index: Vec<IndexEntry>,
    pub history: HistoryRow,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRow {
    pub record_id: RecordId,
    pub name: String,
    pub file_id: FileId,
    pub blob_key: String,
    pub content_type: String,
    pub size: u64,
    pub created_by: UserId,
    pub created_at: Timestamp,
}

/// What retention or erasure deleted for good (ids only): answers 410 Gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tombstone {
    pub subject_id: Option<UserId>,
    pub reason: TombstoneReason,
    pub deleted_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyRow {
    pub template: String,
    pub policies: String,
    pub version: u64,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewJob {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    pub subject_id: Option<UserId>,
    /// Scheduling the same key twice is a no-op.
    pub dedupe_key: String,
    /// The job's one parameter (e.g. the licence expiry it follows from, in milliseconds).
    pub param: i64,
    pub run_at: Timestamp,
    pub now: Timestamp,
    /// What an installation job is about (the blob key a replication copies or deletes).
    pub object: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub tenant_id: TenantId,
    pub kind: JobKind,
    pub subject_id: Option<UserId>,
    pub param: i64,
    pub run_at: Timestamp,
    pub attempts: u32,
    pub object: Option<String>,
}

/// A job with its state, for inspection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobState {
    pub job: Job,
    pub status: strongroom_domain::JobStatus,
    pub outcome: Option<String>,
}

/// A user's second factor as stored: the secret sealed under their subject key, pending
/// until `confirmed_at`, and the last time step accepted (a code is good once).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserTotp {
    pub sealed: Vec<u8>,
    pub confirmed_at: Option<Timestamp>,
    pub last_step: Option<i64>,
}

/// One backup, drill, verify, prune or restore, as the live store records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupRun {
    pub id: uuid::Uuid,
    /// `backup`, `drill`, `verify`, `prune` or `restore`.
    pub kind: String,
    pub at: Timestamp,
    pub snapshot: Option<String>,
    pub bytes: u64,
    pub millis: u64,
    pub ok: bool,
    /// What failed (never personal data: the problem names a chunk or a table).
    pub detail: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletionNotice {
    pub tenant_id: TenantId,
    pub id: NoticeId,
    pub user_id: UserId,
    /// What will be deleted, e.g. `recordings`.
    pub what: String,
    pub expiry_at: Timestamp,
    pub due_at: Timestamp,
    pub created_at: Timestamp,
    pub kept_at: Option<Timestamp>,
    pub done_at: Option<Timestamp>,
}

/// One record's scrub when its subject is forgotten.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrub {
    pub id: RecordId,
    /// The stored data without personal values.
    pub data: String,
    /// Fields whose search entries go.
    pub unindex: Vec<String>,
}
