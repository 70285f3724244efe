//! Files attached to records (documents, audio and video recordings): streamed through the
//! segment encryption of `strongroom_crypto::stream` into the blob store and back, with
//! byte ranges.
//!
//! Upload: levels 2 and 3 (`writeFile`) first; then the body is sealed segment by segment in
//! place (no copy of the plaintext beyond one 64 KiB segment buffer) and written to a fresh
//! blob; only a completed blob is referenced by a row, in one transaction with the record's
//! history entry. A failed or oversized upload aborts the blob and leaves nothing behind.
//!
//! Download: level 2 (`readFile`), level 3 (`readRecord` on the record), level 4 (`readFile`
//! on this very file); only then is the subject key opened. The privacy-log entry is durable
//! before the first byte goes out. Segments that fail authentication end the stream with an
//! error, so a client never receives unauthenticated plaintext.

use crate::access::{Action, Verdict};
use crate::backup::Change;
use crate::error::failed;
use crate::records::FileInfo;
use crate::{CoreError, Principal, Services};
use bytes::{Bytes, BytesMut};
use futures_util::stream::{BoxStream, Stream, StreamExt};
use std::net::IpAddr;
use std::ops::Range;
use strongroom_blobs::{BlobWriter, Blobs};
use strongroom_crypto::keys::aad;
use strongroom_crypto::stream::{
    Decryptor, ENCRYPTED_SEGMENT_LEN, Encryptor, HEADER_LEN, RangePlan, SEGMENT_LEN, TAG_LEN,
};
use strongroom_domain::{FileId, RecordId, TenantId};
use strongroom_store::{FileRow, HistoryRow};

/// The privacy log's object type for files.
pub const FILE_OBJECT: &str = "file";

/// Longest content type kept.
const MAX_CONTENT_TYPE: usize = 255;

/// A file ready to stream: what the HTTP layer needs for its headers, and the bytes.
pub struct FileDownload {
    pub content_type: String,
    /// The whole file's size.
    pub size: u64,
    /// The bytes served (the whole file, or the requested range).
    pub range: Range<u64>,
    pub partial: bool,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn valid_content_type(ct: &str) -> bool {
    ct.len() <= MAX_CONTENT_TYPE
        && ct.contains('/')
        && ct.chars().all(|c| c.is_ascii_graphic() || c == ' ')
}

/// The associated data of a file's stream: it binds the ciphertext to its tenant, record,
/// name and file id, so a blob moved to another record or name does not open.
fn file_aad(tenant: TenantId, record: RecordId, name: &str, file: FileId) -> Vec<u8> {
    aad(&[
        b"strongroom-file",
        tenant.as_bytes(),
        record.0.as_bytes(),
        name.as_bytes(),
        file.0.as_bytes(),
    ])
}

fn blob_key(tenant: TenantId, file: FileId) -> String {
    format!("tenants/{}/files/{}", tenant.0, file.0)
}

/// Seals and writes one segment from the front of `buf`.
async fn seal_and_write(
    enc: &mut Encryptor,
    writer: &mut BlobWriter,
    segment: &mut [u8],
    last: bool,
) -> Result<(), CoreError> {
    let tag = enc
        .seal_segment(segment, last)
        .map_err(failed("sealing a file segment failed"))?;
    writer.write(segment).await?;
    writer.write(&tag).await?;
    Ok(())
}

async fn read_all(blobs: &Blobs, key: &str, range: Range<u64>) -> Result<Bytes, CoreError> {
    let mut s = blobs.read_range(key, range).await?;
    let mut out = BytesMut::new();
    while let Some(chunk) = s.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out.freeze())
}

struct DecryptState {
    source: BoxStream<'static, Result<Bytes, strongroom_blobs::BlobError>>,
    buf: BytesMut,
    dec: Decryptor,
    plan: RangePlan,
    index: u64,
    skip: usize,
    remaining: u64,
}

fn io_error(what: &str) -> std::io::Error {
    tracing::error!(what, "file stream failed");
    std::io::Error::other(what.to_owned())
}

impl DecryptState {
    /// The next segment's plaintext slice, or `None` at the end of the range.
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, std::io::Error> {
        if self.remaining == 0 || !self.plan.segments().contains(&self.index) {
            return Ok(None);
        }
        let (last, len) = self.plan.segment(self.index);
        while self.buf.len() < len {
            match self.source.next().await {
                Some(Ok(chunk)) => self.buf.extend_from_slice(&chunk),
                Some(Err(_)) => return Err(io_error("blob read failed")),
                None => return Err(io_error("blob shorter than its record says")),
            }
        }
        let mut segment = self.buf.split_to(len);
        let plain = self
            .dec
            .open_segment(self.index, last, &mut segment)
            .map_err(|_| io_error("segment does not authenticate"))?;
        let start = self.skip.min(plain.len());
        let take = usize::try_from(self.remaining)
            .unwrap_or(usize::MAX)
            .min(plain.len() - start);
        let out = Bytes::copy_from_slice(plain.get(start..start + take).unwrap_or_default());
        self.skip = 0;
        self.remaining -= take as u64;
        self.index += 1;
        Ok(Some(out))
    }
}

fn decrypt_stream(
    source: BoxStream<'static, Result<Bytes, strongroom_blobs::BlobError>>,
    dec: Decryptor,
    plan: RangePlan,
) -> BoxStream<'static, Result<Bytes, std::io::Error>> {
    let state = DecryptState {
        source,
        buf: BytesMut::with_capacity(ENCRYPTED_SEGMENT_LEN + TAG_LEN),
        skip: plan.skip(),
        remaining: plan.len(),
        index: plan.segments().start,
        dec,
        plan,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        match s.next_chunk().await {
            Ok(Some(b)) => Some((Ok(b), s)),
            Ok(None) => None,
            Err(e) => {
                s.remaining = 0;
                Some((Err(e), s))
            }
        }
    })
    .boxed()
}

impl Services {
    /// `PUT /records/{id}/files/{name}`: stores the body, encrypted, replacing a file of the
    /// same name.
    #[allow(
        clippy::too_many_arguments,
        clippy::too_many_lines,
        reason = "one linear sequence of checked steps"
    )]
    pub async fn put_file<S, E>(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
        name: &str,
        content_type: &str,
        max_bytes: u64,
        body: S,
    ) -> Result<FileInfo, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let actor = Self::actor(p);
        let (view, _, role) = self
            .checked_record(&actor, client, Action::WriteFile, id)
            .await?;
        if !valid_file_name(name) {
            return Err(CoreError::Invalid(
                "name: 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-', not starting with '.'"
                    .into(),
            ));
        }
        if !valid_content_type(content_type) {
            return Err(CoreError::Invalid(
                "Content-Type: give the file's media type, e.g. video/mp4".into(),
            ));
        }
        let subject_key = self
            .subject_key_of(&view)
            .await?
            .ok_or_else(|| CoreError::Conflict("the record's subject was forgotten".into()))?;
        let file_id = FileId::new();
        let key = blob_key(p.tenant_id, file_id);
        let mut enc = Encryptor::new(
            &subject_key.file_key(file_id.0),
            &file_aad(p.tenant_id, id, name, file_id),
        )
        .map_err(failed("starting a file encryption failed"))?;
        drop(subject_key);
        // Built before the upload: the store appends it with the file row, or not at all.
        let log = self
            .change_log(
                &actor,
                client,
                &role,
                Some(view.record.subject_id),
                (FILE_OBJECT, Some(id.0)),
                "write",
                vec![format!("files/{name}")],
            )
            .await?;
        self.replicate(&key, Change::Upload).await?;
        let mut writer = self.blobs.writer(&key).await?;
        let written = self
            .stream_into(&mut enc, &mut writer, max_bytes, body)
            .await;
        let size = match written {
            Ok(size) => size,
            Err(e) => {
                if let Err(abort) = writer.abort().await {
                    tracing::warn!(error = %abort, "aborting a failed upload");
                }
                return Err(e);
            }
        };
        writer.finish().await?;
        let now = self.clock.now();
        let row = FileRow {
            record_id: id,
            name: name.to_owned(),
            file_id,
            blob_key: key.clone(),
            content_type: content_type.to_owned(),
            size,
            created_by: p.user_id,
            created_at: now,
        };
        let history = HistoryRow {
            record_id: id,
            version: 0,
            at: now,
            actor_id: p.user_id,
            action: "put_file".into(),
            fields: vec![format!("files/{name}")],
            data_before: None,
        };
        let replaced = match self.store.put_file(p.tenant_id, &row, &history, &log).await {
            Ok(old) => old,
            Err(e) => {
                // Nothing references the new blob: remove it.
                if let Err(del) = self.blobs.delete(&key).await {
                    tracing::warn!(error = %del, "removing an unreferenced blob");
                }
                return Err(e.into());
            }
        };
        if let Err(e) = self.replicate(&key, Change::Uploaded).await {
            // The safety-net job scheduled before the upload copies it a little later.
            tracing::warn!(error = %e, "scheduling an upload's replication");
        }
        if let Some(old) = replaced {
            match self.blobs.delete(&old.blob_key).await {
                Ok(()) => {
                    if let Err(e) = self.replicate(&old.blob_key, Change::Deleted).await {
                        tracing::warn!(error = %e, "scheduling a replaced file's removal from the replica");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "removing a replaced file's blob"),
            }
        }
        Ok(FileInfo {
            name: row.name,
            content_type: row.content_type,
            size,
            created_at: now,
        })
    }

    /// Seals the body into the blob; returns the plaintext size.
    async fn stream_into<S, E>(
        &self,
        enc: &mut Encryptor,
        writer: &mut BlobWriter,
        max_bytes: u64,
        body: S,
    ) -> Result<u64, CoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        writer.write(enc.header()).await?;
        let mut body = std::pin::pin!(body);
        let mut buf: Vec<u8> = Vec::with_capacity(SEGMENT_LEN * 2);
        let mut size: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::info!(error = %e, "upload interrupted");
                CoreError::Invalid("the upload was interrupted before its end".into())
            })?;
            size += chunk.len() as u64;
            if size > max_bytes {
                return Err(CoreError::TooLarge(format!(
                    "files are at most {max_bytes} bytes"
                )));
            }
            buf.extend_from_slice(&chunk);
            // A full segment is sealed only once more data follows: the last one is marked.
            while buf.len() > SEGMENT_LEN {
                let segment = buf.get_mut(..SEGMENT_LEN).ok_or_else(|| {
                    CoreError::internal("a full segment buffer is short", "absent")
                })?;
                seal_and_write(enc, writer, segment, false).await?;
                buf.drain(..SEGMENT_LEN);
            }
        }
        seal_and_write(enc, writer, &mut buf, true).await?;
        Ok(size)
    }

    /// `GET /records/{id}/files/{name}`: the four levels, the log entry, then a stream of
    /// the plaintext of `range` (resolved against the file's size by `range`).
    #[allow(
        clippy::too_many_lines,
        reason = "one linear sequence of checked steps"
    )]
    pub async fn get_file(
        &self,
        p: &Principal,
        client: Option<IpAddr>,
        id: RecordId,
        name: &str,
        range: impl FnOnce(u64) -> Result<Option<Range<u64>>, CoreError>,
    ) -> Result<FileDownload, CoreError> {
        let actor = Self::actor(p);
        self.level2(&actor, client, Action::ReadFile, (FILE_OBJECT, Some(id.0)))
            .await?;
        let Some(view) = self.store.record(p.tenant_id, id).await? else {
            return Err(self.missing_record(&actor.0, id).await);
        };
        let facts = self.facts(&view).await?;
        self.level3(
            &actor,
            client,
            Action::ReadRecord,
            &facts,
            (FILE_OBJECT, Some(id.0)),
        )
        .await?;
        crate::access::guard::not_deleted(&view)?;
        let Some(file) = self.store.file(p.tenant_id, id, name).await? else {
            // The caller may see the record, so may know its files existed.
            return Err(match self.store.tombstone(p.tenant_id, id.0, name).await? {
                Some(t) => CoreError::gone("file", &t),
                None => CoreError::NotFound("file"),
            });
        };
        let verdict = self
            .access
            .on_file(&*self.store, &actor.0, &facts, name, &file.content_type)
            .await?;
        let Verdict::Allow { role } = verdict else {
            self.log_access(
                &actor,
                client,
                &actor.0.roles.to_stored(),
                Some(view.record.subject_id),
                (FILE_OBJECT, Some(id.0)),
                "read",
                vec![format!("files/{name}")],
                strongroom_domain::Decision::Deny,
            )
            .await?;
            return Err(CoreError::Forbidden(
                "the policies do not let you open this file".into(),
            ));
        };
        let (range, partial) = match range(file.size)? {
            Some(r) => (r, true),
            None => (0..file.size, false),
        };
        // A forgotten subject's files are gone with their key.
        let subject_key = self
            .subject_key_of(&view)
            .await?
            .ok_or(CoreError::NotFound("file"))?;
        let body = self
            .open_file_stream(p.tenant_id, &subject_key, &file, range.clone())
            .await?;
        drop(subject_key);
        self.log_access(
            &actor,
            client,
            &role,
            Some(view.record.subject_id),
            (FILE_OBJECT, Some(id.0)),
            "read",
            vec![format!("files/{name}")],
            strongroom_domain::Decision::Allow,
        )
        .await?;
        Ok(FileDownload {
            content_type: file.content_type,
            size: file.size,
            range,
            partial,
            body,
        })
    }

    /// The plaintext of `range` of a stored file, as a stream. The first segment is opened
    /// before this returns: a damaged or swapped blob is then a clean error rather than an
    /// answer that breaks off (later segments can only break off). Callers check access first.
    pub(crate) async fn open_file_stream(
        &self,
        tenant: TenantId,
        subject_key: &crate::keys::SubjectKey,
        file: &FileRow,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes, std::io::Error>>, CoreError> {
        let file_key = subject_key.file_key(file.file_id.0);
        let header = read_all(&self.blobs, &file.blob_key, 0..HEADER_LEN as u64).await?;
        let header: [u8; HEADER_LEN] = header
            .as_ref()
            .try_into()
            .map_err(failed("a stored file header has the wrong length"))?;
        let dec = Decryptor::new(
            &file_key,
            &header,
            &file_aad(tenant, file.record_id, &file.name, file.file_id),
        )
        .map_err(|_| CoreError::internal("a stored file's header does not parse", ""))?;
        let plan = RangePlan::new(file.size, range).map_err(|_| {
            CoreError::RangeNotSatisfiable(format!("the file has {} bytes", file.size))
        })?;
        let source = self
            .blobs
            .read_range(&file.blob_key, plan.ciphertext())
            .await?;
        let mut body = decrypt_stream(source, dec, plan);
        let first = match body.next().await {
            Some(Ok(chunk)) => Some(chunk),
            Some(Err(e)) => {
                return Err(CoreError::internal(
                    "the first segment of a stored file does not open",
                    e,
                ));
            }
            None => None,
        };
        Ok(futures_util::stream::iter(first.map(Ok))
            .chain(body)
            .boxed())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_types_are_checked() {
        assert!(valid_file_name("recording.mp4"));
        assert!(valid_file_name("a-b_c.1"));
        assert!(!valid_file_name(""));
        assert!(!valid_file_name(".hidden"));
        assert!(!valid_file_name("../x"));
        assert!(!valid_file_name("a/b"));
        assert!(!valid_file_name(&"a".repeat(129)));
        assert!(valid_content_type("video/mp4"));
        assert!(valid_content_type("text/plain; charset=utf-8"));
        assert!(!valid_content_type("mp4"));
        assert!(!valid_content_type("video/mp4\r\nX: y"));
    }
}
