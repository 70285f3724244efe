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
use strongroom_crypto::field::FieldContext;
use strongroom_crypto::keys::aad;
use strongroom_crypto::{Key32, KeyFile, RootKeyId, field};
use strongroom_domain::{TenantId, Timestamp};
use strongroom_store::{KeyPurpose, KeyStore, TenantKeyRow, TenantStore, WrappedSubjectKey};
use uuid::Uuid;
use zeroize::Zeroizing;

fn broken(what: &'static str) -> CoreError {
    CoreError::internal(what, "key hierarchy failure")
}

pub struct Keyring {
    roots: HashMap<RootKeyId, Key32>,
    current_root: RootKeyId,
    audit_signing: Option<Key32>,
    backup: Option<Key32>,
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
        let audit_signing = file.audit_signing;
        let backup = file.backup;
        let roots = file.roots.into_iter().map(|r| (r.id, r.key)).collect();
        Self {
            roots,
            current_root,
            audit_signing,
            backup,
            tenants: RwLock::new(HashMap::new()),
        }
    }

    /// The key that signs privacy-log checkpoints (from the key file).
    pub fn audit_signing_key(&self) -> Option<&Key32> {
        self.audit_signing.as_ref()
    }

    /// The keys backups are sealed under (derived from the key file's backup key).
    pub fn backup_keys(&self) -> Option<strongroom_crypto::backup::BackupKeys> {
        self.backup
            .as_ref()
            .map(strongroom_crypto::backup::BackupKeys::derive)
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
        store: &dyn KeyStore,
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

    /// The tenant's keys, reloaded if the cached ones lack KEK version `version` (it was
    /// rotated by another process since we cached them).
    pub async fn tenant_with_kek(
        &self,
        store: &dyn KeyStore,
        tenant: TenantId,
        version: u32,
        now: Timestamp,
    ) -> Result<Arc<TenantKeys>, CoreError> {
        let keys = self.tenant(store, tenant, now).await?;
        if keys.keks.contains_key(&version) {
            return Ok(keys);
        }
        self.forget_tenant(tenant);
        self.tenant(store, tenant, now).await
    }

    /// The tenant's keys as stored right now (for new subject keys: always the newest KEK).
    pub async fn tenant_fresh(
        &self,
        store: &dyn KeyStore,
        tenant: TenantId,
        now: Timestamp,
    ) -> Result<Arc<TenantKeys>, CoreError> {
        self.forget_tenant(tenant);
        self.tenant(store, tenant, now).await
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

/// What a rotation step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RotationReport {
    pub tenants: usize,
    /// Tenant-key wrappings added under the new root, or subject keys re-wrapped.
    pub rewrapped: usize,
    /// The tenant's KEK version after a tenant rotation.
    pub kek_version: u32,
}

/// Subject keys re-wrapped per batch during a tenant rotation.
const REWRAP_BATCH: u32 = 500;

impl Keyring {
    /// Root rotation, step 1 (resumable): gives every key of every tenant a wrapping under the
    /// current root key. Wrappings under the previous root stay, so servers still running with
    /// the previous key file keep working. `progress(done, total)` is called per tenant.
    pub async fn wrap_all_under_current_root(
        &self,
        store: &(impl KeyStore + TenantStore + ?Sized),
        now: Timestamp,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RotationReport, CoreError> {
        let root = self.current_root()?;
        let tenants = store.list_tenants().await?;
        let mut report = RotationReport {
            tenants: tenants.len(),
            ..RotationReport::default()
        };
        for (i, t) in tenants.iter().enumerate() {
            let rows = store.tenant_keys(t.id).await?;
            let mut missing = Vec::new();
            for r in &rows {
                let done = rows.iter().any(|o| {
                    o.purpose == r.purpose
                        && o.version == r.version
                        && o.root_key_id == self.current_root
                });
                let queued = missing
                    .iter()
                    .any(|m: &TenantKeyRow| m.purpose == r.purpose && m.version == r.version);
                let Some(old_root) = self.roots.get(&r.root_key_id).filter(|_| !done && !queued)
                else {
                    continue;
                };
                let key = old_root
                    .unwrap_key(
                        &tenant_key_aad(t.id, r.purpose, r.version, &r.root_key_id),
                        &r.wrapped,
                    )
                    .map_err(|_| broken("tenant key does not unwrap under its root key"))?;
                let wrapped = root
                    .wrap(
                        &tenant_key_aad(t.id, r.purpose, r.version, &self.current_root),
                        &key,
                    )
                    .map_err(|_| broken("wrap tenant key"))?;
                missing.push(TenantKeyRow {
                    root_key_id: self.current_root,
                    wrapped,
                    created_at: now,
                    ..r.clone()
                });
            }
            report.rewrapped += missing.len();
            store.insert_tenant_keys(&missing).await?;
            progress(i + 1, tenants.len());
        }
        Ok(report)
    }

    /// Root rotation, step 2: once every tenant key is wrapped under the current root, removes
    /// the wrappings under any other root. Refuses if a tenant key still lacks one.
    pub async fn drop_other_root_wrappings(
        &self,
        store: &(impl KeyStore + TenantStore + ?Sized),
    ) -> Result<u64, CoreError> {
        let tenants = store.list_tenants().await?;
        for t in &tenants {
            let rows = store.tenant_keys(t.id).await?;
            let uncovered = rows.iter().any(|r| {
                !rows.iter().any(|o| {
                    o.purpose == r.purpose
                        && o.version == r.version
                        && o.root_key_id == self.current_root
                })
            });
            if uncovered {
                return Err(CoreError::Invalid(format!(
                    "tenant {} has keys not yet wrapped under the new root key; run `strongroom keys rotate --root` again first",
                    t.slug
                )));
            }
        }
        let mut removed = 0;
        for t in &tenants {
            removed += store
                .delete_other_root_wrappings(t.id, &self.current_root)
                .await?;
            self.forget_tenant(t.id);
        }
        Ok(removed)
    }

    /// Tenant rotation (resumable): a new KEK version, every live subject key re-wrapped under
    /// it (no data is rewritten), then the old versions retired. A run that was interrupted
    /// continues with the version it created.
    pub async fn rotate_kek(
        &self,
        store: &dyn KeyStore,
        tenant: TenantId,
        now: Timestamp,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<RotationReport, CoreError> {
        let rows = store.tenant_keys(tenant).await?;
        let versions: Vec<u32> = rows
            .iter()
            .filter(|r| r.purpose == KeyPurpose::Kek)
            .map(|r| r.version)
            .collect();
        let newest = versions
            .iter()
            .copied()
            .max()
            .ok_or_else(|| broken("tenant has no key-encryption key"))?;
        let resuming = versions.iter().any(|v| *v < newest);
        let target = if resuming {
            newest
        } else {
            let version = newest + 1;
            let key = Key32::generate();
            // Wrapped under every root the tenant's keys are wrapped under now (during a root
            // rotation that is the old one as well), so servers still running with the
            // previous key file can unwrap it too.
            let mut roots: Vec<RootKeyId> = vec![self.current_root];
            for r in &rows {
                if !roots.contains(&r.root_key_id) && self.roots.contains_key(&r.root_key_id) {
                    roots.push(r.root_key_id);
                }
            }
            let mut new_rows = Vec::with_capacity(roots.len());
            for root_id in roots {
                let root = self
                    .roots
                    .get(&root_id)
                    .ok_or_else(|| broken("root key vanished"))?;
                let wrapped = root
                    .wrap(
                        &tenant_key_aad(tenant, KeyPurpose::Kek, version, &root_id),
                        &key,
                    )
                    .map_err(|_| broken("wrap tenant key"))?;
                new_rows.push(TenantKeyRow {
                    tenant_id: tenant,
                    purpose: KeyPurpose::Kek,
                    version,
                    root_key_id: root_id,
                    wrapped,
                    created_at: now,
                });
            }
            store.insert_tenant_keys(&new_rows).await?;
            version
        };
        let keys = self.tenant_fresh(store, tenant, now).await?;
        let new_kek = keys
            .keks
            .get(&target)
            .ok_or_else(|| broken("the new key-encryption key does not unwrap"))?;
        let mut report = RotationReport {
            tenants: 1,
            rewrapped: 0,
            kek_version: target,
        };
        loop {
            let batch = store
                .subject_keys_below(tenant, target, REWRAP_BATCH)
                .await?;
            if batch.is_empty() {
                break;
            }
            for (subject, old) in &batch {
                let key = keys.open_subject_key(*subject, old)?;
                let wrapped = new_kek
                    .wrap(
                        &subject_key_aad(tenant, *subject, old.key_id, target),
                        &key.key,
                    )
                    .map_err(|_| broken("wrap subject key"))?;
                let new = WrappedSubjectKey {
                    key_id: old.key_id,
                    kek_version: target,
                    wrapped,
                };
                if store
                    .rewrap_subject_key(tenant, *subject, old.kek_version, &new)
                    .await?
                {
                    report.rewrapped += 1;
                }
            }
            progress(report.rewrapped, report.rewrapped + batch.len());
        }
        if !store.retire_old_keks(tenant, target).await? {
            return Err(CoreError::Conflict(
                "subject keys were added under an old key while rotating; run the rotation again"
                    .into(),
            ));
        }
        self.forget_tenant(tenant);
        Ok(report)
    }
}

impl TenantKeys {
    /// The login lookup key of an e-mail address: HMAC under the tenant's blind-index key.
    pub fn email_index(&self, normalised_email: &str) -> [u8; 32] {
        self.blind.blind_index("user-email", normalised_email)
    }

    /// The search key of a searchable record field's value: HMAC under the blind-index key,
    /// labelled with the collection and field so equal values elsewhere do not match.
    pub fn record_index(&self, collection: Uuid, field: &str, canonical_value: &str) -> [u8; 32] {
        self.blind
            .blind_index(&format!("record:{collection}:{field}"), canonical_value)
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

    /// The newest KEK version (the one new subject keys are wrapped under).
    pub fn kek_version(&self) -> u32 {
        self.keks.keys().next_back().copied().unwrap_or(0)
    }
}

impl SubjectKey {
    /// The key of one stored file of this subject (HKDF from the subject key and file id):
    /// destroying the subject key makes every file of the subject unreadable too.
    pub fn file_key(&self, file_id: Uuid) -> strongroom_crypto::stream::FileKey {
        strongroom_crypto::stream::derive_file_key(self.key.expose(), file_id.as_bytes())
    }

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
