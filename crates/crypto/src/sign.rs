//! Ed25519 signatures for privacy-log checkpoints. The seed lives in the key file beside the
//! root key; verifiers compare against the public key derived from it, never one found in the
//! database (someone who can write the database could store a key of their own).

use crate::keys::{CryptoError, Key32};
use aws_lc_rs::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

/// Signs `message` with the key from `seed`; returns the signature.
pub fn sign(seed: &Key32, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let pair =
        Ed25519KeyPair::from_seed_unchecked(seed.expose()).map_err(|_| CryptoError::Failed)?;
    Ok(pair.sign(message).as_ref().to_vec())
}

/// The public key of `seed`.
pub fn public_key(seed: &Key32) -> Result<Vec<u8>, CryptoError> {
    let pair =
        Ed25519KeyPair::from_seed_unchecked(seed.expose()).map_err(|_| CryptoError::Failed)?;
    Ok(pair.public_key().as_ref().to_vec())
}

/// Whether `signature` is `public_key`'s signature of `message`.
pub fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let seed = Key32::generate();
        let pk = public_key(&seed).unwrap();
        let sig = sign(&seed, b"checkpoint 42").unwrap();
        assert!(verify(&pk, b"checkpoint 42", &sig));
        assert!(!verify(&pk, b"checkpoint 43", &sig));
        assert!(!verify(
            &public_key(&Key32::generate()).unwrap(),
            b"checkpoint 42",
            &sig
        ));
        let mut bad = sig.clone();
        bad[0] ^= 1;
        assert!(!verify(&pk, b"checkpoint 42", &bad));
    }
}
