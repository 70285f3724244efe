//! 256-bit keys, AES-256-GCM sealing with associated data, key wrapping, and blind indexes.
//!
//! All AEAD work uses aws-lc-rs (AES-256-GCM; the fastest vetted implementation measured on
//! our hardware, see BENCHMARKS.md). Sealed values are `nonce (12) ‖ ciphertext ‖ tag (16)`
//! with a random 96-bit nonce; each key seals far fewer than the 2^32 messages where random
//! nonces would start to risk a collision.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub const KEY_LEN: usize = 32;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed value adds to its plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A 256-bit secret key: zeroised on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key32([u8; KEY_LEN]);

impl std::fmt::Debug for Key32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key32(<redacted>)")
    }
}

impl Key32 {
    pub fn generate() -> Self {
        Self(crate::random_bytes::<KEY_LEN>())
    }

    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A key from a slice of exactly 32 bytes (e.g. an unwrapped key).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::Malformed)?;
        Ok(Self(arr))
    }

    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn aead(&self) -> Result<LessSafeKey, CryptoError> {
        UnboundKey::new(&AES_256_GCM, &self.0)
            .map(LessSafeKey::new)
            .map_err(|_| CryptoError::Failed)
    }

    /// Seals `plaintext` so that it opens only with this key and exactly this `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce = crate::random_bytes::<NONCE_LEN>();
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let (head, body) = out.split_at_mut(NONCE_LEN);
        let tag = self
            .aead()?
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), body)
            .map_err(|_| CryptoError::Failed)?;
        let _ = head;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Opens a sealed value; any change to it, the key or the `aad` is an error.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::Malformed);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::Malformed)?;
        let mut buf = Zeroizing::new(body.to_vec());
        let n = self
            .aead()?
            .open_in_place(nonce, Aad::from(aad), &mut buf)
            .map_err(|_| CryptoError::Rejected)?
            .len();
        buf.truncate(n);
        Ok(buf)
    }

    /// Wraps another key under this one (envelope encryption).
    pub fn wrap(&self, aad: &[u8], key: &Key32) -> Result<Vec<u8>, CryptoError> {
        self.seal(aad, &key.0)
    }

    pub fn unwrap_key(&self, aad: &[u8], wrapped: &[u8]) -> Result<Key32, CryptoError> {
        Key32::from_slice(&self.open(aad, wrapped)?)
    }

    /// HMAC-SHA-256 of a label and a value under this key: an equality-searchable index that
    /// cannot be recomputed from a guessed value without the key.
    pub fn blind_index(&self, label: &str, value: &str) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&(label.len() as u64).to_be_bytes());
        ctx.update(label.as_bytes());
        ctx.update(value.as_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }
}

/// Associated data built from length-prefixed parts, so no two different contexts collide.
pub fn aad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        out.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

/// Errors say what kind of failure it was, never what the data or key was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("ciphertext is malformed")]
    Malformed,
    #[error("ciphertext rejected: wrong key, wrong context, or tampered")]
    Rejected,
    #[error("cryptographic operation failed")]
    Failed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let k = Key32::generate();
        let sealed = k.seal(b"ctx", b"hello").unwrap();
        assert_eq!(sealed.len(), 5 + SEAL_OVERHEAD);
        assert_eq!(&k.open(b"ctx", &sealed).unwrap()[..], b"hello");
        assert_eq!(k.open(b"other", &sealed), Err(CryptoError::Rejected));
        assert_eq!(
            Key32::generate().open(b"ctx", &sealed),
            Err(CryptoError::Rejected)
        );
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert_eq!(
                k.open(b"ctx", &t),
                Err(CryptoError::Rejected),
                "flip at {i}"
            );
        }
        assert_eq!(k.open(b"ctx", &sealed[..10]), Err(CryptoError::Malformed));
        assert_ne!(k.seal(b"ctx", b"hello").unwrap(), sealed, "random nonces");
    }

    #[test]
    fn wrapping_and_blind_index() {
        let kek = Key32::generate();
        let dek = Key32::generate();
        let w = kek.wrap(b"a", &dek).unwrap();
        assert_eq!(kek.unwrap_key(b"a", &w).unwrap(), dek);
        assert!(kek.unwrap_key(b"b", &w).is_err());
        let i1 = kek.blind_index("email", "ann@example.com");
        assert_eq!(i1, kek.blind_index("email", "ann@example.com"));
        assert_ne!(i1, kek.blind_index("email", "bob@example.com"));
        assert_ne!(i1, kek.blind_index("name", "ann@example.com"));
        assert_ne!(i1, dek.blind_index("email", "ann@example.com"));
    }

    #[test]
    fn aad_parts_are_unambiguous() {
        assert_ne!(aad(&[b"ab", b"c"]), aad(&[b"a", b"bc"]));
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", Key32::from_bytes([7; 32])),
            "Key32(<redacted>)"
        );
    }
}
