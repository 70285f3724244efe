//! The key hierarchy at run time.
//!
//! ```text
//! root key (key file, in memory)
//!   └─ tenant key-encryption key, per version (tenant_keys, wrapped by a root key)
//!   └─ tenant blind-index key (tenant_keys, wrapped by a root key)
//!        subject key, one per data subject (subject_keys, wrapped by the tenant KEK)
//!          └─ the subject's personal fields (sealed, bound to tenant/table/row/field)
//! ```
//!
//! Tenant keys are unwrapped on first use and cached. Subject keys are unwrapped for each use
//! and never cached: destroying one (crypto-shredding) takes effect at once, on every server.

use crate::CoreError;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use strongroom_crypto::field::{self, FieldContext};
use strongroom_crypto::keys::aad;
use strongroom_crypto::{Key32, KeyFile, RootKeyId};
use strongroom_domain::{TenantId, Timestamp};
use strongroom_store::{KeyPurpose, Store, TenantKeyRow, WrappedSubjectKey};
use uuid::Uuid;
use zeroize::Zeroizing;

fn broken(what: &str) -> CoreError {
    tracing::error!(what, "key hierarchy failure");
    CoreError::Internal
}

pub struct Keyring {
    roots: HashMap<RootKeyId, Key32>,
    current_root: RootKeyId,
    tenants: RwLock<HashMap<TenantId, Arc<TenantKeys>>>,
}

/// A tenant's unwrapped keys.
pub struct TenantKeys {
    tenant: TenantId,
    keks: BTreeMap<u32, Key32>,
    blind: Key32,
}

/// An unwrapped subject key, for one use.
pub struct SubjectKey {
    pub id: Uuid,
    key: Key32,
}

fn tenant_key_aad(
    tenant: TenantId,
    purpose: KeyPurpose,
    version: u32,
    root: &RootKeyId,
) -> Vec<u8> {
    aad(&[
        b"strongroom-tenant-key-v1",
        tenant.as_bytes(),
        purpose.as_str().as_bytes(),
        &version.to_be_bytes(),
        root,
    ])
}

fn subject_key_aad(tenant: TenantId, subject: Uuid, key_id: Uuid, kek_version: u32) -> Vec<u8> {
    aad(&[
        b"strongroom-subject-key-v1",
        tenant.as_bytes(),
        subject.as_bytes(),
        key_id.as_bytes(),
        &kek_version.to_be_bytes(),
    ])
}

impl Keyring {
    pub fn new(file: KeyFile) -> Self {
        let current_root = file.current;
        let roots = file.roots.into_iter().map(|r| (r.id, r.key)).collect();
        Self {
            roots,
            current_root,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    pub fn current_root_id(&self) -> RootKeyId {
        self.current_root
    }

    fn current_root(&self) -> Result<&Key32, CoreError> {
        self.roots
            .get(&self.current_root)
            .ok_or_else(|| broken("current root key missing"))
    }

    /// Fresh keys (KEK version 1 and the blind-index key) for a new tenant, wrapped under the
    /// current root key, ready to be stored with the tenant.
    pub fn new_tenant_keys(
        &self,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<(Vec<TenantKeyRow>, TenantKeys), CoreError> {
        let root = self.current_root()?;
        let kek = Key32::generate();
        let blind = Key32::generate();
        let row = |purpose, key: &Key32| -> Result<TenantKeyRow, CoreError> {
            Ok(TenantKeyRow {
                tenant_id: tenant,
                purpose,
                version: 1,
                root_key_id: self.current_root,
                wrapped: root
                    .wrap(&tenant_key_aad(tenant, purpose, 1, &self.current_root), key)
                    .map_err(|_| broken("wrap tenant key"))?,
                created_at: now,
            })
        };
        let rows = vec![
            row(KeyPurpose::Kek, &kek)?,
            row(KeyPurpose::BlindIndex, &blind)?,
        ];
        Ok((
            rows,
            TenantKeys {
                tenant,
                keks: BTreeMap::from([(1, kek)]),
                blind,
            },
        ))
    }

    /// Adds a tenant's freshly stored keys to the cache.
    pub fn remember(&self, keys: TenantKeys) -> Arc<TenantKeys> {
        let keys = Arc::new(keys);
        if let Ok(mut m) = self.tenants.write() {
            m.insert(keys.tenant, keys.clone());
        }
        keys
    }

    /// The tenant's keys: from the cache, or unwrapped from the store. A tenant that has no keys
    /// yet (created before the key hierarchy existed) gets them now.
    pub async fn tenant(
        &self,
        store: &dyn Store,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<Arc<TenantKeys>, CoreError> {
        if let Some(k) = self
            .tenants
            .read()
            .ok()
            .and_then(|m| m.get(&tenant).cloned())
        {
            return Ok(k);
        }
        let mut rows = store.tenant_keys(tenant).await?;
        if !rows.iter().any(|r| r.purpose == KeyPurpose::Kek)
            || !rows.iter().any(|r| r.purpose == KeyPurpose::BlindIndex)
        {
            let (fresh, _) = self.new_tenant_keys(tenant, now)?;
            let missing: Vec<_> = fresh
                .into_iter()
                .filter(|f| !rows.iter().any(|r| r.purpose == f.purpose))
                .collect();
            store.insert_tenant_keys(&missing).await?;
            rows = store.tenant_keys(tenant).await?;
        }
        let keys = self.unwrap_tenant_keys(tenant, &rows)?;
        Ok(self.remember(keys))
    }

    /// Drops a tenant's cached keys (after its KEK was rotated elsewhere, or it was destroyed).
    pub fn forget_tenant(&self, tenant: TenantId) {
        if let Ok(mut m) = self.tenants.write() {
            m.remove(&tenant);
        }
    }

    fn unwrap_tenant_keys(
        &self,
        tenant: TenantId,
        rows: &[TenantKeyRow],
    ) -> Result<TenantKeys, CoreError> {
        let mut keks = BTreeMap::new();
        let mut blind = None;
        for r in rows {
            // Any root key we hold will do (during a root rotation a key has two wrappings).
            let Some(root) = self.roots.get(&r.root_key_id) else {
                continue;
            };
            let key = root
                .unwrap_key(
                    &tenant_key_aad(tenant, r.purpose, r.version, &r.root_key_id),
                    &r.wrapped,
                )
                .map_err(|_| broken("tenant key does not unwrap under its root key"))?;
            match r.purpose {
                KeyPurpose::Kek => {
                    keks.insert(r.version, key);
                }
                KeyPurpose::BlindIndex => blind = Some(key),
            }
        }
        let blind = blind.ok_or_else(|| broken("no blind-index key under a known root key"))?;
        if keks.is_empty() {
            return Err(broken("no key-encryption key under a known root key"));
        }
        Ok(TenantKeys {
            tenant,
            keks,
            blind,
        })
    }
}

impl TenantKeys {
    /// The login lookup key of an e-mail address: HMAC under the tenant's blind-index key.
    pub fn email_index(&self, normalised_email: &str) -> [u8; 32] {
        self.blind.blind_index("user-email", normalised_email)
    }

    fn current_kek(&self) -> Result<(u32, &Key32), CoreError> {
        self.keks
            .iter()
            .next_back()
            .map(|(v, k)| (*v, k))
            .ok_or_else(|| broken("no key-encryption key"))
    }

    /// A new key for a data subject, wrapped under the current KEK.
    pub fn new_subject_key(
        &self,
        subject: Uuid,
    ) -> Result<(WrappedSubjectKey, SubjectKey), CoreError> {
        let (version, kek) = self.current_kek()?;
        let key = Key32::generate();
        let id = Uuid::new_v4();
        let wrapped = kek
            .wrap(&subject_key_aad(self.tenant, subject, id, version), &key)
            .map_err(|_| broken("wrap subject key"))?;
        Ok((
            WrappedSubjectKey {
                key_id: id,
                kek_version: version,
                wrapped,
            },
            SubjectKey { id, key },
        ))
    }

    pub fn open_subject_key(
        &self,
        subject: Uuid,
        w: &WrappedSubjectKey,
    ) -> Result<SubjectKey, CoreError> {
        let kek = self
            .keks
            .get(&w.kek_version)
            .ok_or_else(|| broken("subject key wrapped under an unknown KEK version"))?;
        let key = kek
            .unwrap_key(
                &subject_key_aad(self.tenant, subject, w.key_id, w.kek_version),
                &w.wrapped,
            )
            .map_err(|_| broken("subject key does not unwrap"))?;
        Ok(SubjectKey { id: w.key_id, key })
    }

    pub fn tenant(&self) -> TenantId {
        self.tenant
    }
}

impl SubjectKey {
    pub fn seal(
        &self,
        tenant: TenantId,
        table: &str,
        row: Uuid,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CoreError> {
        let ctx = FieldContext {
            tenant: tenant.as_bytes(),
            table,
            row: row.as_bytes(),
            field: name,
        };
        field::seal(&self.key, self.id.as_bytes(), &ctx, plaintext)
            .map_err(|_| broken("seal field"))
    }

    pub fn open(
        &self,
        tenant: TenantId,
        table: &str,
        row: Uuid,
        name: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CoreError> {
        let ctx = FieldContext {
            tenant: tenant.as_bytes(),
            table,
            row: row.as_bytes(),
            field: name,
        };
        field::open(&self.key, &ctx, sealed)
            .map_err(|_| broken("sealed field does not open in its context"))
    }
}
