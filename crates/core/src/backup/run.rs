//! `backup run`, `backup list` and `restore` over a target (a folder or a bucket, through
//! `strongroom_blobs`). The target holds `chunks/<id>` (the data, sealed, shared between
//! snapshots), `blobs/<name>` (files' blobs as they are: ciphertext), `keys/<snapshot>` (the key
//! snapshot: the wrapped tenant and subject keys, sealed on their own so they can be replaced
//! without touching the data) and `snapshots/<snapshot>` (the sealed manifest, written last: a
//! snapshot exists once its manifest does).

use super::{
    BackupError, BlobRef, Manifest, hex, open_manifest, pack, seal_manifest, unhex, unpack,
};
use crate::CoreError;
use serde::Serialize;
use std::collections::HashMap;
use strongroom_blobs::{BlobError, Blobs};
use strongroom_crypto::backup::BackupKeys;
use strongroom_domain::{Timestamp, from_millis, to_millis};
use strongroom_store::Store;
use strongroom_store::backup::{Dump, SCHEMA_VERSION, TableDump};
use strongroom_store::exec::{Cell, Part};

const SNAPSHOTS: &str = "snapshots";

/// What `backup run` prints.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    pub snapshot: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: Timestamp,
    pub bytes_total: u64,
    pub bytes_new: u64,
    pub seconds: f64,
    pub erased: usize,
}

/// One line of `backup list`.
#[derive(Clone, Debug, Serialize)]
pub struct SnapshotInfo {
    pub snapshot: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: Timestamp,
    pub tags: Vec<String>,
    pub bytes_total: u64,
}

/// What `restore` prints.
#[derive(Clone, Debug, Serialize)]
pub struct RestoreSummary {
    pub snapshot: String,
    pub seconds: f64,
    pub rows: u64,
    pub files: usize,
}

fn target_error(e: BlobError) -> CoreError {
    CoreError::internal("the backup target failed", e)
}

#[allow(clippy::needless_pass_by_value, reason = "used as a map_err function")]
fn backup_error(e: BackupError) -> CoreError {
    CoreError::Invalid(e.to_string())
}

fn failed(e: impl std::fmt::Display) -> CoreError {
    CoreError::internal("a backup step failed", e)
}

/// The blob keys the dump's file rows name.
fn blob_keys(dump: &Dump) -> Vec<String> {
    let Some(files) = dump.tables.iter().find(|t| t.table == "record_files") else {
        return Vec::new();
    };
    let Some(col) = files.columns.iter().position(|c| c == "blob_key") else {
        return Vec::new();
    };
    files
        .rows
        .iter()
        .filter_map(|r| match r.get(col) {
            Some(Cell::Text(Some(k))) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

fn seal_tables<'a>(
    keys: &BackupKeys,
    kind: &str,
    name: &str,
    tables: impl Iterator<Item = &'a TableDump>,
) -> Result<Vec<u8>, CoreError> {
    let tables: Vec<&TableDump> = tables.collect();
    let bytes = postcard::to_stdvec(&tables).map_err(failed)?;
    let compressed = zstd::bulk::compress(&bytes, super::ZSTD_LEVEL).map_err(failed)?;
    let mut doc = (bytes.len() as u64).to_be_bytes().to_vec();
    doc.extend_from_slice(&compressed);
    keys.seal_document(kind, name, &doc).map_err(failed)
}

fn open_tables(
    keys: &BackupKeys,
    kind: &str,
    name: &str,
    sealed: &[u8],
) -> Result<Vec<TableDump>, CoreError> {
    let bad = || {
        CoreError::Invalid(format!(
            "the {kind} of snapshot {name} does not authenticate"
        ))
    };
    let doc = keys.open_document(kind, name, sealed).map_err(|_| bad())?;
    let (len, compressed) = doc.split_first_chunk::<8>().ok_or_else(bad)?;
    let len = usize::try_from(u64::from_be_bytes(*len)).map_err(|_| bad())?;
    let bytes = zstd::bulk::decompress(compressed, len).map_err(|_| bad())?;
    postcard::from_bytes(&bytes).map_err(|_| bad())
}

/// One snapshot of the store and its blobs into `target`. Chunks and blobs the target holds
/// already are not written again (a blob is not even read).
pub async fn run(
    store: &dyn Store,
    blobs: &Blobs,
    keys: &BackupKeys,
    target: &Blobs,
    now: Timestamp,
    tags: Vec<String>,
) -> Result<RunSummary, CoreError> {
    let started = std::time::Instant::now();
    let snapshot = uuid::Uuid::now_v7().to_string();
    let dump = store.dump().await?;
    let mut packed =
        pack(keys, &snapshot, dump.schema_version, dump.part(Part::Data)).map_err(backup_error)?;
    let (mut total, mut new) = (0u64, 0u64);
    for (id, sealed) in packed.chunks.drain(..) {
        let name = format!("chunks/{}", hex(&id));
        total += sealed.len() as u64;
        if target.size(&name).await.map_err(target_error)?.is_none() {
            new += sealed.len() as u64;
            target.put(&name, sealed).await.map_err(target_error)?;
        }
    }
    let mut m = packed.manifest;
    for key in blob_keys(&dump) {
        let object = hex(&keys.chunk_id(key.as_bytes()));
        let name = format!("blobs/{object}");
        let size = match target.size(&name).await.map_err(target_error)? {
            Some(size) => size,
            None => match blobs.copy_to(&key, target, &name).await {
                Ok(size) => {
                    new += size;
                    size
                }
                Err(BlobError::NotFound) => {
                    m.erased.push(key);
                    continue;
                }
                Err(e) => return Err(target_error(e)),
            },
        };
        total += size;
        m.blobs.push(BlobRef { key, object, size });
    }
    let key_doc = seal_tables(keys, "keys", &snapshot, dump.part(Part::Keys))?;
    total += key_doc.len() as u64;
    new += key_doc.len() as u64;
    target
        .put(&format!("keys/{snapshot}"), key_doc)
        .await
        .map_err(target_error)?;
    m.at = to_millis(now);
    m.tags = tags;
    let sealed = seal_manifest(keys, &m).map_err(backup_error)?;
    target
        .put(&format!("{SNAPSHOTS}/{snapshot}"), sealed)
        .await
        .map_err(target_error)?;
    tracing::info!(%snapshot, bytes_total = total, bytes_new = new, "backup snapshot written");
    Ok(RunSummary {
        snapshot,
        at: now,
        bytes_total: total,
        bytes_new: new,
        seconds: started.elapsed().as_secs_f64(),
        erased: m.erased.len(),
    })
}

async fn manifest(
    keys: &BackupKeys,
    target: &Blobs,
    snapshot: &str,
) -> Result<Manifest, CoreError> {
    let sealed = target
        .get(&format!("{SNAPSHOTS}/{snapshot}"))
        .await
        .map_err(target_error)?
        .ok_or(CoreError::NotFound("snapshot"))?;
    open_manifest(keys, snapshot, &sealed).map_err(backup_error)
}

/// Every snapshot in the target, newest first.
pub async fn list(keys: &BackupKeys, target: &Blobs) -> Result<Vec<SnapshotInfo>, CoreError> {
    let mut names: Vec<String> = target
        .keys(SNAPSHOTS)
        .await
        .map_err(target_error)?
        .into_iter()
        .filter_map(|k| k.strip_prefix("snapshots/").map(str::to_owned))
        .collect();
    // Snapshot ids are time-ordered (UUIDv7).
    names.sort_unstable_by(|a, b| b.cmp(a));
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let m = manifest(keys, target, &name).await?;
        let chunks: u64 = m
            .tables
            .iter()
            .flat_map(|t| &t.chunks)
            .map(|c| c.size)
            .sum();
        out.push(SnapshotInfo {
            snapshot: name,
            at: from_millis(m.at),
            tags: m.tags,
            bytes_total: chunks + m.blobs.iter().map(|b| b.size).sum::<u64>(),
        });
    }
    Ok(out)
}

/// Restores a snapshot (`None`: the newest) into an empty store and an empty blob store;
/// anything else is refused before a byte is written.
pub async fn restore(
    keys: &BackupKeys,
    target: &Blobs,
    snapshot: Option<&str>,
    store: &dyn Store,
    blobs: &Blobs,
) -> Result<RestoreSummary, CoreError> {
    let started = std::time::Instant::now();
    let snapshot = match snapshot {
        Some(s) => s.to_owned(),
        None => list(keys, target)
            .await?
            .into_iter()
            .next()
            .map(|s| s.snapshot)
            .ok_or(CoreError::NotFound("snapshot"))?,
    };
    if !store.is_empty().await? || !blobs.keys("").await.map_err(target_error)?.is_empty() {
        return Err(CoreError::Conflict(
            "a restore writes only into an empty store and an empty blob store".into(),
        ));
    }
    let m = manifest(keys, target, &snapshot).await?;
    if m.schema_version != SCHEMA_VERSION {
        return Err(CoreError::Invalid(format!(
            "snapshot {snapshot} has schema version {}, this build {SCHEMA_VERSION}",
            m.schema_version
        )));
    }
    let mut fetched = HashMap::new();
    for c in m.tables.iter().flat_map(|t| &t.chunks) {
        let Some(id) = unhex(&c.id) else { continue };
        if let Some(bytes) = target
            .get(&format!("chunks/{}", c.id))
            .await
            .map_err(target_error)?
        {
            fetched.insert(id, bytes.to_vec());
        }
    }
    let mut dump = unpack(keys, &m, |id| fetched.get(id).cloned()).map_err(backup_error)?;
    let key_doc = target
        .get(&format!("keys/{snapshot}"))
        .await
        .map_err(target_error)?
        .ok_or_else(|| CoreError::Invalid(format!("snapshot {snapshot} has no key snapshot")))?;
    dump.tables
        .extend(open_tables(keys, "keys", &snapshot, &key_doc)?);
    for b in &m.blobs {
        let size = target
            .size(&format!("blobs/{}", b.object))
            .await
            .map_err(target_error)?;
        if size != Some(b.size) {
            return Err(CoreError::Invalid(format!(
                "snapshot {snapshot}: file blob {} is missing or of the wrong size",
                b.object
            )));
        }
    }
    store.load(&dump).await?;
    for b in &m.blobs {
        target
            .copy_to(&format!("blobs/{}", b.object), blobs, &b.key)
            .await
            .map_err(target_error)?;
    }
    Ok(RestoreSummary {
        snapshot,
        seconds: started.elapsed().as_secs_f64(),
        rows: dump.tables.iter().map(|t| t.rows.len() as u64).sum(),
        files: m.blobs.len(),
    })
}
