//! The target's lock, so that a prune never deletes what a run or a verify is using, and two
//! writers of the key snapshot never delete each other's. Written by hand because no crate
//! locks an `object_store`: restic's scheme, on two kinds of object. A writer (run, prune, the
//! keys' refresh) creates `locks/exclusive` only where there is none (`put_new`: an exclusive
//! file create, or S3's `If-None-Match: *`); a reader (verify, restore) writes
//! `locks/shared-<id>`. Each writes its own first and then looks for the other kind, and backs
//! out if it finds one: of two that overlap at least one sees the other, so they never both
//! go on. A lock older than [`STALE`] belongs to a process that died and is ignored.

use super::run::target_error;
use crate::CoreError;
use serde::{Deserialize, Serialize};
use strongroom_blobs::Blobs;
use strongroom_domain::{Timestamp, from_millis, to_millis};
use time::Duration;

const EXCLUSIVE: &str = "locks/exclusive";
const SHARED: &str = "locks/shared-";

/// A lock this old is taken to be left by a process that died.
pub const STALE: Duration = Duration::hours(6);

/// Who holds a lock (nothing secret: what it is doing, since when, which process).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Holder {
    id: String,
    what: String,
    pid: u32,
    at: i64,
}

impl Holder {
    fn describe(&self) -> String {
        format!(
            "{} (process {}, since {})",
            self.what,
            self.pid,
            from_millis(self.at)
        )
    }
}

/// A held lock; [`TargetLock::release`] removes it (a lock dropped without release stays
/// until it is stale: a process that dies leaves it too).
#[must_use = "release the lock when done"]
pub struct TargetLock {
    target: Blobs,
    name: String,
}

fn busy(h: &Holder) -> CoreError {
    CoreError::Conflict(format!(
        "the backup target is in use by {}; try again when it is done",
        h.describe()
    ))
}

async fn holder(target: &Blobs, name: &str) -> Result<Option<Holder>, CoreError> {
    Ok(target
        .get(name)
        .await
        .map_err(target_error)?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

fn live(h: &Holder, now: Timestamp) -> bool {
    from_millis(h.at) + STALE > now
}

fn new_holder(what: &str, now: Timestamp) -> (Holder, Vec<u8>) {
    let h = Holder {
        id: uuid::Uuid::now_v7().to_string(),
        what: what.to_owned(),
        pid: std::process::id(),
        at: to_millis(now),
    };
    let bytes = serde_json::to_vec(&h).unwrap_or_default();
    (h, bytes)
}

/// The live shared locks.
async fn readers(target: &Blobs, now: Timestamp) -> Result<Vec<Holder>, CoreError> {
    let mut out = Vec::new();
    for name in target.keys("locks").await.map_err(target_error)? {
        if name.starts_with(SHARED)
            && let Some(h) = holder(target, &name).await?
            && live(&h, now)
        {
            out.push(h);
        }
    }
    Ok(out)
}

/// The exclusive lock, for a run, a prune or a refresh of the keys.
pub async fn exclusive(target: &Blobs, what: &str) -> Result<TargetLock, CoreError> {
    // Real time, not the services' clock: a lock is about processes that run now.
    let now = time::OffsetDateTime::now_utc();
    let (_, bytes) = new_holder(what, now);
    if !target
        .put_new(EXCLUSIVE, bytes.clone())
        .await
        .map_err(target_error)?
    {
        match holder(target, EXCLUSIVE).await? {
            Some(h) if live(&h, now) => return Err(busy(&h)),
            // Stale (or unreadable): taken over.
            _ => {
                target.delete(EXCLUSIVE).await.map_err(target_error)?;
                if !target
                    .put_new(EXCLUSIVE, bytes)
                    .await
                    .map_err(target_error)?
                {
                    return Err(CoreError::Conflict(
                        "the backup target was locked by another process just now; try again"
                            .into(),
                    ));
                }
            }
        }
    }
    let lock = TargetLock {
        target: target.clone(),
        name: EXCLUSIVE.to_owned(),
    };
    if let Some(h) = readers(target, now).await?.first() {
        let e = busy(h);
        lock.release().await?;
        return Err(e);
    }
    Ok(lock)
}

/// A shared lock, for a verify or a restore (several may run at once, but no writer).
pub async fn shared(target: &Blobs, what: &str) -> Result<TargetLock, CoreError> {
    let now = time::OffsetDateTime::now_utc();
    let (h, bytes) = new_holder(what, now);
    let name = format!("{SHARED}{}", h.id);
    target.put(&name, bytes).await.map_err(target_error)?;
    let lock = TargetLock {
        target: target.clone(),
        name,
    };
    if let Some(w) = holder(target, EXCLUSIVE).await?
        && live(&w, now)
    {
        lock.release().await?;
        return Err(busy(&w));
    }
    Ok(lock)
}

impl TargetLock {
    pub async fn release(self) -> Result<(), CoreError> {
        self.target.delete(&self.name).await.map_err(target_error)
    }
}

/// Runs `op` under `lock`, released whatever `op` returns.
pub async fn holding<T>(
    lock: TargetLock,
    op: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    let out = op.await;
    let released = lock.release().await;
    let out = out?;
    released?;
    Ok(out)
}
