//! Persistence for Strongroom behind narrow, capability-sized traits.
//!
//! Two backends implement every trait: [`sqlite::SqliteStore`] (rusqlite on a blocking pool,
//! the embedded default) and [`postgres::PgStore`] (sqlx). Both run the same SQL text from
//! [`sql`] and pass the same test suite (`testkit/tests/suite/store.rs`).
//!
//! Invariants:
//! * every query names a `tenant_id` (only `tenant_by_slug` and `tenant_by_id` find a tenant);
//! * every multi-statement change is one transaction: a failed call leaves nothing half-written;
//! * no backend error text reaches a client: [`StoreError::Backend`] is logged, not shown.

pub mod model;
pub mod postgres;
mod raw;
pub mod sql;
pub mod sqlite;

use async_trait::async_trait;
pub use model::*;
use std::sync::Arc;
use strongroom_domain::{
    CollectionId, FamilyId, GroupId, MembershipRole, RecordId, Slug, TenantId, Timestamp, UserId,
};
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint failed: the named thing already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A referenced row does not exist (in this tenant).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database failed or holds something we cannot read. Logged, never shown to clients.
    #[error("store: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait TenantStore {
    /// Creates a tenant, its keys and its first administrator in one transaction.
    async fn create_tenant(
        &self,
        tenant: &Tenant,
        keys: &[TenantKeyRow],
        admin: &NewUser,
    ) -> Result<()>;
    async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>>;
    async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>>;
    /// Every tenant, oldest first: for operator work such as key rotation only.
    async fn list_tenants(&self) -> Result<Vec<Tenant>>;
    /// Sets how many wrong passwords in a row block an account (1 to 100).
    async fn set_lockout_threshold(&self, id: TenantId, threshold: u32) -> Result<()>;
    /// When the tenant's agreement ends (`None`: open-ended); retention destroys the tenant
    /// 45 days after it.
    async fn set_agreement_end(&self, id: TenantId, end: Option<Timestamp>) -> Result<()>;

    /// Closes a tenant (no token works any more) and destroys every key of it (tenant keys and
    /// subject keys), in one transaction.
    async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<()>;

    /// Deletes every row of a tenant, the tenant itself last, in one transaction.
    async fn destroy_tenant_rows(&self, tenant: TenantId) -> Result<()>;
}

#[async_trait]
pub trait KeyStore {
    /// Every wrapping of every key of the tenant.
    async fn tenant_keys(&self, tenant: TenantId) -> Result<Vec<TenantKeyRow>>;
    /// Adds wrappings; one that exists already is left as it is.
    async fn insert_tenant_keys(&self, rows: &[TenantKeyRow]) -> Result<()>;
    /// A subject's live key, if it has one.
    async fn subject_key(
        &self,
        tenant: TenantId,
        subject: uuid::Uuid,
    ) -> Result<Option<WrappedSubjectKey>>;
    /// Stores a subject key unless the subject has one already (then nothing changes).
    async fn insert_subject_key_if_absent(
        &self,
        tenant: TenantId,
        subject: uuid::Uuid,
        key: &WrappedSubjectKey,
        now: Timestamp,
    ) -> Result<()>;
    /// Removes the tenant's key wrappings under every root key but `keep` (end of a root rotation).
    async fn delete_other_root_wrappings(&self, tenant: TenantId, keep: &[u8; 16]) -> Result<u64>;
    /// Up to `limit` live subject keys wrapped under a KEK version below `version`.
    async fn subject_keys_below(
        &self,
        tenant: TenantId,
        version: u32,
        limit: u32,
    ) -> Result<Vec<(uuid::Uuid, WrappedSubjectKey)>>;
    /// Replaces a subject key's wrapping if it is still under `from_version`; `false` if it
    /// changed meanwhile (destroyed, or re-wrapped by another run).
    async fn rewrap_subject_key(
        &self,
        tenant: TenantId,
        subject: uuid::Uuid,
        from_version: u32,
        new: &WrappedSubjectKey,
    ) -> Result<bool>;
    /// Deletes KEK versions below `version` if no live subject key needs them; whether it did.
    async fn retire_old_keks(&self, tenant: TenantId, version: u32) -> Result<bool>;
}

#[async_trait]
pub trait UserStore {
    /// Inserts the user with their subject key, in one transaction.
    /// `Conflict("user")` when the e-mail is taken in this tenant.
    async fn insert_user(&self, user: &NewUser, log: &ChangeLog) -> Result<()>;
    async fn user_by_email_index(&self, tenant: TenantId, index: &[u8; 32])
    -> Result<Option<User>>;
    async fn user_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    /// Users that are not deleted, oldest first.
    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>>;
    /// Applies the patch to a user that is not deleted; `None` if there is no such user.
    async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<Option<User>>;
    /// Sets a new password hash, clears failures, unblocks, and revokes every session of the user.
    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool>;
    /// Counts a wrong password; blocks the account when the count reaches `threshold`.
    async fn record_login_failure(
        &self,
        tenant: TenantId,
        id: UserId,
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount>;
    async fn clear_login_failures(&self, tenant: TenantId, id: UserId) -> Result<()>;
    /// The same counting for an e-mail with no account, so unknown and known behave alike.
    async fn record_unknown_failure(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount>;
    async fn unknown_failures(&self, tenant: TenantId, index: &[u8; 32]) -> Result<u32>;
    /// Forgets a person in one transaction: destroys their subject key (crypto-shredding),
    /// removes sealed fields and credentials, marks the user deleted, ends sessions and group
    /// memberships. `false` if there was no such (undeleted) user.
    async fn forget_user(
        &self,
        tenant: TenantId,
        id: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
}

#[async_trait]
pub trait GroupStore {
    async fn insert_group(&self, group: &Group) -> Result<()>;
    async fn group_by_id(&self, tenant: TenantId, id: GroupId) -> Result<Option<Group>>;
    /// Adds or updates a membership; `NotFound` if the group or the (undeleted) user is missing.
    async fn put_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<()>;
    async fn members(&self, tenant: TenantId, group: GroupId) -> Result<Vec<Member>>;

    /// The groups a user belongs to, with the role in each.
    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(GroupId, MembershipRole)>>;
}

#[async_trait]
pub trait LoginHistoryStore {
    async fn append_login(&self, event: &LoginEvent) -> Result<()>;
    /// A user's login attempts, newest first.
    async fn login_history(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<LoginEvent>>;
}

#[async_trait]
pub trait SessionStore {
    async fn insert_session(&self, session: &NewSession) -> Result<()>;
    /// The caller behind a live access token of an active user in an active tenant.
    async fn principal_by_access(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionPrincipal>>;
    /// Spends a refresh token and stores its successor in the same family, atomically.
    /// A spent token presented again revokes the whole family.
    async fn rotate_refresh(
        &self,
        tenant: TenantId,
        presented: &[u8; 32],
        next: &NewSession,
        now: Timestamp,
    ) -> Result<RefreshOutcome>;
    async fn revoke_family(&self, tenant: TenantId, family: FamilyId, now: Timestamp)
    -> Result<()>;
}

#[async_trait]
pub trait PasswordResetStore {
    /// Stores a reset token, replacing any earlier unused one of the user.
    async fn insert_reset(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        user: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()>;
    /// Spends a live reset token and sets the new password in one transaction
    /// (clears failures, unblocks, ends every session). The user, or `None` if the token is
    /// unknown, spent or expired.
    async fn reset_password(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>>;
}

#[async_trait]
pub trait PrivacyLogStore {
    /// Appends entries to the tenant's chain in one transaction, holding the chain head's lock
    /// (so instances sharing a database never fork a chain). `genesis` is the hash before the
    /// first entry. Returns the entries' sequence numbers.
    async fn append_privacy(
        &self,
        tenant: TenantId,
        entries: &[PrivacyEntry],
        genesis: [u8; 32],
        chain: ChainFn,
    ) -> Result<Vec<u64>>;
    /// Entries after `after`, ascending, at most `limit` (for verification).
    async fn privacy_page(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<PrivacyRecord>>;
    /// The chain head: last sequence number and hash.
    async fn privacy_head(&self, tenant: TenantId) -> Result<Option<(u64, [u8; 32])>>;
    /// Entries matching the query, newest first.
    async fn privacy_query(&self, tenant: TenantId, q: &PrivacyQuery)
    -> Result<Vec<PrivacyRecord>>;
    /// Stores a signed checkpoint (one per sequence number; a second is ignored).
    async fn insert_checkpoint(&self, tenant: TenantId, c: &PrivacyCheckpoint) -> Result<()>;
    /// The tenant's checkpoints, oldest first.
    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<PrivacyCheckpoint>>;
}

#[async_trait]
pub trait RecordStore {
    /// `Conflict("collection")` when the name is taken in this tenant.
    async fn insert_collection(&self, c: &Collection) -> Result<()>;

    async fn collection_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Collection>>;

    async fn list_collections(&self, tenant: TenantId) -> Result<Vec<Collection>>;

    /// Inserts a record with its index entries and first history entry, in one transaction.
    /// `NotFound("subject or group")` when the subject or group is not in this tenant.
    async fn insert_record(&self, w: &RecordWrite, log: &ChangeLog) -> Result<()>;

    async fn record(&self, tenant: TenantId, id: RecordId) -> Result<Option<RecordView>>;

    /// A record and its files, read at one snapshot.
    async fn record_with_files(
        &self,
        tenant: TenantId,
        id: RecordId,
    ) -> Result<Option<(RecordView, Vec<FileRow>)>>;

    /// Replaces a record that is still at `expected_version` (its index entries too) and adds
    /// the history entry, in one transaction; `false` if the record changed meanwhile.
    async fn update_record(
        &self,
        w: &RecordWrite,
        expected_version: u32,
        log: &ChangeLog,
    ) -> Result<bool>;

    /// Records of a collection whose searchable `field` has blind index `digest`.
    async fn search_records(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        field: &str,
        digest: &[u8; 32],
        limit: u32,
    ) -> Result<Vec<RecordView>>;

    /// Every record about `subject`, oldest first.
    async fn records_of_subject(
        &self,
        tenant: TenantId,
        subject: UserId,
    ) -> Result<Vec<RecordView>>;

    /// Every record `author` created, oldest first.
    async fn records_by_author(&self, tenant: TenantId, author: UserId) -> Result<Vec<RecordView>>;

    /// Every change `actor` made to any record, oldest first.
    async fn history_by_actor(&self, tenant: TenantId, actor: UserId) -> Result<Vec<HistoryRow>>;

    /// A record's changes, oldest first.
    async fn record_history(&self, tenant: TenantId, id: RecordId) -> Result<Vec<HistoryRow>>;

    /// Attaches a file (replacing one of the same name) and adds a history entry under the
    /// record's next version, in one transaction; returns the file it replaced, whose blob the
    /// caller deletes. `NotFound("record")` if the record is gone.
    async fn put_file(
        &self,
        tenant: TenantId,
        file: &FileRow,
        history: &HistoryRow,
        log: &ChangeLog,
    ) -> Result<Option<FileRow>>;

    async fn file(&self, tenant: TenantId, record: RecordId, name: &str)
    -> Result<Option<FileRow>>;

    async fn files(&self, tenant: TenantId, record: RecordId) -> Result<Vec<FileRow>>;

    /// Every file of every record about `subject`.
    async fn files_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<FileRow>>;

    /// Removes this stored version of a file (its blob deleted before) and leaves a tombstone
    /// naming `subject` and `reason`; `false` if it is gone or was replaced.
    async fn delete_file_version(
        &self,
        tenant: TenantId,
        file: &FileRow,
        subject: UserId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;

    /// Replaces records' stored data (forgetting: personal values removed), drops their stored
    /// values before each change and the search entries of the listed fields, all in one
    /// transaction.
    async fn scrub_records(&self, tenant: TenantId, scrubs: &[Scrub]) -> Result<()>;

    /// Hides (or shows again) every record about a subject; how many changed.
    async fn set_subject_hidden(
        &self,
        tenant: TenantId,
        subject: UserId,
        hidden: bool,
        log: &ChangeLog,
    ) -> Result<u64>;
}

/// The durable job queue, the one table claimed across tenants (every job carries its tenant).
#[async_trait]
pub trait JobStore {
    /// Schedules a job unless one with its dedupe key exists (then moves it to the new time
    /// if it has not run yet); whether it was added or moved.
    async fn enqueue(&self, job: &NewJob) -> Result<bool>;

    /// Claims up to `limit` due jobs (pending, or running with an expired lease) until
    /// `lease_until`. Two instances never claim the same job (PostgreSQL: `FOR UPDATE SKIP
    /// LOCKED`; SQLite: one writer).
    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Job>>;

    /// Marks a claimed job done, with what it did.
    async fn finish_job(&self, id: Uuid, outcome: &str, now: Timestamp) -> Result<()>;

    /// A failed attempt: pending again at `run_at`, or failed after `max_attempts`.
    async fn retry_job(
        &self,
        id: Uuid,
        max_attempts: u32,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// A job that ran but could not act yet (a legal hold stands in the way): pending again at
    /// `run_at`, the attempt not counted.
    async fn defer_job(
        &self,
        id: Uuid,
        run_at: Timestamp,
        outcome: &str,
        now: Timestamp,
    ) -> Result<()>;

    /// A tenant's jobs of one kind, by due time.
    async fn jobs_of_kind(&self, tenant: TenantId, kind: &str) -> Result<Vec<JobState>>;

    /// The jobs concerning one user, by due time.
    async fn jobs_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<JobState>>;
}

/// Deletion that keeps its promises: soft deletion and its purge, legal holds, legal
/// retention, tombstones, the finishing of a forget a hold deferred, and the tenant's rules.
#[async_trait]
pub trait DeletionStore {
    /// Soft-deletes a record; `false` if it is on legal hold, deleted already, or absent.
    async fn soft_delete_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// Undoes a soft deletion; `false` if the record was not soft-deleted.
    async fn restore_record(&self, tenant: TenantId, id: RecordId, log: &ChangeLog)
    -> Result<bool>;
    /// Places (`Some`) or releases (`None`) a legal hold; `false` if nothing changed.
    async fn set_record_hold(
        &self,
        tenant: TenantId,
        id: RecordId,
        hold: Option<(UserId, Timestamp)>,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// Records soft-deleted before `before` and not on hold, oldest first.
    async fn deleted_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<RecordId>>;
    /// Records of a collection whose end date is before `before` (`YYYY-MM-DD`), not on hold.
    async fn ended_before(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        before: &str,
        limit: u32,
    ) -> Result<Vec<RecordId>>;
    /// A record's direct replies.
    async fn replies_of(&self, tenant: TenantId, id: RecordId) -> Result<Vec<RecordId>>;
    /// How many of the tenant's records are on legal hold.
    async fn held_records(&self, tenant: TenantId) -> Result<u64>;
    /// Removes a record for good with its file rows (their blobs deleted before), history and
    /// search entries, and leaves a tombstone, in one transaction; `false` if it is on legal
    /// hold or gone already.
    async fn purge_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
    /// The tombstone of a record (`name` empty) or of one of its files.
    async fn tombstone(
        &self,
        tenant: TenantId,
        object: Uuid,
        name: &str,
    ) -> Result<Option<Tombstone>>;
    /// Destroys a forgotten subject's key unless a record about them is on legal hold;
    /// whether it was destroyed now.
    async fn destroy_subject_key(
        &self,
        tenant: TenantId,
        subject: UserId,
        now: Timestamp,
    ) -> Result<bool>;
    /// Sets a collection's legal retention (JSON) and copies every record's end date from
    /// `end_field` (none: clears them), in one transaction.
    async fn set_collection_retention(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        retention: Option<&str>,
        end_field: Option<&str>,
    ) -> Result<()>;
    /// The tenant's retention rules (JSON), if it set any.
    async fn retention_rules(&self, tenant: TenantId) -> Result<Option<String>>;
    async fn put_retention_rules(
        &self,
        tenant: TenantId,
        rules: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<()>;
}

/// Deletion notices: what a person is told before their data goes, and their veto.
#[async_trait]
pub trait NoticeStore {
    /// Adds a notice unless one for the same (user, what, expiry) exists; whether it was added.
    async fn insert_notice(&self, n: &DeletionNotice, log: &ChangeLog) -> Result<bool>;

    async fn notice_for(
        &self,
        tenant: TenantId,
        user: UserId,
        what: &str,
        expiry_at: Timestamp,
    ) -> Result<Option<DeletionNotice>>;

    async fn notices_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<DeletionNotice>>;

    /// The user's veto; `false` if there is no such open notice of theirs.
    async fn keep_notice(
        &self,
        tenant: TenantId,
        user: UserId,
        id: Uuid,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;

    async fn finish_notice(&self, tenant: TenantId, id: Uuid, now: Timestamp) -> Result<()>;
}

/// A tenant's own access policies, stored under a version guard.
#[async_trait]
pub trait PolicyStore {
    /// The tenant's own access policies, if it replaced the template's.
    async fn policies(&self, tenant: TenantId) -> Result<Option<PolicyRow>>;

    /// Stores the tenant's policies if they are still at `expected_version` (0: none stored);
    /// `false` if another change came first.
    async fn put_policies(
        &self,
        tenant: TenantId,
        row: &PolicyRow,
        expected_version: u64,
        log: &ChangeLog,
    ) -> Result<bool>;
}

/// Everything the core services need from persistence.
pub trait Store:
    TenantStore
    + KeyStore
    + PrivacyLogStore
    + UserStore
    + GroupStore
    + LoginHistoryStore
    + SessionStore
    + PasswordResetStore
    + RecordStore
    + JobStore
    + DeletionStore
    + PolicyStore
    + NoticeStore
    + Send
    + Sync
{
}
impl<T> Store for T where
    T: TenantStore
        + KeyStore
        + PrivacyLogStore
        + UserStore
        + GroupStore
        + LoginHistoryStore
        + SessionStore
        + PasswordResetStore
        + RecordStore
        + JobStore
        + DeletionStore
        + PolicyStore
        + NoticeStore
        + Send
        + Sync
{
}

/// Opens the store a URL names (`sqlite://PATH` or `postgres://…`) and runs its migrations.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path)).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else {
        Err(StoreError::Backend(
            "database URL must start with sqlite:// or postgres://".to_owned(),
        ))
    }
}
