//! Blob storage for encrypted files, through the `object_store` crate: a local folder by
//! default, or an S3-compatible bucket (`s3://bucket[/prefix]`).
//!
//! Blobs hold ciphertext only: the core encrypts before [`BlobWriter::write`] and decrypts
//! what [`Blobs::read_range`] returns. A blob is written under a fresh key and only then
//! referenced by a row, so a failed upload never leaves a row pointing at a missing or
//! partial object (a local multipart write lands in a staging file renamed at the end; an S3
//! multipart upload is invisible until completed, and aborted on failure).

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, WriteMultipart};
use secrecy::ExposeSecret;
use std::ops::Range;
use std::sync::Arc;

/// A blob store failure. The text names what failed, never a credential.
#[derive(Debug, Clone, thiserror::Error)]
pub enum BlobError {
    #[error("no such blob")]
    NotFound,
    #[error("{0}")]
    Backend(String),
}

pub type Result<T, E = BlobError> = std::result::Result<T, E>;

/// S3 multipart parts are at least 5 MiB (but the last); 8 MiB keeps the part count low.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: bounds an upload's memory to about three parts.
const PARTS_IN_FLIGHT: usize = 2;

/// How to reach an S3-compatible server. Credentials come from the operator's environment or
/// secret store, never from a file in the data folder.
#[derive(Clone, Debug, Default)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub allow_http: bool,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<secrecy::SecretString>,
}

#[derive(Clone)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
    /// A local folder: reads go by whole ranges (see `read_range`), and a copy between two
    /// local folders is a file copy (see `copy_to`).
    local: Option<Arc<object_store::local::LocalFileSystem>>,
}

/// Bytes read at a time from a local blob.
const LOCAL_READ: u64 = 1024 * 1024;

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blobs({})", self.inner)
    }
}

fn blob_error(e: object_store::Error) -> BlobError {
    match e {
        object_store::Error::NotFound { .. } => BlobError::NotFound,
        other => BlobError::Backend(format!("blob store: {other}")),
    }
}

fn key_path(key: &str) -> Result<Path> {
    Path::parse(key).map_err(|_| BlobError::Backend("invalid blob key".to_owned()))
}

impl Blobs {
    /// A local folder (created if missing).
    pub fn local(dir: &std::path::Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| BlobError::Backend(format!("blob folder: {e}")))?;
        let fs = Arc::new(
            object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(blob_error)?,
        );
        Ok(Self {
            inner: fs.clone(),
            local: Some(fs),
        })
    }

    /// `file:///path` or `s3://bucket[/prefix]`.
    pub fn open(url: &str, s3: &S3Settings) -> Result<Self> {
        if let Some(path) = url.strip_prefix("file://") {
            return Self::local(std::path::Path::new(path));
        }
        let Some(rest) = url.strip_prefix("s3://") else {
            return Err(BlobError::Backend(
                "blob URL must start with file:// or s3://".to_owned(),
            ));
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let mut b = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(s3.region.clone().unwrap_or_else(|| "us-east-1".to_owned()))
            .with_allow_http(s3.allow_http)
            // `If-None-Match: *` for `put_new` (AWS S3 and s3s support it).
            .with_conditional_put(object_store::aws::S3ConditionalPut::ETagMatch);
        if let Some(e) = &s3.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(k) = &s3.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &s3.secret_access_key {
            b = b.with_secret_access_key(k.expose_secret());
        }
        let s3 = b.build().map_err(blob_error)?;
        let prefix = prefix.trim_matches('/');
        let inner: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(s3, prefix))
        };
        Ok(Self { inner, local: None })
    }

    /// Starts writing a new blob under `key`; nothing is visible there until `finish`.
    pub async fn writer(&self, key: &str) -> Result<BlobWriter> {
        let upload = self
            .inner
            .put_multipart(&key_path(key)?)
            .await
            .map_err(blob_error)?;
        Ok(BlobWriter {
            inner: WriteMultipart::new_with_chunk_size(upload, PART_SIZE),
        })
    }

    /// Bytes `range` of a blob, as a stream of chunks.
    pub async fn read_range(
        &self,
        key: &str,
        range: Range<u64>,
    ) -> Result<BoxStream<'static, Result<Bytes>>> {
        if range.is_empty() {
            return Ok(futures_util::stream::empty().boxed());
        }
        if self.local.is_some() {
            // object_store streams a local file in 8 KiB reads, each on the blocking pool,
            // which capped an export at ≈ 110 MiB/s; whole 1 MiB ranges gave ≈ 1.3 GiB/s
            // (BENCHMARKS.md, export).
            let (inner, path) = (self.inner.clone(), key_path(key)?);
            let pieces = (range.start..range.end)
                .step_by(usize::try_from(LOCAL_READ).unwrap_or(usize::MAX))
                .map(move |start| start..(start + LOCAL_READ).min(range.end));
            return Ok(futures_util::stream::iter(pieces)
                .then(move |r| {
                    let (inner, path) = (inner.clone(), path.clone());
                    async move { inner.get_range(&path, r).await.map_err(blob_error) }
                })
                .boxed());
        }
        let got = self
            .inner
            .get_opts(
                &key_path(key)?,
                GetOptions {
                    range: Some(GetRange::Bounded(range)),
                    ..GetOptions::default()
                },
            )
            .await
            .map_err(blob_error)?;
        Ok(got.into_stream().map_err(blob_error).boxed())
    }

    /// Deletes a blob; one that is already gone is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&key_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(blob_error(e)),
        }
    }

    /// Writes a whole small object at once (a backup's chunks and documents); it appears
    /// complete or not at all.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.inner
            .put(&key_path(key)?, bytes.into())
            .await
            .map_err(blob_error)?;
        Ok(())
    }

    /// Writes a small object only if there is none under `key` (atomically: a local file is
    /// created exclusively, S3 is asked with `If-None-Match: *`); whether it was written.
    pub async fn put_new(&self, key: &str, bytes: Vec<u8>) -> Result<bool> {
        let opts = object_store::PutOptions::from(object_store::PutMode::Create);
        match self
            .inner
            .put_opts(&key_path(key)?, bytes.into(), opts)
            .await
        {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(blob_error(e)),
        }
    }

    /// A whole object, or `None` if there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&key_path(key)?).await {
            Ok(r) => r.bytes().await.map(Some).map_err(blob_error),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(blob_error(e)),
        }
    }

    /// An object's size, or `None` if there is none.
    pub async fn size(&self, key: &str) -> Result<Option<u64>> {
        match self.inner.head(&key_path(key)?).await {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(blob_error(e)),
        }
    }

    /// Copies object `key` of this store to `to_key` in `to`, streamed; its size.
    /// `NotFound` if there is no such object here.
    pub async fn copy_to(&self, key: &str, to: &Blobs, to_key: &str) -> Result<u64> {
        if let (Some(from), Some(into)) = (&self.local, &to.local) {
            let src = from
                .path_to_filesystem(&key_path(key)?)
                .map_err(blob_error)?;
            let dst = into
                .path_to_filesystem(&key_path(to_key)?)
                .map_err(blob_error)?;
            return copy_file(&src, &dst).await;
        }
        let size = self.size(key).await?.ok_or(BlobError::NotFound)?;
        let mut w = to.writer(to_key).await?;
        let mut stream = self.read_range(key, 0..size).await?;
        let mut copied = 0;
        while let Some(piece) = stream.next().await {
            match piece {
                Ok(b) => {
                    copied += b.len() as u64;
                    w.write(&b).await?;
                }
                Err(e) => {
                    let _ = w.abort().await;
                    return Err(e);
                }
            }
        }
        if copied != size {
            let _ = w.abort().await;
            return Err(BlobError::Backend(
                "a blob changed while it was copied".into(),
            ));
        }
        w.finish().await?;
        Ok(size)
    }

    /// Every object under `prefix` with its size (one listing, not one request per object).
    pub async fn sizes(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let prefix = key_path(prefix)?;
        self.inner
            .list(Some(&prefix))
            .map_ok(|m| (m.location.to_string(), m.size))
            .map_err(blob_error)
            .try_collect()
            .await
    }

    /// Every blob key under `prefix` (for tests and operator checks).
    pub async fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = key_path(prefix)?;
        self.inner
            .list(Some(&prefix))
            .map_ok(|m| m.location.to_string())
            .map_err(blob_error)
            .try_collect()
            .await
    }
}

/// Copies a file from one local folder to another (the kernel's `copy_file_range`: no bytes
/// through user space, about twice as fast as streaming them; written by hand because
/// `object_store` copies only within one store). It appears whole or not at all: written
/// beside its place under a staging name, then renamed.
async fn copy_file(src: &std::path::Path, dst: &std::path::Path) -> Result<u64> {
    static STAGING: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => BlobError::NotFound,
        _ => BlobError::Backend(format!("blob store: {e}")),
    };
    let n = STAGING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let staging = dst.with_file_name(format!(
        "{}#copy-{}-{n}",
        dst.file_name().and_then(|f| f.to_str()).unwrap_or("blob"),
        std::process::id()
    ));
    if let Some(dir) = dst.parent() {
        tokio::fs::create_dir_all(dir).await.map_err(io)?;
    }
    let copied = match tokio::fs::copy(src, &staging).await {
        Ok(n) => n,
        Err(e) => {
            let _ = tokio::fs::remove_file(&staging).await;
            return Err(io(e));
        }
    };
    if let Err(e) = tokio::fs::rename(&staging, dst).await {
        let _ = tokio::fs::remove_file(&staging).await;
        return Err(io(e));
    }
    Ok(copied)
}

/// A blob being written; dropped without `finish`, it is aborted.
pub struct BlobWriter {
    inner: WriteMultipart,
}

impl BlobWriter {
    /// Queues `buf`, waiting while too many parts are in flight.
    pub async fn write(&mut self, buf: &[u8]) -> Result<()> {
        self.inner
            .wait_for_capacity(PARTS_IN_FLIGHT)
            .await
            .map_err(blob_error)?;
        self.inner.write(buf);
        Ok(())
    }

    /// Completes the upload: only now does the blob exist.
    pub async fn finish(self) -> Result<()> {
        self.inner.finish().await.map_err(blob_error)?;
        Ok(())
    }

    /// Abandons the upload and removes its parts.
    pub async fn abort(self) -> Result<()> {
        self.inner.abort().await.map_err(blob_error)
    }
}
