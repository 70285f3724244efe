//! Sealing and opening a record's personal values under its subject's key, and the blind
//! indexes of its searchable fields.

use crate::error::failed;
use crate::keys::SubjectKey;
use crate::records::{FieldDef, canonical};
use crate::{CoreError, Services};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use strongroom_domain::RecordId;
use strongroom_store::{Collection, IndexEntry};

impl Services {
    // ── Records ──────────────────────────────────────────────────────────────────────────

    /// The stored form of record data (personal values sealed) and the names of the fields
    /// that have a value.
    pub(crate) fn seal_data(
        tenant: strongroom_domain::TenantId,
        c: &Collection,
        fields: &[FieldDef],
        record: RecordId,
        key: &SubjectKey,
        data: &Map<String, Value>,
    ) -> Result<(Map<String, Value>, Vec<String>), CoreError> {
        let mut stored = Map::new();
        let mut names = Vec::new();
        for f in fields {
            let Some(v) = data.get(&f.name).filter(|v| !v.is_null()) else {
                continue;
            };
            names.push(f.name.clone());
            if f.personal {
                let plain =
                    serde_json::to_vec(v).map_err(failed("a field value does not serialise"))?;
                let sealed = key.seal(tenant, &c.name, record.0, &f.name, &plain)?;
                stored.insert(
                    f.name.clone(),
                    Value::String(URL_SAFE_NO_PAD.encode(sealed)),
                );
            } else {
                stored.insert(f.name.clone(), v.clone());
            }
        }
        Ok((stored, names))
    }

    pub(crate) fn index_entries(
        keys: &crate::keys::TenantKeys,
        c: &Collection,
        fields: &[FieldDef],
        data: &Map<String, Value>,
    ) -> Vec<IndexEntry> {
        fields
            .iter()
            .filter(|f| f.searchable)
            .filter_map(|f| {
                data.get(&f.name)
                    .filter(|v| !v.is_null())
                    .map(|v| IndexEntry {
                        field: f.name.clone(),
                        digest: keys.record_index(c.id.0, &f.name, &canonical(v)),
                    })
            })
            .collect()
    }

    /// Opens stored data: personal values under the subject key (absent once the subject is
    /// forgotten), the rest as stored.
    #[doc(hidden)] // public for the hot-path bench
    pub fn open_data(
        tenant: strongroom_domain::TenantId,
        c: &Collection,
        fields: &[FieldDef],
        record: RecordId,
        key: Option<&SubjectKey>,
        stored: &str,
    ) -> Result<(Map<String, Value>, Vec<String>), CoreError> {
        let stored: Map<String, Value> = serde_json::from_str(stored)
            .map_err(|_| CoreError::internal("stored record data does not parse", ""))?;
        let mut out = Map::new();
        let mut personal = Vec::new();
        for f in fields {
            let Some(v) = stored.get(&f.name) else {
                continue;
            };
            if f.personal {
                let (Some(key), Value::String(b64)) = (key, v) else {
                    continue;
                };
                let sealed = URL_SAFE_NO_PAD
                    .decode(b64)
                    .map_err(failed("a sealed field is not base64"))?;
                let plain = key.open(tenant, &c.name, record.0, &f.name, &sealed)?;
                let value: Value = serde_json::from_slice(&plain)
                    .map_err(failed("an opened field is not JSON"))?;
                out.insert(f.name.clone(), value);
                personal.push(f.name.clone());
            } else {
                out.insert(f.name.clone(), v.clone());
            }
        }
        Ok((out, personal))
    }
}
