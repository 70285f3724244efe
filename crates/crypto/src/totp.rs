//! The second factor's primitives (issue 12): RFC 6238 time-based one-time passwords through
//! `totp-rs` — SHA-1, 6 digits, 30-second steps, what authenticator apps read — with one step of
//! clock drift either way and a replayed code refused (a code is accepted only for a step later
//! than the last one accepted, which the caller stores); and the ten single-use recovery codes,
//! of which only digests are stored. Pure: the caller brings the time and keeps the state.

use crate::random_bytes;
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// Seconds per step, digits per code (RFC 6238's defaults, which every app reads).
pub const STEP_SECS: u64 = 30;
pub const DIGITS: u8 = 6;
/// Steps of clock drift accepted on either side.
pub const SKEW: u16 = 1;
/// Recovery codes issued at a time.
pub const RECOVERY_CODES: usize = 10;

/// A TOTP secret: 160 random bits (RFC 4226's recommendation), zeroised on drop; stored only
/// sealed.
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(<redacted>)")
    }
}

/// Why a stored secret cannot be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a TOTP secret: {0}")]
pub struct TotpError(String);

impl TotpSecret {
    pub fn generate() -> Self {
        Self(Zeroizing::new(random_bytes::<20>().to_vec()))
    }

    /// A secret opened from the store (at least 128 bits, as RFC 4226 asks).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, TotpError> {
        if bytes.len() < 16 {
            return Err(TotpError(format!("{} bytes", bytes.len())));
        }
        Ok(Self(Zeroizing::new(bytes)))
    }

    /// A secret as an app shows it (base32), e.g. to compute its codes in a test.
    pub fn from_base32(encoded: &str) -> Result<Self, TotpError> {
        let secret =
            totp_rs::Secret::try_from_base32(encoded).map_err(|e| TotpError(e.to_string()))?;
        Self::from_bytes(secret.as_ref().to_vec())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> Result<totp_rs::Totp, TotpError> {
        totp_rs::Builder::new()
            .with_algorithm(totp_rs::Algorithm::SHA1)
            .with_digits(DIGITS)
            .with_skew(SKEW)
            .with_step_duration(STEP_SECS)
            .with_secret(self.0.to_vec())
            .with_issuer(issuer)
            .with_account_name(account)
            .build()
            .map_err(|e| TotpError(e.to_string()))
    }

    /// What an authenticator app reads (a QR code of it, or typed in): `otpauth://totp/…`
    /// with the secret in base32. `issuer` and `account` may not contain `:`.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> Result<SecretString, TotpError> {
        let uri = self
            .totp(Some(issuer), account)?
            .to_url()
            .map_err(|e| TotpError(e.to_string()))?;
        Ok(SecretString::from(uri))
    }

    /// The secret in base32, for typing into an app.
    pub fn base32(&self) -> SecretString {
        SecretString::from(totp_rs::Secret::from(self.0.to_vec()).to_base32())
    }

    /// The step `code` is valid for at `unix_secs` (the current step or one either side), if
    /// it is later than `last_step` (the last one accepted: a code is good once); otherwise
    /// `None`. Codes compare in constant time.
    pub fn verify(&self, code: &str, unix_secs: u64, last_step: Option<u64>) -> Option<u64> {
        let step = self.totp(None, "").ok()?.check(code.trim(), unix_secs)?;
        last_step.is_none_or(|last| step > last).then_some(step)
    }

    /// The code for `unix_secs` (tests and the enrolment's own check).
    pub fn code_at(&self, unix_secs: u64) -> Option<String> {
        Some(self.totp(None, "").ok()?.generate(unix_secs).to_string())
    }
}

/// A new set of recovery codes: each 80 random bits as 16 base32 characters in four groups
/// (`abcd-efgh-ijkl-mnop`), shown once; only their digests are stored.
pub fn recovery_codes() -> Vec<SecretString> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let raw = random_bytes::<10>();
            let b32 = totp_rs::Secret::from(raw.to_vec())
                .to_base32()
                .to_ascii_lowercase();
            let groups: Vec<&str> = (0..4).filter_map(|i| b32.get(i * 4..i * 4 + 4)).collect();
            SecretString::from(groups.join("-"))
        })
        .collect()
}

/// The stored digest of a recovery code, as typed (case, spaces and dashes do not matter).
/// SHA-256 suffices: a code has 80 random bits, so there is nothing to guess offline.
pub fn recovery_digest(code: &SecretString) -> [u8; 32] {
    let normal: Zeroizing<String> = Zeroizing::new(
        code.expose_secret()
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect(),
    );
    Sha256::digest(normal.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890"; the last six digits.
    #[test]
    fn codes_are_rfc_6238s() {
        let s = TotpSecret::from_bytes(b"12345678901234567890".to_vec()).unwrap();
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
            (20_000_000_000, "353130"),
        ] {
            assert_eq!(s.code_at(t).unwrap(), code, "T = {t}");
            assert_eq!(s.verify(code, t, None), Some(t / STEP_SECS));
        }
    }

    #[test]
    fn one_step_of_drift_and_each_code_once() {
        let s = TotpSecret::generate();
        let t = 1_800_000_000;
        let now = s.code_at(t).unwrap();
        let step = t / STEP_SECS;
        assert_eq!(
            s.verify(&now, t + STEP_SECS, None),
            Some(step),
            "a step late"
        );
        assert_eq!(
            s.verify(&now, t - STEP_SECS, None),
            Some(step),
            "a step early"
        );
        assert_eq!(
            s.verify(&now, t + 2 * STEP_SECS, None),
            None,
            "two steps: expired"
        );
        assert_eq!(s.verify(&now, t, Some(step)), None, "replayed");
        assert_eq!(s.verify(&now, t, Some(step - 1)), Some(step));
        let earlier = s.code_at(t - STEP_SECS).unwrap();
        assert_eq!(
            s.verify(&earlier, t, Some(step)),
            None,
            "an older code after a newer one"
        );
        assert_eq!(s.verify("12345", t, None), None);
        assert_eq!(s.verify("+12345", t, None), None);
        assert_eq!(s.verify("abcdef", t, None), None);
    }

    #[test]
    fn the_uri_names_issuer_account_and_secret_and_is_redacted() {
        let s = TotpSecret::generate();
        let uri = s
            .otpauth_uri("Strongroom acme", "pia@acme.example")
            .unwrap();
        let uri = uri.expose_secret();
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", s.base32().expose_secret())),
            "{uri}"
        );
        assert!(uri.contains("issuer=Strongroom"), "{uri}");
        assert!(s.otpauth_uri("a:b", "x").is_err(), "a colon is refused");
        assert_eq!(format!("{s:?}"), "TotpSecret(<redacted>)");
        assert!(TotpSecret::from_bytes(vec![1; 15]).is_err());
    }

    #[test]
    fn recovery_codes_are_distinct_and_digested_as_typed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let digests: std::collections::HashSet<_> = codes.iter().map(recovery_digest).collect();
        assert_eq!(digests.len(), RECOVERY_CODES);
        let c = codes[0].expose_secret();
        assert_eq!(c.len(), 19, "{c}");
        let typed = SecretString::from(format!(" {} ", c.to_uppercase().replace('-', " ")));
        assert_eq!(recovery_digest(&typed), recovery_digest(&codes[0]));
    }
}
