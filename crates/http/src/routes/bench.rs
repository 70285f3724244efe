//! The load benchmark's baseline (cargo feature `bench-endpoints`, never in a served build):
//! the same primary-key read `GET /records/{id}` starts from, with no authentication, no access
//! check, no decryption and no privacy log. It answers the stored row as it is.

use crate::AppState;
use crate::extract::ApiPath;
use crate::problem::Problem;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use strongroom_domain::{RecordId, TenantId, UserId};

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
