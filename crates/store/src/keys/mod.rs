//! The stored half of the key hierarchy: tenant keys wrapped under root keys, subject keys
//! wrapped under the tenant's KEK, and rotation's bookkeeping. Only wrapped keys reach here.

use crate::exec::{Backend, Exec, args, named};
use crate::{Result, TenantKeyRow, WrappedSubjectKey, rows, sql};
use async_trait::async_trait;
use strongroom_domain::{TenantId, Timestamp};
use uuid::Uuid;

#[async_trait]
pub trait KeyStore: Send + Sync {
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
impl<B: Backend> KeyStore for B {
    async fn tenant_keys(&self, tenant: TenantId) -> Result<Vec<TenantKeyRow>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(sql::TENANT_KEYS, args![tenant], rows::tenant_key(tenant))
                    .await
            })
        })
        .await
    }

    async fn insert_tenant_keys(&self, keys: &[TenantKeyRow]) -> Result<()> {
        let keys = keys.to_vec();
        self.write(move |c| Box::pin(async move { insert_tenant_keys(c, &keys).await }))
            .await
    }

    async fn subject_key(
        &self,
        tenant: TenantId,
        subject: Uuid,
    ) -> Result<Option<WrappedSubjectKey>> {
        self.point(move |c| Box::pin(subject_key(c, tenant, subject)))
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
        self.write_one(move |c| {
            Box::pin(async move {
                insert_subject_key(
                    c,
                    sql::INSERT_SUBJECT_KEY_IF_ABSENT,
                    tenant,
                    subject,
                    &key,
                    now,
                )
                .await
            })
        })
        .await
    }

    async fn delete_other_root_wrappings(&self, tenant: TenantId, keep: &[u8; 16]) -> Result<u64> {
        let keep = *keep;
        self.write_one(move |c| {
            Box::pin(async move {
                Ok(
                    c.execute(sql::DELETE_OTHER_ROOT_WRAPPINGS, args![tenant, &keep])
                        .await?,
                )
            })
        })
        .await
    }

    async fn subject_keys_below(
        &self,
        tenant: TenantId,
        version: u32,
        limit: u32,
    ) -> Result<Vec<(Uuid, WrappedSubjectKey)>> {
        self.scan(move |c| {
            Box::pin(async move {
                c.query(
                    sql::SUBJECT_KEYS_BELOW,
                    args![tenant, version, limit],
                    |r| {
                        let key = rows::subject_key_at(r, 1)?;
                        Ok((r.get(0)?, key.ok_or_else(|| rows::corrupt("subject key"))?))
                    },
                )
                .await
            })
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
        self.write_one(move |c| {
            Box::pin(async move {
                let n = c
                    .execute(
                        sql::REWRAP_SUBJECT_KEY,
                        args![new.kek_version, &new.wrapped, tenant, subject, from_version],
                    )
                    .await?;
                Ok(n == 1)
            })
        })
        .await
    }

    async fn retire_old_keks(&self, tenant: TenantId, version: u32) -> Result<bool> {
        self.write(move |c| {
            Box::pin(async move {
                // Serialise with key creation for this tenant while checking and retiring.
                c.lock(sql::LOCK_KEKS_PG, args![tenant]).await?;
                let pending = c
                    .query_opt(sql::OLD_KEK_IN_USE, args![tenant, version], |_| Ok(()))
                    .await?;
                if pending.is_some() {
                    return Ok(false);
                }
                c.execute(sql::RETIRE_OLD_KEKS, args![tenant, version])
                    .await?;
                Ok(true)
            })
        })
        .await
    }
}

pub(crate) async fn subject_key<E: Exec>(
    c: &mut E,
    tenant: TenantId,
    subject: Uuid,
) -> Result<Option<WrappedSubjectKey>> {
    c.query_opt(sql::SUBJECT_KEY, args![tenant, subject], rows::subject_key)
        .await
}

/// Inserts a subject key with `statement` (plain, or "unless present").
pub(crate) async fn insert_subject_key<E: Exec>(
    c: &mut E,
    statement: &'static str,
    tenant: TenantId,
    subject: Uuid,
    key: &WrappedSubjectKey,
    now: Timestamp,
) -> Result<()> {
    c.execute(
        statement,
        args![
            tenant,
            subject,
            key.key_id,
            key.kek_version,
            &key.wrapped,
            now
        ],
    )
    .await
    .map_err(named("subject key"))?;
    Ok(())
}

pub(crate) async fn insert_tenant_keys<E: Exec>(c: &mut E, keys: &[TenantKeyRow]) -> Result<()> {
    for k in keys {
        c.execute(
            sql::INSERT_TENANT_KEY,
            args![
                k.tenant_id,
                k.purpose.as_str(),
                k.version,
                &k.root_key_id,
                &k.wrapped,
                k.created_at
            ],
        )
        .await
        .map_err(named("tenant key"))?;
    }
    Ok(())
}
