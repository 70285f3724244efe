//! `backup run`, `list`, `verify` and `restore` over a target (a folder or a bucket, through
//! `strongroom_blobs`). The target holds `chunks/<id>` (the data, sealed, shared between
//! snapshots), `blobs/<name>` (files' blobs as they are: ciphertext), `keys/<snapshot>` (the key
//! snapshot: the wrapped tenant and subject keys, sealed on their own; only the newest is
//! kept), `ledger` (the erasure ledger: who was forgotten, which tenants were destroyed) and
//! `snapshots/<snapshot>` (the sealed manifest, written last: a snapshot exists once its
//! manifest does). A restore of any snapshot uses the newest keys and the ledger, so an
//! erasure is never undone by a restore.

use super::{
    BackupError, BlobRef, Manifest, Progress, hex, open_manifest, pack, seal_manifest, unhex,
    unpack,
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
const KEYS: &str = "keys";
const LEDGER: &str = "ledger";

/// The erasure ledger, kept up to date in the target by every run: who was forgotten and
/// which tenants were destroyed (ids only). A restore re-applies it, whatever the snapshot's
/// age, so an erasure is never undone by a restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Ledger {
    /// (tenant, user) of every forgotten person.
    pub forgotten: Vec<(uuid::Uuid, uuid::Uuid)>,
    /// Every tenant a run has seen; those no longer in the store were destroyed.
    pub tenants_seen: Vec<uuid::Uuid>,
    pub destroyed_tenants: Vec<uuid::Uuid>,
}

/// The values of one column of one table of a dump.
fn column<'a>(dump: &'a Dump, table: &str, col: &str) -> Vec<&'a [Cell]> {
    let Some(t) = dump.tables.iter().find(|t| t.table == table) else {
        return Vec::new();
    };
    let Some(i) = t.columns.iter().position(|c| c == col) else {
        return Vec::new();
    };
    t.rows.iter().filter_map(|r| r.get(i..=i)).collect()
}

fn uuid_of(cells: &[Cell]) -> Option<uuid::Uuid> {
    match cells.first() {
        Some(Cell::Uuid(Some(u))) => Some(*u),
        _ => None,
    }
}

async fn read_ledger(keys: &BackupKeys, target: &Blobs) -> Result<Ledger, CoreError> {
    match target.get(LEDGER).await.map_err(target_error)? {
        None => Ok(Ledger::default()),
        Some(sealed) => {
            let json = keys.open_document(LEDGER, LEDGER, &sealed).map_err(|_| {
                CoreError::Invalid("the erasure ledger does not authenticate".into())
            })?;
            serde_json::from_slice(&json)
                .map_err(|_| CoreError::Invalid("the erasure ledger does not decode".into()))
        }
    }
}

/// The ledger brought up to date with the store's state in `dump`.
fn updated_ledger(mut l: Ledger, dump: &Dump) -> Ledger {
    let tenants: Vec<uuid::Uuid> = column(dump, "tenants", "tenant_id")
        .into_iter()
        .filter_map(uuid_of)
        .collect();
    let users = dump.tables.iter().find(|t| t.table == "users");
    if let Some(t) = users {
        let pos = |c: &str| t.columns.iter().position(|x| x == c);
        if let (Some(ti), Some(ui), Some(si)) = (pos("tenant_id"), pos("user_id"), pos("status")) {
            for r in &t.rows {
                if let (
                    Some(Cell::Uuid(Some(tenant))),
                    Some(Cell::Uuid(Some(user))),
                    Some(Cell::Text(Some(status))),
                ) = (r.get(ti), r.get(ui), r.get(si))
                    && status == "deleted"
                    && !l.forgotten.contains(&(*tenant, *user))
                {
                    l.forgotten.push((*tenant, *user));
                }
            }
        }
    }
    for t in &tenants {
        if !l.tenants_seen.contains(t) {
            l.tenants_seen.push(*t);
        }
    }
    for t in l.tenants_seen.clone() {
        if !tenants.contains(&t) && !l.destroyed_tenants.contains(&t) {
            l.destroyed_tenants.push(t);
        }
    }
    l.forgotten
        .retain(|(t, _)| !l.destroyed_tenants.contains(t));
    l
}

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
    /// The people the ledger says were forgotten, in the restored tenants: to forget again
    /// ([`crate::Services::reapply_erasures`]) before the store serves anyone.
    #[serde(skip)]
    pub forgotten: Vec<(uuid::Uuid, uuid::Uuid)>,
    pub forgotten_reapplied: usize,
}

impl crate::Services {
    /// Forgets again everyone a restore's ledger names (idempotent: finishes what the snapshot
    /// still held of them — credentials, profile, files, personal values); how many.
    pub async fn reapply_erasures(&self, summary: &mut RestoreSummary) -> Result<usize, CoreError> {
        for (tenant, user) in &summary.forgotten {
            self.forget(
                (*tenant).into(),
                (*user).into(),
                strongroom_store::ChangeLog::none(),
            )
            .await?;
        }
        summary.forgotten_reapplied = summary.forgotten.len();
        Ok(summary.forgotten_reapplied)
    }
}

pub(crate) fn target_error(e: BlobError) -> CoreError {
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
    column(dump, "record_files", "blob_key")
        .into_iter()
        .filter_map(|c| match c.first() {
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

/// One snapshot of the store and its blobs into `target`, under the target's exclusive lock.
/// Chunks and blobs the target holds already are not written again (a blob is not even read).
pub async fn run(
    store: &dyn Store,
    blobs: &Blobs,
    keys: &BackupKeys,
    target: &Blobs,
    now: Timestamp,
    tags: Vec<String>,
    progress: Progress<'_>,
) -> Result<RunSummary, CoreError> {
    let lock = super::lock::exclusive(target, "backup run").await?;
    super::lock::holding(lock, async move {
        let started = std::time::Instant::now();
        let snapshot = uuid::Uuid::now_v7().to_string();
        let dump = store.dump().await?;
        // What the target holds, in one listing: those chunks are not packed again.
        let have: HashMap<_, _> = target
            .sizes("chunks")
            .await
            .map_err(target_error)?
            .into_iter()
            .filter_map(|(name, size)| Some((unhex(name.strip_prefix("chunks/")?)?, size)))
            .collect();
        let mut packed = pack(
            keys,
            &snapshot,
            dump.schema_version,
            dump.part(Part::Data),
            |id| have.get(id).copied(),
        )
        .map_err(backup_error)?;
        let mut total: u64 = packed
            .manifest
            .tables
            .iter()
            .flat_map(|t| &t.chunks)
            .map(|c| c.size)
            .sum();
        let mut new = 0u64;
        let chunks = packed.chunks.len();
        for (i, (id, sealed)) in packed.chunks.drain(..).enumerate() {
            progress(&format!("rows: new chunk {} of {chunks}", i + 1));
            new += sealed.len() as u64;
            target
                .put(&format!("chunks/{}", hex(&id)), sealed)
                .await
                .map_err(target_error)?;
        }
        let mut m = packed.manifest;
        for (key, copied) in copy_blobs(keys, blobs, target, blob_keys(&dump), progress).await {
            match copied? {
                Some((object, size, fresh)) => {
                    total += size;
                    if fresh {
                        new += size;
                    }
                    m.blobs.push(BlobRef { key, object, size });
                }
                None => m.erased.push(key),
            }
        }
        let key_bytes = write_keys(keys, target, &snapshot, &dump).await?;
        total += key_bytes;
        new += key_bytes;
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
    })
    .await
}

/// Blobs copied at once: a copy waits on the disk or the network, not on the CPU.
const COPIES: usize = 4;

/// What copying one blob into the target gave: its object name, size and whether it was new
/// there; `None` if it was deleted since the store was read (erased).
type Copied = Result<Option<(String, u64, bool)>, CoreError>;

/// Copies the blobs the target does not hold yet (a blob it holds is not even read), a few at
/// a time, in order.
async fn copy_blobs(
    keys: &BackupKeys,
    blobs: &Blobs,
    target: &Blobs,
    files: Vec<String>,
    progress: Progress<'_>,
) -> Vec<(String, Copied)> {
    use futures_util::stream::{self, StreamExt as _};
    let n = files.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    stream::iter(files)
        .map(|key| {
            let done = &done;
            async move {
                let object = hex(&keys.chunk_id(key.as_bytes()));
                let name = format!("blobs/{object}");
                let copied = match target.size(&name).await {
                    Ok(Some(size)) => Ok(Some((object, size, false))),
                    Ok(None) => match blobs.copy_to(&key, target, &name).await {
                        Ok(size) => Ok(Some((object, size, true))),
                        Err(BlobError::NotFound) => Ok(None),
                        Err(e) => Err(target_error(e)),
                    },
                    Err(e) => Err(target_error(e)),
                };
                let i = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(&format!("files: {i} of {n}"));
                (key, copied)
            }
        })
        .buffered(COPIES)
        .collect()
        .await
}

/// The keys: a new key snapshot, the ledger brought up to date, and every older key snapshot
/// deleted — only the newest stays (a restore of any snapshot uses it), so a person forgotten
/// since has no key left in the target. Its size.
async fn write_keys(
    keys: &BackupKeys,
    target: &Blobs,
    name: &str,
    dump: &Dump,
) -> Result<u64, CoreError> {
    let key_doc = seal_tables(keys, KEYS, name, dump.part(Part::Keys))?;
    let size = key_doc.len() as u64;
    target
        .put(&format!("{KEYS}/{name}"), key_doc)
        .await
        .map_err(target_error)?;
    let ledger = updated_ledger(read_ledger(keys, target).await?, dump);
    let sealed = keys
        .seal_document(
            LEDGER,
            LEDGER,
            &serde_json::to_vec(&ledger).map_err(failed)?,
        )
        .map_err(failed)?;
    target.put(LEDGER, sealed).await.map_err(target_error)?;
    for old in target.keys(KEYS).await.map_err(target_error)? {
        if old != format!("{KEYS}/{name}") {
            target.delete(&old).await.map_err(target_error)?;
        }
    }
    Ok(size)
}

impl crate::Services {
    /// The `backup.keys` job (after a forget): a new key snapshot and ledger in the backup
    /// target, older key snapshots deleted. An unreachable target fails the job, which retries.
    pub async fn refresh_backup_keys(&self) -> Result<String, CoreError> {
        let (Some(target), Some(keys)) = (&self.backup.target, self.keyring.backup_keys()) else {
            return Ok("skipped: no backup target".into());
        };
        let lock = super::lock::exclusive(target, "refresh of the key snapshot").await?;
        super::lock::holding(lock, async {
            let dump = self.store.dump().await?;
            let name = uuid::Uuid::now_v7().to_string();
            write_keys(&keys, target, &name, &dump).await?;
            Ok(format!("key snapshot {name} written, older ones deleted"))
        })
        .await
    }
}

pub(crate) async fn manifest_of(
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
    let names = snapshot_names(target).await?;
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let m = manifest_of(keys, target, &name).await?;
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

/// What `backup verify` prints; `problem` names the first thing that did not hold.
#[derive(Clone, Debug, Serialize)]
pub struct VerifySummary {
    pub snapshot: String,
    pub ok: bool,
    pub seconds: f64,
    pub chunks: usize,
    pub files: usize,
    /// With `--read-data`: rows restored into the scratch store, and privacy-log entries
    /// verified there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_entries: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Checks a snapshot (`None`: the newest): its manifest authenticates, every chunk and file
/// blob is present with its size. With a `scratch` store (empty), also reads and
/// authenticates every chunk, restores the rows into it, compares the row counts with the
/// manifest and verifies every privacy-log chain there against `public_key`.
pub async fn verify(
    keys: &BackupKeys,
    target: &Blobs,
    snapshot: Option<&str>,
    scratch: Option<&dyn Store>,
    public_key: Option<&[u8]>,
) -> Result<VerifySummary, CoreError> {
    let started = std::time::Instant::now();
    let snapshot = match snapshot {
        Some(s) => s.to_owned(),
        None => newest_snapshot(target).await?,
    };
    let mut out = VerifySummary {
        snapshot: snapshot.clone(),
        ok: false,
        seconds: 0.0,
        chunks: 0,
        files: 0,
        rows: None,
        log_entries: None,
        problem: None,
    };
    let lock = super::lock::shared(target, "backup verify").await?;
    let problem = super::lock::holding(
        lock,
        check(keys, target, &snapshot, scratch, public_key, &mut out),
    )
    .await?;
    out.ok = problem.is_none();
    out.problem = problem;
    out.seconds = started.elapsed().as_secs_f64();
    Ok(out)
}

/// The snapshot names in the target, newest first (ids are time-ordered, UUIDv7); nothing is
/// opened, so a damaged manifest is found by whoever reads it.
pub(crate) async fn snapshot_names(target: &Blobs) -> Result<Vec<String>, CoreError> {
    let mut names: Vec<String> = target
        .keys(SNAPSHOTS)
        .await
        .map_err(target_error)?
        .into_iter()
        .filter_map(|k| k.strip_prefix("snapshots/").map(str::to_owned))
        .collect();
    names.sort_unstable_by(|a, b| b.cmp(a));
    Ok(names)
}

async fn newest_snapshot(target: &Blobs) -> Result<String, CoreError> {
    snapshot_names(target)
        .await?
        .into_iter()
        .next()
        .ok_or(CoreError::NotFound("snapshot"))
}

/// The first problem of a snapshot, if any (a failure to reach the target is an error).
async fn check(
    keys: &BackupKeys,
    target: &Blobs,
    snapshot: &str,
    scratch: Option<&dyn Store>,
    public_key: Option<&[u8]>,
    out: &mut VerifySummary,
) -> Result<Option<String>, CoreError> {
    let Some(sealed) = target
        .get(&format!("{SNAPSHOTS}/{snapshot}"))
        .await
        .map_err(target_error)?
    else {
        return Ok(Some(format!("no snapshot {snapshot} in the target")));
    };
    let m = match open_manifest(keys, snapshot, &sealed) {
        Ok(m) => m,
        Err(e) => return Ok(Some(e.to_string())),
    };
    for t in &m.tables {
        for c in &t.chunks {
            out.chunks += 1;
            let found = target
                .size(&format!("chunks/{}", c.id))
                .await
                .map_err(target_error)?;
            match found {
                None => {
                    return Ok(Some(format!(
                        "table {}: chunk {} is missing",
                        t.table, c.id
                    )));
                }
                Some(n) if n != c.size => {
                    return Ok(Some(format!(
                        "table {}: chunk {} has {n} bytes, the manifest says {}",
                        t.table, c.id, c.size
                    )));
                }
                Some(_) => {}
            }
        }
    }
    for b in &m.blobs {
        out.files += 1;
        let found = target
            .size(&format!("blobs/{}", b.object))
            .await
            .map_err(target_error)?;
        if found != Some(b.size) {
            return Ok(Some(format!(
                "file blob {} is missing or of the wrong size",
                b.object
            )));
        }
    }
    let Some(scratch) = scratch else {
        return Ok(None);
    };
    let fetched = fetch_chunks(target, &m).await?;
    let dump = match unpack(keys, &m, |id| fetched.get(id).cloned()) {
        Ok(d) => d,
        Err(e) => return Ok(Some(e.to_string())),
    };
    scratch.load(&dump).await?;
    let counts = scratch.dump().await?.counts();
    let mut rows = 0;
    for t in &m.tables {
        let n = counts
            .iter()
            .find(|(name, _)| *name == t.table)
            .map_or(0, |(_, n)| *n);
        if n != t.rows {
            return Ok(Some(format!(
                "table {}: {n} rows restored, the manifest says {}",
                t.table, t.rows
            )));
        }
        rows += n;
    }
    out.rows = Some(rows);
    let mut entries = 0;
    for t in scratch.list_tenants().await? {
        match crate::privacy::verify(scratch, t.id, public_key).await? {
            Ok(n) => entries += n,
            Err(b) => {
                return Ok(Some(format!(
                    "tenant {}: the privacy log breaks at entry {}: {}",
                    t.slug, b.seq, b.reason
                )));
            }
        }
    }
    out.log_entries = Some(entries);
    Ok(None)
}

/// Every chunk a manifest names that the target holds (what is missing, `unpack` names).
async fn fetch_chunks(
    target: &Blobs,
    m: &Manifest,
) -> Result<HashMap<strongroom_crypto::backup::ChunkId, Vec<u8>>, CoreError> {
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
    Ok(fetched)
}

/// Writes a checked restore: files first, then the rows in one transaction; if anything
/// fails, the files copied so far are removed again and the place is as empty as it was.
async fn write_restore(
    target: &Blobs,
    blobs: &Blobs,
    store: &dyn Store,
    wanted: &[&BlobRef],
    dump: &Dump,
    progress: Progress<'_>,
) -> Result<(), CoreError> {
    use futures_util::stream::{self, StreamExt as _};
    let n = wanted.len();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<(String, Result<u64, BlobError>)> = stream::iter(wanted)
        .map(|b| {
            let done = &done;
            async move {
                let r = target
                    .copy_to(&format!("blobs/{}", b.object), blobs, &b.key)
                    .await;
                let i = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                progress(&format!("files: {i} of {n}"));
                (b.key.clone(), r)
            }
        })
        .buffer_unordered(COPIES)
        .collect()
        .await;
    let mut copied = Vec::with_capacity(n);
    let mut outcome = Ok(());
    for (key, r) in results {
        match r {
            Ok(_) => copied.push(key),
            Err(e) => outcome = Err(target_error(e)),
        }
    }
    if outcome.is_ok() {
        progress("rows: loading in one transaction");
        outcome = store.load(dump).await.map_err(CoreError::from);
    }
    if let Err(e) = outcome {
        for key in &copied {
            let _ = blobs.delete(key).await;
        }
        return Err(e);
    }
    Ok(())
}

/// Restores a snapshot (`None`: the newest) into an empty store and an empty blob store;
/// anything else is refused before a byte is written.
pub async fn restore(
    keys: &BackupKeys,
    target: &Blobs,
    snapshot: Option<&str>,
    store: &dyn Store,
    blobs: &Blobs,
    progress: Progress<'_>,
) -> Result<RestoreSummary, CoreError> {
    let lock = super::lock::shared(target, "restore").await?;
    super::lock::holding(lock, async move {
        let started = std::time::Instant::now();
        let snapshot = match snapshot {
            Some(s) => s.to_owned(),
            None => newest_snapshot(target).await?,
        };
        if !store.is_empty().await? || !blobs.keys("").await.map_err(target_error)?.is_empty() {
            return Err(CoreError::Conflict(
                "a restore writes only into an empty store and an empty blob store".into(),
            ));
        }
        let m = manifest_of(keys, target, &snapshot).await?;
        if m.schema_version != SCHEMA_VERSION {
            return Err(CoreError::Invalid(format!(
                "snapshot {snapshot} has schema version {}, this build {SCHEMA_VERSION}",
                m.schema_version
            )));
        }
        let fetched = fetch_chunks(target, &m).await?;
        let mut dump = unpack(keys, &m, |id| fetched.get(id).cloned()).map_err(backup_error)?;
        // The newest keys, whatever the snapshot: a person forgotten since has none.
        let newest = target
            .keys(KEYS)
            .await
            .map_err(target_error)?
            .into_iter()
            .max()
            .ok_or_else(|| CoreError::Invalid("the target holds no key snapshot".into()))?;
        let key_doc = target
            .get(&newest)
            .await
            .map_err(target_error)?
            .ok_or_else(|| CoreError::Invalid("the key snapshot vanished".into()))?;
        let name = newest.trim_start_matches("keys/").to_owned();
        dump.tables
            .extend(open_tables(keys, KEYS, &name, &key_doc)?);
        // Destroyed tenants are left out; tenants newer than the snapshot have no rows to key.
        let ledger = read_ledger(keys, target).await?;
        let tenants: Vec<uuid::Uuid> = column(&dump, "tenants", "tenant_id")
            .into_iter()
            .filter_map(uuid_of)
            .filter(|t| !ledger.destroyed_tenants.contains(t))
            .collect();
        for t in &mut dump.tables {
            if let Some(i) = t.columns.iter().position(|c| c == "tenant_id") {
                t.rows.retain(|r| {
                    matches!(r.get(i), Some(Cell::Uuid(Some(u))) if tenants.contains(u))
                        || matches!(r.get(i), Some(Cell::Uuid(None)))
                });
            }
        }
        let blob_keys: Vec<String> = blob_keys(&dump);
        let wanted: Vec<&BlobRef> = m
            .blobs
            .iter()
            .filter(|b| blob_keys.contains(&b.key))
            .collect();
        for b in &wanted {
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
        write_restore(target, blobs, store, &wanted, &dump, progress).await?;
        let forgotten = ledger
            .forgotten
            .into_iter()
            .filter(|(t, _)| tenants.contains(t))
            .collect();
        Ok(RestoreSummary {
            snapshot,
            seconds: started.elapsed().as_secs_f64(),
            rows: dump.tables.iter().map(|t| t.rows.len() as u64).sum(),
            files: wanted.len(),
            forgotten,
            forgotten_reapplied: 0,
        })
    })
    .await
}
