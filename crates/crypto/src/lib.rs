//! Cryptographic building blocks: Argon2id password hashing, random secrets, opaque tokens.
//!
//! Pure: no I/O, no async, no clock. Callers decide where the (slow) hashing runs; the
//! `core` crate runs it on a bounded blocking pool.

pub mod password;
pub mod random;
pub mod stream;
pub mod token;

pub use password::{PasswordHashError, PasswordHasher};
pub use random::{random_bytes, random_password};
pub use token::{Token, TokenDigest, TokenKind, TokenParseError};

/// Compares two byte strings in constant time (for a given length).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// The lookup key of a normalised value (e.g. an e-mail) within a tenant: SHA-256 over a
/// domain-separation label, the tenant id and the value. Lets the store find a row by value
/// without an index on the value itself. (Issue 3 turns this into an HMAC under the tenant's
/// blind-index key, so the index cannot be recomputed from a guessed value without the key.)
pub fn lookup_index(label: &str, tenant: &[u8; 16], value: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update((label.len() as u64).to_be_bytes());
    h.update(label.as_bytes());
    h.update(tenant);
    h.update(value.as_bytes());
    h.finalize().into()
}
