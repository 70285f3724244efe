//! Cryptographic building blocks: Argon2id password hashing, random secrets, opaque tokens,
//! 256-bit keys with AES-256-GCM sealing and wrapping, blind indexes, encrypted fields, the
//! passphrase-protected key file, and streaming file encryption.
//!
//! Pure: no I/O, no async, no clock. Callers decide where the (slow) hashing runs; the
//! `core` crate runs it on a bounded blocking pool.

pub mod backup;
pub mod field;
pub mod keyfile;
pub mod keys;
pub mod password;
pub mod random;
pub mod recipient;
pub mod sign;
pub mod stream;
pub mod token;
pub mod totp;

pub use keyfile::{KeyFile, KeyFileError, RootKeyId};
pub use keys::{CryptoError, Key32};
pub use password::{PasswordHashError, PasswordHasher};
pub use random::{random_bytes, random_password};
pub use token::{
    Token, TokenDigest, TokenKind, TokenParseError, client_identifier, digest_of,
    parse_client_identifier,
};

/// Compares two byte strings in constant time (for a given length).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// One link of a hash chain: SHA-256 of the previous link and the unambiguous encoding of
/// `parts` (length-prefixed, see [`keys::aad`]).
pub fn chain_hash(prev: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(prev);
    h.update(keys::aad(parts));
    h.finalize().into()
}
