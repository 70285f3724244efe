//! The scale-out backend: PostgreSQL through sqlx.
//!
//! Runs the same SQL text as the SQLite backend (see [`crate::sql`]). Statements that must
//! see a consistent state run in one transaction; the refresh rotation and failure counting are
//! single conditional `UPDATE … RETURNING` statements, so concurrent requests on several server
//! instances cannot both spend one token or lose a count.

use crate::WrappedSubjectKey;
use crate::raw::{
    RawCollection, RawFile, RawGroup, RawHistory, RawLogin, RawPolicies, RawPrivacy, RawRecordView,
    RawTenant, RawUser, fields_json, membership,
};
use crate::raw::{RawJob, RawNotice};
use crate::sqlite::{failure_count, tenant_key_row};
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
    FailureCount, Group, GroupStore, KeyStore, LoginEvent, LoginHistoryStore, Member, NewSession,
    NewUser, PasswordResetStore, RefreshOutcome, Result, SessionPrincipal, SessionStore,
    StoreError, Tenant, TenantKeyRow, TenantStore, User, UserPatch, UserStore, sql,
};
use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{Executor, Postgres, Row};
use strongroom_domain::{
    CollectionId, FamilyId, GroupId, MembershipRole, RecordId, Roles, Slug, TenantId, Timestamp,
    UserId, from_millis, to_millis,
};
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn constraint(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match e.as_database_error() {
        Some(d) if d.is_unique_violation() => StoreError::Conflict(what),
        Some(d) if d.is_foreign_key_violation() => StoreError::NotFound(what),
        _ => backend(e),
    }
}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(backend)?;
        Ok(Self { pool })
    }
}

fn raw_tenant(r: &PgRow) -> sqlx::Result<RawTenant> {
    Ok(RawTenant {
        id: r.try_get(0)?,
        slug: r.try_get(1)?,
        name: r.try_get(2)?,
        region: r.try_get(3)?,
        status: r.try_get(4)?,
        lockout_threshold: i64::from(r.try_get::<i32, _>(5)?),
        agreement_ends_at: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

fn raw_user(r: &PgRow) -> sqlx::Result<RawUser> {
    Ok(RawUser {
        tenant_id: r.try_get(0)?,
        id: r.try_get(1)?,
        email_sealed: r.try_get(2)?,
        name_sealed: r.try_get(3)?,
        roles: r.try_get(4)?,
        status: r.try_get(5)?,
        password_hash: r.try_get(6)?,
        must_change_password: r.try_get(7)?,
        failed_logins: i64::from(r.try_get::<i32, _>(8)?),
        license_expires_at: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
        key_id: r.try_get(12)?,
        kek_version: r.try_get::<Option<i32>, _>(13)?.map(i64::from),
        wrapped_key: r.try_get(14)?,
    })
}

fn raw_group(r: &PgRow) -> sqlx::Result<RawGroup> {
    Ok(RawGroup {
        tenant_id: r.try_get(0)?,
        id: r.try_get(1)?,
        name: r.try_get(2)?,
        created_at: r.try_get(3)?,
    })
}

fn raw_login(r: &PgRow) -> sqlx::Result<RawLogin> {
    Ok(RawLogin {
        tenant_id: r.try_get(0)?,
        id: r.try_get(1)?,
        user_id: r.try_get(2)?,
        at: r.try_get(3)?,
        ip_sealed: r.try_get(4)?,
        outcome: r.try_get(5)?,
    })
}

/// Appends entries to a tenant's chain inside the caller's transaction. The head row's lock
/// serialises appends of every instance to this tenant's chain.
async fn append_chain(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    entries: &[PrivacyEntry],
    genesis: [u8; 32],
    chain: ChainFn,
) -> Result<Vec<u64>> {
    sqlx::query(sql::ENSURE_PRIVACY_HEAD)
        .bind(tenant.0)
        .bind(&genesis[..])
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    // The head row's lock serialises appends of every instance to this tenant's chain.
    let head = sqlx::query(sql::LOCK_PRIVACY_HEAD)
        .bind(tenant.0)
        .fetch_one(&mut *tx)
        .await
        .map_err(backend)?;
    let (mut seq, mut prev) = head_of(&head)?;
    let mut seqs = Vec::with_capacity(entries.len());
    for e in entries {
        seq += 1;
        prev = chain(tenant, &prev, seq, e);
        sqlx::query(sql::INSERT_PRIVACY)
            .bind(tenant.0)
            .bind(i64::try_from(seq).map_err(backend)?)
            .bind(to_millis(e.at))
            .bind(e.actor_id)
            .bind(&e.via)
            .bind(e.subject_id)
            .bind(&e.object_type)
            .bind(e.object_id)
            .bind(&e.action)
            .bind(e.fields.join(","))
            .bind(e.decision.as_str())
            .bind(&e.client_sealed)
            .bind(&prev[..])
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        seqs.push(seq);
    }
    sqlx::query(sql::SET_PRIVACY_HEAD)
        .bind(i64::try_from(seq).map_err(backend)?)
        .bind(&prev[..])
        .bind(tenant.0)
        .execute(&mut *tx)
        .await
        .map_err(backend)?;
    Ok(seqs)
}

/// Appends a change's entries inside the change's own transaction (nothing if it has none).
async fn append_log(tx: &mut sqlx::PgConnection, log: &ChangeLog) -> Result<()> {
    if log.entries.is_empty() {
        return Ok(());
    }
    append_chain(tx, log.tenant, &log.entries, log.genesis, log.chain)
        .await
        .map(drop)
}

fn threshold(t: u32) -> i32 {
    i32::try_from(t).unwrap_or(i32::MAX)
}

/// Inserts the user row and the user's subject key; run it inside a transaction.
async fn insert_user(tx: &mut sqlx::PgConnection, u: &NewUser) -> Result<()> {
    sqlx::query(sql::INSERT_USER)
        .bind(u.tenant_id.0)
        .bind(u.id.0)
        .bind(&u.email_index[..])
        .bind(&u.email_sealed)
        .bind(&u.name_sealed)
        .bind(u.roles.to_stored())
        .bind(&u.password_hash)
        .bind(u.must_change_password)
        .bind(u.license_expires_at.map(to_millis))
        .bind(to_millis(u.now))
        .execute(&mut *tx)
        .await
        .map_err(constraint("user"))?;
    insert_subject_key(
        &mut *tx,
        sql::INSERT_SUBJECT_KEY,
        u.tenant_id,
        u.id.0,
        &u.subject_key,
        u.now,
    )
    .await?;
    Ok(())
}

/// Inserts a subject key with `statement` (plain, or "unless present").
async fn insert_subject_key<'e, E: Executor<'e, Database = Postgres>>(
    ex: E,
    statement: &'static str,
    tenant: TenantId,
    subject: Uuid,
    key: &WrappedSubjectKey,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(statement)
        .bind(tenant.0)
        .bind(subject)
        .bind(key.key_id)
        .bind(i32::try_from(key.kek_version).unwrap_or(i32::MAX))
        .bind(&key.wrapped)
        .bind(to_millis(now))
        .execute(ex)
        .await
        .map_err(constraint("subject key"))?;
    Ok(())
}

/// A wrapped subject key from columns `key_id, kek_version, wrapped` starting at `first`.
fn wrapped_subject_key(r: &PgRow, first: usize) -> Result<WrappedSubjectKey> {
    let v: i32 = r.try_get(first + 1).map_err(backend)?;
    Ok(WrappedSubjectKey {
        key_id: r.try_get(first).map_err(backend)?,
        kek_version: u32::try_from(v).map_err(backend)?,
        wrapped: r.try_get(first + 2).map_err(backend)?,
    })
}

async fn insert_tenant_keys(tx: &mut sqlx::PgConnection, rows: &[TenantKeyRow]) -> Result<()> {
    for k in rows {
        sqlx::query(sql::INSERT_TENANT_KEY)
            .bind(k.tenant_id.0)
            .bind(k.purpose.as_str())
            .bind(i32::try_from(k.version).unwrap_or(i32::MAX))
            .bind(&k.root_key_id[..])
            .bind(&k.wrapped)
            .bind(to_millis(k.created_at))
            .execute(&mut *tx)
            .await
            .map_err(constraint("tenant key"))?;
    }
    Ok(())
}

async fn one_user<'e, E: Executor<'e, Database = Postgres>>(
    ex: E,
    q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
) -> Result<Option<User>> {
    q.fetch_optional(ex)
        .await
        .map_err(backend)?
        .map(|r| raw_user(&r).map_err(backend).and_then(RawUser::into_model))
        .transpose()
}

async fn insert_session<'e, E: Executor<'e, Database = Postgres>>(
    ex: E,
    s: &NewSession,
) -> Result<()> {
    sqlx::query(sql::INSERT_SESSION)
        .bind(s.tenant_id.0)
        .bind(s.id.0)
        .bind(s.family_id.0)
        .bind(s.user_id.0)
        .bind(&s.access_digest[..])
        .bind(to_millis(s.access_expires_at))
        .bind(&s.refresh_digest[..])
        .bind(to_millis(s.refresh_expires_at))
        .bind(to_millis(s.now))
        .execute(ex)
        .await
        .map_err(constraint("session"))?;
    Ok(())
}

#[async_trait]
impl TenantStore for PgStore {
    async fn create_tenant(
        &self,
        t: &Tenant,
        keys: &[TenantKeyRow],
        admin: &NewUser,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(sql::INSERT_TENANT)
            .bind(t.id.0)
            .bind(t.slug.as_str())
            .bind(t.name.as_str())
            .bind(t.region.as_str())
            .bind(t.status.as_str())
            .bind(threshold(t.lockout_threshold))
            .bind(t.agreement_ends_at.map(to_millis))
            .bind(to_millis(t.created_at))
            .execute(&mut *tx)
            .await
            .map_err(constraint("tenant"))?;
        insert_tenant_keys(&mut tx, keys).await?;
        insert_user(&mut tx, admin).await?;
        tx.commit().await.map_err(backend)
    }

    async fn tenant_by_slug(&self, slug: &Slug) -> Result<Option<Tenant>> {
        sqlx::query(sql::TENANT_BY_SLUG)
            .bind(slug.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_tenant(&r)
                    .map_err(backend)
                    .and_then(RawTenant::into_model)
            })
            .transpose()
    }

    async fn list_tenants(&self) -> Result<Vec<Tenant>> {
        sqlx::query(sql::LIST_TENANTS)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                raw_tenant(r)
                    .map_err(backend)
                    .and_then(RawTenant::into_model)
            })
            .collect()
    }

    async fn tenant_by_id(&self, id: TenantId) -> Result<Option<Tenant>> {
        sqlx::query(sql::TENANT_BY_ID)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_tenant(&r)
                    .map_err(backend)
                    .and_then(RawTenant::into_model)
            })
            .transpose()
    }

    async fn set_lockout_threshold(&self, id: TenantId, t: u32) -> Result<()> {
        sqlx::query(sql::SET_LOCKOUT_THRESHOLD)
            .bind(threshold(t))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn set_agreement_end(&self, id: TenantId, end: Option<Timestamp>) -> Result<()> {
        sqlx::query(sql::SET_AGREEMENT_END)
            .bind(end.map(to_millis))
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn destroy_tenant_keys(&self, tenant: TenantId) -> Result<()> {
        self.destroy(&sql::DESTROY_TENANT_KEYS, tenant).await
    }

    async fn destroy_tenant_rows(&self, tenant: TenantId) -> Result<()> {
        self.destroy(&sql::DESTROY_TENANT_ROWS, tenant).await
    }
}

#[async_trait]
impl KeyStore for PgStore {
    async fn tenant_keys(&self, tenant: TenantId) -> Result<Vec<TenantKeyRow>> {
        sqlx::query(sql::TENANT_KEYS)
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                let purpose: String = r.try_get(0).map_err(backend)?;
                let version: i32 = r.try_get(1).map_err(backend)?;
                let root: Vec<u8> = r.try_get(2).map_err(backend)?;
                tenant_key_row(
                    tenant,
                    &purpose,
                    i64::from(version),
                    &root,
                    r.try_get(3).map_err(backend)?,
                    r.try_get(4).map_err(backend)?,
                )
            })
            .collect()
    }

    async fn insert_tenant_keys(&self, rows: &[TenantKeyRow]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_tenant_keys(&mut tx, rows).await?;
        tx.commit().await.map_err(backend)
    }

    async fn subject_key(
        &self,
        tenant: TenantId,
        subject: Uuid,
    ) -> Result<Option<WrappedSubjectKey>> {
        let row = sqlx::query(sql::SUBJECT_KEY)
            .bind(tenant.0)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.map(|r| wrapped_subject_key(&r, 0)).transpose()
    }

    async fn insert_subject_key_if_absent(
        &self,
        tenant: TenantId,
        subject: Uuid,
        key: &WrappedSubjectKey,
        now: Timestamp,
    ) -> Result<()> {
        insert_subject_key(
            &self.pool,
            sql::INSERT_SUBJECT_KEY_IF_ABSENT,
            tenant,
            subject,
            key,
            now,
        )
        .await
    }

    async fn delete_other_root_wrappings(&self, tenant: TenantId, keep: &[u8; 16]) -> Result<u64> {
        Ok(sqlx::query(sql::DELETE_OTHER_ROOT_WRAPPINGS)
            .bind(tenant.0)
            .bind(&keep[..])
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected())
    }

    async fn subject_keys_below(
        &self,
        tenant: TenantId,
        version: u32,
        limit: u32,
    ) -> Result<Vec<(Uuid, WrappedSubjectKey)>> {
        sqlx::query(sql::SUBJECT_KEYS_BELOW)
            .bind(tenant.0)
            .bind(i32::try_from(version).unwrap_or(i32::MAX))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| Ok((r.try_get(0).map_err(backend)?, wrapped_subject_key(r, 1)?)))
            .collect()
    }

    async fn rewrap_subject_key(
        &self,
        tenant: TenantId,
        subject: Uuid,
        from_version: u32,
        new: &WrappedSubjectKey,
    ) -> Result<bool> {
        let n = sqlx::query(sql::REWRAP_SUBJECT_KEY)
            .bind(i32::try_from(new.kek_version).unwrap_or(i32::MAX))
            .bind(&new.wrapped)
            .bind(tenant.0)
            .bind(subject)
            .bind(i32::try_from(from_version).unwrap_or(i32::MAX))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn retire_old_keks(&self, tenant: TenantId, version: u32) -> Result<bool> {
        let v = i32::try_from(version).unwrap_or(i32::MAX);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Serialise with key creation for this tenant while checking and retiring.
        sqlx::query(sql::LOCK_KEKS_PG)
            .bind(tenant.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
        let pending = sqlx::query(sql::OLD_KEK_IN_USE)
            .bind(tenant.0)
            .bind(v)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if pending.is_some() {
            return Ok(false);
        }
        sqlx::query(sql::RETIRE_OLD_KEKS)
            .bind(tenant.0)
            .bind(v)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }
}

#[async_trait]
impl UserStore for PgStore {
    async fn insert_user(&self, user: &NewUser, log: &ChangeLog) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        insert_user(&mut tx, user).await?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)
    }

    async fn user_by_email_index(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
    ) -> Result<Option<User>> {
        one_user(
            &self.pool,
            sqlx::query(sql::USER_BY_EMAIL_INDEX)
                .bind(tenant.0)
                .bind(&index[..]),
        )
        .await
    }

    async fn user_by_id(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        one_user(
            &self.pool,
            sqlx::query(sql::USER_BY_ID).bind(tenant.0).bind(id.0),
        )
        .await
    }

    async fn list_users(&self, tenant: TenantId) -> Result<Vec<User>> {
        sqlx::query(sql::LIST_USERS)
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| raw_user(r).map_err(backend).and_then(RawUser::into_model))
            .collect()
    }

    async fn update_user(
        &self,
        tenant: TenantId,
        id: UserId,
        patch: &UserPatch,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<Option<User>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::UPDATE_USER)
            .bind(&patch.name_sealed)
            .bind(patch.roles.as_ref().map(Roles::to_stored))
            .bind(patch.license_expires_at.is_some())
            .bind(patch.license_expires_at.flatten().map(to_millis))
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        let user = one_user(
            &mut *tx,
            sqlx::query(sql::USER_BY_ID).bind(tenant.0).bind(id.0),
        )
        .await?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(user)
    }

    async fn set_password(
        &self,
        tenant: TenantId,
        id: UserId,
        hash: &str,
        must_change: bool,
        now: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::SET_PASSWORD)
            .bind(hash)
            .bind(must_change)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        sqlx::query(sql::REVOKE_USER_SESSIONS)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(n == 1)
    }

    async fn record_login_failure(
        &self,
        tenant: TenantId,
        id: UserId,
        t: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        let failed: i32 = sqlx::query_scalar(sql::RECORD_FAILURE)
            .bind(threshold(t))
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(failure_count(i64::from(failed), t))
    }

    async fn clear_login_failures(&self, tenant: TenantId, id: UserId) -> Result<()> {
        sqlx::query(sql::CLEAR_FAILURES)
            .bind(tenant.0)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn record_unknown_failure(
        &self,
        tenant: TenantId,
        index: &[u8; 32],
        t: u32,
        now: Timestamp,
    ) -> Result<FailureCount> {
        let failed: i32 = sqlx::query_scalar(sql::RECORD_UNKNOWN_FAILURE)
            .bind(tenant.0)
            .bind(&index[..])
            .bind(to_millis(now))
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        Ok(failure_count(i64::from(failed), t))
    }

    async fn unknown_failures(&self, tenant: TenantId, index: &[u8; 32]) -> Result<u32> {
        let n: Option<i32> = sqlx::query_scalar(sql::UNKNOWN_FAILURES)
            .bind(tenant.0)
            .bind(&index[..])
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        Ok(u32::try_from(n.unwrap_or(0)).unwrap_or(0))
    }

    async fn forget_user(
        &self,
        tenant: TenantId,
        id: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::FORGET_USER)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        for stmt in [sql::DESTROY_SUBJECT_KEY, sql::REVOKE_USER_SESSIONS] {
            sqlx::query(stmt)
                .bind(to_millis(now))
                .bind(tenant.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        sqlx::query(sql::DELETE_USER_MEMBERSHIPS)
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(sql::DELETE_USER_RESETS)
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }
}

#[async_trait]
impl GroupStore for PgStore {
    async fn insert_group(&self, g: &Group) -> Result<()> {
        sqlx::query(sql::INSERT_GROUP)
            .bind(g.tenant_id.0)
            .bind(g.id.0)
            .bind(g.name.as_str())
            .bind(to_millis(g.created_at))
            .execute(&self.pool)
            .await
            .map_err(constraint("group"))?;
        Ok(())
    }

    async fn group_by_id(&self, tenant: TenantId, id: GroupId) -> Result<Option<Group>> {
        sqlx::query(sql::GROUP_BY_ID)
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_group(&r)
                    .map_err(backend)
                    .and_then(RawGroup::into_model)
            })
            .transpose()
    }

    async fn put_member(
        &self,
        tenant: TenantId,
        group: GroupId,
        user: UserId,
        role: MembershipRole,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(sql::GROUP_BY_ID)
            .bind(tenant.0)
            .bind(group.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("group"))?;
        sqlx::query(sql::USER_IS_LIVE)
            .bind(tenant.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("user"))?;
        sqlx::query(sql::PUT_MEMBER)
            .bind(tenant.0)
            .bind(group.0)
            .bind(user.0)
            .bind(role.as_str())
            .execute(&mut *tx)
            .await
            .map_err(constraint("member"))?;
        tx.commit().await.map_err(backend)
    }

    async fn members(&self, tenant: TenantId, group: GroupId) -> Result<Vec<Member>> {
        sqlx::query(sql::MEMBERS)
            .bind(tenant.0)
            .bind(group.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                let user: Uuid = r.try_get(0).map_err(backend)?;
                let role: String = r.try_get(1).map_err(backend)?;
                let role = MembershipRole::parse(&role)
                    .ok_or_else(|| backend("unreadable membership role"))?;
                Ok(Member {
                    user_id: user.into(),
                    role,
                })
            })
            .collect()
    }

    async fn memberships(
        &self,
        tenant: TenantId,
        user: UserId,
    ) -> Result<Vec<(GroupId, MembershipRole)>> {
        sqlx::query(sql::MEMBERSHIPS_OF_USER)
            .bind(tenant.0)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                let g: Uuid = r.try_get(0).map_err(backend)?;
                let role: String = r.try_get(1).map_err(backend)?;
                membership(g, &role)
            })
            .collect()
    }
}

#[async_trait]
impl LoginHistoryStore for PgStore {
    async fn append_login(&self, e: &LoginEvent) -> Result<()> {
        sqlx::query(sql::INSERT_LOGIN)
            .bind(e.tenant_id.0)
            .bind(e.id.0)
            .bind(e.user_id.map(|u| u.0))
            .bind(to_millis(e.at))
            .bind(&e.ip_sealed)
            .bind(e.outcome.as_str())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn login_history(
        &self,
        tenant: TenantId,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<LoginEvent>> {
        sqlx::query(sql::LOGIN_HISTORY)
            .bind(tenant.0)
            .bind(user.0)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| raw_login(r).map_err(backend).and_then(RawLogin::into_model))
            .collect()
    }
}

#[async_trait]
impl SessionStore for PgStore {
    async fn insert_session(&self, s: &NewSession) -> Result<()> {
        insert_session(&self.pool, s).await
    }

    async fn principal_by_access(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        now: Timestamp,
    ) -> Result<Option<SessionPrincipal>> {
        let row = sqlx::query(sql::PRINCIPAL_BY_ACCESS)
            .bind(tenant.0)
            .bind(&digest[..])
            .bind(to_millis(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let user: Uuid = r.try_get(2).map_err(backend)?;
        let memberships = self.memberships(tenant, user.into()).await?;
        let subject_key = self.subject_key(tenant, user).await?;
        Some(r)
            .map(|r| {
                let roles: String = r.try_get(3).map_err(backend)?;
                Ok(SessionPrincipal {
                    memberships,
                    subject_key,
                    tenant_id: tenant,
                    session_id: r.try_get::<Uuid, _>(0).map_err(backend)?.into(),
                    family_id: r.try_get::<Uuid, _>(1).map_err(backend)?.into(),
                    user_id: r.try_get::<Uuid, _>(2).map_err(backend)?.into(),
                    roles: Roles::from_stored(&roles).map_err(backend)?,
                    must_change_password: r.try_get(4).map_err(backend)?,
                    policy_version: u64::try_from(r.try_get::<i64, _>(5).map_err(backend)?)
                        .map_err(backend)?,
                })
            })
            .transpose()
    }

    async fn rotate_refresh(
        &self,
        tenant: TenantId,
        presented: &[u8; 32],
        next: &NewSession,
        now: Timestamp,
    ) -> Result<RefreshOutcome> {
        let now = to_millis(now);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let spent = sqlx::query(sql::SPEND_REFRESH)
            .bind(now)
            .bind(tenant.0)
            .bind(&presented[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        if let Some(r) = spent {
            let family: Uuid = r.try_get(0).map_err(backend)?;
            let user: Uuid = r.try_get(1).map_err(backend)?;
            let next = NewSession {
                family_id: FamilyId::from(family),
                user_id: UserId::from(user),
                ..next.clone()
            };
            insert_session(&mut *tx, &next).await?;
            tx.commit().await.map_err(backend)?;
            return Ok(RefreshOutcome::Rotated(next.user_id));
        }
        let state = sqlx::query(sql::REFRESH_STATE)
            .bind(tenant.0)
            .bind(&presented[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let outcome = match state {
            Some(r) if r.try_get::<Option<i64>, _>(1).map_err(backend)?.is_some() => {
                let family: Uuid = r.try_get(0).map_err(backend)?;
                sqlx::query(sql::REVOKE_FAMILY)
                    .bind(now)
                    .bind(tenant.0)
                    .bind(family)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                RefreshOutcome::Reused
            }
            _ => RefreshOutcome::Invalid,
        };
        tx.commit().await.map_err(backend)?;
        Ok(outcome)
    }

    async fn revoke_family(
        &self,
        tenant: TenantId,
        family: FamilyId,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(sql::REVOKE_FAMILY)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(family.0)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl PasswordResetStore for PgStore {
    async fn insert_reset(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        user: UserId,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(sql::DELETE_OPEN_RESETS)
            .bind(tenant.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(sql::INSERT_RESET)
            .bind(tenant.0)
            .bind(&digest[..])
            .bind(user.0)
            .bind(to_millis(expires_at))
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await
            .map_err(constraint("reset token"))?;
        tx.commit().await.map_err(backend)
    }

    async fn reset_password(
        &self,
        tenant: TenantId,
        digest: &[u8; 32],
        hash: &str,
        now: Timestamp,
    ) -> Result<Option<UserId>> {
        let now = to_millis(now);
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let user: Option<Uuid> = sqlx::query_scalar(sql::SPEND_RESET)
            .bind(now)
            .bind(tenant.0)
            .bind(&digest[..])
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let Some(user) = user else { return Ok(None) };
        let n = sqlx::query(sql::SET_PASSWORD)
            .bind(hash)
            .bind(false)
            .bind(now)
            .bind(tenant.0)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        if n == 0 {
            return Ok(None);
        }
        sqlx::query(sql::REVOKE_USER_SESSIONS)
            .bind(now)
            .bind(tenant.0)
            .bind(user)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(Some(user.into()))
    }
}

fn raw_privacy(r: &PgRow) -> sqlx::Result<RawPrivacy> {
    Ok(RawPrivacy {
        seq: r.try_get(0)?,
        at: r.try_get(1)?,
        actor_id: r.try_get(2)?,
        via: r.try_get(3)?,
        subject_id: r.try_get(4)?,
        object_type: r.try_get(5)?,
        object_id: r.try_get(6)?,
        action: r.try_get(7)?,
        fields: r.try_get(8)?,
        decision: r.try_get(9)?,
        client_sealed: r.try_get(10)?,
        hash: r.try_get(11)?,
    })
}

fn head_of(r: &PgRow) -> Result<(u64, [u8; 32])> {
    let seq: i64 = r.try_get(0).map_err(backend)?;
    let hash: Vec<u8> = r.try_get(1).map_err(backend)?;
    Ok((
        u64::try_from(seq).map_err(backend)?,
        hash.as_slice()
            .try_into()
            .map_err(|_| backend("unreadable chain head"))?,
    ))
}

#[async_trait]
impl PrivacyLogStore for PgStore {
    async fn append_privacy(
        &self,
        tenant: TenantId,
        entries: &[PrivacyEntry],
        genesis: [u8; 32],
        chain: ChainFn,
    ) -> Result<Vec<u64>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let seqs = append_chain(&mut tx, tenant, entries, genesis, chain).await?;
        tx.commit().await.map_err(backend)?;
        Ok(seqs)
    }

    async fn privacy_page(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<PrivacyRecord>> {
        sqlx::query(sql::PRIVACY_PAGE)
            .bind(tenant.0)
            .bind(i64::try_from(after).map_err(backend)?)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                raw_privacy(r)
                    .map_err(backend)
                    .and_then(RawPrivacy::into_model)
            })
            .collect()
    }

    async fn privacy_head(&self, tenant: TenantId) -> Result<Option<(u64, [u8; 32])>> {
        sqlx::query(sql::PRIVACY_HEAD)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .as_ref()
            .map(head_of)
            .transpose()
    }

    async fn privacy_query(
        &self,
        tenant: TenantId,
        q: &PrivacyQuery,
    ) -> Result<Vec<PrivacyRecord>> {
        sqlx::query(sql::PRIVACY_QUERY)
            .bind(tenant.0)
            .bind(q.subject.is_none())
            .bind(q.subject)
            .bind(q.actor.is_none())
            .bind(q.actor)
            .bind(q.from.map_or(i64::MIN, to_millis))
            .bind(q.to.map_or(i64::MAX, to_millis))
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                raw_privacy(r)
                    .map_err(backend)
                    .and_then(RawPrivacy::into_model)
            })
            .collect()
    }

    async fn insert_checkpoint(&self, tenant: TenantId, c: &PrivacyCheckpoint) -> Result<()> {
        sqlx::query(sql::INSERT_CHECKPOINT)
            .bind(tenant.0)
            .bind(i64::try_from(c.seq).map_err(backend)?)
            .bind(&c.hash[..])
            .bind(to_millis(c.at))
            .bind(&c.signature)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<PrivacyCheckpoint>> {
        sqlx::query(sql::CHECKPOINTS)
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                let (seq, hash) = head_of(r)?;
                Ok(PrivacyCheckpoint {
                    seq,
                    hash,
                    at: strongroom_domain::from_millis(r.try_get(2).map_err(backend)?),
                    signature: r.try_get(3).map_err(backend)?,
                })
            })
            .collect()
    }
}

fn raw_collection(r: &PgRow) -> sqlx::Result<RawCollection> {
    Ok(RawCollection {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        fields: r.try_get(2)?,
        created_by: r.try_get(3)?,
        created_at: r.try_get(4)?,
        retention: r.try_get(5)?,
    })
}

fn raw_record_view(r: &PgRow) -> sqlx::Result<RawRecordView> {
    let key_id: Option<Uuid> = r.try_get(16)?;
    let key = match key_id {
        Some(id) => Some((
            id,
            i64::from(r.try_get::<i32, _>(17)?),
            r.try_get::<Vec<u8>, _>(18)?,
        )),
        None => None,
    };
    Ok(RawRecordView {
        id: r.try_get(0)?,
        collection_id: r.try_get(1)?,
        subject_id: r.try_get(2)?,
        group_id: r.try_get(3)?,
        parent_id: r.try_get(4)?,
        visibility: r.try_get(5)?,
        hidden: r.try_get(6)?,
        data: r.try_get(7)?,
        version: r.try_get(8)?,
        created_by: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
        collection: RawCollection {
            id: r.try_get(1)?,
            name: r.try_get(12)?,
            fields: r.try_get(13)?,
            created_by: r.try_get(14)?,
            created_at: r.try_get(15)?,
            retention: r.try_get(21)?,
        },
        key,
        deleted_at: r.try_get(19)?,
        held_at: r.try_get(20)?,
        ends_on: r.try_get(22)?,
    })
}

fn raw_file(r: &PgRow) -> sqlx::Result<RawFile> {
    Ok(RawFile {
        record_id: r.try_get(0)?,
        name: r.try_get(1)?,
        file_id: r.try_get(2)?,
        blob_key: r.try_get(3)?,
        content_type: r.try_get(4)?,
        size: r.try_get(5)?,
        created_by: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

fn record_views(rows: &[PgRow], tenant: TenantId) -> Result<Vec<RecordView>> {
    rows.iter()
        .map(|r| {
            raw_record_view(r)
                .map_err(backend)
                .and_then(|raw| raw.into_model(tenant))
        })
        .collect()
}

async fn insert_history(
    tx: &mut sqlx::PgConnection,
    tenant: TenantId,
    h: &HistoryRow,
    version: i64,
) -> Result<()> {
    sqlx::query(sql::INSERT_HISTORY)
        .bind(tenant.0)
        .bind(h.record_id.0)
        .bind(version)
        .bind(to_millis(h.at))
        .bind(h.actor_id.0)
        .bind(&h.action)
        .bind(fields_json(&h.fields))
        .bind(&h.data_before)
        .execute(&mut *tx)
        .await
        .map_err(constraint("history entry"))?;
    Ok(())
}

async fn insert_index(
    tx: &mut sqlx::PgConnection,
    r: &RecordRow,
    index: &[IndexEntry],
) -> Result<()> {
    for e in index {
        sqlx::query(sql::INSERT_INDEX)
            .bind(r.tenant_id.0)
            .bind(r.collection_id.0)
            .bind(&e.field)
            .bind(&e.digest[..])
            .bind(r.id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
    }
    Ok(())
}

#[async_trait]
impl RecordStore for PgStore {
    async fn insert_collection(&self, c: &Collection) -> Result<()> {
        sqlx::query(sql::INSERT_COLLECTION)
            .bind(c.tenant_id.0)
            .bind(c.id.0)
            .bind(&c.name)
            .bind(&c.fields)
            .bind(c.created_by.0)
            .bind(to_millis(c.created_at))
            .bind(&c.retention)
            .execute(&self.pool)
            .await
            .map_err(constraint("collection"))?;
        Ok(())
    }

    async fn collection_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Collection>> {
        sqlx::query(sql::COLLECTION_BY_NAME)
            .bind(tenant.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_collection(&r)
                    .map_err(backend)
                    .map(|raw| raw.into_model(tenant))
            })
            .transpose()
    }

    async fn list_collections(&self, tenant: TenantId) -> Result<Vec<Collection>> {
        sqlx::query(sql::LIST_COLLECTIONS)
            .bind(tenant.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                raw_collection(r)
                    .map_err(backend)
                    .map(|raw| raw.into_model(tenant))
            })
            .collect()
    }

    async fn insert_record(&self, w: &RecordWrite, log: &ChangeLog) -> Result<()> {
        let r = &w.record;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(sql::INSERT_RECORD)
            .bind(r.tenant_id.0)
            .bind(r.id.0)
            .bind(r.collection_id.0)
            .bind(r.subject_id.0)
            .bind(r.group_id.map(|g| g.0))
            .bind(r.parent_id.map(|p| p.0))
            .bind(r.visibility.as_str())
            .bind(r.hidden)
            .bind(&r.data)
            .bind(i64::from(r.version))
            .bind(r.created_by.0)
            .bind(to_millis(r.created_at))
            .bind(to_millis(r.updated_at))
            .bind(&r.ends_on)
            .execute(&mut *tx)
            .await
            .map_err(constraint("subject or group"))?;
        insert_index(&mut tx, r, &w.index).await?;
        insert_history(&mut tx, r.tenant_id, &w.history, i64::from(r.version)).await?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)
    }

    async fn record(&self, tenant: TenantId, id: RecordId) -> Result<Option<RecordView>> {
        sqlx::query(sql::RECORD_VIEW)
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_record_view(&r)
                    .map_err(backend)
                    .and_then(|raw| raw.into_model(tenant))
            })
            .transpose()
    }

    async fn record_with_files(
        &self,
        tenant: TenantId,
        id: RecordId,
    ) -> Result<Option<(RecordView, Vec<FileRow>)>> {
        let Some(view) = self.record(tenant, id).await? else {
            return Ok(None);
        };
        let files = self.files(tenant, id).await?;
        Ok(Some((view, files)))
    }

    async fn update_record(
        &self,
        w: &RecordWrite,
        expected_version: u32,
        log: &ChangeLog,
    ) -> Result<bool> {
        let r = &w.record;
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::UPDATE_RECORD)
            .bind(r.group_id.map(|g| g.0))
            .bind(r.visibility.as_str())
            .bind(r.hidden)
            .bind(&r.data)
            .bind(i64::from(r.version))
            .bind(to_millis(r.updated_at))
            .bind(&r.ends_on)
            .bind(r.tenant_id.0)
            .bind(r.id.0)
            .bind(i64::from(expected_version))
            .execute(&mut *tx)
            .await
            .map_err(constraint("group"))?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        sqlx::query(sql::DELETE_INDEX)
            .bind(r.tenant_id.0)
            .bind(r.id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        insert_index(&mut tx, r, &w.index).await?;
        insert_history(&mut tx, r.tenant_id, &w.history, i64::from(r.version)).await?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn search_records(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        field: &str,
        digest: &[u8; 32],
        limit: u32,
    ) -> Result<Vec<RecordView>> {
        let rows = sqlx::query(sql::SEARCH_RECORDS)
            .bind(tenant.0)
            .bind(collection.0)
            .bind(field)
            .bind(&digest[..])
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        record_views(&rows, tenant)
    }

    async fn records_of_subject(
        &self,
        tenant: TenantId,
        subject: UserId,
    ) -> Result<Vec<RecordView>> {
        let rows = sqlx::query(sql::RECORDS_OF_SUBJECT)
            .bind(tenant.0)
            .bind(subject.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        record_views(&rows, tenant)
    }

    async fn records_by_author(&self, tenant: TenantId, author: UserId) -> Result<Vec<RecordView>> {
        let rows = sqlx::query(sql::RECORDS_BY_AUTHOR)
            .bind(tenant.0)
            .bind(author.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        record_views(&rows, tenant)
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
        f: &FileRow,
        h: &HistoryRow,
        log: &ChangeLog,
    ) -> Result<Option<FileRow>> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let version: i64 = sqlx::query(sql::BUMP_RECORD_VERSION)
            .bind(to_millis(h.at))
            .bind(tenant.0)
            .bind(f.record_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::NotFound("record"))?
            .try_get(0)
            .map_err(backend)?;
        insert_history(&mut tx, tenant, h, version).await?;
        let old = sqlx::query(sql::FILE_BY_NAME)
            .bind(tenant.0)
            .bind(f.record_id.0)
            .bind(&f.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .map(|r| raw_file(&r).map_err(backend).and_then(RawFile::into_model))
            .transpose()?;
        sqlx::query(sql::DELETE_FILE)
            .bind(tenant.0)
            .bind(f.record_id.0)
            .bind(&f.name)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(sql::INSERT_FILE)
            .bind(tenant.0)
            .bind(f.record_id.0)
            .bind(&f.name)
            .bind(f.file_id.0)
            .bind(&f.blob_key)
            .bind(&f.content_type)
            .bind(i64::try_from(f.size).map_err(backend)?)
            .bind(f.created_by.0)
            .bind(to_millis(f.created_at))
            .execute(&mut *tx)
            .await
            .map_err(constraint("file"))?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(old)
    }

    async fn file(
        &self,
        tenant: TenantId,
        record: RecordId,
        name: &str,
    ) -> Result<Option<FileRow>> {
        sqlx::query(sql::FILE_BY_NAME)
            .bind(tenant.0)
            .bind(record.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| raw_file(&r).map_err(backend).and_then(RawFile::into_model))
            .transpose()
    }

    async fn files(&self, tenant: TenantId, record: RecordId) -> Result<Vec<FileRow>> {
        sqlx::query(sql::FILES_OF_RECORD)
            .bind(tenant.0)
            .bind(record.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| raw_file(r).map_err(backend).and_then(RawFile::into_model))
            .collect()
    }

    async fn files_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<FileRow>> {
        sqlx::query(sql::FILES_OF_SUBJECT)
            .bind(tenant.0)
            .bind(subject.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| raw_file(r).map_err(backend).and_then(RawFile::into_model))
            .collect()
    }

    async fn delete_file_version(
        &self,
        tenant: TenantId,
        f: &FileRow,
        subject: UserId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::DELETE_FILE_VERSION)
            .bind(tenant.0)
            .bind(f.record_id.0)
            .bind(&f.name)
            .bind(f.file_id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        sqlx::query(sql::INSERT_TOMBSTONE)
            .bind(tenant.0)
            .bind(f.record_id.0)
            .bind(&f.name)
            .bind(subject.0)
            .bind(reason)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        if n == 1 {
            append_log(&mut tx, log).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(n == 1)
    }

    async fn scrub_records(&self, tenant: TenantId, scrubs: &[Scrub]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for s in scrubs {
            sqlx::query(sql::SCRUB_RECORD)
                .bind(&s.data)
                .bind(tenant.0)
                .bind(s.id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            for field in &s.unindex {
                sqlx::query(sql::DELETE_INDEX_FIELD)
                    .bind(tenant.0)
                    .bind(s.id.0)
                    .bind(field)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            sqlx::query(sql::SCRUB_HISTORY)
                .bind(tenant.0)
                .bind(s.id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn set_subject_hidden(
        &self,
        tenant: TenantId,
        subject: UserId,
        hidden: bool,
        log: &ChangeLog,
    ) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let n = sqlx::query(sql::SET_SUBJECT_HIDDEN)
            .bind(hidden)
            .bind(tenant.0)
            .bind(subject.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(n)
    }
}

impl PgStore {
    /// Runs tenant-wide deletions in one transaction.
    async fn destroy(&self, statements: &[&'static str], tenant: TenantId) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        for &statement in statements {
            sqlx::query(statement)
                .bind(tenant.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    /// History rows by a (tenant, id) query over `sql::RECORD_HISTORY`'s columns.
    async fn history(
        &self,
        statement: &'static str,
        tenant: TenantId,
        id: Uuid,
    ) -> Result<Vec<HistoryRow>> {
        sqlx::query(statement)
            .bind(tenant.0)
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                RawHistory {
                    record_id: r.try_get(0).map_err(backend)?,
                    version: r.try_get(1).map_err(backend)?,
                    at: r.try_get(2).map_err(backend)?,
                    actor_id: r.try_get(3).map_err(backend)?,
                    action: r.try_get(4).map_err(backend)?,
                    fields: r.try_get(5).map_err(backend)?,
                    data_before: r.try_get(6).map_err(backend)?,
                }
                .into_model()
            })
            .collect()
    }
}

fn raw_job(r: &PgRow) -> sqlx::Result<RawJob> {
    Ok(RawJob {
        id: r.try_get(0)?,
        tenant_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        subject_id: r.try_get(3)?,
        param: r.try_get(4)?,
        run_at: r.try_get(5)?,
        attempts: r.try_get(6)?,
    })
}

/// Jobs with their state, from rows of `sql::JOBS_OF_SUBJECT`'s columns.
fn job_states(rows: &[PgRow]) -> Result<Vec<JobState>> {
    rows.iter()
        .map(|r| {
            Ok(JobState {
                job: raw_job(r).map_err(backend)?.into_model()?,
                status: crate::raw::job_status(&r.try_get::<String, _>(7).map_err(backend)?)?,
                outcome: r.try_get(8).map_err(backend)?,
            })
        })
        .collect()
}

fn raw_notice(r: &PgRow) -> sqlx::Result<RawNotice> {
    Ok(RawNotice {
        id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        what: r.try_get(2)?,
        expiry_at: r.try_get(3)?,
        due_at: r.try_get(4)?,
        created_at: r.try_get(5)?,
        kept_at: r.try_get(6)?,
        done_at: r.try_get(7)?,
    })
}

#[async_trait]
impl JobStore for PgStore {
    async fn enqueue(&self, j: &NewJob) -> Result<bool> {
        let n = sqlx::query(sql::ENQUEUE_JOB)
            .bind(j.id)
            .bind(j.tenant_id.0)
            .bind(&j.kind)
            .bind(j.subject_id.map(|s| s.0))
            .bind(&j.dedupe_key)
            .bind(j.param)
            .bind(to_millis(j.run_at))
            .bind(to_millis(j.now))
            .execute(&self.pool)
            .await
            .map_err(backend)?
            .rows_affected();
        Ok(n == 1)
    }

    async fn claim_jobs(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<Job>> {
        let mut jobs = sqlx::query(sql::CLAIM_JOBS_PG)
            .bind(to_millis(lease_until))
            .bind(to_millis(now))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| raw_job(r).map_err(backend).and_then(RawJob::into_model))
            .collect::<Result<Vec<_>>>()?;
        jobs.sort_by_key(|j| (j.run_at, j.id));
        Ok(jobs)
    }

    async fn finish_job(&self, id: Uuid, outcome: &str, now: Timestamp) -> Result<()> {
        sqlx::query(sql::FINISH_JOB)
            .bind(outcome)
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn defer_job(
        &self,
        id: Uuid,
        run_at: Timestamp,
        outcome: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(sql::DEFER_JOB)
            .bind(to_millis(run_at))
            .bind(outcome)
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn retry_job(
        &self,
        id: Uuid,
        max_attempts: u32,
        run_at: Timestamp,
        error: &str,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(sql::RETRY_JOB)
            .bind(i64::from(max_attempts))
            .bind(to_millis(run_at))
            .bind(error)
            .bind(to_millis(now))
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn jobs_of_kind(&self, tenant: TenantId, kind: &str) -> Result<Vec<JobState>> {
        let rows = sqlx::query(sql::JOBS_OF_KIND)
            .bind(tenant.0)
            .bind(kind)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        job_states(&rows)
    }

    async fn jobs_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<JobState>> {
        let rows = sqlx::query(sql::JOBS_OF_SUBJECT)
            .bind(tenant.0)
            .bind(subject.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        job_states(&rows)
    }
}

impl PgStore {
    async fn record_ids(
        &self,
        q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<Vec<RecordId>> {
        q.fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| r.try_get::<Uuid, _>(0).map(RecordId).map_err(backend))
            .collect()
    }

    /// Runs one statement that changes at most one row; if it did, appends the change's log
    /// entries in the same transaction (no transaction is opened for a change without any).
    async fn affected(
        &self,
        q: sqlx::query::Query<'_, Postgres, sqlx::postgres::PgArguments>,
        log: &ChangeLog,
    ) -> Result<bool> {
        if log.entries.is_empty() {
            return Ok(q
                .execute(&self.pool)
                .await
                .map_err(backend)?
                .rows_affected()
                == 1);
        }
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let changed = q.execute(&mut *tx).await.map_err(backend)?.rows_affected() == 1;
        if changed {
            append_log(&mut tx, log).await?;
        }
        tx.commit().await.map_err(backend)?;
        Ok(changed)
    }
}

#[async_trait]
impl DeletionStore for PgStore {
    async fn soft_delete_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        self.affected(
            sqlx::query(sql::SOFT_DELETE_RECORD)
                .bind(to_millis(now))
                .bind(by.0)
                .bind(tenant.0)
                .bind(id.0),
            log,
        )
        .await
    }

    async fn restore_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        log: &ChangeLog,
    ) -> Result<bool> {
        self.affected(
            sqlx::query(sql::RESTORE_RECORD).bind(tenant.0).bind(id.0),
            log,
        )
        .await
    }

    async fn set_record_hold(
        &self,
        tenant: TenantId,
        id: RecordId,
        hold: Option<(UserId, Timestamp)>,
        log: &ChangeLog,
    ) -> Result<bool> {
        let q = match hold {
            Some((by, at)) => sqlx::query(sql::HOLD_RECORD)
                .bind(to_millis(at))
                .bind(by.0)
                .bind(tenant.0)
                .bind(id.0),
            None => sqlx::query(sql::RELEASE_RECORD).bind(tenant.0).bind(id.0),
        };
        self.affected(q, log).await
    }

    async fn deleted_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<RecordId>> {
        self.record_ids(
            sqlx::query(sql::DELETED_BEFORE)
                .bind(tenant.0)
                .bind(to_millis(before))
                .bind(i64::from(limit)),
        )
        .await
    }

    async fn ended_before(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        before: &str,
        limit: u32,
    ) -> Result<Vec<RecordId>> {
        self.record_ids(
            sqlx::query(sql::ENDED_BEFORE)
                .bind(tenant.0)
                .bind(collection.0)
                .bind(before)
                .bind(i64::from(limit)),
        )
        .await
    }

    async fn replies_of(&self, tenant: TenantId, id: RecordId) -> Result<Vec<RecordId>> {
        self.record_ids(sqlx::query(sql::REPLIES_OF).bind(tenant.0).bind(id.0))
            .await
    }

    async fn held_records(&self, tenant: TenantId) -> Result<u64> {
        let n: i64 = sqlx::query(sql::HELD_IN_TENANT)
            .bind(tenant.0)
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn purge_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        reason: &str,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        if sqlx::query(sql::LOCK_TENANT_SHARED)
            .bind(tenant.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .is_none()
        {
            return Ok(false);
        }
        let row = sqlx::query(sql::RECORD_HELD_PG)
            .bind(tenant.0)
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
        let Some(row) = row else {
            return Ok(false);
        };
        let held: bool = row.try_get(0).map_err(backend)?;
        let subject: Uuid = row.try_get(1).map_err(backend)?;
        if held {
            return Ok(false);
        }
        for statement in sql::PURGE_RECORD_CHILDREN {
            sqlx::query(statement)
                .bind(tenant.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
        }
        sqlx::query(sql::PURGE_RECORD)
            .bind(tenant.0)
            .bind(id.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        sqlx::query(sql::INSERT_TOMBSTONE)
            .bind(tenant.0)
            .bind(id.0)
            .bind("")
            .bind(subject)
            .bind(reason)
            .bind(to_millis(now))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        append_log(&mut tx, log).await?;
        tx.commit().await.map_err(backend)?;
        Ok(true)
    }

    async fn tombstone(
        &self,
        tenant: TenantId,
        object: Uuid,
        name: &str,
    ) -> Result<Option<Tombstone>> {
        let Some(r) = sqlx::query(sql::TOMBSTONE)
            .bind(tenant.0)
            .bind(object)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        Ok(Some(Tombstone {
            subject_id: r
                .try_get::<Option<Uuid>, _>(0)
                .map_err(backend)?
                .map(UserId),
            reason: r.try_get(1).map_err(backend)?,
            deleted_at: from_millis(r.try_get(2).map_err(backend)?),
        }))
    }

    async fn destroy_subject_key(
        &self,
        tenant: TenantId,
        subject: UserId,
        now: Timestamp,
    ) -> Result<bool> {
        self.affected(
            sqlx::query(sql::DESTROY_SUBJECT_KEY)
                .bind(to_millis(now))
                .bind(tenant.0)
                .bind(subject.0),
            &ChangeLog::none(),
        )
        .await
    }

    async fn set_collection_retention(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        retention: Option<&str>,
        end_field: Option<&str>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        sqlx::query(sql::SET_COLLECTION_RETENTION)
            .bind(retention)
            .bind(tenant.0)
            .bind(collection.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
        let q = match end_field {
            Some(field) => sqlx::query(sql::BACKFILL_ENDS_ON_PG)
                .bind(field)
                .bind(tenant.0)
                .bind(collection.0),
            None => sqlx::query(sql::CLEAR_ENDS_ON)
                .bind(tenant.0)
                .bind(collection.0),
        };
        q.execute(&mut *tx).await.map_err(backend)?;
        tx.commit().await.map_err(backend)?;
        Ok(())
    }

    async fn retention_rules(&self, tenant: TenantId) -> Result<Option<String>> {
        sqlx::query(sql::RETENTION_RULES)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| r.try_get(0).map_err(backend))
            .transpose()
    }

    async fn put_retention_rules(
        &self,
        tenant: TenantId,
        rules: &str,
        by: UserId,
        now: Timestamp,
    ) -> Result<()> {
        sqlx::query(sql::PUT_RETENTION_RULES)
            .bind(tenant.0)
            .bind(rules)
            .bind(by.0)
            .bind(to_millis(now))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl NoticeStore for PgStore {
    async fn insert_notice(&self, n: &DeletionNotice, log: &ChangeLog) -> Result<bool> {
        let inserted = sqlx::query(sql::INSERT_NOTICE)
            .bind(n.tenant_id.0)
            .bind(n.id)
            .bind(n.user_id.0)
            .bind(&n.what)
            .bind(to_millis(n.expiry_at))
            .bind(to_millis(n.due_at))
            .bind(to_millis(n.created_at));
        self.affected(inserted, log).await
    }

    async fn notice_for(
        &self,
        tenant: TenantId,
        user: UserId,
        what: &str,
        expiry_at: Timestamp,
    ) -> Result<Option<DeletionNotice>> {
        sqlx::query(sql::NOTICE_FOR)
            .bind(tenant.0)
            .bind(user.0)
            .bind(what)
            .bind(to_millis(expiry_at))
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                raw_notice(&r)
                    .map_err(backend)
                    .map(|raw| raw.into_model(tenant))
            })
            .transpose()
    }

    async fn notices_of(&self, tenant: TenantId, user: UserId) -> Result<Vec<DeletionNotice>> {
        sqlx::query(sql::NOTICES_OF_USER)
            .bind(tenant.0)
            .bind(user.0)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?
            .iter()
            .map(|r| {
                raw_notice(r)
                    .map_err(backend)
                    .map(|raw| raw.into_model(tenant))
            })
            .collect()
    }

    async fn keep_notice(
        &self,
        tenant: TenantId,
        user: UserId,
        id: Uuid,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let n = sqlx::query(sql::KEEP_NOTICE)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(user.0)
            .bind(id);
        self.affected(n, log).await
    }

    async fn finish_notice(&self, tenant: TenantId, id: Uuid, now: Timestamp) -> Result<()> {
        sqlx::query(sql::FINISH_NOTICE)
            .bind(to_millis(now))
            .bind(tenant.0)
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}

#[async_trait]
impl PolicyStore for PgStore {
    async fn policies(&self, tenant: TenantId) -> Result<Option<PolicyRow>> {
        sqlx::query(sql::POLICIES)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?
            .map(|r| {
                RawPolicies {
                    template: r.try_get(0).map_err(backend)?,
                    policies: r.try_get(1).map_err(backend)?,
                    version: r.try_get(2).map_err(backend)?,
                    updated_by: r.try_get(3).map_err(backend)?,
                    updated_at: r.try_get(4).map_err(backend)?,
                }
                .into_model()
            })
            .transpose()
    }

    async fn put_policies(
        &self,
        tenant: TenantId,
        row: &PolicyRow,
        expected_version: u64,
        log: &ChangeLog,
    ) -> Result<bool> {
        let version = i64::try_from(row.version).map_err(backend)?;
        let q = if expected_version == 0 {
            sqlx::query(sql::INSERT_POLICIES)
                .bind(tenant.0)
                .bind(&row.template)
                .bind(&row.policies)
                .bind(version)
                .bind(row.updated_by.0)
                .bind(to_millis(row.updated_at))
        } else {
            sqlx::query(sql::UPDATE_POLICIES)
                .bind(&row.template)
                .bind(&row.policies)
                .bind(version)
                .bind(row.updated_by.0)
                .bind(to_millis(row.updated_at))
                .bind(tenant.0)
                .bind(i64::try_from(expected_version).map_err(backend)?)
        };
        self.affected(q, log).await
    }
}
