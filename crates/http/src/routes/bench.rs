//! The load benchmarks' baselines (cargo feature `bench-endpoints`, never in a served build):
//! the same primary-key read `GET /records/{id}` starts from, and the same insert
//! `POST /collections/{name}/records` ends with, with no authentication, no access check, no
//! encryption or decryption and no privacy log. The read answers the stored row as it is; the
//! insert stores the body's data as plaintext JSON, with one index row per searchable field
//! (the value itself rather than a keyed HMAC) and its history row, as the protected
//! create writes them.

use crate::AppState;
use crate::extract::ApiPath;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use strongroom_domain::{GroupId, RecordId, TenantId, UserId, Visibility};
use strongroom_store::{ChangeLog, HistoryRow, IndexEntry, RecordRow, RecordWrite};

#[derive(Serialize)]
pub struct RawRecord {
    id: RecordId,
    collection: String,
    subject_id: UserId,
    /// As stored: personal values are still ciphertext.
    data: String,
}

pub async fn raw_record(
    State(s): State<AppState>,
    ApiPath((tenant, id)): ApiPath<(TenantId, RecordId)>,
) -> Result<Json<RawRecord>, Problem> {
    let view = s
        .services
        .store
        .record(tenant, id)
        .await
        .map_err(strongroom_core::CoreError::from)?
        .ok_or_else(|| Problem::new(crate::problem::Code::NotFound, "record not found"))?;
    Ok(Json(RawRecord {
        id: view.record.id,
        collection: view.collection.name,
        subject_id: view.record.subject_id,
        data: view.record.data,
    }))
}

#[derive(Deserialize)]
pub struct RawNewRecord {
    subject_id: UserId,
    group_id: Option<GroupId>,
    data: Map<String, Value>,
}

#[derive(Serialize)]
pub struct RawCreated {
    id: RecordId,
}

pub async fn raw_insert(
    State(s): State<AppState>,
    ApiPath((tenant, collection)): ApiPath<(TenantId, String)>,
    Json(new): Json<RawNewRecord>,
) -> Result<(StatusCode, Json<RawCreated>), Problem> {
    let store = &s.services.store;
    let c = store
        .collection_by_name(tenant, &collection)
        .await
        .map_err(strongroom_core::CoreError::from)?
        .ok_or_else(|| Problem::new(crate::problem::Code::NotFound, "collection not found"))?;
    let searchable: Vec<String> = serde_json::from_str::<Vec<Value>>(&c.fields)
        .unwrap_or_default()
        .iter()
        .filter(|f| f["searchable"] == Value::Bool(true))
        .filter_map(|f| f["name"].as_str().map(str::to_owned))
        .collect();
    let index = searchable
        .into_iter()
        .filter_map(|field| {
            // Unprotected: the value's first 32 bytes themselves, where the vault stores a
            // keyed HMAC.
            let value = new.data.get(&field)?.to_string();
            let mut digest = [0u8; 32];
            for (d, b) in digest.iter_mut().zip(value.bytes()) {
                *d = b;
            }
            Some(IndexEntry { field, digest })
        })
        .collect();
    let id = RecordId::new();
    let now = s.services.clock.now();
    let names = new.data.keys().cloned().collect();
    let row = RecordRow {
        tenant_id: tenant,
        id,
        collection_id: c.id,
        subject_id: new.subject_id,
        group_id: new.group_id,
        parent_id: None,
        visibility: Visibility::Private,
        hidden: false,
        ends_on: None,
        data: Value::Object(new.data).to_string(),
        version: 1,
        created_by: new.subject_id,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        held_at: None,
    };
    let history = HistoryRow {
        record_id: id,
        version: 1,
        at: now,
        actor_id: new.subject_id,
        action: "create".into(),
        fields: names,
        data_before: None,
    };
    store
        .insert_record(
            &RecordWrite {
                record: row,
                index,
                history,
            },
            &ChangeLog::none(),
        )
        .await
        .map_err(strongroom_core::CoreError::from)?;
    Ok((StatusCode::CREATED, Json(RawCreated { id })))
}
