//! Backups: this file is the snapshot format — a dump of the store
//! (`strongroom_store::backup`) packed into sealed, content-addressed chunks and an
//! authenticated manifest, and unpacked again with every chunk checked; `run` writes, lists,
//! verifies and restores snapshots in a target; `prune` applies the keep policy.
//!
//! A table's rows are encoded with postcard (a compact serde format with a stable, documented
//! wire format), cut into content-defined chunks (FastCDC: a row changed in the middle of a
//! table changes one or two chunks, not every one after it), each chunk compressed with zstd
//! and then sealed under the backup keys (`strongroom_crypto::backup`) and its id, a keyed hash
//! of its raw content: an unchanged chunk is the same chunk in every snapshot, stored once, and
//! a run that finds it in the target's listing does not even compress it again.
//! The manifest lists, per table, its row count and its chunks in order with their sealed
//! sizes, and is sealed under the snapshot's id: a chunk that is missing, of the wrong size,
//! edited, swapped with another or moved, and a manifest that is cut short or renamed, are each
//! an error that names the table and chunk.

pub mod lock;
pub mod prune;
pub mod replica;
pub mod run;
pub mod schedule;
#[cfg(test)]
mod tests;

pub use prune::*;
pub(crate) use replica::Change;
pub use run::*;
pub use schedule::*;

/// Where a long step reports how far it is (the CLI shows it on a terminal, else nowhere).
pub type Progress<'a> = &'a (dyn Fn(&str) + Send + Sync);

/// A progress that goes nowhere.
pub fn quiet(_: &str) {}

use serde::{Deserialize, Serialize};
use strongroom_crypto::backup::{BackupKeys, ChunkId};
use strongroom_store::backup::{Dump, TableDump};

/// Chunk sizes for content-defined chunking: about 64 KiB on average.
const CHUNK_MIN: u32 = 16 * 1024;
const CHUNK_AVG: u32 = 64 * 1024;
const CHUNK_MAX: u32 = 256 * 1024;

/// zstd level: 3 is zstd's default, a good balance of speed and ratio for row data.
const ZSTD_LEVEL: i32 = 3;

/// One chunk as the manifest names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRef {
    /// The chunk id, hex (also its object name in the target).
    pub id: String,
    /// Its sealed size in bytes.
    pub size: u64,
    /// Its size before compression, to bound decompression.
    pub raw: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableEntry {
    pub table: String,
    pub rows: u64,
    pub chunks: Vec<ChunkRef>,
}

/// A file's blob in a snapshot: stored as it is (it is ciphertext already) under a name that
/// reveals nothing (a keyed hash of its key), never read again once the target has it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobRef {
    /// The blob's key in the blob store (restored under the same key).
    pub key: String,
    /// Its object name in the target, under `blobs/`.
    pub object: String,
    pub size: u64,
}

/// What a snapshot holds, sealed under its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub snapshot: String,
    pub schema_version: u32,
    pub tables: Vec<TableEntry>,
    /// When the store was read (ms since the epoch).
    #[serde(default)]
    pub at: i64,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub blobs: Vec<BlobRef>,
    /// Blobs a row named at the snapshot's point in time that were deleted before they could
    /// be copied (a forget or a purge meanwhile): erased, not lost.
    #[serde(default)]
    pub erased: Vec<String>,
}

/// A packed snapshot: its manifest and the sealed chunks it names (some may already be in the
/// target from an earlier snapshot: they are the same chunks, and need not be stored again).
pub struct Packed {
    pub manifest: Manifest,
    pub chunks: Vec<(ChunkId, Vec<u8>)>,
}

/// What went wrong reading a snapshot; names the first table and chunk that did not hold.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    #[error("table {table}: chunk {chunk} is missing")]
    Missing { table: String, chunk: String },
    #[error("table {table}: chunk {chunk} has {found} bytes, the manifest says {expected}")]
    WrongSize {
        table: String,
        chunk: String,
        expected: u64,
        found: u64,
    },
    #[error("table {table}: chunk {chunk} does not authenticate (edited, swapped or moved)")]
    Rejected { table: String, chunk: String },
    #[error("table {table}: {what}")]
    Table { table: String, what: String },
    #[error("the manifest of {0} does not authenticate (edited, cut short or renamed)")]
    Manifest(String),
    #[error("backup: {0}")]
    Failed(String),
}

pub(crate) fn hex(id: &ChunkId) -> String {
    use std::fmt::Write;
    id.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

pub(crate) fn unhex(s: &str) -> Option<ChunkId> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Packs the tables of a dump (all of it, or one part) as the snapshot `snapshot`. A chunk
/// the target holds already is only named, never compressed or sealed again (`have`: its
/// stored size): a run over a store that changed little costs little more than reading it.
pub fn pack<'a>(
    keys: &BackupKeys,
    snapshot: &str,
    schema_version: u32,
    tables: impl Iterator<Item = &'a TableDump>,
    have: impl Fn(&ChunkId) -> Option<u64>,
) -> Result<Packed, BackupError> {
    let failed = |e: std::io::Error| BackupError::Failed(e.to_string());
    let mut zstd = zstd::bulk::Compressor::new(ZSTD_LEVEL).map_err(failed)?;
    let mut entries = Vec::new();
    let mut chunks: Vec<(ChunkId, Vec<u8>)> = Vec::new();
    for t in tables {
        let bytes = postcard::to_stdvec(t).map_err(|e| BackupError::Failed(e.to_string()))?;
        let mut refs = Vec::new();
        for cut in fastcdc::v2020::FastCDC::new(&bytes, CHUNK_MIN, CHUNK_AVG, CHUNK_MAX) {
            let raw = bytes
                .get(cut.offset..cut.offset + cut.length)
                .ok_or_else(|| BackupError::Failed("a chunk outside its table".into()))?;
            let id = keys.chunk_id(raw);
            let size = if let Some(size) = have(&id) {
                size
            } else if let Some((_, sealed)) = chunks.iter().find(|(c, _)| *c == id) {
                sealed.len() as u64
            } else {
                let compressed = zstd.compress(raw).map_err(failed)?;
                let sealed = keys
                    .seal_chunk(&id, &compressed)
                    .map_err(|e| BackupError::Failed(e.to_string()))?;
                let size = sealed.len() as u64;
                chunks.push((id, sealed));
                size
            };
            refs.push(ChunkRef {
                id: hex(&id),
                size,
                raw: raw.len() as u64,
            });
        }
        entries.push(TableEntry {
            table: t.table.clone(),
            rows: t.rows.len() as u64,
            chunks: refs,
        });
    }
    Ok(Packed {
        manifest: Manifest {
            snapshot: snapshot.to_owned(),
            schema_version,
            tables: entries,
            at: 0,
            tags: Vec::new(),
            blobs: Vec::new(),
            erased: Vec::new(),
        },
        chunks,
    })
}

/// Unpacks a snapshot, fetching each chunk by id (`None`: not in the target), checking every
/// one before it is used.
pub fn unpack(
    keys: &BackupKeys,
    manifest: &Manifest,
    mut fetch: impl FnMut(&ChunkId) -> Option<Vec<u8>>,
) -> Result<Dump, BackupError> {
    let mut tables = Vec::with_capacity(manifest.tables.len());
    for entry in &manifest.tables {
        let table = || entry.table.clone();
        let mut bytes = Vec::new();
        for c in &entry.chunks {
            let chunk = || c.id.clone();
            let id = unhex(&c.id).ok_or_else(|| BackupError::Table {
                table: table(),
                what: format!("{} is not a chunk id", c.id),
            })?;
            let sealed = fetch(&id).ok_or_else(|| BackupError::Missing {
                table: table(),
                chunk: chunk(),
            })?;
            if sealed.len() as u64 != c.size {
                return Err(BackupError::WrongSize {
                    table: table(),
                    chunk: chunk(),
                    expected: c.size,
                    found: sealed.len() as u64,
                });
            }
            let compressed = keys
                .open_chunk(&id, &sealed)
                .map_err(|_| BackupError::Rejected {
                    table: table(),
                    chunk: chunk(),
                })?;
            let raw =
                zstd::bulk::decompress(&compressed, usize::try_from(c.raw).unwrap_or(usize::MAX))
                    .map_err(|e| BackupError::Table {
                    table: table(),
                    what: format!("chunk {} does not decompress: {e}", c.id),
                })?;
            if raw.len() as u64 != c.raw || !keys.is_chunk(&id, &raw) {
                return Err(BackupError::Table {
                    table: table(),
                    what: format!("chunk {} has the wrong length", c.id),
                });
            }
            bytes.extend_from_slice(&raw);
        }
        let t: TableDump = postcard::from_bytes(&bytes).map_err(|e| BackupError::Table {
            table: table(),
            what: format!("rows do not decode: {e}"),
        })?;
        if t.table != entry.table || t.rows.len() as u64 != entry.rows {
            return Err(BackupError::Table {
                table: table(),
                what: format!(
                    "holds {} rows of {}, the manifest says {} of {}",
                    t.rows.len(),
                    t.table,
                    entry.rows,
                    entry.table
                ),
            });
        }
        tables.push(t);
    }
    Ok(Dump {
        schema_version: manifest.schema_version,
        tables,
    })
}

/// The manifest as stored in the target: JSON, sealed under the snapshot's id.
pub fn seal_manifest(keys: &BackupKeys, m: &Manifest) -> Result<Vec<u8>, BackupError> {
    let json = serde_json::to_vec(m).map_err(|e| BackupError::Failed(e.to_string()))?;
    keys.seal_document("manifest", &m.snapshot, &json)
        .map_err(|e| BackupError::Failed(e.to_string()))
}

pub fn open_manifest(
    keys: &BackupKeys,
    snapshot: &str,
    sealed: &[u8],
) -> Result<Manifest, BackupError> {
    let json = keys
        .open_document("manifest", snapshot, sealed)
        .map_err(|_| BackupError::Manifest(snapshot.to_owned()))?;
    let m: Manifest =
        serde_json::from_slice(&json).map_err(|_| BackupError::Manifest(snapshot.to_owned()))?;
    if m.snapshot != snapshot {
        return Err(BackupError::Manifest(snapshot.to_owned()));
    }
    Ok(m)
}
