//! Random secrets from the thread-local CSPRNG (ChaCha, seeded and reseeded from the OS).

use rand::{Rng, RngCore, distr::Alphanumeric};
use secrecy::SecretString;

/// `N` random bytes.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rng().fill_bytes(&mut b);
    b
}

/// Length of generated passwords: 24 alphanumeric characters carry 24·log2(62) ≈ 142 bits.
pub const GENERATED_PASSWORD_LEN: usize = 24;

/// A random password of at least 128 bits of entropy (initial passwords, demo accounts).
pub fn random_password() -> SecretString {
    let s: String = rand::rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_LEN)
        .map(char::from)
        .collect();
    SecretString::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn passwords_are_long_and_distinct() {
        let a = random_password();
        let b = random_password();
        assert_eq!(a.expose_secret().len(), GENERATED_PASSWORD_LEN);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
