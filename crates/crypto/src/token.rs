//! Opaque bearer tokens: `<kind>_<tenant id, 22 base64url>_<256 random bits, 43 base64url>`,
//! 70 characters in all (short enough to stand on one line of a mail).
//!
//! The tenant id inside the token lets every lookup be keyed by tenant first (one shard, one
//! index range); the random part carries all the secrecy. Only the SHA-256 digest of a token is
//! stored: tokens have 256 bits of entropy, so a fast hash is enough and a stolen database
//! yields no usable token.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// What a token is for; the prefix makes leaked tokens easy to recognise and scan for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TokenKind {
    Access,
    Refresh,
    PasswordReset,
    /// An integration client's access token (client credentials grant).
    ClientAccess,
    /// An integration client's secret.
    ClientSecret,
    /// A superuser's session under a support grant.
    SupportAccess,
    /// A web console session (the `__Host-strongroom` cookie); never a bearer token.
    Console,
    /// An OAuth authorization code (single use, two minutes).
    AuthCode,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "sra",
            TokenKind::Refresh => "srr",
            TokenKind::PasswordReset => "srp",
            TokenKind::ClientAccess => "srt",
            TokenKind::ClientSecret => "srs",
            TokenKind::SupportAccess => "srg",
            TokenKind::Console => "src",
            TokenKind::AuthCode => "srz",
        }
    }
}

/// SHA-256 of a token: what the store keeps and looks up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenDigest(pub [u8; 32]);

impl std::fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

/// A freshly issued token: the secret to hand out once, and the digest to store.
pub struct Token {
    pub secret: SecretString,
    pub digest: TokenDigest,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed token")]
pub struct TokenParseError;

impl Token {
    /// Issues a new token of `kind` for the tenant with the given 16-byte id.
    pub fn issue(kind: TokenKind, tenant: &[u8; 16]) -> Token {
        let random = crate::random_bytes::<32>();
        let s = format!(
            "{}_{}_{}",
            kind.prefix(),
            URL_SAFE_NO_PAD.encode(tenant),
            URL_SAFE_NO_PAD.encode(random)
        );
        let digest = digest_str(&s);
        Token {
            secret: SecretString::from(s),
            digest,
        }
    }

    /// Splits a presented token into its tenant id and digest, checking shape and kind.
    /// Works on the secret without copying it.
    pub fn parse(
        kind: TokenKind,
        presented: &str,
    ) -> Result<([u8; 16], TokenDigest), TokenParseError> {
        let rest = presented
            .strip_prefix(kind.prefix())
            .and_then(|r| r.strip_prefix('_'))
            .ok_or(TokenParseError)?;
        let (tenant, random) = rest.split_at_checked(22).ok_or(TokenParseError)?;
        let random = random.strip_prefix('_').ok_or(TokenParseError)?;
        if random.len() != 43
            || !random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(TokenParseError);
        }
        let tenant: [u8; 16] = URL_SAFE_NO_PAD
            .decode(tenant)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or(TokenParseError)?;
        Ok((tenant, digest_str(presented)))
    }

    pub fn expose(&self) -> &str {
        self.secret.expose_secret()
    }
}

/// An integration client's public identifier: `sri_<tenant id>_<client id>` (22 base64url
/// each). It carries the tenant like a token does, so the token endpoint finds the client by
/// tenant first; it is not a secret.
pub fn client_identifier(tenant: &[u8; 16], client: &[u8; 16]) -> String {
    format!(
        "sri_{}_{}",
        URL_SAFE_NO_PAD.encode(tenant),
        URL_SAFE_NO_PAD.encode(client)
    )
}

/// Reads a client identifier back into (tenant id, client id).
pub fn parse_client_identifier(s: &str) -> Option<([u8; 16], [u8; 16])> {
    let rest = s.strip_prefix("sri_")?;
    let (tenant, client) = rest.split_at_checked(22)?;
    let client = client.strip_prefix('_')?;
    let decode = |part: &str| -> Option<[u8; 16]> {
        if part.len() != 22 {
            return None;
        }
        URL_SAFE_NO_PAD.decode(part).ok()?.try_into().ok()
    };
    Some((decode(tenant)?, decode(client)?))
}

/// The digest of a presented secret (a client secret), to compare with a stored one.
pub fn digest_of(presented: &str) -> TokenDigest {
    digest_str(presented)
}

fn digest_str(s: &str) -> TokenDigest {
    TokenDigest(Sha256::digest(s.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_parse_back_to_tenant_and_digest() {
        let tenant = [7u8; 16];
        let t = Token::issue(TokenKind::Access, &tenant);
        let (tid, d) = Token::parse(TokenKind::Access, t.expose()).unwrap();
        assert_eq!(tid, tenant);
        assert_eq!(d, t.digest);
    }

    #[test]
    fn kind_shape_and_alphabet_are_checked() {
        let t = Token::issue(TokenKind::Refresh, &[1u8; 16]);
        assert!(Token::parse(TokenKind::Access, t.expose()).is_err());
        assert_eq!(t.expose().len(), 70);
        for bad in [
            "",
            "sra_",
            "sra_zz",
            &format!("sra_{}_{}", "*".repeat(22), "a".repeat(43)),
            &format!("sra_{}_{}", "A".repeat(22), "a".repeat(42)),
            &format!("sra_{}_{}", "A".repeat(21), "a".repeat(44)),
            &format!("sra_{}_{}", "A".repeat(22), "é".repeat(22)),
            // 22 base64url characters that decode to 16 bytes only with non-canonical trailing bits
            &format!("sra_{}_{}", "A".repeat(21) + "B", "a".repeat(43)),
        ] {
            assert!(Token::parse(TokenKind::Access, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn client_identifiers_round_trip() {
        let id = client_identifier(&[3u8; 16], &[9u8; 16]);
        assert_eq!(parse_client_identifier(&id), Some(([3u8; 16], [9u8; 16])));
        assert_eq!(id.len(), 49);
        for bad in [
            "",
            "sri_",
            &id[..48],
            &format!("{id}x"),
            &id.replace("sri_", "sra_"),
        ] {
            assert_eq!(parse_client_identifier(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_changed_character_changes_the_digest() {
        let t = Token::issue(TokenKind::Access, &[1u8; 16]);
        let mut s = t.expose().to_owned();
        let last = s.pop().unwrap();
        s.push(if last == 'A' { 'B' } else { 'A' });
        let (_, d) = Token::parse(TokenKind::Access, &s).unwrap();
        assert_ne!(d, t.digest);
    }
}
