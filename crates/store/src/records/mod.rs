//! Collections, records, their search entries and history.

pub mod files;

pub use files::FileStore;

use crate::exec::{Backend, Exec, args, named};
use crate::privacy::append_log;
use crate::{
    ChangeLog, Collection, FileRow, HistoryRow, IndexEntry, RecordRow, RecordView, RecordWrite,
    Result, Scrub, rows, sql,
};
use async_trait::async_trait;
use strongroom_domain::{CollectionId, RecordId, TenantId, UserId};
use uuid::Uuid;

#[async_trait]
pub trait RecordStore: Send + Sync {
    /// `Conflict("collection")` when the name is taken in this tenant.
    async fn insert_collection(&self, c: &Collection) -> Result<()>;

    async fn collection_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Collection>>;

    async fn list_collections(&self, tenant: TenantId) -> Result<Vec<Collection>>;
    /// A page of the tenant's collections, newest first, before `before`.
    async fn collections_page(
        &self,
        tenant: TenantId,
        before: Option<CollectionId>,
        limit: u32,
    ) -> Result<Vec<Collection>>;

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
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<RecordView>>;

    /// Every record about `subject`, oldest first.
    async fn records_of_subject(
        &self,
        tenant: TenantId,
        subject: UserId,
    ) -> Result<Vec<RecordView>>;

    /// Every live record of a collection, oldest first (a disclosure's scope).
    async fn records_of_collection(
        &self,
        tenant: TenantId,
        collection: strongroom_domain::CollectionId,
    ) -> Result<Vec<RecordView>>;

    /// Every record `author` created, oldest first.
    async fn records_by_author(&self, tenant: TenantId, author: UserId) -> Result<Vec<RecordView>>;

    /// Every change `actor` made to any record, oldest first.
    async fn history_by_actor(&self, tenant: TenantId, actor: UserId) -> Result<Vec<HistoryRow>>;

    /// A record's changes, oldest first.
    async fn record_history(&self, tenant: TenantId, id: RecordId) -> Result<Vec<HistoryRow>>;
    /// A page of a record's changes, oldest first, after version `after`.
    async fn history_page(
        &self,
        tenant: TenantId,
        id: RecordId,
        after: u32,
        limit: u32,
    ) -> Result<Vec<HistoryRow>>;

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

#[async_trait]
impl<B: Backend> RecordStore for B {
    async fn insert_collection(&self, col: &Collection) -> Result<()> {
        let col = col.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_COLLECTION,
                    args![
                        col.tenant_id,
                        col.id,
                        col.name.as_str(),
                        col.fields.as_str(),
                        col.created_by,
                        col.created_at,
                        &col.retention
                    ],
                )
                .await
                .map_err(named("collection"))?;
                Ok(())
            })
        })
        .await
    }

    async fn collection_by_name(&self, tenant: TenantId, name: &str) -> Result<Option<Collection>> {
        let name = name.to_owned();
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(
                    sql::COLLECTION_BY_NAME,
                    args![tenant, name.as_str()],
                    rows::collection(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn collections_page(
        &self,
        tenant: TenantId,
        before: Option<CollectionId>,
        limit: u32,
    ) -> Result<Vec<Collection>> {
        let before = before.unwrap_or(CollectionId(uuid::Uuid::max()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::COLLECTIONS_PAGE,
                    args![tenant, before, limit],
                    rows::collection(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn list_collections(&self, tenant: TenantId) -> Result<Vec<Collection>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::LIST_COLLECTIONS,
                    args![tenant],
                    rows::collection(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn insert_record(&self, w: &RecordWrite, log: &ChangeLog) -> Result<()> {
        let (w, log) = (w.clone(), log.clone());
        self.write(move |c| {
            Box::pin(async move {
                let r = &w.record;
                c.execute(
                    sql::INSERT_RECORD,
                    args![
                        r.tenant_id,
                        r.id,
                        r.collection_id,
                        r.subject_id,
                        r.group_id,
                        r.parent_id,
                        r.visibility.as_str(),
                        r.hidden,
                        r.data.as_str(),
                        r.version,
                        r.created_by,
                        r.created_at,
                        r.updated_at,
                        &r.ends_on,
                    ],
                )
                .await
                .map_err(named("subject or group"))?;
                insert_index(c, r, &w.index).await?;
                insert_history(c, r.tenant_id, &w.history, r.version).await?;
                append_log(c, &log).await
            })
        })
        .await
    }

    async fn record(&self, tenant: TenantId, id: RecordId) -> Result<Option<RecordView>> {
        self.point(move |c| Box::pin(record(c, tenant, id))).await
    }

    async fn record_with_files(
        &self,
        tenant: TenantId,
        id: RecordId,
    ) -> Result<Option<(RecordView, Vec<FileRow>)>> {
        self.snapshot(move |c| {
            Box::pin(async move {
                let Some(view) = record(c, tenant, id).await? else {
                    return Ok(None);
                };
                let files = files::of_record(c, tenant, id).await?;
                Ok(Some((view, files)))
            })
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
        self.write(move |c| {
            Box::pin(async move {
                let r = &w.record;
                let n = c
                    .execute(
                        sql::UPDATE_RECORD,
                        args![
                            r.group_id,
                            r.visibility.as_str(),
                            r.hidden,
                            r.data.as_str(),
                            r.version,
                            r.updated_at,
                            &r.ends_on,
                            r.tenant_id,
                            r.id,
                            expected_version,
                        ],
                    )
                    .await
                    .map_err(named("group"))?;
                if n == 0 {
                    return Ok(false);
                }
                c.execute(sql::DELETE_INDEX, args![r.tenant_id, r.id])
                    .await?;
                insert_index(c, r, &w.index).await?;
                insert_history(c, r.tenant_id, &w.history, r.version).await?;
                append_log(c, &log).await?;
                Ok(true)
            })
        })
        .await
    }

    async fn search_records(
        &self,
        tenant: TenantId,
        collection: CollectionId,
        field: &str,
        digest: &[u8; 32],
        after: Option<RecordId>,
        limit: u32,
    ) -> Result<Vec<RecordView>> {
        let (field, digest) = (field.to_owned(), *digest);
        // The least id there can be stands for "from the first".
        let after = after.unwrap_or(RecordId(uuid::Uuid::nil()));
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::SEARCH_RECORDS,
                    args![tenant, collection, field.as_str(), &digest, after, limit],
                    rows::record_view(tenant),
                )
                .await
            })
        })
        .await
    }

    async fn records_of_subject(
        &self,
        tenant: TenantId,
        subject: UserId,
    ) -> Result<Vec<RecordView>> {
        self.scan(move |c| Box::pin(views(c, sql::RECORDS_OF_SUBJECT, tenant, subject.0)))
            .await
    }

    async fn records_of_collection(
        &self,
        tenant: TenantId,
        collection: strongroom_domain::CollectionId,
    ) -> Result<Vec<RecordView>> {
        self.scan(move |c| Box::pin(views(c, sql::RECORDS_OF_COLLECTION, tenant, collection.0)))
            .await
    }

    async fn records_by_author(&self, tenant: TenantId, author: UserId) -> Result<Vec<RecordView>> {
        self.scan(move |c| Box::pin(views(c, sql::RECORDS_BY_AUTHOR, tenant, author.0)))
            .await
    }

    async fn history_by_actor(&self, tenant: TenantId, actor: UserId) -> Result<Vec<HistoryRow>> {
        self.scan(move |c| Box::pin(history(c, sql::HISTORY_BY_ACTOR, tenant, actor.0)))
            .await
    }

    async fn history_page(
        &self,
        tenant: TenantId,
        id: RecordId,
        after: u32,
        limit: u32,
    ) -> Result<Vec<HistoryRow>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::RECORD_HISTORY_PAGE,
                    args![tenant, id, after, limit],
                    rows::history,
                )
                .await
            })
        })
        .await
    }

    async fn record_history(&self, tenant: TenantId, id: RecordId) -> Result<Vec<HistoryRow>> {
        self.scan(move |c| Box::pin(history(c, sql::RECORD_HISTORY, tenant, id.0)))
            .await
    }

    async fn scrub_records(&self, tenant: TenantId, scrubs: &[Scrub]) -> Result<()> {
        let scrubs = scrubs.to_vec();
        self.write(move |c| {
            Box::pin(async move {
                for s in &scrubs {
                    c.execute(sql::SCRUB_RECORD, args![s.data.as_str(), tenant, s.id])
                        .await?;
                    for field in &s.unindex {
                        c.execute(sql::DELETE_INDEX_FIELD, args![tenant, s.id, field])
                            .await?;
                    }
                    c.execute(sql::SCRUB_HISTORY, args![tenant, s.id]).await?;
                }
                Ok(())
            })
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
        self.write(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(sql::SET_SUBJECT_HIDDEN, args![hidden, tenant, subject])
                    .await?;
                append_log(c, &log).await?;
                Ok(n)
            })
        })
        .await
    }
}

async fn record<E: Exec>(c: &mut E, tenant: TenantId, id: RecordId) -> Result<Option<RecordView>> {
    c.query_opt(
        sql::RECORD_VIEW,
        args![tenant, id],
        rows::record_view(tenant),
    )
    .await
}

/// Record views by a (tenant, id) query over `sql::RECORD_VIEW`'s columns.
async fn views<E: Exec>(
    c: &mut E,
    statement: &'static str,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<RecordView>> {
    c.query(statement, args![tenant, id], rows::record_view(tenant))
        .await
}

/// History rows by a (tenant, id) query over `sql::RECORD_HISTORY`'s columns.
async fn history<E: Exec>(
    c: &mut E,
    statement: &'static str,
    tenant: TenantId,
    id: Uuid,
) -> Result<Vec<HistoryRow>> {
    c.query(statement, args![tenant, id], rows::history).await
}

pub(crate) async fn insert_history<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    h: &HistoryRow,
    version: u32,
) -> Result<()> {
    let fields = rows::fields_json(&h.fields);
    c.execute(
        sql::INSERT_HISTORY,
        args![
            tenant,
            h.record_id,
            version,
            h.at,
            h.actor_id,
            h.action.as_str(),
            fields.as_str(),
            &h.data_before,
        ],
    )
    .await
    .map_err(named("history entry"))?;
    Ok(())
}

async fn insert_index<E: Exec>(c: &mut E, r: &RecordRow, index: &[IndexEntry]) -> Result<()> {
    for e in index {
        c.execute(
            sql::INSERT_INDEX,
            args![
                r.tenant_id,
                r.collection_id,
                e.field.as_str(),
                &e.digest,
                r.id
            ],
        )
        .await?;
    }
    Ok(())
}
