//! The privacy log's storage: each tenant's hash chain, its head (locked by every append, so
//! instances sharing a database extend one chain), and the signed checkpoints.

use crate::exec::{Backend, Exec, args};
use crate::{
    ChainFn, ChangeLog, PrivacyCheckpoint, PrivacyEntry, PrivacyQuery, PrivacyRecord, Result,
    StoreError, rows, sql,
};
use async_trait::async_trait;
use strongroom_domain::{TenantId, to_millis};

#[async_trait]
pub trait PrivacyLogStore: Send + Sync {
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
impl<B: Backend> PrivacyLogStore for B {
    async fn append_privacy(
        &self,
        tenant: TenantId,
        entries: &[PrivacyEntry],
        genesis: [u8; 32],
        chain: ChainFn,
    ) -> Result<Vec<u64>> {
        let entries = entries.to_vec();
        self.write(move |c| {
            Box::pin(async move { append_chain(c, tenant, &entries, genesis, chain).await })
        })
        .await
    }

    async fn privacy_page(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<PrivacyRecord>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::PRIVACY_PAGE,
                    args![tenant, seq(after)?, limit],
                    rows::privacy,
                )
                .await
            })
        })
        .await
    }

    async fn privacy_head(&self, tenant: TenantId) -> Result<Option<(u64, [u8; 32])>> {
        self.point(move |c| {
            Box::pin(async move {
                c.query_opt(sql::PRIVACY_HEAD, args![tenant], rows::head)
                    .await
            })
        })
        .await
    }

    async fn privacy_query(
        &self,
        tenant: TenantId,
        q: &PrivacyQuery,
    ) -> Result<Vec<PrivacyRecord>> {
        let q = q.clone();
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::PRIVACY_QUERY,
                    args![
                        tenant,
                        q.subject.is_none(),
                        q.subject,
                        q.actor.is_none(),
                        q.actor,
                        q.from.map_or(i64::MIN, to_millis),
                        q.to.map_or(i64::MAX, to_millis),
                        // A cursor beyond any sequence number pages from the newest.
                        q.before
                            .map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX)),
                        q.limit
                    ],
                    rows::privacy,
                )
                .await
            })
        })
        .await
    }

    async fn insert_checkpoint(&self, tenant: TenantId, cp: &PrivacyCheckpoint) -> Result<()> {
        let cp = cp.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                c.execute(
                    sql::INSERT_CHECKPOINT,
                    args![tenant, seq(cp.seq)?, &cp.hash, cp.at, &cp.signature],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn checkpoints(&self, tenant: TenantId) -> Result<Vec<PrivacyCheckpoint>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::CHECKPOINTS, args![tenant], |r| {
                    let (seq, hash) = rows::head(r)?;
                    Ok(PrivacyCheckpoint {
                        seq,
                        hash,
                        at: r.get(2)?,
                        signature: r.get(3)?,
                    })
                })
                .await
            })
        })
        .await
    }
}

fn seq(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| StoreError::Backend("sequence number out of range".to_owned()))
}

/// Appends entries to a tenant's chain inside the caller's write transaction, holding the
/// chain head: PostgreSQL locks the head row (every instance appends to one chain); SQLite's
/// write transaction is the only writer already.
pub(crate) async fn append_chain<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    entries: &[PrivacyEntry],
    genesis: [u8; 32],
    chain: ChainFn,
) -> Result<Vec<u64>> {
    c.execute(sql::ENSURE_PRIVACY_HEAD, args![tenant, &genesis])
        .await?;
    let head = E::DIALECT.pick(sql::PRIVACY_HEAD, sql::LOCK_PRIVACY_HEAD);
    let (mut n, mut prev) = c.query_one(head, args![tenant], rows::head).await?;
    let mut seqs = Vec::with_capacity(entries.len());
    for e in entries {
        n += 1;
        prev = chain(tenant, &prev, n, e);
        let fields = e.fields.join(",");
        c.execute(
            sql::INSERT_PRIVACY,
            args![
                tenant,
                seq(n)?,
                e.at,
                e.actor_id,
                e.via.as_str(),
                e.subject_id,
                e.object_type.as_str(),
                e.object_id,
                e.action.as_str(),
                fields.as_str(),
                e.decision.as_str(),
                &e.client_sealed,
                &prev
            ],
        )
        .await?;
        seqs.push(n);
    }
    c.execute(sql::SET_PRIVACY_HEAD, args![seq(n)?, &prev, tenant])
        .await?;
    Ok(seqs)
}

/// Appends a change's entries inside the change's own transaction (nothing if it has none).
pub(crate) async fn append_log<E: Exec>(c: &mut E, log: &ChangeLog) -> Result<()> {
    if log.entries.is_empty() {
        return Ok(());
    }
    append_chain(c, log.tenant, &log.entries, log.genesis, log.chain)
        .await
        .map(drop)
}
