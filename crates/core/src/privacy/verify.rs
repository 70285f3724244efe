//! Verification of a tenant's chain and its signed checkpoints (`strongroom audit verify`).

use crate::CoreError;
use crate::privacy::{chain, checkpoint_message, genesis};
use futures_util::StreamExt;
use std::collections::HashMap;
use strongroom_domain::TenantId;
use strongroom_store::PrivacyLogStore;

/// Entries read per page.
const VERIFY_PAGE: u64 = 1000;

/// Pages read ahead while one is hashed (each on its own reader connection).
const VERIFY_PREFETCH: usize = 3;

/// Where a chain first breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first sequence number that does not verify.
    pub seq: u64,
    pub reason: String,
}

/// Recomputes a tenant's chain from the start and checks its checkpoints (signatures against
/// `public_key`, the key file's; unchecked if `None`). `Ok(entries)` if everything holds.
pub async fn verify(
    store: &dyn PrivacyLogStore,
    tenant: TenantId,
    public_key: Option<&[u8]>,
) -> Result<Result<u64, ChainBreak>, CoreError> {
    let checkpoints = store.checkpoints(tenant).await?;
    if let Some(pk) = public_key {
        for c in &checkpoints {
            if !strongroom_crypto::sign::verify(
                pk,
                &checkpoint_message(tenant, c.seq, &c.hash, c.at),
                &c.signature,
            ) {
                return Ok(Err(ChainBreak {
                    seq: c.seq,
                    reason: format!("the checkpoint at entry {} has no valid signature", c.seq),
                }));
            }
        }
    }
    let signed: HashMap<u64, [u8; 32]> = checkpoints.iter().map(|c| (c.seq, c.hash)).collect();
    let mut prev = genesis(tenant);
    let mut expected = 1u64;
    // A valid chain numbers its entries 1, 2, 3, …, so page k holds entries k·PAGE+1 to
    // (k+1)·PAGE and the next pages can be read while this one is hashed: reading rows, not
    // SHA-256, was most of verify's time (BENCHMARKS.md, issue 16). A gap is caught on the
    // page it is in, before a later page's misalignment could matter; reading stops at the
    // first empty page, as before.
    let mut pages = futures_util::stream::iter((0u64..).map(|k| k * VERIFY_PAGE))
        .map(|after| store.privacy_page(tenant, after, u32::try_from(VERIFY_PAGE).unwrap_or(1000)))
        .buffered(VERIFY_PREFETCH);
    while let Some(page) = pages.next().await {
        let page = page?;
        if page.is_empty() {
            break;
        }
        for r in page {
            if r.seq != expected {
                return Ok(Err(ChainBreak {
                    seq: expected,
                    reason: format!("entry {expected} is missing (next is {})", r.seq),
                }));
            }
            let hash = chain(tenant, &prev, r.seq, &r.entry);
            if hash != r.hash {
                return Ok(Err(ChainBreak {
                    seq: r.seq,
                    reason: "contents do not match the chain (edited, moved or replaced)".into(),
                }));
            }
            if signed.get(&r.seq).is_some_and(|h| *h != hash) {
                return Ok(Err(ChainBreak {
                    seq: r.seq,
                    reason: "the chain was rewritten: it differs from the signed checkpoint here"
                        .into(),
                }));
            }
            prev = hash;
            expected += 1;
        }
    }
    drop(pages);
    let last = expected - 1;
    if let Some(c) = checkpoints.iter().rev().find(|c| c.seq > last) {
        return Ok(Err(ChainBreak {
            seq: last + 1,
            reason: format!(
                "entries {} to at least {} were cut off (a signed checkpoint covers them)",
                last + 1,
                c.seq
            ),
        }));
    }
    match store.privacy_head(tenant).await? {
        None if last == 0 => Ok(Ok(0)),
        None => Ok(Err(ChainBreak {
            seq: 1,
            reason: "entries exist but the chain head is missing".into(),
        })),
        Some((seq, hash)) if seq == last && hash == prev => Ok(Ok(last)),
        Some((seq, _)) if seq > last => Ok(Err(ChainBreak {
            seq: last + 1,
            reason: format!("entries {} to {seq} were cut off", last + 1),
        })),
        Some((seq, _)) => Ok(Err(ChainBreak {
            seq: seq + 1,
            reason: "the chain head does not match the last entry".into(),
        })),
    }
}
