//! Encrypted fields: one personal value sealed under its data subject's key.
//!
//! Layout: `version (1) = 0x01 ‖ key id (16) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
//! The associated data binds version, key id, tenant, table or collection, row id and field
//! name, so a ciphertext copied to another field, row, table or tenant does not open.

use crate::keys::{CryptoError, Key32, aad};
use zeroize::Zeroizing;

pub const FIELD_V1: u8 = 0x01;
const KEY_ID_LEN: usize = 16;

/// Where a field lives: everything its ciphertext is bound to.
#[derive(Clone, Copy, Debug)]
pub struct FieldContext<'a> {
    pub tenant: &'a [u8; 16],
    /// Table or collection name, e.g. `users`.
    pub table: &'a str,
    pub row: &'a [u8; 16],
    pub field: &'a str,
}

impl FieldContext<'_> {
    fn aad(&self, key_id: &[u8; KEY_ID_LEN]) -> Vec<u8> {
        aad(&[
            b"strongroom-field",
            &[FIELD_V1],
            key_id,
            self.tenant,
            self.table.as_bytes(),
            self.row,
            self.field.as_bytes(),
        ])
    }
}

/// Seals a field value under the subject key identified by `key_id`.
pub fn seal(
    key: &Key32,
    key_id: &[u8; KEY_ID_LEN],
    ctx: &FieldContext<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let sealed = key.seal(&ctx.aad(key_id), plaintext)?;
    let mut out = Vec::with_capacity(1 + KEY_ID_LEN + sealed.len());
    out.push(FIELD_V1);
    out.extend_from_slice(key_id);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The id of the key a field was sealed under (to find that key before opening).
pub fn key_id(ciphertext: &[u8]) -> Result<[u8; KEY_ID_LEN], CryptoError> {
    match ciphertext.split_first() {
        Some((&FIELD_V1, rest)) => rest
            .get(..KEY_ID_LEN)
            .and_then(|id| id.try_into().ok())
            .ok_or(CryptoError::Malformed),
        _ => Err(CryptoError::Malformed),
    }
}

/// Opens a field sealed by [`seal`] for exactly this context.
pub fn open(
    key: &Key32,
    ctx: &FieldContext<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let id = key_id(ciphertext)?;
    let sealed = ciphertext
        .get(1 + KEY_ID_LEN..)
        .ok_or(CryptoError::Malformed)?;
    key.open(&ctx.aad(&id), sealed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: [u8; 16] = [1; 16];
    const R: [u8; 16] = [2; 16];
    const K: [u8; 16] = [3; 16];

    fn ctx<'a>(
        tenant: &'a [u8; 16],
        row: &'a [u8; 16],
        table: &'a str,
        field: &'a str,
    ) -> FieldContext<'a> {
        FieldContext {
            tenant,
            table,
            row,
            field,
        }
    }

    #[test]
    fn opens_only_where_it_was_sealed() {
        let key = Key32::generate();
        let c = seal(&key, &K, &ctx(&T, &R, "users", "email"), b"ann@example.com").unwrap();
        assert_eq!(c[0], FIELD_V1);
        assert_eq!(key_id(&c).unwrap(), K);
        assert_eq!(
            &open(&key, &ctx(&T, &R, "users", "email"), &c).unwrap()[..],
            b"ann@example.com"
        );
        let other_tenant = [9; 16];
        let other_row = [8; 16];
        for wrong in [
            ctx(&other_tenant, &R, "users", "email"),
            ctx(&T, &other_row, "users", "email"),
            ctx(&T, &R, "contacts", "email"),
            ctx(&T, &R, "users", "name"),
        ] {
            assert_eq!(
                open(&key, &wrong, &c),
                Err(CryptoError::Rejected),
                "{wrong:?}"
            );
        }
        // Claiming another key id breaks the binding too.
        let mut relabelled = c.clone();
        relabelled[1] ^= 1;
        assert_eq!(
            open(&key, &ctx(&T, &R, "users", "email"), &relabelled),
            Err(CryptoError::Rejected)
        );
        assert_eq!(
            open(&Key32::generate(), &ctx(&T, &R, "users", "email"), &c),
            Err(CryptoError::Rejected)
        );
    }

    #[test]
    fn malformed_is_an_error_not_a_panic() {
        let key = Key32::generate();
        for bad in [
            &[][..],
            &[FIELD_V1][..],
            &[2u8; 40][..],
            &[FIELD_V1; 20][..],
        ] {
            assert!(open(&key, &ctx(&T, &R, "users", "email"), bad).is_err());
        }
    }
}
