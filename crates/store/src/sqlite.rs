//! The embedded backend: one SQLite file in WAL mode, through rusqlite.
//!
//! rusqlite rather than sqlx here: sqlx's SQLite driver funnels every statement through a
//! worker thread and managed ≈ 13k primary-key reads/s where rusqlite does ≈ 380k/s on this
//! hardware. Calls run on tokio's blocking pool. SQLite allows one writer at a time, so there is
//! one writer connection (behind a mutex) and a few read-only connections; WAL lets readers
//! run beside the writer. `synchronous = FULL`: a commit that returned is on disk.

use crate::WrappedSubjectKey;
use crate::raw::{
    RawCollection, RawFile, RawGroup, RawHistory, RawLogin, RawPolicies, RawPrivacy, RawRecordView,
    RawTenant, RawUser, fields_json, membership,
};
use crate::raw::{RawJob, RawNotice, job_status};
use crate::{
    ChainFn, ChangeLog, PrivacyCheckpoint, PrivacyEntry, PrivacyLogStore, PrivacyQuery,
    PrivacyRecord,
};
use crate::{
    Collection, FileRow, HistoryRow, IndexEntry, PolicyRow, RecordRow, RecordStore, RecordView,
    RecordWrite,
};
use crate::{
    DeletionNotice, DeletionStore, Job, JobState, JobStore, NewJob, NoticeStore, PolicyStore,
    Scrub, Tombstone,
};
use crate::{
    FailureCount, Group, GroupStore, KeyPurpose, KeyStore, LoginEvent, LoginHistoryStore, Member,
    NewSession, NewUser, PasswordResetStore, RefreshOutcome, Result, SessionPrincipal,
    SessionStore, StoreError, Tenant, TenantKeyRow, TenantStore, User, UserPatch, UserStore, sql,
};
use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use strongroom_domain::{
    CollectionId, FamilyId, GroupId, MembershipRole, RecordId, Roles, Slug, TenantId, Timestamp,
    UserId, from_millis, to_millis,
};
use uuid::Uuid;

const READERS: usize = 4;

/// Migrations in order; the file's `user_version` says how many have run. Hand-written rather
/// than `rusqlite_migration` because that crate's releases pin newer rusqlite versions than the
/// one that can sit beside sqlx (see Cargo.toml); the logic is ten lines.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_foundation.sql"),
    include_str!("../migrations/sqlite/0002_key_hierarchy.sql"),
    include_str!("../migrations/sqlite/0003_sealed_login_ips.sql"),
    include_str!("../migrations/sqlite/0004_privacy_log.sql"),
    include_str!("../migrations/sqlite/0005_privacy_checkpoints.sql"),
    include_str!("../migrations/sqlite/0006_records.sql"),
    include_str!("../migrations/sqlite/0007_export_indexes.sql"),
    include_str!("../migrations/sqlite/0008_jobs.sql"),
    include_str!("../migrations/sqlite/0009_record_index_by_record.sql"),
    include_str!("../migrations/sqlite/0010_deletion_and_holds.sql"),
    include_str!("../migrations/sqlite/0011_administration_in_policies.sql"),
];

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// Maps constraint failures to the caller's vocabulary; everything else is a backend error.
fn constraint(what: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |e| match e.sqlite_error() {
        Some(f)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(what)
        }
        Some(f) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            StoreError::NotFound(what)
        }
        _ => backend(e),
    }
}

fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    if read_only {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    for (i, m) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(m)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || -> Result<Self> {
            let mut writer = Connection::open(&path).map_err(backend)?;
            writer
                .pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            configure(&writer, false).map_err(backend)?;
            migrate(&mut writer).map_err(backend)?;
            let readers = (0..READERS)
                .map(|_| {
                    let c = Connection::open(&path)?;
                    configure(&c, true)?;
                    Ok(Mutex::new(c))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            Ok(Self {
                inner: Arc::new(Inner {
                    writer: Mutex::new(writer),
                    readers,
                    next_reader: AtomicUsize::new(0),
                }),
            })
        })
        .await
        .map_err(backend)?
    }

    async fn read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let conn = inner
                .readers
                .get(i)
                .ok_or_else(|| backend("no reader"))?
                .lock()
                .map_err(backend)?;
            f(&conn)
        })
        .await
        .map_err(backend)?
    }

    /// A point read by primary key or unique index, run on the calling thread.
    ///
    /// The hot path of every request (token, caller, record) is a handful of such reads, each
    /// a few microseconds on a warm page cache; handing each to the blocking pool cost more in
    /// thread hand-offs than the read itself (measured: BENCHMARKS.md, records load). WAL
    /// readers never wait for the writer, and a free reader connection is taken if there is
    /// one, so this blocks only for the read. Scans and writes still go to the blocking pool.
    #[allow(
        clippy::unused_async,
        reason = "same shape as `read`, so call sites can switch"
    )]
    async fn read_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        let readers = &self.inner.readers;
        let n = readers.len();
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Some(Ok(conn)) = readers.get((start + k) % n).map(Mutex::try_lock) {
                return f(&conn);
            }
        }
        // Every reader is busy (a long scan: an export, a forget): wait for one on the
        // blocking pool, never on this runtime worker, which other requests need meanwhile.
        self.read(f).await
    }

    /// A point read of several statements at one snapshot (one read transaction): `read_now`
    /// with `BEGIN`/`COMMIT` from the statement cache (not re-parsed each time, as
    /// `Connection::transaction` would). The transaction always ends, even on error, so a
    /// reader connection never keeps an old snapshot.
    async fn read_tx_now<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.read_now(|c| {
            c.prepare_cached("BEGIN")
                .and_then(|mut s| s.execute([]))
                .map_err(backend)?;
            let out = f(c);
            let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
            c.prepare_cached(end)
                .and_then(|mut s| s.execute([]))
                .map_err(backend)?;
            out
        })
        .await
    }

    /// Runs `f` inside one write transaction; an error rolls everything back.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(backend)?;
            // IMMEDIATE: the write lock is taken at BEGIN, so a transaction that reads before
            // it writes never fails to upgrade (SQLITE_BUSY without waiting) when another
            // process, or a second store on the same file, writes meanwhile.
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let out = f(&tx)?;
            tx.commit().map_err(backend)?;
            Ok(out)
        })
        .await
        .map_err(backend)?
    }
}

/// Appends entries to a tenant's chain inside the caller's write transaction. The write
/// transaction is SQLite's only writer: nothing else appends meanwhile.
fn append_chain(
    tx: &Connection,
    tenant: TenantId,
    entries: &[PrivacyEntry],
    genesis: [u8; 32],
    chain: ChainFn,
) -> Result<Vec<u64>> {
    tx.execute(sql::ENSURE_PRIVACY_HEAD, params![tenant.0, &genesis[..]])
        .map_err(backend)?;
    let head = tx
        .query_row(sql::PRIVACY_HEAD, [tenant.0], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(backend)?;
    let (mut seq, mut prev) = head_of(head)?;
    let mut st = tx.prepare_cached(sql::INSERT_PRIVACY).map_err(backend)?;
    let mut seqs = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        prev = chain(tenant, &prev, seq, e);
        st.execute(params![
            tenant.0,
            i64::try_from(seq).map_err(backend)?,
            to_millis(e.at),
            e.actor_id,
            e.via,
            e.subject_id,
            e.object_type,
            e.object_id,
            e.action,
            e.fields.join(","),
            e.decision.as_str(),
            e.client_sealed,
            &prev[..]
        ])
        .map_err(backend)?;
        seqs.push(seq);
    }
    tx.execute(
        sql::SET_PRIVACY_HEAD,
        params![i64::try_from(seq).map_err(backend)?, &prev[..], tenant.0],
    )
    .map_err(backend)?;
    Ok(seqs)
}

/// Appends a change's entries inside the change's own transaction (nothing if it has none).
fn append_log(tx: &Connection, log: &ChangeLog) -> Result<()> {
    if log.entries.is_empty() {
        return Ok(());
    }
    append_chain(tx, log.tenant, &log.entries, log.genesis, log.chain).map(drop)
}

fn raw_tenant(r: &Row<'_>) -> rusqlite::Result<RawTenant> {
    Ok(RawTenant {
        id: r.get(0)?,
        slug: r.get(1)?,
        name: r.get(2)?,
        region: r.get(3)?,
        status: r.get(4)?,
        lockout_threshold: r.get(5)?,
        agreement_ends_at: r.get(6)?,
        created_at: r.get(7)?,
    })
}

fn raw_user(r: &Row<'_>) -> rusqlite::Result<RawUser> {
    Ok(RawUser {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        email_sealed: r.get(2)?,
        name_sealed: r.get(3)?,
        roles: r.get(4)?,
        status: r.get(5)?,
        password_hash: r.get(6)?,
        must_change_password: r.get(7)?,
        failed_logins: r.get(8)?,
        license_expires_at: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        key_id: r.get(12)?,
        kek_version: r.get(13)?,
        wrapped_key: r.get(14)?,
    })
}

fn insert_user(tx: &Connection, u: &NewUser) -> Result<()> {
    tx.prepare_cached(sql::INSERT_USER)
        .and_then(|mut s| {
            s.execute(params![
                u.tenant_id.0,
                u.id.0,
                &u.email_index[..],
                u.email_sealed,
                u.name_sealed,
                u.roles.to_stored(),
                u.password_hash,
                u.must_change_password,
                u.license_expires_at.map(to_millis),
                to_millis(u.now),
            ])
        })
        .map_err(constraint("user"))?;
    insert_subject_key(
        tx,
        sql::INSERT_SUBJECT_KEY,
        u.tenant_id,
        u.id.0,
        &u.subject_key,
        u.now,
    )
}

/// Inserts a subject key with `statement` (plain, or "unless present").
fn insert_subject_key(
    tx: &Connection,
    statement: &str,
    tenant: TenantId,
    subject: Uuid,
    key: &WrappedSubjectKey,
    now: Timestamp,
) -> Result<()> {
    tx.prepare_cached(statement)
        .and_then(|mut s| {
            s.execute(params![
                tenant.0,
                subject,
                key.key_id,
                key.kek_version,
                key.wrapped,
                to_millis(now)
            ])
        })
        .map_err(constraint("subject key"))?;
    Ok(())
}

/// A wrapped subject key from columns `key_id, kek_version, wrapped` starting at `first`.
fn wrapped_subject_key(r: &Row<'_>, first: usize) -> rusqlite::Result<(Uuid, i64, Vec<u8>)> {
    Ok((r.get(first)?, r.get(first + 1)?, r.get(first + 2)?))
}

fn into_wrapped((key_id, v, wrapped): (Uuid, i64, Vec<u8>)) -> Result<WrappedSubjectKey> {
    Ok(WrappedSubjectKey {
        key_id,
        kek_version: u32::try_from(v).map_err(backend)?,
        wrapped,
    })
}

fn insert_tenant_keys(tx: &Connection, rows: &[TenantKeyRow]) -> Result<()> {
    let mut st = tx.prepare_cached(sql::INSERT_TENANT_KEY).map_err(backend)?;
    for k in rows {
        st.execute(params![
            k.tenant_id.0,
            k.purpose.as_str(),
            k.version,
            &k.root_key_id[..],
            k.wrapped,
            to_millis(k.created_at)
        ])
        .map_err(constraint("tenant key"))?;
    }
    Ok(())
}

fn one_user(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Option<User>> {
    conn.prepare_cached(sql)
        .and_then(|mut s| s.query_row(p, raw_user).optional())
        .map_err(backend)?
        .map(RawUser::into_model)
        .transpose()
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(
        &self,
        t: &Tenant,
        keys: &[TenantKeyRow],
        admin: &NewUser,
    ) -> Result<()> {
        let (t, keys, admin) = (t.clone(), keys.to_vec(), admin.clone());
        self.write(move |tx| {
            tx.execute(
                sql::INSERT_TENANT,
                params![
                    t.id.0,
                    t.slug.as_str(),
                    t.name.as_str(),
                    t.region.as_str(),
                    t.status.as_str(),
                    t.lockout_threshold,
                    t.agreement_ends_at.map(to_millis),
                    to_millis(t.created_at)
                ],
            )
            .map_err(constraint("tenant"))?;
            insert_tenant_keys(tx, &keys)?;
            insert_user(tx, &admin)
        })
        .await
    }

    async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>> {
        let slug = slug.as_str().to_owned();
        self.read_now(move |c| {
            c.prepare_cached(sql::TENANT_BY_SLUG)
                .and_then(|mut s| s.query_row([slug], raw_tenant).optional())
                .map_err(backend)?
                .map(RawTenant::into_model)
                .transpose()
        })
        .await
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::LIST_TENANTS).map_err(backend)?;
            let rows = st.query_map([], raw_tenant).map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawTenant::into_model))
                .collect()
        })
        .await
    }

    async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>> {
        self.read_now(move |c| {
            c.prepare_cached(sql::TENANT_BY_ID)
                .and_then(|mut s| s.query_row([id.0], raw_tenant).optional())
                .map_err(backend)?
                .map(RawTenant::into_model)
                .transpose()
        })
        .await
    }

    async fn set_lockout_threshold(&self, id: TenantId, threshold: u32) -> Result<()> {
        self.write(move |tx| {
            tx.execute(sql::SET_LOCKOUT_THRESHOLD, params![threshold, id.0])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn set_agreement_end(&self, id: TenantId, end: Option<Timestamp>) -> Result<()> {
        self.write(move |tx| {
            tx.execute(sql::SET_AGREEMENT_END, params![end.map(to_millis), id.0])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<()> {
        self.write(move |tx| {
            for statement in sql::DESTROY_TENANT_KEYS {
                tx.execute(statement, params![tenant.0]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn destroy_tenant_rows(&self, tenant: TenantId) -> Result<()> {
        self.write(move |tx| {
            for statement in sql::DESTROY_TENANT_ROWS {
                tx.execute(statement, params![tenant.0]).map_err(backend)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl KeyStore for SqliteStore {
    async fn tenant_keys(&self, tenant: TenantId) -> Result<Vec<TenantKeyRow>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::TENANT_KEYS).map_err(backend)?;
            let rows = st
                .query_map([tenant.0], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (purpose, version, root, wrapped, created) = r.map_err(backend)?;
                tenant_key_row(tenant, &purpose, version, &root, wrapped, created)
            })
            .collect()
        })
        .await
    }

    async fn insert_tenant_keys(&self, rows: &[TenantKeyRow]) -> Result<()> {
        let rows = rows.to_vec();
        self.write(move |tx| insert_tenant_keys(tx, &rows)).await
    }

    async fn subject_key(
        &self,
        tenant: TenantId,
        subject: Uuid,
    ) -> Result<Option<WrappedSubjectKey>> {
        self.read_now(move |c| {
            c.query_row(sql::SUBJECT_KEY, params![tenant.0, subject], |r| {
                wrapped_subject_key(r, 0)
            })
            .optional()
            .map_err(backend)?
            .map(into_wrapped)
            .transpose()
        })
        .await
    }

    async fn insert_subject_key_if_absent(
        &self,
        tenant: TenantId,
        subject: Uuid,
        key: &WrappedSubjectKey,
        now: Timestamp,
    ) -> Result<()> {
        let key = key.clone();
        self.write(move |tx| {
            insert_subject_key(
                tx,
                sql::INSERT_SUBJECT_KEY_IF_ABSENT,
                tenant,
                subject,
                &key,
                now,
            )
        })
        .await
    }

    async fn delete_other_root_wrappings(&self, tenant: TenantId, keep: &[u8; 16]) -> Result<u64> {
        let keep = *keep;
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::DELETE_OTHER_ROOT_WRAPPINGS,
                    params![tenant.0, &keep[..]],
                )
                .map_err(backend)?;
            Ok(n as u64)
        })
        .await
    }

    async fn subject_keys_below(
        &self,
        tenant: TenantId,
        version: u32,
        limit: u32,
    ) -> Result<Vec<(Uuid, WrappedSubjectKey)>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::SUBJECT_KEYS_BELOW).map_err(backend)?;
            let rows = st
                .query_map(params![tenant.0, version, limit], |r| {
                    Ok((r.get::<_, Uuid>(0)?, wrapped_subject_key(r, 1)?))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (subject, columns) = r.map_err(backend)?;
                Ok((subject, into_wrapped(columns)?))
            })
            .collect()
        })
        .await
    }

    async fn rewrap_subject_key(
        &self,
        tenant: TenantId,
        subject: Uuid,
        from_version: u32,
        new: &WrappedSubjectKey,
    ) -> Result<bool> {
        let new = new.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::REWRAP_SUBJECT_KEY,
                    params![
                        new.kek_version,
                        new.wrapped,
                        tenant.0,
                        subject,
                        from_version
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn retire_old_keks(&self, tenant: TenantId, version: u32) -> Result<bool> {
        self.write(move |tx| {
            let pending: Option<i64> = tx
                .query_row(sql::OLD_KEK_IN_USE, params![tenant.0, version], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            if pending.is_some() {
                return Ok(false);
            }
            tx.execute(sql::RETIRE_OLD_KEKS, params![tenant.0, version])
                .map_err(backend)?;
            Ok(true)
        })
        .await
    }
}

/// A tenant-key row from its stored columns (shared by both backends).
pub(crate) fn tenant_key_row(
    tenant: TenantId,
    purpose: &str,
    version: i64,
    root: &[u8],
    wrapped: Vec<u8>,
    created: i64,
) -> Result<TenantKeyRow> {
    Ok(TenantKeyRow {
        tenant_id: tenant,
        purpose: KeyPurpose::parse(purpose).ok_or_else(|| backend("unreadable key purpose"))?,
        version: u32::try_from(version).map_err(backend)?,
        root_key_id: root
            .try_into()
            .map_err(|_| backend("unreadable root key id"))?,
        wrapped,
        created_at: strongroom_domain::from_millis(created),
    })
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn insert_user(&self, user: &NewUser, log: &ChangeLog) -> Result<()> {
        let (user, log) = (user.clone(), log.clone());
        self.write(move |tx| {
            insert_user(tx, &user)?;
            append_log(tx, &log)
        })
        .await
    }

    async fn user_by_email_index(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
    ) -> Result<Option<User>> {
        let index = *index;
        self.read(move |c| one_user(c, sql::USER_BY_EMAIL_INDEX, params![tenant.0, &index[..]]))
            .await
    }

    async fn user_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        self.read_now(move |c| one_user(c, sql::USER_BY_ID, params![tenant.0, id.0]))
            .await
    }

    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::LIST_USERS).map_err(backend)?;
            let rows = s.query_map([tenant.0], raw_user).map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawUser::into_model))
                .collect()
        })
        .await
    }

    async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<Option<User>> {
        let (patch, log) = (patch.clone(), log.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::UPDATE_USER,
                    params![
                        patch.name_sealed,
                        patch.roles.as_ref().map(Roles::to_stored),
                        patch.license_expires_at.is_some(),
                        patch.license_expires_at.flatten().map(to_millis),
                        to_millis(now),
                        tenant.0,
                        id.0
                    ],
                )
                .map_err(backend)?;
            if n == 0 {
                return Ok(None);
            }
            append_log(tx, &log)?;
            one_user(tx, sql::USER_BY_ID, params![tenant.0, id.0])
        })
        .await
    }

    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool> {
        let hash = hash.to_owned();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::SET_PASSWORD,
                    params![hash, must_change, to_millis(now), tenant.0, id.0],
                )
                .map_err(backend)?;
            tx.execute(
                sql::REVOKE_USER_SESSIONS,
                params![to_millis(now), tenant.0, id.0],
            )
            .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn record_login_failure(
        &self,
        tenant: TenantId,
        id: UserId,
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        self.write(move |tx| {
            let failed: i64 = tx
                .query_row(
                    sql::RECORD_FAILURE,
                    params![threshold, to_millis(now), tenant.0, id.0],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(failure_count(failed, threshold))
        })
        .await
    }

    async fn clear_login_failures(&self, tenant: TenantId, id: UserId) -> Result<()> {
        self.write(move |tx| {
            tx.execute(sql::CLEAR_FAILURES, params![tenant.0, id.0])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn record_unknown_failure(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
        threshold: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        let index = *index;
        self.write(move |tx| {
            let failed: i64 = tx
                .query_row(
                    sql::RECORD_UNKNOWN_FAILURE,
                    params![tenant.0, &index[..], to_millis(now)],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            Ok(failure_count(failed, threshold))
        })
        .await
    }

    async fn unknown_failures(&self, tenant: TenantId, index: &[u8; 32]) -> Result<u32> {
        let index = *index;
        self.read(move |c| {
            let n: Option<i64> = c
                .query_row(sql::UNKNOWN_FAILURES, params![tenant.0, &index[..]], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn forget_user(
        &self,
        tenant: TenantId,
        id: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |tx| {
            let n = tx
                .execute(sql::FORGET_USER, params![to_millis(now), tenant.0, id.0])
                .map_err(backend)?;
            if n == 0 {
                return Ok(false);
            }
            for stmt in [sql::DESTROY_SUBJECT_KEY, sql::REVOKE_USER_SESSIONS] {
                tx.execute(stmt, params![to_millis(now), tenant.0, id.0])
                    .map_err(backend)?;
            }
            tx.execute(sql::DELETE_USER_MEMBERSHIPS, params![tenant.0, id.0])
                .map_err(backend)?;
            tx.execute(sql::DELETE_USER_RESETS, params![tenant.0, id.0])
                .map_err(backend)?;
            append_log(tx, &log)?;
            Ok(true)
        })
        .await
    }
}

pub(crate) fn failure_count(failed: i64, threshold: u32) -> FailureCount {
    let failed = u32::try_from(failed).unwrap_or(u32::MAX);
    FailureCount {
        failed,
        blocked_now: failed == threshold,
    }
}

#[async_trait]
impl GroupStore for SqliteStore {
    async fn insert_group(&self, g: &Group) -> Result<()> {
        let g = g.clone();
        self.write(move |tx| {
            tx.execute(
                sql::INSERT_GROUP,
                params![
                    g.tenant_id.0,
                    g.id.0,
                    g.name.as_str(),
                    to_millis(g.created_at)
                ],
            )
            .map_err(constraint("group"))?;
            Ok(())
        })
        .await
    }

    async fn group_by_id(&self, tenant: TenantId, id: GroupId) -> Result<Option<Group>> {
        self.read(move |c| {
            c.query_row(sql::GROUP_BY_ID, params![tenant.0, id.0], |r| {
                Ok(RawGroup {
                    tenant_id: r.get(0)?,
                    id: r.get(1)?,
                    name: r.get(2)?,
                    created_at: r.get(3)?,
                })
            })
            .optional()
            .map_err(backend)?
            .map(RawGroup::into_model)
            .transpose()
        })
        .await
    }

    async fn put_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<()> {
        self.write(move |tx| {
            let group_exists = tx
                .query_row(sql::GROUP_BY_ID, params![tenant.0, group.0], |_| Ok(()))
                .optional()
                .map_err(backend)?;
            group_exists.ok_or(StoreError::NotFound("group"))?;
            let user_live = tx
                .query_row(sql::USER_IS_LIVE, params![tenant.0, user.0], |_| Ok(()))
                .optional()
                .map_err(backend)?;
            user_live.ok_or(StoreError::NotFound("user"))?;
            tx.execute(
                sql::PUT_MEMBER,
                params![tenant.0, group.0, user.0, role.as_str()],
            )
            .map_err(constraint("member"))?;
            Ok(())
        })
        .await
    }

    async fn members(&self, tenant: TenantId, group: GroupId) -> Result<Vec<Member>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::MEMBERS).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, group.0], |r| {
                    Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (u, role) = r.map_err(backend)?;
                let role = MembershipRole::parse(&role)
                    .ok_or_else(|| backend("unreadable membership role"))?;
                Ok(Member {
                    user_id: u.into(),
                    role,
                })
            })
            .collect()
        })
        .await
    }

    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(GroupId, MembershipRole)>> {
        self.read_now(move |c| memberships_on(c, tenant, user))
            .await
    }
}

#[async_trait]
impl LoginHistoryStore for SqliteStore {
    async fn append_login(&self, e: &LoginEvent) -> Result<()> {
        let e = e.clone();
        self.write(move |tx| {
            tx.prepare_cached(sql::INSERT_LOGIN)
                .and_then(|mut s| {
                    s.execute(params![
                        e.tenant_id.0,
                        e.id.0,
                        e.user_id.map(|u| u.0),
                        to_millis(e.at),
                        e.ip_sealed,
                        e.outcome.as_str()
                    ])
                })
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn login_history(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<LoginEvent>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::LOGIN_HISTORY).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, user.0, limit], |r| {
                    Ok(RawLogin {
                        tenant_id: r.get(0)?,
                        id: r.get(1)?,
                        user_id: r.get(2)?,
                        at: r.get(3)?,
                        ip_sealed: r.get(4)?,
                        outcome: r.get(5)?,
                    })
                })
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawLogin::into_model))
                .collect()
        })
        .await
    }
}

fn insert_session(tx: &Connection, s: &NewSession) -> Result<()> {
    tx.prepare_cached(sql::INSERT_SESSION)
        .and_then(|mut st| {
            st.execute(params![
                s.tenant_id.0,
                s.id.0,
                s.family_id.0,
                s.user_id.0,
                &s.access_digest[..],
                to_millis(s.access_expires_at),
                &s.refresh_digest[..],
                to_millis(s.refresh_expires_at),
                to_millis(s.now)
            ])
        })
        .map_err(constraint("session"))?;
    Ok(())
}

#[async_trait]
impl SessionStore for SqliteStore {
    async fn insert_session(&self, s: &NewSession) -> Result<()> {
        let s = s.clone();
        self.write(move |tx| insert_session(tx, &s)).await
    }

    async fn principal_by_access(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionPrincipal>> {
        let digest = *digest;
        // One read transaction: the session, the caller's groups and key at one snapshot.
        self.read_tx_now(move |c| {
            let row = c
                .prepare_cached(sql::PRINCIPAL_BY_ACCESS)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, &digest[..], to_millis(now)], |r| {
                        Ok((
                            r.get::<_, Uuid>(0)?,
                            r.get::<_, Uuid>(1)?,
                            r.get::<_, Uuid>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, bool>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    })
                    .optional()
                })
                .map_err(backend)?;
            row.map(|(sid, fid, uid, roles, must_change, policy_version)| {
                Ok(SessionPrincipal {
                    tenant_id: tenant,
                    session_id: sid.into(),
                    family_id: fid.into(),
                    user_id: uid.into(),
                    roles: Roles::from_stored(&roles).map_err(backend)?,
                    must_change_password: must_change,
                    policy_version: u64::try_from(policy_version).map_err(backend)?,
                    memberships: memberships_on(c, tenant, uid.into())?,
                    subject_key: c
                        .prepare_cached(sql::SUBJECT_KEY)
                        .and_then(|mut s| {
                            s.query_row(params![tenant.0, uid], |r| wrapped_subject_key(r, 0))
                                .optional()
                        })
                        .map_err(backend)?
                        .map(into_wrapped)
                        .transpose()?,
                })
            })
            .transpose()
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        tenant: TenantId,
        presented: &[u8; 32],
        next: &NewSession,
        now: Timestamp,
    ) -> Result<RefreshOutcome> {
        let (presented, next) = (*presented, next.clone());
        self.write(move |tx| {
            let now = to_millis(now);
            let spent = tx
                .query_row(
                    sql::SPEND_REFRESH,
                    params![now, tenant.0, &presented[..]],
                    |r| Ok((r.get::<_, Uuid>(0)?, r.get::<_, Uuid>(1)?)),
                )
                .optional()
                .map_err(backend)?;
            if let Some((family, user)) = spent {
                let next = NewSession {
                    family_id: FamilyId::from(family),
                    user_id: UserId::from(user),
                    ..next
                };
                insert_session(tx, &next)?;
                return Ok(RefreshOutcome::Rotated(next.user_id));
            }
            let state = tx
                .query_row(sql::REFRESH_STATE, params![tenant.0, &presented[..]], |r| {
                    Ok((r.get::<_, Uuid>(0)?, r.get::<_, Option<i64>>(1)?))
                })
                .optional()
                .map_err(backend)?;
            match state {
                Some((family, Some(_))) => {
                    tx.execute(sql::REVOKE_FAMILY, params![now, tenant.0, family])
                        .map_err(backend)?;
                    Ok(RefreshOutcome::Reused)
                }
                _ => Ok(RefreshOutcome::Invalid),
            }
        })
        .await
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: FamilyId,
        now: Timestamp,
    ) -> Result<()> {
        self.write(move |tx| {
            tx.execute(
                sql::REVOKE_FAMILY,
                params![to_millis(now), tenant.0, family.0],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl PasswordResetStore for SqliteStore {
    async fn insert_reset(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        user: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let digest = *digest;
        self.write(move |tx| {
            tx.execute(sql::DELETE_OPEN_RESETS, params![tenant.0, user.0])
                .map_err(backend)?;
            tx.execute(
                sql::INSERT_RESET,
                params![
                    tenant.0,
                    &digest[..],
                    user.0,
                    to_millis(expires_at),
                    to_millis(now)
                ],
            )
            .map_err(constraint("reset token"))?;
            Ok(())
        })
        .await
    }

    async fn reset_password(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>> {
        let (digest, hash) = (*digest, hash.to_owned());
        self.write(move |tx| {
            let now = to_millis(now);
            let user: Option<Uuid> = tx
                .query_row(sql::SPEND_RESET, params![now, tenant.0, &digest[..]], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(backend)?;
            let Some(user) = user else { return Ok(None) };
            let n = tx
                .execute(sql::SET_PASSWORD, params![hash, false, now, tenant.0, user])
                .map_err(backend)?;
            if n == 0 {
                // The account was forgotten after the token was issued.
                return Ok(None);
            }
            tx.execute(sql::REVOKE_USER_SESSIONS, params![now, tenant.0, user])
                .map_err(backend)?;
            Ok(Some(user.into()))
        })
        .await
    }
}

fn raw_privacy(r: &Row<'_>) -> rusqlite::Result<RawPrivacy> {
    Ok(RawPrivacy {
        seq: r.get(0)?,
        at: r.get(1)?,
        actor_id: r.get(2)?,
        via: r.get(3)?,
        subject_id: r.get(4)?,
        object_type: r.get(5)?,
        object_id: r.get(6)?,
        action: r.get(7)?,
        fields: r.get(8)?,
        decision: r.get(9)?,
        client_sealed: r.get(10)?,
        hash: r.get(11)?,
    })
}

fn head_of((seq, hash): (i64, Vec<u8>)) -> Result<(u64, [u8; 32])> {
    Ok((
        u64::try_from(seq).map_err(backend)?,
        hash.as_slice()
            .try_into()
            .map_err(|_| backend("unreadable chain head"))?,
    ))
}

#[async_trait]
impl PrivacyLogStore for SqliteStore {
    async fn append_privacy(
        &self,
        tenant: TenantId,
        entries: &[PrivacyEntry],
        genesis: [u8; 32],
        chain: ChainFn,
    ) -> Result<Vec<u64>> {
        let entries = entries.to_vec();
        self.write(move |tx| append_chain(tx, tenant, &entries, genesis, chain))
            .await
    }

    async fn privacy_page(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<PrivacyRecord>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::PRIVACY_PAGE).map_err(backend)?;
            let after = i64::try_from(after).map_err(backend)?;
            let rows = st
                .query_map(params![tenant.0, after, limit], raw_privacy)
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawPrivacy::into_model))
                .collect()
        })
        .await
    }

    async fn privacy_head(&self, tenant: TenantId) -> Result<Option<(u64, [u8; 32])>> {
        self.read(move |c| {
            c.query_row(sql::PRIVACY_HEAD, [tenant.0], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()
            .map_err(backend)?
            .map(head_of)
            .transpose()
        })
        .await
    }

    async fn privacy_query(
        &self,
        tenant: TenantId,
        q: &PrivacyQuery,
    ) -> Result<Vec<PrivacyRecord>> {
        let q = q.clone();
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::PRIVACY_QUERY).map_err(backend)?;
            let rows = st
                .query_map(
                    params![
                        tenant.0,
                        q.subject.is_none(),
                        q.subject,
                        q.actor.is_none(),
                        q.actor,
                        q.from.map_or(i64::MIN, to_millis),
                        q.to.map_or(i64::MAX, to_millis),
                        q.limit
                    ],
                    raw_privacy,
                )
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawPrivacy::into_model))
                .collect()
        })
        .await
    }

    async fn insert_checkpoint(&self, tenant: TenantId, c: &PrivacyCheckpoint) -> Result<()> {
        let c = c.clone();
        self.write(move |tx| {
            tx.execute(
                sql::INSERT_CHECKPOINT,
                params![
                    tenant.0,
                    i64::try_from(c.seq).map_err(backend)?,
                    &c.hash[..],
                    to_millis(c.at),
                    c.signature
                ],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<PrivacyCheckpoint>> {
        self.read(move |c| {
            let mut st = c.prepare_cached(sql::CHECKPOINTS).map_err(backend)?;
            let rows = st
                .query_map([tenant.0], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Vec<u8>>(3)?,
                    ))
                })
                .map_err(backend)?;
            rows.map(|r| {
                let (seq, hash, at, signature) = r.map_err(backend)?;
                let (seq, hash) = head_of((seq, hash))?;
                Ok(PrivacyCheckpoint {
                    seq,
                    hash,
                    at: strongroom_domain::from_millis(at),
                    signature,
                })
            })
            .collect()
        })
        .await
    }
}

fn raw_collection(r: &Row<'_>, first: usize) -> rusqlite::Result<RawCollection> {
    Ok(RawCollection {
        id: r.get(first)?,
        name: r.get(first + 1)?,
        fields: r.get(first + 2)?,
        created_by: r.get(first + 3)?,
        created_at: r.get(first + 4)?,
        retention: r.get(first + 5)?,
    })
}

fn raw_record_view(r: &Row<'_>) -> rusqlite::Result<RawRecordView> {
    let key_id: Option<Uuid> = r.get(16)?;
    let key = match key_id {
        Some(id) => Some((id, r.get(17)?, r.get(18)?)),
        None => None,
    };
    Ok(RawRecordView {
        id: r.get(0)?,
        collection_id: r.get(1)?,
        subject_id: r.get(2)?,
        group_id: r.get(3)?,
        parent_id: r.get(4)?,
        visibility: r.get(5)?,
        hidden: r.get(6)?,
        data: r.get(7)?,
        version: r.get(8)?,
        created_by: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
        collection: RawCollection {
            id: r.get(1)?,
            name: r.get(12)?,
            fields: r.get(13)?,
            created_by: r.get(14)?,
            created_at: r.get(15)?,
            retention: r.get(21)?,
        },
        key,
        deleted_at: r.get(19)?,
        held_at: r.get(20)?,
        ends_on: r.get(22)?,
    })
}

fn raw_file(r: &Row<'_>) -> rusqlite::Result<RawFile> {
    Ok(RawFile {
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

fn insert_history(tx: &Connection, tenant: TenantId, h: &HistoryRow, version: u32) -> Result<()> {
    tx.prepare_cached(sql::INSERT_HISTORY)
        .and_then(|mut s| {
            s.execute(params![
                tenant.0,
                h.record_id.0,
                version,
                to_millis(h.at),
                h.actor_id.0,
                h.action,
                fields_json(&h.fields),
                h.data_before,
            ])
        })
        .map_err(constraint("history entry"))?;
    Ok(())
}

fn insert_index(tx: &Connection, r: &RecordRow, index: &[IndexEntry]) -> Result<()> {
    let mut st = tx.prepare_cached(sql::INSERT_INDEX).map_err(backend)?;
    for e in index {
        st.execute(params![
            r.tenant_id.0,
            r.collection_id.0,
            e.field,
            &e.digest[..],
            r.id.0
        ])
        .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl RecordStore for SqliteStore {
    async fn insert_collection(&self, c: &Collection) -> Result<()> {
        let c = c.clone();
        self.write(move |tx| {
            tx.execute(
                sql::INSERT_COLLECTION,
                params![
                    c.tenant_id.0,
                    c.id.0,
                    c.name,
                    c.fields,
                    c.created_by.0,
                    to_millis(c.created_at),
                    c.retention
                ],
            )
            .map_err(constraint("collection"))?;
            Ok(())
        })
        .await
    }

    async fn collection_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Collection>> {
        let name = name.to_owned();
        self.read_now(move |c| {
            Ok(c.prepare_cached(sql::COLLECTION_BY_NAME)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, name], |r| raw_collection(r, 0))
                        .optional()
                })
                .map_err(backend)?
                .map(|raw| raw.into_model(tenant)))
        })
        .await
    }

    async fn list_collections(&self, tenant: TenantId) -> Result<Vec<Collection>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::LIST_COLLECTIONS).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0], |r| raw_collection(r, 0))
                .map_err(backend)?;
            rows.map(|r| r.map(|raw| raw.into_model(tenant)).map_err(backend))
                .collect()
        })
        .await
    }

    async fn insert_record(&self, w: &RecordWrite, log: &ChangeLog) -> Result<()> {
        let (w, log) = (w.clone(), log.clone());
        self.write(move |tx| {
            let r = &w.record;
            tx.prepare_cached(sql::INSERT_RECORD)
                .and_then(|mut s| {
                    s.execute(params![
                        r.tenant_id.0,
                        r.id.0,
                        r.collection_id.0,
                        r.subject_id.0,
                        r.group_id.map(|g| g.0),
                        r.parent_id.map(|p| p.0),
                        r.visibility.as_str(),
                        r.hidden,
                        r.data,
                        r.version,
                        r.created_by.0,
                        to_millis(r.created_at),
                        to_millis(r.updated_at),
                        r.ends_on,
                    ])
                })
                .map_err(constraint("subject or group"))?;
            insert_index(tx, r, &w.index)?;
            insert_history(tx, r.tenant_id, &w.history, r.version)?;
            append_log(tx, &log)
        })
        .await
    }

    async fn record(&self, tenant: TenantId, id: RecordId) -> Result<Option<RecordView>> {
        self.read_now(move |c| {
            c.prepare_cached(sql::RECORD_VIEW)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, id.0], raw_record_view)
                        .optional()
                })
                .map_err(backend)?
                .map(|raw| raw.into_model(tenant))
                .transpose()
        })
        .await
    }

    async fn record_with_files(
        &self,
        tenant: TenantId,
        id: RecordId,
    ) -> Result<Option<(RecordView, Vec<FileRow>)>> {
        self.read_tx_now(move |c| {
            let Some(view) = c
                .prepare_cached(sql::RECORD_VIEW)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, id.0], raw_record_view)
                        .optional()
                })
                .map_err(backend)?
                .map(|raw| raw.into_model(tenant))
                .transpose()?
            else {
                return Ok(None);
            };
            let mut s = c.prepare_cached(sql::FILES_OF_RECORD).map_err(backend)?;
            let files = s
                .query_map(params![tenant.0, id.0], raw_file)
                .map_err(backend)?
                .map(|r| r.map_err(backend).and_then(RawFile::into_model))
                .collect::<Result<Vec<_>>>()?;
            Ok(Some((view, files)))
        })
        .await
    }

    async fn update_record(
        &self,
        w: &RecordWrite,
        expected_version: u32,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (w, log) = (w.clone(), log.clone());
        self.write(move |tx| {
            let r = &w.record;
            let n = tx
                .prepare_cached(sql::UPDATE_RECORD)
                .and_then(|mut s| {
                    s.execute(params![
                        r.group_id.map(|g| g.0),
                        r.visibility.as_str(),
                        r.hidden,
                        r.data,
                        r.version,
                        to_millis(r.updated_at),
                        r.ends_on,
                        r.tenant_id.0,
                        r.id.0,
                        expected_version,
                    ])
                })
                .map_err(constraint("group"))?;
            if n == 0 {
                return Ok(false);
            }
            tx.prepare_cached(sql::DELETE_INDEX)
                .and_then(|mut s| s.execute(params![r.tenant_id.0, r.id.0]))
                .map_err(backend)?;
            insert_index(tx, r, &w.index)?;
            insert_history(tx, r.tenant_id, &w.history, r.version)?;
            append_log(tx, &log)?;
            Ok(true)
        })
        .await
    }

    async fn search_records(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        field: &str,
        digest: &[u8; 32],
        limit: u32,
    ) -> Result<Vec<RecordView>> {
        let (field, digest) = (field.to_owned(), *digest);
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::SEARCH_RECORDS).map_err(backend)?;
            let rows = s
                .query_map(
                    params![tenant.0, collection.0, field, &digest[..], limit],
                    raw_record_view,
                )
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(|raw| raw.into_model(tenant)))
                .collect()
        })
        .await
    }

    async fn records_of_subject(
        &self,
        tenant: TenantId,
        subject: UserId,
    ) -> Result<Vec<RecordView>> {
        self.record_views(sql::RECORDS_OF_SUBJECT, tenant, subject.0)
            .await
    }

    async fn records_by_author(&self, tenant: TenantId, author: UserId) -> Result<Vec<RecordView>> {
        self.record_views(sql::RECORDS_BY_AUTHOR, tenant, author.0)
            .await
    }

    async fn history_by_actor(&self, tenant: TenantId, actor: UserId) -> Result<Vec<HistoryRow>> {
        self.history(sql::HISTORY_BY_ACTOR, tenant, actor.0).await
    }

    async fn record_history(&self, tenant: TenantId, id: RecordId) -> Result<Vec<HistoryRow>> {
        self.history(sql::RECORD_HISTORY, tenant, id.0).await
    }

    async fn put_file(
        &self,
        tenant: TenantId,
        file: &FileRow,
        history: &HistoryRow,
        log: &ChangeLog,
    ) -> Result<Option<FileRow>> {
        let (f, h, log) = (file.clone(), history.clone(), log.clone());
        self.write(move |tx| {
            let version: Option<i64> = tx
                .prepare_cached(sql::BUMP_RECORD_VERSION)
                .and_then(|mut s| {
                    s.query_row(params![to_millis(h.at), tenant.0, f.record_id.0], |r| {
                        r.get(0)
                    })
                    .optional()
                })
                .map_err(backend)?;
            let version = version.ok_or(StoreError::NotFound("record"))?;
            insert_history(tx, tenant, &h, u32::try_from(version).map_err(backend)?)?;
            let old = tx
                .prepare_cached(sql::FILE_BY_NAME)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, f.record_id.0, f.name], raw_file)
                        .optional()
                })
                .map_err(backend)?
                .map(RawFile::into_model)
                .transpose()?;
            tx.prepare_cached(sql::DELETE_FILE)
                .and_then(|mut s| s.execute(params![tenant.0, f.record_id.0, f.name]))
                .map_err(backend)?;
            tx.prepare_cached(sql::INSERT_FILE)
                .and_then(|mut s| {
                    s.execute(params![
                        tenant.0,
                        f.record_id.0,
                        f.name,
                        f.file_id.0,
                        f.blob_key,
                        f.content_type,
                        i64::try_from(f.size).map_err(|_| rusqlite::Error::InvalidQuery)?,
                        f.created_by.0,
                        to_millis(f.created_at),
                    ])
                })
                .map_err(constraint("file"))?;
            append_log(tx, &log)?;
            Ok(old)
        })
        .await
    }

    async fn file(
        &self,
        tenant: TenantId,
        record: RecordId,
        name: &str,
    ) -> Result<Option<FileRow>> {
        let name = name.to_owned();
        self.read_now(move |c| {
            c.prepare_cached(sql::FILE_BY_NAME)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, record.0, name], raw_file)
                        .optional()
                })
                .map_err(backend)?
                .map(RawFile::into_model)
                .transpose()
        })
        .await
    }

    async fn files(&self, tenant: TenantId, record: RecordId) -> Result<Vec<FileRow>> {
        self.read_now(move |c| {
            let mut s = c.prepare_cached(sql::FILES_OF_RECORD).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, record.0], raw_file)
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawFile::into_model))
                .collect()
        })
        .await
    }

    async fn files_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<FileRow>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::FILES_OF_SUBJECT).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, subject.0], raw_file)
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawFile::into_model))
                .collect()
        })
        .await
    }

    async fn delete_file_version(
        &self,
        tenant: TenantId,
        file: &FileRow,
        subject: UserId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let f = file.clone();
        let (reason, log) = (reason.to_owned(), log.clone());
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::DELETE_FILE_VERSION,
                    params![tenant.0, f.record_id.0, f.name, f.file_id.0],
                )
                .map_err(backend)?;
            tx.execute(
                sql::INSERT_TOMBSTONE,
                params![
                    tenant.0,
                    f.record_id.0,
                    f.name,
                    subject.0,
                    reason,
                    to_millis(now)
                ],
            )
            .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn scrub_records(&self, tenant: TenantId, scrubs: &[Scrub]) -> Result<()> {
        let scrubs = scrubs.to_vec();
        self.write(move |tx| {
            let mut data = tx.prepare_cached(sql::SCRUB_RECORD).map_err(backend)?;
            let mut index = tx
                .prepare_cached(sql::DELETE_INDEX_FIELD)
                .map_err(backend)?;
            let mut history = tx.prepare_cached(sql::SCRUB_HISTORY).map_err(backend)?;
            for s in &scrubs {
                data.execute(params![s.data, tenant.0, s.id.0])
                    .map_err(backend)?;
                for field in &s.unindex {
                    index
                        .execute(params![tenant.0, s.id.0, field])
                        .map_err(backend)?;
                }
                history
                    .execute(params![tenant.0, s.id.0])
                    .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn set_subject_hidden(
        &self,
        tenant: TenantId,
        subject: UserId,
        hidden: bool,
        log: &ChangeLog,
    ) -> Result<u64> {
        let log = log.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::SET_SUBJECT_HIDDEN,
                    params![hidden, tenant.0, subject.0],
                )
                .map_err(backend)?;
            append_log(tx, &log)?;
            Ok(n as u64)
        })
        .await
    }
}

fn memberships_on(
    c: &Connection,
    tenant: TenantId,
    user: UserId,
) -> Result<Vec<(GroupId, MembershipRole)>> {
    let mut s = c
        .prepare_cached(sql::MEMBERSHIPS_OF_USER)
        .map_err(backend)?;
    let rows = s
        .query_map(params![tenant.0, user.0], |r| {
            Ok((r.get::<_, Uuid>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend)?;
    rows.map(|r| {
        r.map_err(backend)
            .and_then(|(g, role)| membership(g, &role))
    })
    .collect()
}

impl SqliteStore {
    /// Record views by a (tenant, id) query over `sql::RECORD_VIEW`'s columns.
    async fn record_views(
        &self,
        statement: &'static str,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Vec<RecordView>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(statement).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, id], raw_record_view)
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(|raw| raw.into_model(tenant)))
                .collect()
        })
        .await
    }

    /// History rows by a (tenant, id) query over `sql::RECORD_HISTORY`'s columns.
    async fn history(
        &self,
        statement: &'static str,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Vec<HistoryRow>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(statement).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, id], |r| {
                    Ok(RawHistory {
                        record_id: r.get(0)?,
                        version: r.get(1)?,
                        at: r.get(2)?,
                        actor_id: r.get(3)?,
                        action: r.get(4)?,
                        fields: r.get(5)?,
                        data_before: r.get(6)?,
                    })
                })
                .map_err(backend)?;
            rows.map(|r| r.map_err(backend).and_then(RawHistory::into_model))
                .collect()
        })
        .await
    }
}

fn raw_job(r: &Row<'_>) -> rusqlite::Result<RawJob> {
    Ok(RawJob {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        kind: r.get(2)?,
        subject_id: r.get(3)?,
        param: r.get(4)?,
        run_at: r.get(5)?,
        attempts: r.get(6)?,
    })
}

/// Jobs with their state, from a query over `sql::JOBS_OF_SUBJECT`'s columns.
fn job_states(c: &Connection, statement: &str, p: impl rusqlite::Params) -> Result<Vec<JobState>> {
    let mut s = c.prepare_cached(statement).map_err(backend)?;
    let rows = s
        .query_map(p, |r| {
            Ok((
                raw_job(r)?,
                r.get::<_, String>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })
        .map_err(backend)?;
    rows.map(|r| {
        let (job, status, outcome) = r.map_err(backend)?;
        Ok(JobState {
            job: job.into_model()?,
            status: job_status(&status)?,
            outcome,
        })
    })
    .collect()
}

fn raw_notice(r: &Row<'_>) -> rusqlite::Result<RawNotice> {
    Ok(RawNotice {
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

#[async_trait]
impl JobStore for SqliteStore {
    async fn enqueue(&self, job: &NewJob) -> Result<bool> {
        let j = job.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::ENQUEUE_JOB,
                    params![
                        j.id,
                        j.tenant_id.0,
                        j.kind,
                        j.subject_id.map(|s| s.0),
                        j.dedupe_key,
                        j.param,
                        to_millis(j.run_at),
                        to_millis(j.now)
                    ],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Job>> {
        self.write(move |tx| {
            let mut s = tx.prepare_cached(sql::CLAIM_JOBS_SQLITE).map_err(backend)?;
            let rows = s
                .query_map(
                    params![to_millis(lease_until), to_millis(now), limit],
                    raw_job,
                )
                .map_err(backend)?;
            let mut jobs = rows
                .map(|r| r.map_err(backend).and_then(RawJob::into_model))
                .collect::<Result<Vec<_>>>()?;
            jobs.sort_by_key(|j| (j.run_at, j.id));
            Ok(jobs)
        })
        .await
    }

    async fn defer_job(
        &self,
        id: Uuid,
        run_at: Timestamp,
        outcome: &str,
        now: Timestamp,
    ) -> Result<()> {
        let outcome = outcome.to_owned();
        self.write(move |tx| {
            tx.execute(
                sql::DEFER_JOB,
                params![to_millis(run_at), outcome, to_millis(now), id],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn finish_job(&self, id: Uuid, outcome: &str, now: Timestamp) -> Result<()> {
        let outcome = outcome.to_owned();
        self.write(move |tx| {
            tx.execute(sql::FINISH_JOB, params![outcome, to_millis(now), id])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn retry_job(
        &self,
        id: Uuid,
        max_attempts: u32,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        let error = error.to_owned();
        self.write(move |tx| {
            tx.execute(
                sql::RETRY_JOB,
                params![max_attempts, to_millis(run_at), error, to_millis(now), id],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn jobs_of_kind(&self, tenant: TenantId, kind: &str) -> Result<Vec<JobState>> {
        let kind = kind.to_owned();
        self.read(move |c| job_states(c, sql::JOBS_OF_KIND, params![tenant.0, kind]))
            .await
    }

    async fn jobs_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<JobState>> {
        self.read(move |c| job_states(c, sql::JOBS_OF_SUBJECT, params![tenant.0, subject.0]))
            .await
    }
}

fn record_ids(c: &Connection, statement: &str, p: impl rusqlite::Params) -> Result<Vec<RecordId>> {
    let mut s = c.prepare_cached(statement).map_err(backend)?;
    let rows = s.query_map(p, |r| r.get::<_, Uuid>(0)).map_err(backend)?;
    rows.map(|r| r.map(RecordId).map_err(backend)).collect()
}

#[async_trait]
impl DeletionStore for SqliteStore {
    async fn soft_delete_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::SOFT_DELETE_RECORD,
                    params![to_millis(now), by.0, tenant.0, id.0],
                )
                .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn restore_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |tx| {
            let n = tx
                .execute(sql::RESTORE_RECORD, params![tenant.0, id.0])
                .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn set_record_hold(
        &self,
        tenant: TenantId,
        id: RecordId,
        hold: Option<(UserId, Timestamp)>,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |tx| {
            let n = match hold {
                Some((by, at)) => tx.execute(
                    sql::HOLD_RECORD,
                    params![to_millis(at), by.0, tenant.0, id.0],
                ),
                None => tx.execute(sql::RELEASE_RECORD, params![tenant.0, id.0]),
            }
            .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn deleted_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<RecordId>> {
        self.read(move |c| {
            record_ids(
                c,
                sql::DELETED_BEFORE,
                params![tenant.0, to_millis(before), limit],
            )
        })
        .await
    }

    async fn ended_before(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        before: &str,
        limit: u32,
    ) -> Result<Vec<RecordId>> {
        let before = before.to_owned();
        self.read(move |c| {
            record_ids(
                c,
                sql::ENDED_BEFORE,
                params![tenant.0, collection.0, before, limit],
            )
        })
        .await
    }

    async fn replies_of(&self, tenant: TenantId, id: RecordId) -> Result<Vec<RecordId>> {
        self.read(move |c| record_ids(c, sql::REPLIES_OF, params![tenant.0, id.0]))
            .await
    }

    async fn held_records(&self, tenant: TenantId) -> Result<u64> {
        self.read(move |c| {
            let n: i64 = c
                .query_row(sql::HELD_IN_TENANT, params![tenant.0], |r| r.get(0))
                .map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
        .await
    }

    async fn purge_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (reason, log) = (reason.to_owned(), log.clone());
        self.write(move |tx| {
            let row: Option<(bool, Uuid)> = tx
                .query_row(sql::RECORD_HELD_SQLITE, params![tenant.0, id.0], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()
                .map_err(backend)?;
            let Some((false, subject)) = row else {
                return Ok(false);
            };
            for statement in sql::PURGE_RECORD_CHILDREN {
                tx.execute(statement, params![tenant.0, id.0])
                    .map_err(backend)?;
            }
            tx.execute(sql::PURGE_RECORD, params![tenant.0, id.0])
                .map_err(backend)?;
            tx.execute(
                sql::INSERT_TOMBSTONE,
                params![tenant.0, id.0, "", subject, reason, to_millis(now)],
            )
            .map_err(backend)?;
            append_log(tx, &log)?;
            Ok(true)
        })
        .await
    }

    async fn tombstone(
        &self,
        tenant: TenantId,
        object: Uuid,
        name: &str,
    ) -> Result<Option<Tombstone>> {
        let name = name.to_owned();
        self.read_now(move |c| {
            c.prepare_cached(sql::TOMBSTONE)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0, object, name], |r| {
                        Ok(Tombstone {
                            subject_id: r.get::<_, Option<Uuid>>(0)?.map(UserId),
                            reason: r.get(1)?,
                            deleted_at: from_millis(r.get(2)?),
                        })
                    })
                })
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn destroy_subject_key(
        &self,
        tenant: TenantId,
        subject: UserId,
        now: Timestamp,
    ) -> Result<bool> {
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::DESTROY_SUBJECT_KEY,
                    params![to_millis(now), tenant.0, subject.0],
                )
                .map_err(backend)?;
            Ok(n == 1)
        })
        .await
    }

    async fn set_collection_retention(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        retention: Option<&str>,
        end_field: Option<&str>,
    ) -> Result<()> {
        let retention = retention.map(str::to_owned);
        let path = end_field.map(|f| format!("$.{f}"));
        self.write(move |tx| {
            tx.execute(
                sql::SET_COLLECTION_RETENTION,
                params![retention, tenant.0, collection.0],
            )
            .map_err(backend)?;
            match path {
                Some(path) => tx.execute(
                    sql::BACKFILL_ENDS_ON_SQLITE,
                    params![path, tenant.0, collection.0],
                ),
                None => tx.execute(sql::CLEAR_ENDS_ON, params![tenant.0, collection.0]),
            }
            .map_err(backend)?;
            Ok(())
        })
        .await
    }

    async fn retention_rules(&self, tenant: TenantId) -> Result<Option<String>> {
        self.read(move |c| {
            c.query_row(sql::RETENTION_RULES, params![tenant.0], |r| r.get(0))
                .optional()
                .map_err(backend)
        })
        .await
    }

    async fn put_retention_rules(
        &self,
        tenant: TenantId,
        rules: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<()> {
        let rules = rules.to_owned();
        self.write(move |tx| {
            tx.execute(
                sql::PUT_RETENTION_RULES,
                params![tenant.0, rules, by.0, to_millis(now)],
            )
            .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl NoticeStore for SqliteStore {
    async fn insert_notice(&self, n: &DeletionNotice, log: &ChangeLog) -> Result<bool> {
        let (n, log) = (n.clone(), log.clone());
        self.write(move |tx| {
            let inserted = tx
                .execute(
                    sql::INSERT_NOTICE,
                    params![
                        n.tenant_id.0,
                        n.id,
                        n.user_id.0,
                        n.what,
                        to_millis(n.expiry_at),
                        to_millis(n.due_at),
                        to_millis(n.created_at)
                    ],
                )
                .map_err(backend)?;
            if inserted == 1 {
                append_log(tx, &log)?;
            }
            Ok(inserted == 1)
        })
        .await
    }

    async fn notice_for(
        &self,
        tenant: TenantId,
        user: UserId,
        what: &str,
        expiry_at: Timestamp,
    ) -> Result<Option<DeletionNotice>> {
        let what = what.to_owned();
        self.read(move |c| {
            Ok(c.prepare_cached(sql::NOTICE_FOR)
                .and_then(|mut s| {
                    s.query_row(
                        params![tenant.0, user.0, what, to_millis(expiry_at)],
                        raw_notice,
                    )
                    .optional()
                })
                .map_err(backend)?
                .map(|raw| raw.into_model(tenant)))
        })
        .await
    }

    async fn notices_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<DeletionNotice>> {
        self.read(move |c| {
            let mut s = c.prepare_cached(sql::NOTICES_OF_USER).map_err(backend)?;
            let rows = s
                .query_map(params![tenant.0, user.0], raw_notice)
                .map_err(backend)?;
            rows.map(|r| r.map(|raw| raw.into_model(tenant)).map_err(backend))
                .collect()
        })
        .await
    }

    async fn keep_notice(
        &self,
        tenant: TenantId,
        user: UserId,
        id: Uuid,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |tx| {
            let n = tx
                .execute(
                    sql::KEEP_NOTICE,
                    params![to_millis(now), tenant.0, user.0, id],
                )
                .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }

    async fn finish_notice(&self, tenant: TenantId, id: Uuid, now: Timestamp) -> Result<()> {
        self.write(move |tx| {
            tx.execute(sql::FINISH_NOTICE, params![to_millis(now), tenant.0, id])
                .map_err(backend)?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl PolicyStore for SqliteStore {
    async fn policies(&self, tenant: TenantId) -> Result<Option<PolicyRow>> {
        self.read_now(move |c| {
            c.prepare_cached(sql::POLICIES)
                .and_then(|mut s| {
                    s.query_row(params![tenant.0], |r| {
                        Ok(RawPolicies {
                            template: r.get(0)?,
                            policies: r.get(1)?,
                            version: r.get(2)?,
                            updated_by: r.get(3)?,
                            updated_at: r.get(4)?,
                        })
                    })
                    .optional()
                })
                .map_err(backend)?
                .map(RawPolicies::into_model)
                .transpose()
        })
        .await
    }

    async fn put_policies(
        &self,
        tenant: TenantId,
        row: &PolicyRow,
        expected_version: u64,
        log: &ChangeLog,
    ) -> Result<bool> {
        let (row, log) = (row.clone(), log.clone());
        self.write(move |tx| {
            let version = i64::try_from(row.version).map_err(backend)?;
            let n = if expected_version == 0 {
                tx.execute(
                    sql::INSERT_POLICIES,
                    params![
                        tenant.0,
                        row.template,
                        row.policies,
                        version,
                        row.updated_by.0,
                        to_millis(row.updated_at)
                    ],
                )
            } else {
                tx.execute(
                    sql::UPDATE_POLICIES,
                    params![
                        row.template,
                        row.policies,
                        version,
                        row.updated_by.0,
                        to_millis(row.updated_at),
                        tenant.0,
                        i64::try_from(expected_version).map_err(backend)?
                    ],
                )
            }
            .map_err(backend)?;
            if n == 1 {
                append_log(tx, &log)?;
            }
            Ok(n == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// Migration 0011 gives the administration permit to a tenant that stored its own
    /// policies before administration was a policy decision, and moves the version on.
    #[tokio::test]
    async fn stored_policies_get_administration_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut c = Connection::open(&path).unwrap();
            // The row stands alone: no tenant row is needed to show the upgrade.
            c.pragma_update(None, "foreign_keys", "OFF").unwrap();
            let tx = c.transaction().unwrap();
            for m in MIGRATIONS.iter().take(10) {
                tx.execute_batch(m).unwrap();
            }
            tx.pragma_update(None, "user_version", 10).unwrap();
            tx.execute(
                "INSERT INTO tenant_policies VALUES (?1, 'training', 'permit(principal, action, resource);', 3, ?2, 0)",
                params![Uuid::nil(), Uuid::nil()],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let row = store
            .policies(TenantId::from(Uuid::nil()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.version, 4);
        assert!(
            row.policies
                .starts_with("permit(principal, action, resource);")
        );
        assert!(
            row.policies
                .contains("@id(\"administration-granted-by-upgrade\")")
        );
    }

    /// With every reader taken by a long scan, a point read waits on the blocking pool and
    /// the runtime worker stays free: on a one-thread runtime, another task runs (and here
    /// frees the readers) while the read waits. A read that blocked the worker would wait
    /// for the scan's own time-out instead, and the other task would run only after it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_point_read_never_blocks_the_runtime_when_every_reader_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        let (release, released) = mpsc::channel::<()>();
        let (taken, all_taken) = mpsc::channel::<()>();
        let inner = store.inner.clone();
        let scan = std::thread::spawn(move || {
            let guards: Vec<_> = inner.readers.iter().map(|r| r.lock().unwrap()).collect();
            taken.send(()).unwrap();
            // Bounded so a broken build fails instead of hanging.
            let freed_by_task = released
                .recv_timeout(std::time::Duration::from_secs(5))
                .is_ok();
            drop(guards);
            freed_by_task
        });
        all_taken.recv().unwrap();
        let other = tokio::spawn(async move {
            release.send(()).unwrap();
        });
        let read = store.read_now(|c| {
            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .map_err(backend)
        });
        assert_eq!(read.await.unwrap(), 1);
        other.await.unwrap();
        assert!(
            scan.join().unwrap(),
            "the read blocked the runtime: the other task could not run until the scan gave up"
        );
    }
}
