//! File rows: which blob holds each version of a record's file, replaced and deleted in the
//! same transaction as the record's history entry and the privacy-log entry.

use super::insert_history;
use crate::exec::{Backend, Exec, args, named};
use crate::privacy::append_log;
use crate::{ChangeLog, FileRow, HistoryRow, Result, StoreError, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{RecordId, TenantId, Timestamp, TombstoneReason, UserId};

/// Files attached to records: rows that name their (encrypted) blobs, written with the
/// record's history entry.
#[async_trait]
pub trait FileStore: Send + Sync {
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
        reason: TombstoneReason,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool>;
}

#[async_trait]
impl<B: Backend> FileStore for B {
    async fn put_file(
        &self,
        tenant: TenantId,
        file: &FileRow,
        history: &HistoryRow,
        log: &ChangeLog,
    ) -> Result<Option<FileRow>> {
        let (f, h, log) = (file.clone(), history.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let version = c
                    .query_opt(
                        sql::BUMP_RECORD_VERSION,
                        args![h.at, tenant, f.record_id],
                        |r| r.get::<u32>(0),
                    )
                    .await?
                    .ok_or(StoreError::NotFound("record"))?;
                insert_history(c, tenant, &h, version).await?;
                let name = f.name.as_str();
                let old = c
                    .query_opt(
                        sql::FILE_BY_NAME,
                        args![tenant, f.record_id, name],
                        rows::file,
                    )
                    .await?;
                c.execute(sql::DELETE_FILE, args![tenant, f.record_id, name])
                    .await?;
                let size = i64::try_from(f.size)
                    .map_err(|_| StoreError::Backend("file size out of range".to_owned()))?;
                c.execute(
                    sql::INSERT_FILE,
                    args![
                        tenant,
                        f.record_id,
                        name,
                        f.file_id,
                        f.blob_key.as_str(),
                        f.content_type.as_str(),
                        size,
                        f.created_by,
                        f.created_at,
                    ],
                )
                .await
                .map_err(named("file"))?;
                append_log(c, &log).await?;
                Ok(old)
            })
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
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(
                    sql::FILE_BY_NAME,
                    args![tenant, record, name.as_str()],
                    rows::file,
                )
                .await
            })
        })
        .await
    }

    async fn files(&self, tenant: TenantId, record: RecordId) -> Result<Vec<FileRow>> {
        self.point(move |c| Box::pin(of_record(c, tenant, record)))
            .await
    }

    async fn files_of_subject(&self, tenant: TenantId, subject: UserId) -> Result<Vec<FileRow>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::FILES_OF_SUBJECT, args![tenant, subject], rows::file)
                    .await
            })
        })
        .await
    }

    async fn delete_file_version(
        &self,
        tenant: TenantId,
        file: &FileRow,
        subject: UserId,
        reason: TombstoneReason,
        now: Timestamp,
        log: &ChangeLog,
    ) -> Result<bool> {
        let f = file.clone();
        let log = log.clone();
        self.write(move |c| {
            Box::pin(async move {
                let name = f.name.as_str();
                let n = c
                    .execute(
                        sql::DELETE_FILE_VERSION,
                        args![tenant, f.record_id, name, f.file_id],
                    )
                    .await?;
                c.execute(
                    sql::INSERT_TOMBSTONE,
                    args![tenant, f.record_id, name, subject, reason, now],
                )
                .await?;
                if n == 1 {
                    append_log(c, &log).await?;
                }
                Ok(n == 1)
            })
        })
        .await
    }
}

/// A record's files (the current version of each name).
pub(crate) async fn of_record<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    record: RecordId,
) -> Result<Vec<FileRow>> {
    c.query(sql::FILES_OF_RECORD, args![tenant, record], rows::file)
        .await
}
