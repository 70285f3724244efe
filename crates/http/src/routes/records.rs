//! `/collections`, `/records` and their files, and `/policies`: the personal data itself,
//! behind the four-level access check of `strongroom-core`.

use crate::AppState;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Caller, ClientIp};
use crate::problem::{Problem, ProblemBody};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;
use strongroom_core::CoreError;
use strongroom_core::records::LegalRetention;
use strongroom_core::records::{
    CollectionInfo, FieldDef, FileInfo, HistoryInfo, NewRecord, RecordChanges, RecordInfo,
    Visibility,
};
use strongroom_domain::{GroupId, RecordId, UserId};

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCollectionRequest {
    #[schema(pattern = "^[a-z][a-z0-9_]{0,62}$")]
    name: String,
    /// 1 to 64 fields, each name once; a `number` field cannot be searchable.
    #[schema(min_items = 1, max_items = 64)]
    fields: Vec<FieldDef>,
    /// A legal retention period: records whose end date is older are purged.
    retention: Option<LegalRetention>,
}

/// Define a collection (content developers and administrators, by the template's policies).
#[utoipa::path(post, path = "/api/v1/collections", tag = "records", security(("bearer" = [])), request_body = CreateCollectionRequest,
    responses((status = 201, body = CollectionInfo), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 409, body = ProblemBody)))]
pub async fn create_collection(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<CreateCollectionRequest>,
) -> Result<(StatusCode, Json<CollectionInfo>), Problem> {
    let c = s
        .services
        .create_collection(&p, Some(ip), &req.name, req.fields, req.retention)
        .await?;
    Ok((StatusCode::CREATED, Json(c)))
}

/// The tenant's collections and their fields, newest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/collections", tag = "records", security(("bearer" = [])), params(crate::routes::paging::PageParams),
    responses((status = 200, body = [CollectionInfo],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody)))]
pub async fn list_collections(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiQuery(q): ApiQuery<crate::routes::paging::PageParams>,
) -> Result<Response, Problem> {
    let limit = q.limit()?;
    let page = s
        .services
        .list_collections(
            &p,
            Some(ip),
            (
                q.after().map(strongroom_domain::CollectionId::from),
                limit + 1,
            ),
        )
        .await?;
    Ok(crate::routes::paging::page(
        "/api/v1/collections",
        limit,
        page,
        Vec::new(),
        |c| c.id.0,
    ))
}

/// A present field, even `null` (so that `null` and absent differ).
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateCollectionRequest {
    /// The legal retention period, or `null` to remove it.
    #[allow(
        clippy::option_option,
        reason = "absent (nothing to change) and null (remove it) differ"
    )]
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<LegalRetention>, required = true)]
    retention: Option<Option<LegalRetention>>,
}

/// Set or remove a collection's legal retention period (who may define collections).
#[utoipa::path(patch, path = "/api/v1/collections/{name}", tag = "records", security(("bearer" = [])), request_body = UpdateCollectionRequest,
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$")),
    responses((status = 200, body = CollectionInfo), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn update_collection(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<UpdateCollectionRequest>,
) -> Result<Json<CollectionInfo>, Problem> {
    let Some(retention) = req.retention else {
        return Err(Problem::new(
            crate::problem::Code::InvalidInput,
            "nothing to change: give retention (or null to remove it)",
        ));
    };
    Ok(Json(
        s.services
            .set_collection_retention(&p, Some(ip), &name, retention)
            .await?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRecordRequest {
    subject_id: UserId,
    group_id: Option<GroupId>,
    /// The record this one is about (e.g. feedback on a recording).
    parent_id: Option<RecordId>,
    visibility: Option<Visibility>,
    #[schema(value_type = Object)]
    data: Map<String, Value>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Created {
    id: RecordId,
}

/// Create a record in a collection. Personal fields are encrypted under the subject's key.
#[utoipa::path(post, path = "/api/v1/collections/{name}/records", tag = "records", security(("bearer" = [])), request_body = CreateRecordRequest,
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$")),
    responses((status = 201, body = Created), (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn create_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<CreateRecordRequest>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let id = s
        .services
        .create_record(
            &p,
            Some(ip),
            &name,
            NewRecord {
                subject_id: req.subject_id,
                group_id: req.group_id,
                parent_id: req.parent_id,
                visibility: req.visibility,
                data: req.data,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

/// The query of a search: one field name and the value it must equal.
pub struct SearchQuery;

impl utoipa::PartialSchema for SearchQuery {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .additional_properties(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String),
            ))
            .property_names(Some(
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some("^[a-z][a-z0-9_]{0,62}$")),
            ))
            .min_properties(Some(1))
            .max_properties(Some(1))
            .into()
    }
}
impl utoipa::ToSchema for SearchQuery {}

/// A file's bytes, as they were uploaded.
pub struct FileBytes;

impl utoipa::PartialSchema for FileBytes {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}
impl utoipa::ToSchema for FileBytes {}

/// Equality search on one searchable field: `?field=value`, paged (`limit`, `after`, `Link:
/// rel="next"`; oldest first). Answers only the records the caller may read — a page may
/// hold fewer than `limit`, even none, while a next one follows; each is logged as read.
#[utoipa::path(get, path = "/api/v1/collections/{name}/records", tag = "records", security(("bearer" = [])),
    params(("name" = String, Path, pattern = "^[a-z][a-z0-9_]{0,62}$"),
           ("query" = inline(SearchQuery), Query, style = Form, explode, description = "exactly one searchable field and the value it must equal, e.g. `?title=Interview`; with `limit` (1 to 500, default 100) and `after` (the cursor of the `Link: rel=\"next\"`)")),
    responses((status = 200, body = [RecordInfo],
        headers(("Link" = String, description = "`<…?field=value&after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody)))]
pub async fn search_records(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(name): ApiPath<String>,
    ApiQuery(mut q): ApiQuery<HashMap<String, String>>,
) -> Result<Response, Problem> {
    let bad = |d: &str| Problem::new(crate::problem::Code::InvalidInput, d.to_owned());
    let limit = match q.remove("limit") {
        Some(l) => Some(l.parse::<u32>().map_err(|_| bad("limit: 1 to 500"))?),
        None => None,
    };
    let limit = crate::routes::paging::limit(limit)?;
    let after = match q.remove("after") {
        Some(a) => Some(
            a.parse::<uuid::Uuid>()
                .map_err(|_| bad("after: the cursor of a Link rel=next"))?,
        ),
        None => None,
    };
    let mut pairs = q.into_iter();
    let (Some((field, value)), None) = (pairs.next(), pairs.next()) else {
        return Err(bad(
            "give exactly one searchable field as the query, e.g. ?title=Interview",
        ));
    };
    let page = s
        .services
        .search_records(
            &p,
            Some(ip),
            &name,
            &field,
            &value,
            (after.map(RecordId::from), limit),
        )
        .await?;
    let mut headers = axum::http::HeaderMap::new();
    if let Some(next) = page.next {
        let query = serde_urlencoded::to_string([
            (field.as_str(), value.as_str()),
            ("after", &next.0.to_string()),
            ("limit", &limit.to_string()),
        ])
        .unwrap_or_default();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!(
            "</api/v1/collections/{name}/records?{query}>; rel=\"next\""
        )) {
            headers.insert(axum::http::header::LINK, v);
        }
    }
    Ok((headers, Json(page.records)).into_response())
}

/// Read a record: the four-level check, then decryption, then a durable privacy-log entry.
#[utoipa::path(get, path = "/api/v1/records/{id}", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path)),
    responses((status = 200, body = RecordInfo), (status = 403, description = "not allowed, or hidden by retention", body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, description = "deleted", body = ProblemBody)))]
pub async fn get_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
) -> Result<Json<RecordInfo>, Problem> {
    Ok(Json(s.services.get_record(&p, Some(ip), id).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRecordRequest {
    /// Merged into the record; `null` removes an optional field.
    #[schema(value_type = Option<Object>)]
    data: Option<Map<String, Value>>,
    visibility: Option<Visibility>,
    /// `false` reopens a record hidden by retention (administrators).
    hidden: Option<bool>,
}

/// Change a record; its history keeps who changed what, when, and the values before.
#[utoipa::path(patch, path = "/api/v1/records/{id}", tag = "records", security(("bearer" = [])), request_body = UpdateRecordRequest,
    params(("id" = RecordId, Path)),
    responses((status = 200, body = RecordInfo), (status = 400, description = "the data does not fit the collection's fields", body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, description = "the record changed meanwhile, or its subject was forgotten", body = ProblemBody), (status = 410, description = "deleted", body = ProblemBody)))]
pub async fn update_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
    ApiJson(req): ApiJson<UpdateRecordRequest>,
) -> Result<Json<RecordInfo>, Problem> {
    Ok(Json(
        s.services
            .update_record(
                &p,
                Some(ip),
                id,
                RecordChanges {
                    data: req.data,
                    visibility: req.visibility,
                    hidden: req.hidden,
                },
            )
            .await?,
    ))
}

/// Delete a record (soft: it answers 410 and can be restored by an administrator until the
/// retention engine purges it, 30 days by default). 409 while it is on legal hold.
#[utoipa::path(delete, path = "/api/v1/records/{id}", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub async fn delete_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
) -> Result<StatusCode, Problem> {
    s.services.delete_record(&p, Some(ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restore a deleted record before it is purged (administrators).
#[utoipa::path(post, path = "/api/v1/records/{id}/restore", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub async fn restore_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
) -> Result<StatusCode, Problem> {
    s.services.restore_record(&p, Some(ip), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Place a legal hold (administrators): nothing deletes the record, its files or its subject's
/// key until the hold is released. Idempotent.
#[utoipa::path(put, path = "/api/v1/records/{id}/legal-hold", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub async fn hold_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
) -> Result<StatusCode, Problem> {
    s.services.set_legal_hold(&p, Some(ip), id, true).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Release a legal hold (administrators); deletions that waited for it go ahead. Idempotent.
#[utoipa::path(delete, path = "/api/v1/records/{id}/legal-hold", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path)),
    responses((status = 204), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, body = ProblemBody)))]
pub async fn release_record(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
) -> Result<StatusCode, Problem> {
    s.services.set_legal_hold(&p, Some(ip), id, false).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HistoryParams {
    /// Page size: 1 to 500 (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<u32>,
    /// The cursor of the `Link: rel="next"` of the previous page (a version).
    after: Option<u32>,
}

/// A record's change history, oldest first, paged (`Link: rel="next"`).
#[utoipa::path(get, path = "/api/v1/records/{id}/history", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path), HistoryParams),
    responses((status = 200, body = [HistoryInfo],
        headers(("Link" = String, description = "`<…?after=…&limit=…>; rel=\"next\"` when there is a following page"))),
        (status = 400, body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 410, description = "deleted", body = ProblemBody)))]
pub async fn record_history(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath(id): ApiPath<RecordId>,
    ApiQuery(q): ApiQuery<HistoryParams>,
) -> Result<Response, Problem> {
    let limit = crate::routes::paging::limit(q.limit)?;
    let rows = s
        .services
        .record_history(&p, Some(ip), id, (q.after.unwrap_or(0), limit + 1))
        .await?;
    Ok(crate::routes::paging::page(
        &format!("/api/v1/records/{}/history", id.0),
        limit,
        rows,
        Vec::new(),
        |h| h.version,
    ))
}

/// Attach a file (raw body, streamed and encrypted on the way in); replaces one of the same name.
#[utoipa::path(put, path = "/api/v1/records/{id}/files/{name}", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path), ("name" = String, Path, pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", description = "1 to 128 of A-Z, a-z, 0-9, `.`, `_` and `-`, not starting with `.`")),
    request_body(content = FileBytes, content_type = "application/octet-stream", description = "the file's bytes; `Content-Type` is kept as the file's type (default `application/octet-stream`)"),
    responses((status = 201, body = FileInfo), (status = 400, description = "a file name or content type that is not allowed", body = ProblemBody), (status = 403, body = ProblemBody), (status = 404, body = ProblemBody), (status = 409, description = "the record's subject was forgotten", body = ProblemBody), (status = 410, description = "the record was deleted", body = ProblemBody), (status = 413, description = "larger than the largest file allowed", body = ProblemBody)))]
pub async fn put_file(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath((id, name)): ApiPath<(RecordId, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<FileInfo>), Problem> {
    // A type that is not visible ASCII is refused, not silently stored as another type.
    let content_type = match headers.get(header::CONTENT_TYPE) {
        None => Ok("application/octet-stream"),
        Some(v) => v.to_str().map_err(|_| {
            CoreError::Invalid("Content-Type: not a valid media type (visible ASCII only)".into())
        }),
    };
    let max = s.services.max_file_bytes;
    let mut stream = body.into_data_stream();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let result = match content_type {
        Err(e) => Err(e),
        Ok(_) if declared.is_some_and(|len| len > max) => Err(CoreError::TooLarge(format!(
            "files are at most {max} bytes"
        ))),
        Ok(content_type) => {
            s.services
                .put_file(&p, Some(ip), id, &name, content_type, max, &mut stream)
                .await
        }
    };
    match result {
        Ok(info) => Ok((StatusCode::CREATED, Json(info))),
        Err(e) => {
            drain(&mut stream).await;
            Err(e.into())
        }
    }
}

/// Reads and drops what is left of a refused upload (up to a bound), so that the client,
/// still sending, receives the problem rather than a reset connection.
async fn drain(stream: &mut axum::body::BodyDataStream) {
    use futures_util::StreamExt;
    const DRAIN_LIMIT: usize = 16 * 1024 * 1024;
    let mut seen = 0;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
    }
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n`, one range only, resolved against the size.
fn resolve_range(
    header: Option<&str>,
    size: u64,
) -> Result<Option<std::ops::Range<u64>>, CoreError> {
    let Some(h) = header else {
        return Ok(None);
    };
    let unsatisfiable = || CoreError::RangeNotSatisfiable(format!("the file has {size} bytes"));
    // A suffix longer than the file is the whole file (RFC 9110 §14.1.2), which the parser
    // below refuses as unsatisfiable; a suffix of zero bytes is unsatisfiable.
    if let Some(n) = h
        .trim()
        .strip_prefix("bytes=-")
        .and_then(|n| n.parse::<u64>().ok())
    {
        return match n.min(size) {
            0 => Err(unsatisfiable()),
            n => Ok(Some(size - n..size)),
        };
    }
    let parsed = http_range_header::parse_range_header(h)
        .map_err(|_| CoreError::Invalid("Range: give one range, e.g. bytes=0-1023".into()))?;
    let ranges = parsed.validate(size).map_err(|_| unsatisfiable())?;
    match ranges.as_slice() {
        [r] => Ok(Some(*r.start()..r.end() + 1)),
        _ => Err(CoreError::Invalid(
            "Range: only one range per request".into(),
        )),
    }
}

/// Download a file: the bytes, decrypted as they stream; `Range` honoured (206). Level 4 of
/// the access check decides on this very file; the read is logged before the first byte.
#[utoipa::path(get, path = "/api/v1/records/{id}/files/{name}", tag = "records", security(("bearer" = [])),
    params(("id" = RecordId, Path), ("name" = String, Path, pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$", description = "1 to 128 of A-Z, a-z, 0-9, `.`, `_` and `-`, not starting with `.`")),
    responses(
        (status = 200, description = "the whole file, in the type it was uploaded with", content_type = "*/*", body = FileBytes,
         headers(("Content-Disposition" = String, description = "`attachment`, naming the file"), ("Accept-Ranges" = String, description = "`bytes`"), ("Content-Length" = u64))),
        (status = 206, description = "the range asked for", content_type = "*/*", body = FileBytes,
         headers(("Content-Range" = String, description = "`bytes first-last/size`"), ("Content-Disposition" = String, description = "`attachment`, naming the file"), ("Accept-Ranges" = String, description = "`bytes`"), ("Content-Length" = u64))),
        (status = 400, description = "a `Range` that does not parse, or more than one range", body = ProblemBody),
        (status = 403, description = "not allowed, or hidden by retention", body = ProblemBody), (status = 404, body = ProblemBody),
        (status = 410, description = "deleted by retention or erasure", body = ProblemBody), (status = 416, body = ProblemBody)))]
pub async fn get_file(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiPath((id, name)): ApiPath<(RecordId, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    let range_header = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let d = s
        .services
        .get_file(&p, Some(ip), id, &name, |size| {
            resolve_range(range_header.as_deref(), size)
        })
        .await?;
    let status = if d.partial {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let len = d.range.end - d.range.start;
    let mut resp = (status, Body::from_stream(d.body)).into_response();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&d.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    // An uploaded file never runs as a page on the API's origin (the console shares it),
    // whatever type its uploader declared: saved, not shown; its type not sniffed; and if a
    // browser renders it anyway, sandboxed (no script, no same-origin access).
    h.insert(header::CONTENT_DISPOSITION, attachment(&name));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    if d.partial
        && let Ok(v) = HeaderValue::from_str(&format!(
            "bytes {}-{}/{}",
            d.range.start,
            d.range.end.saturating_sub(1),
            d.size
        ))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    Ok(resp)
}

/// `Content-Disposition: attachment` naming the file (RFC 6266: an ASCII `filename` with
/// anything unsafe replaced, and the exact name as RFC 8187 `filename*`).
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != ';' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let exact = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{exact}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct PoliciesView {
    /// The template the tenant started from (`training`, `contracts`, `dossier`).
    template: String,
    /// 0 while the tenant uses the template as shipped.
    version: u64,
    /// Cedar policy text.
    policies: String,
    /// The Cedar schema policies are validated against.
    schema: String,
}

/// The name of a shipped policy template.
pub struct PolicyTemplate;

impl utoipa::PartialSchema for PolicyTemplate {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .enum_values(Some(
                strongroom_core::access::TEMPLATES
                    .iter()
                    .map(|(name, _)| *name),
            ))
            .into()
    }
}
impl utoipa::ToSchema for PolicyTemplate {}

/// The tenant's access policies (levels 2 to 4), as Cedar text (administrators).
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", security(("bearer" = [])),
    responses((status = 200, body = PoliciesView), (status = 403, body = ProblemBody)))]
pub async fn get_policies(
    State(s): State<AppState>,
    Caller(p): Caller,
) -> Result<Json<PoliciesView>, Problem> {
    let t = s.services.get_policies(&p).await?;
    Ok(Json(PoliciesView {
        template: t.template,
        version: t.version,
        policies: t.policies,
        schema: strongroom_core::access::SCHEMA.to_owned(),
    }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutPoliciesRequest {
    /// Start from a shipped template; alone, it installs the template as shipped. Give a
    /// template, policies, or both.
    #[schema(value_type = Option<PolicyTemplate>)]
    template: Option<String>,
    /// Cedar policy text; validated against the schema before it takes effect.
    policies: Option<String>,
    /// The version this change is based on (from GET); a stale one answers 409.
    version: u64,
}

/// Replace the tenant's policies (administrators). Validated before they take effect; the
/// next request of every caller is decided by them.
#[utoipa::path(put, path = "/api/v1/policies", tag = "policies", security(("bearer" = [])), request_body = PutPoliciesRequest,
    responses((status = 200, body = PoliciesView), (status = 400, description = "neither template nor policies, or policies that do not validate against the schema", body = ProblemBody), (status = 403, body = ProblemBody), (status = 409, description = "the version is not the current one", body = ProblemBody)))]
pub async fn put_policies(
    State(s): State<AppState>,
    Caller(p): Caller,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<PutPoliciesRequest>,
) -> Result<Json<PoliciesView>, Problem> {
    let t = s
        .services
        .put_policies(
            &p,
            Some(ip),
            req.template.as_deref(),
            req.policies.as_deref(),
            req.version,
        )
        .await?;
    Ok(Json(PoliciesView {
        template: t.template,
        version: t.version,
        policies: t.policies,
        schema: strongroom_core::access::SCHEMA.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::resolve_range;
    use strongroom_core::CoreError;

    fn range(h: &str, size: u64) -> Result<Option<std::ops::Range<u64>>, CoreError> {
        resolve_range(Some(h), size)
    }

    /// RFC 9110 §14.1.2: a suffix longer than the file is the whole file; a suffix of zero
    /// bytes, or a first byte past the end, cannot be satisfied (416); a range that does not
    /// parse is a bad request.
    #[test]
    fn ranges_resolve_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-9", 100).unwrap(), Some(0..10));
        assert_eq!(range("bytes=90-", 100).unwrap(), Some(90..100));
        assert_eq!(range("bytes=90-500", 100).unwrap(), Some(90..100));
        assert_eq!(range("bytes=-10", 100).unwrap(), Some(90..100));
        assert_eq!(range("bytes=-99999", 100).unwrap(), Some(0..100));
        assert!(matches!(
            range("bytes=-0", 100),
            Err(CoreError::RangeNotSatisfiable(_))
        ));
        assert!(matches!(
            range("bytes=100-", 100),
            Err(CoreError::RangeNotSatisfiable(_))
        ));
        assert!(matches!(
            range("bytes=x-1", 100),
            Err(CoreError::Invalid(_))
        ));
        assert!(matches!(
            range("bytes=0-1,5-6", 100),
            Err(CoreError::Invalid(_))
        ));
        assert_eq!(resolve_range(None, 100).unwrap(), None);
    }
}
