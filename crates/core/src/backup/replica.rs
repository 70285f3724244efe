//! File replication to a second object store (`blobs.replica_url`; seed 001: "instant file
//! replication to an external server", "newly uploaded documents and also the removal"). Every
//! upload and every deletion of a blob schedules a durable `replica.sync` job for its key and
//! wakes the installation worker; the job makes the replica match the blob store for that key —
//! copies the blob if the store has it and the replica does not, deletes it from the replica if
//! the store no longer has it — so it is idempotent, and the order in which an upload's and a
//! deletion's jobs run does not matter. Blobs are ciphertext: the replica learns nothing the
//! blob store did not. The lag (the oldest pending job's age) is in `/metrics`.

use super::run::target_error;
use crate::{CoreError, Services};
use strongroom_blobs::BlobError;
use strongroom_domain::JobKind;
use time::Duration;

/// An upload's replication is scheduled before its blob is written, this far ahead: should
/// the process die between the upload and its fast job, this one still copies it.
const SAFETY_NET: Duration = Duration::minutes(10);

/// Why a blob is replicated: its dedupe key's middle part.
#[derive(Clone, Copy)]
pub(crate) enum Change {
    /// Before an upload: the safety net.
    Upload,
    /// After the upload finished: at once.
    Uploaded,
    Deleted,
}

impl Services {
    /// Schedules a blob's replication (nothing without a replica).
    pub(crate) async fn replicate(&self, key: &str, change: Change) -> Result<(), CoreError> {
        if self.replica.is_none() {
            return Ok(());
        }
        let (what, delay) = match change {
            Change::Upload => ("upload", SAFETY_NET),
            Change::Uploaded => ("uploaded", Duration::ZERO),
            Change::Deleted => ("deleted", Duration::ZERO),
        };
        self.enqueue_installation(
            JobKind::ReplicaSync,
            format!("replica.sync:{what}:{key}"),
            Some(key.to_owned()),
            delay,
        )
        .await
    }

    /// The `replica.sync` job: the replica brought in line with the blob store for `key`.
    pub(crate) async fn sync_replica(&self, key: &str) -> Result<String, CoreError> {
        let Some(replica) = &self.replica else {
            return Ok("skipped: no replica".into());
        };
        let Some(size) = self.blobs.size(key).await.map_err(target_error)? else {
            replica.delete(key).await.map_err(target_error)?;
            return Ok("deleted from the replica".into());
        };
        if replica.size(key).await.map_err(target_error)? == Some(size) {
            return Ok("already replicated".into());
        }
        match self.blobs.copy_to(key, replica, key).await {
            Ok(n) => Ok(format!("copied {n} bytes")),
            // Deleted meanwhile: its own job deletes it from the replica.
            Err(BlobError::NotFound) => Ok("deleted meanwhile".into()),
            Err(e) => Err(target_error(e)),
        }
    }
}
