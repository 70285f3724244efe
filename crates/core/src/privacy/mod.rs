//! The privacy log: every read, change and denial of personal data, per tenant, in a hash
//! chain (`hash = SHA-256(prev ‖ canonical entry)`) that `strongroom audit verify` checks.
//!
//! Appends go through one writer task that commits whatever has queued up in one transaction
//! per tenant (group commit); a request gets its answer only after its entry is committed.
//! Entries hold ids only; names are resolved when the log is read.
//!
//! The chain hash is unkeyed: someone who can write the database could rewrite a chain
//! consistently, or cut its tail and rewind the head. Signed checkpoints close that gap: the
//! writer signs `(tenant, seq, hash)` of a chain's head with the audit key from the key file
//! whenever the chain crosses a multiple of [`CHECKPOINT_EVERY`] entries or its last checkpoint
//! is older than [`CHECKPOINT_INTERVAL`], and `verify` checks every checkpoint against the
//! key file's public key.

pub mod verify;

pub use verify::*;

use crate::CoreError;
use crate::error::failed;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use strongroom_crypto::Key32;
use strongroom_domain::{TenantId, Timestamp, to_millis};
use strongroom_store::{ChangeLog, PrivacyCheckpoint, PrivacyEntry, PrivacyLogStore};
use tokio::sync::{mpsc, oneshot};

/// The privacy log's object type for records.
pub const RECORD_OBJECT: &str = "record";

/// The privacy log's object type for user accounts; also the table name users' sealed fields
/// are bound to.
pub const USERS_TABLE: &str = "users";

/// The privacy log's object types for security settings: a change to any of them is an entry
/// (action, actor, what changed — never a secret), so a tenant sees who weakened or
/// strengthened what. `policies` is written by the policy API, `second_factor` names the
/// user whose factor an administrator reset (as the entry's subject).
pub const TENANT_OBJECT: &str = "tenant";
pub const CLIENT_OBJECT: &str = "client";
pub const SECOND_FACTOR_OBJECT: &str = "second_factor";

/// Entries one commit takes at most.
const BATCH: usize = 512;

/// A checkpoint is signed each time a chain crosses a multiple of this many entries…
pub const CHECKPOINT_EVERY: u64 = 256;

/// …and when a chain's last checkpoint is older than this.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_mins(1);

/// What a checkpoint's signature covers.
pub fn checkpoint_message(tenant: TenantId, seq: u64, hash: &[u8; 32], at: Timestamp) -> Vec<u8> {
    strongroom_crypto::keys::aad(&[
        b"strongroom-checkpoint-v1",
        tenant.as_bytes(),
        &seq.to_be_bytes(),
        hash,
        &to_millis(at).to_be_bytes(),
    ])
}

/// Signs a checkpoint of the tenant's current head (nothing if the chain is empty).
pub async fn checkpoint(
    store: &dyn PrivacyLogStore,
    key: &Key32,
    tenant: TenantId,
    now: Timestamp,
) -> Result<Option<u64>, CoreError> {
    let Some((seq, hash)) = store
        .privacy_head(tenant)
        .await?
        .filter(|(seq, _)| *seq > 0)
    else {
        return Ok(None);
    };
    let signature =
        strongroom_crypto::sign::sign(key, &checkpoint_message(tenant, seq, &hash, now))
            .map_err(failed("signing a checkpoint failed"))?;
    store
        .insert_checkpoint(
            tenant,
            &PrivacyCheckpoint {
                seq,
                hash,
                at: now,
                signature,
            },
        )
        .await?;
    Ok(Some(seq))
}

/// A change's entries, for the store to append inside the change's own transaction (so the
/// change and its entry commit together or not at all; reads go through [`PrivacyLog`]).
pub fn change_log(tenant: TenantId, entries: Vec<PrivacyEntry>) -> ChangeLog {
    ChangeLog {
        tenant,
        genesis: genesis(tenant),
        chain,
        entries,
    }
}

/// The hash before a tenant's first entry: binds the chain to its tenant.
pub fn genesis(tenant: TenantId) -> [u8; 32] {
    strongroom_crypto::chain_hash(&[0; 32], &[b"strongroom-privacy-log-v1", tenant.as_bytes()])
}

fn opt(id: Option<uuid::Uuid>) -> Vec<u8> {
    id.map(|u| u.as_bytes().to_vec()).unwrap_or_default()
}

/// The chain function handed to the store.
pub fn chain(tenant: TenantId, prev: &[u8; 32], seq: u64, e: &PrivacyEntry) -> [u8; 32] {
    let fields = e.fields.join(",");
    strongroom_crypto::chain_hash(
        prev,
        &[
            tenant.as_bytes(),
            &seq.to_be_bytes(),
            &to_millis(e.at).to_be_bytes(),
            &opt(e.actor_id),
            e.via.as_bytes(),
            &opt(e.subject_id),
            e.object_type.as_bytes(),
            &opt(e.object_id),
            e.action.as_bytes(),
            fields.as_bytes(),
            e.decision.as_str().as_bytes(),
            e.client_sealed.as_deref().unwrap_or_default(),
        ],
    )
}

struct Pending {
    tenant: TenantId,
    entry: PrivacyEntry,
    done: oneshot::Sender<Result<u64, CoreError>>,
}

/// The handle requests append through.
pub struct PrivacyLog {
    tx: mpsc::Sender<Pending>,
}

impl PrivacyLog {
    /// Starts the writer task (on the current tokio runtime). Without a signing key no
    /// checkpoints are made.
    pub fn start(
        store: Arc<dyn PrivacyLogStore>,
        signing: Option<Key32>,
        clock: Arc<dyn crate::Clock>,
    ) -> Self {
        let (tx, rx) = mpsc::channel(4 * BATCH);
        tokio::spawn(writer(store, rx, signing, clock));
        Self { tx }
    }

    /// Appends one entry; returns its sequence number once it is committed.
    pub async fn append(&self, tenant: TenantId, entry: PrivacyEntry) -> Result<u64, CoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Pending {
                tenant,
                entry,
                done,
            })
            .await
            .map_err(failed("the privacy log writer is gone"))?;
        wait.await
            .map_err(failed("the privacy log writer dropped an entry"))?
    }

    /// Appends several entries (e.g. one per person on a listed page); waits for all.
    pub async fn append_all(
        &self,
        tenant: TenantId,
        entries: Vec<PrivacyEntry>,
    ) -> Result<(), CoreError> {
        let mut waits = Vec::with_capacity(entries.len());
        for entry in entries {
            let (done, wait) = oneshot::channel();
            self.tx
                .send(Pending {
                    tenant,
                    entry,
                    done,
                })
                .await
                .map_err(failed("the privacy log writer is gone"))?;
            waits.push(wait);
        }
        for w in waits {
            w.await
                .map_err(failed("the privacy log writer dropped an entry"))??;
        }
        Ok(())
    }
}

async fn writer(
    store: Arc<dyn PrivacyLogStore>,
    mut rx: mpsc::Receiver<Pending>,
    signing: Option<Key32>,
    clock: Arc<dyn crate::Clock>,
) {
    // Per tenant: the sequence number and (injected) time of this writer's last checkpoint.
    let mut last_checkpoint: HashMap<TenantId, (u64, Timestamp)> = HashMap::new();
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let mut by_tenant: HashMap<TenantId, Vec<Pending>> = HashMap::new();
        for p in batch {
            by_tenant.entry(p.tenant).or_default().push(p);
        }
        for (tenant, pending) in by_tenant {
            let entries: Vec<PrivacyEntry> = pending.iter().map(|p| p.entry.clone()).collect();
            match store
                .append_privacy(tenant, &entries, genesis(tenant), chain)
                .await
            {
                Ok(seqs) => {
                    let (first, last) = (
                        seqs.first().copied().unwrap_or(0),
                        seqs.last().copied().unwrap_or(0),
                    );
                    // Changes append inside their own transactions, so the chain may have
                    // grown past a multiple since this writer's last checkpoint.
                    let now = clock.now();
                    let since = last_checkpoint
                        .get(&tenant)
                        .map_or(first.saturating_sub(1), |(seq, _)| *seq);
                    let crossed = last / CHECKPOINT_EVERY > since / CHECKPOINT_EVERY;
                    let stale = last_checkpoint
                        .get(&tenant)
                        .is_none_or(|(_, at)| now - *at >= CHECKPOINT_INTERVAL);
                    if let (Some(key), true) = (&signing, crossed || stale) {
                        match checkpoint(&*store, key, tenant, now).await {
                            Ok(seq) => {
                                last_checkpoint.insert(tenant, (seq.unwrap_or(last), now));
                            }
                            Err(e) => {
                                tracing::error!(error = %e, tenant = %tenant, "privacy log checkpoint failed");
                            }
                        }
                    }
                    // Released after the checkpoint (at most one a minute and one per 256
                    // entries), so an answer never outruns the checkpoint its entry made due.
                    for (p, seq) in pending.into_iter().zip(seqs) {
                        let _ = p.done.send(Ok(seq));
                    }
                }
                Err(e) => {
                    let e =
                        CoreError::internal("privacy log append failed", format!("{tenant}: {e}"));
                    for p in pending {
                        let _ = p.done.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}
