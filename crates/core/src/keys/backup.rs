//! The key backup: every tenant key wrapping and every live subject key, exported apart from
//! the data so that data backups can leave key material out. Restoring old data with the
//! newest key backup never brings a destroyed subject key back: forgotten people stay forgotten.
//!
//! Everything in it is still wrapped (tenant keys by a root key, subject keys by a tenant
//! KEK); the file is additionally encrypted under its own passphrase by the caller.

use crate::CoreError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use strongroom_domain::{TenantId, Timestamp};
use strongroom_store::{KeyStore, TenantStore};

pub const FORMAT: &str = "strongroom-key-backup";

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct KeyBackup {
    pub format: String,
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: Timestamp,
    pub tenants: Vec<TenantKeysBackup>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct TenantKeysBackup {
    pub tenant_id: TenantId,
    pub tenant_keys: Vec<TenantKeyBackup>,
    pub subject_keys: Vec<SubjectKeyBackup>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct TenantKeyBackup {
    pub purpose: String,
    pub version: u32,
    /// Hex id of the root key that wraps it.
    pub root_key_id: String,
    /// Base64 of the wrapped key.
    pub wrapped: String,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Eq)]
pub struct SubjectKeyBackup {
    pub subject_id: uuid::Uuid,
    pub key_id: uuid::Uuid,
    pub kek_version: u32,
    /// Base64 of the wrapped key.
    pub wrapped: String,
}

/// Collects the key backup of every tenant. `progress(done, total)` per tenant.
pub async fn export(
    store: &(impl KeyStore + TenantStore + ?Sized),
    now: Timestamp,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<KeyBackup, CoreError> {
    let tenants = store.list_tenants().await?;
    let mut out = Vec::with_capacity(tenants.len());
    for (i, t) in tenants.iter().enumerate() {
        let tenant_keys = store
            .tenant_keys(t.id)
            .await?
            .into_iter()
            .map(|k| TenantKeyBackup {
                purpose: k.purpose.as_str().to_owned(),
                version: k.version,
                root_key_id: strongroom_crypto::KeyFile::id_hex(&k.root_key_id),
                wrapped: STANDARD.encode(&k.wrapped),
            })
            .collect();
        // Every live subject key: all are below the largest possible version.
        let subject_keys = store
            .subject_keys_below(t.id, u32::MAX, u32::MAX)
            .await?
            .into_iter()
            .map(|(subject_id, k)| SubjectKeyBackup {
                subject_id,
                key_id: k.key_id,
                kek_version: k.kek_version,
                wrapped: STANDARD.encode(&k.wrapped),
            })
            .collect();
        out.push(TenantKeysBackup {
            tenant_id: t.id,
            tenant_keys,
            subject_keys,
        });
        progress(i + 1, tenants.len());
    }
    Ok(KeyBackup {
        format: FORMAT.into(),
        version: 1,
        created_at: now,
        tenants: out,
    })
}
