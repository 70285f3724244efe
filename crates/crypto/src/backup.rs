//! Sealing backups: content-addressed chunks and authenticated manifests under the backup key.
//!
//! Two keys derive from the backup key (HKDF-SHA256, as file keys do): one names chunks, one
//! seals them. A chunk's id is HMAC-SHA-256 of its plaintext under the naming key, so equal
//! content is stored once (deduplication across snapshots), while whoever holds the target
//! cannot test a guess of the content without the key. A chunk is sealed (AES-256-GCM) with its
//! own id as associated data, and opening it checks that the plaintext hashes to that id: a
//! chunk swapped for another, edited, or stored under another name does not open. A manifest
//! is sealed with its snapshot id as associated data and lists its chunks in order, so a chunk
//! dropped or reordered, or a manifest renamed or cut short, is noticed too.

use crate::keys::{CryptoError, Key32, aad};
use crate::stream::hkdf_sha256_32;
use aws_lc_rs::hmac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

const NAMING_LABEL: &[u8] = b"strongroom-backup-chunk-id-v1";
const SEALING_LABEL: &[u8] = b"strongroom-backup-seal-v1";

/// The id of a chunk: HMAC-SHA-256 of its plaintext under the naming key.
pub type ChunkId = [u8; 32];

/// The keys a backup works with, derived from the backup key in the key file.
pub struct BackupKeys {
    naming: hmac::Key,
    sealing: Key32,
}

impl std::fmt::Debug for BackupKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupKeys(<redacted>)")
    }
}

impl BackupKeys {
    pub fn derive(backup_key: &Key32) -> Self {
        let naming = Zeroizing::new(hkdf_sha256_32(backup_key.expose(), &[NAMING_LABEL]));
        Self {
            naming: hmac::Key::new(hmac::HMAC_SHA256, &naming[..]),
            sealing: Key32::from_bytes(hkdf_sha256_32(backup_key.expose(), &[SEALING_LABEL])),
        }
    }

    pub fn chunk_id(&self, plaintext: &[u8]) -> ChunkId {
        let tag = hmac::sign(&self.naming, plaintext);
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Seals a chunk's stored bytes (its raw bytes compressed) under its id, the
    /// [`BackupKeys::chunk_id`] of its raw bytes: it opens only as that id.
    pub fn seal_chunk(&self, id: &ChunkId, bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sealing.seal(&aad(&[b"chunk", id]), bytes)
    }

    /// Opens the chunk stored as `id`: anything sealed under another id, or altered, is
    /// `Rejected`. The caller checks the raw bytes it unpacks with [`BackupKeys::is_chunk`].
    pub fn open_chunk(
        &self,
        id: &ChunkId,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.sealing.open(&aad(&[b"chunk", id]), sealed)
    }

    /// Whether `raw` is the chunk `id` names (constant time).
    pub fn is_chunk(&self, id: &ChunkId, raw: &[u8]) -> bool {
        bool::from(self.chunk_id(raw).ct_eq(id))
    }

    /// Seals a manifest (or another whole document of a backup: the key snapshot, the erasure
    /// ledger) under its kind and name, so it opens only as that document.
    pub fn seal_document(
        &self,
        kind: &str,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.sealing.seal(
            &aad(&[b"document", kind.as_bytes(), name.as_bytes()]),
            plaintext,
        )
    }

    pub fn open_document(
        &self,
        kind: &str,
        name: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.sealing.open(
            &aad(&[b"document", kind.as_bytes(), name.as_bytes()]),
            sealed,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> BackupKeys {
        BackupKeys::derive(&Key32::from_bytes([7; 32]))
    }

    #[test]
    fn equal_chunks_get_one_id_and_only_under_one_key() {
        let k = keys();
        let a = k.chunk_id(b"rows of a table");
        assert_eq!(
            a,
            k.chunk_id(b"rows of a table"),
            "deduplication needs a deterministic id"
        );
        let (sa, sb) = (
            k.seal_chunk(&a, b"zz").unwrap(),
            k.seal_chunk(&a, b"zz").unwrap(),
        );
        assert_ne!(sa, sb, "but every sealing has its own nonce");
        let other = BackupKeys::derive(&Key32::from_bytes([8; 32]));
        assert_ne!(other.chunk_id(b"rows of a table"), a);
        assert_eq!(other.open_chunk(&a, &sa), Err(CryptoError::Rejected));
        assert_eq!(&k.open_chunk(&a, &sa).unwrap()[..], b"zz");
        assert!(k.is_chunk(&a, b"rows of a table"));
        assert!(!k.is_chunk(&a, b"rows of another table"));
        assert!(!other.is_chunk(&a, b"rows of a table"));
    }

    #[test]
    fn a_chunk_opens_only_as_itself() {
        let k = keys();
        let (a, b) = (k.chunk_id(b"first"), k.chunk_id(b"second"));
        let (sa, sb) = (
            k.seal_chunk(&a, b"1").unwrap(),
            k.seal_chunk(&b, b"2").unwrap(),
        );
        // Swapped: each stored under the other's id.
        assert_eq!(k.open_chunk(&a, &sb), Err(CryptoError::Rejected));
        assert_eq!(k.open_chunk(&b, &sa), Err(CryptoError::Rejected));
        // A flipped byte anywhere, or cut short.
        for i in 0..sa.len() {
            let mut bad = sa.clone();
            bad[i] ^= 1;
            assert!(k.open_chunk(&a, &bad).is_err(), "byte {i}");
        }
        assert!(k.open_chunk(&a, &sa[..sa.len() - 1]).is_err());
    }

    #[test]
    fn a_document_opens_only_under_its_kind_and_name() {
        let k = keys();
        let m = k.seal_document("manifest", "s1", b"{}").unwrap();
        assert_eq!(&k.open_document("manifest", "s1", &m).unwrap()[..], b"{}");
        assert!(k.open_document("manifest", "s2", &m).is_err());
        assert!(k.open_document("ledger", "s1", &m).is_err());
        assert!(
            k.open_document("manifest", "s1", &m[..m.len() - 1])
                .is_err()
        );
    }
}
