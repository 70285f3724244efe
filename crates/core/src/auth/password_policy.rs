//! Password rules (ASVS 5.0 V6.2): at least 8 characters, up to 128, any characters, no
//! composition rules, and not one of the 10,000 most common passwords.
//!
//! The list ships in the binary (`common-passwords.txt`: the first 10,000 entries of the ranked
//! password list that zxcvbn distributes), so nothing is downloaded at run time.

use crate::CoreError;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashSet;
use std::sync::LazyLock;

pub const MIN_CHARS: usize = 8;

pub const MAX_CHARS: usize = 128;

static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| include_str!("common-passwords.txt").lines().collect());

/// Checks a new password; the error says what to change (never echoing the password).
pub fn check(password: &SecretString) -> Result<(), CoreError> {
    let p = password.expose_secret();
    let n = p.chars().count();
    if n < MIN_CHARS {
        return Err(CoreError::WeakPassword(format!(
            "the password must have at least {MIN_CHARS} characters"
        )));
    }
    if n > MAX_CHARS {
        return Err(CoreError::WeakPassword(format!(
            "the password must have at most {MAX_CHARS} characters"
        )));
    }
    if COMMON.contains(p) || COMMON.contains(p.to_lowercase().as_str()) {
        return Err(CoreError::WeakPassword(
            "this password is among the 10,000 most common passwords; choose another, e.g. a phrase of several unrelated words".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> SecretString {
        SecretString::from(x.to_owned())
    }

    #[test]
    fn list_is_complete() {
        assert_eq!(COMMON.len(), 10_000);
    }

    #[test]
    fn rules() {
        assert!(check(&s("short")).is_err());
        assert!(check(&s("password")).is_err());
        assert!(
            check(&s("PASSWORD1")).is_err(),
            "case variants of common passwords are common too"
        );
        assert!(check(&s("12345678")).is_err());
        assert!(check(&s(&"x".repeat(129))).is_err());
        assert!(
            check(&s(&"é".repeat(128))).is_ok(),
            "length counts characters, not bytes"
        );
        assert!(check(&s("tulip-harbour-violin")).is_ok());
    }
}
