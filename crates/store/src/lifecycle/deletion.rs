//! Deletion that keeps its promises: soft deletion and its purge, legal holds, legal
//! retention, tombstones, and the tenant's retention rules.

use crate::exec::{Backend, Dialect, Exec, args};
use crate::privacy::append_log;
use crate::{ChangeLog, Result, Tombstone, sql};
use async_trait::async_trait;
use strongroom_domain::{CollectionId, RecordId, TenantId, Timestamp, TombstoneReason, UserId};
use uuid::Uuid;

#[async_trait]
pub trait DeletionStore: Send + Sync {
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
        reason: TombstoneReason,
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
        log: &ChangeLog,
    ) -> Result<()>;
}

#[async_trait]
impl<B: Backend> DeletionStore for B {
    async fn soft_delete_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::SOFT_DELETE_RECORD, args![now, by, tenant, id])
                    .await?;
                logged_if_changed(c, n, &log).await
            })
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
        self.write(move |c| {
            Box::pin(async move {
                let n = c.execute(sql::RESTORE_RECORD, args![tenant, id]).await?;
                logged_if_changed(c, n, &log).await
            })
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
        self.write(move |c| {
            Box::pin(async move {
                let n = match hold {
                    Some((by, at)) => {
                        c.execute(sql::HOLD_RECORD, args![at, by, tenant, id])
                            .await?
                    }
                    None => c.execute(sql::RELEASE_RECORD, args![tenant, id]).await?,
                };
                logged_if_changed(c, n, &log).await
            })
        })
        .await
    }

    async fn deleted_before(
        &self,
        tenant: TenantId,
        before: Timestamp,
        limit: u32,
    ) -> Result<Vec<RecordId>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::DELETED_BEFORE, args![tenant, before, limit], |r| {
                    r.get(0)
                })
                .await
            })
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
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::ENDED_BEFORE,
                    args![tenant, collection, before.as_str(), limit],
                    |r| r.get(0),
                )
                .await
            })
        })
        .await
    }

    async fn replies_of(&self, tenant: TenantId, id: RecordId) -> Result<Vec<RecordId>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::REPLIES_OF, args![tenant, id], |r| r.get(0))
                    .await
            })
        })
        .await
    }

    async fn held_records(&self, tenant: TenantId) -> Result<u64> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query_one(sql::HELD_IN_TENANT, args![tenant], |r| r.get::<u64>(0))
                    .await
            })
        })
        .await
    }

    async fn purge_record(
        &self,
        tenant: TenantId,
        id: RecordId,
        reason: TombstoneReason,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                // A destruction of the tenant waits for this purge (see `DESTROY_TENANT_ROWS`);
                // once the tenant is gone, the record is too.
                c.lock(sql::LOCK_TENANT_SHARED, args![tenant]).await?;
                // Locked against a concurrent hold while it is purged.
                let held =
                    <B::Conn as Exec>::DIALECT.pick(sql::RECORD_HELD_SQLITE, sql::RECORD_HELD_PG);
                let row = c
                    .query_opt(held, args![tenant, id], |r| {
                        Ok((r.get::<bool>(0)?, r.get::<Uuid>(1)?))
                    })
                    .await?;
                let Some((false, subject)) = row else {
                    return Ok(false);
                };
                for statement in sql::PURGE_RECORD_CHILDREN {
                    c.execute(statement, args![tenant, id]).await?;
                }
                c.execute(sql::PURGE_RECORD, args![tenant, id]).await?;
                c.execute(
                    sql::INSERT_TOMBSTONE,
                    args![tenant, id, "", subject, reason, now],
                )
                .await?;
                append_log(c, &log).await?;
                Ok(true)
            })
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
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::TOMBSTONE, args![tenant, object, name.as_str()], |r| {
                    Ok(Tombstone {
                        subject_id: r.get(0)?,
                        reason: known_reason(r)?,
                        deleted_at: r.get(2)?,
                    })
                })
                .await
            })
        })
        .await
    }

    async fn destroy_subject_key(
        &self,
        tenant: TenantId,
        subject: UserId,
        now: Timestamp,
    ) -> Result<bool> {
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::DESTROY_SUBJECT_KEY, args![now, tenant, subject])
                    .await?;
                Ok(n == 1)
            })
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
        let end_field = end_field.map(str::to_owned);
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::SET_COLLECTION_RETENTION,
                    args![retention.as_deref(), tenant, collection],
                )
                .await?;
                match end_field {
                    // SQLite takes a JSON path, PostgreSQL the field name.
                    Some(field) => {
                        let (statement, path) = match <B::Conn as Exec>::DIALECT {
                            Dialect::Sqlite => (sql::BACKFILL_ENDS_ON_SQLITE, format!("$.{field}")),
                            Dialect::Postgres => (sql::BACKFILL_ENDS_ON_PG, field),
                        };
                        c.execute(statement, args![path.as_str(), tenant, collection])
                            .await?
                    }
                    None => {
                        c.execute(sql::CLEAR_ENDS_ON, args![tenant, collection])
                            .await?
                    }
                };
                Ok(())
            })
        })
        .await
    }

    async fn retention_rules(&self, tenant: TenantId) -> Result<Option<String>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::RETENTION_RULES, args![tenant], |r| r.get(0))
                    .await
            })
        })
        .await
    }

    async fn put_retention_rules(
        &self,
        tenant: TenantId,
        rules: &str,
        by: UserId,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<()> {
        let (rules, log) = (rules.to_owned(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::PUT_RETENTION_RULES,
                    args![tenant, rules.as_str(), by, now],
                )
                .await?;
                crate::privacy::append_log(c, &log).await
            })
        })
        .await
    }
}

/// A change of one row logs its entry only if it changed the row; whether it did.
pub(crate) async fn logged_if_changed<E: Exec>(c: &mut E, n: u64, log: &ChangeLog) -> Result<bool> {
    if n == 1 {
        append_log(c, log).await?;
    }
    Ok(n == 1)
}

fn known_reason(r: &dyn crate::exec::Row) -> Result<TombstoneReason> {
    TombstoneReason::parse(&r.get::<String>(1)?)
        .ok_or_else(|| crate::rows::corrupt("tombstone reason"))
}
