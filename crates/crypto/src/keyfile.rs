//! The key file: the root keys, encrypted under the operator's passphrase in the age format
//! (scrypt recipient), so an operator can also open it with the standard `age -d` tool for
//! escrow. Inside is JSON:
//! `{"format":"strongroom-keyfile","version":1,"current":"<id hex>","roots":[{"id","key"}]}`.
//!
//! A file holds more than one root key only while a root rotation is under way: `current`
//! wraps new tenant keys, the others are still accepted for unwrapping.

use crate::keys::{KEY_LEN, Key32};
use age::secrecy::SecretString as AgeSecret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use zeroize::Zeroizing;

const FORMAT: &str = "strongroom-keyfile";
const VERSION: u32 = 1;
/// The largest scrypt work factor we accept when opening (2^22: a few seconds, 4 GiB worst case).
const MAX_WORK_FACTOR: u8 = 22;

pub type RootKeyId = [u8; 16];

#[derive(Clone)]
pub struct RootKey {
    pub id: RootKeyId,
    pub key: Key32,
}

#[derive(Clone)]
pub struct KeyFile {
    pub current: RootKeyId,
    pub roots: Vec<RootKey>,
    /// Ed25519 seed that signs privacy-log checkpoints (absent in files written before it
    /// existed; the server adds one).
    pub audit_signing: Option<Key32>,
    /// The key backups are sealed under (absent in files written before backups existed; the
    /// server adds one). Kept across root rotations: old snapshots stay readable.
    pub backup: Option<Key32>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("the passphrase does not open this key file")]
    WrongPassphrase,
    #[error("the key file is damaged or not a Strongroom key file: {0}")]
    Damaged(String),
}

#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    version: u32,
    current: String,
    roots: Vec<StoredRoot>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    audit_signing_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    backup_key: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StoredRoot {
    id: String,
    key: String,
}

fn hex(id: &RootKeyId) -> String {
    id.iter().fold(String::with_capacity(32), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Option<RootKeyId> {
    let mut out = [0u8; 16];
    if s.len() != 32 {
        return None;
    }
    for (o, i) in out.iter_mut().zip((0..32).step_by(2)) {
        *o = u8::from_str_radix(s.get(i..i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl KeyFile {
    /// A new key file with one fresh root key.
    pub fn generate() -> Self {
        let id = crate::random_bytes::<16>();
        Self {
            current: id,
            roots: vec![RootKey {
                id,
                key: Key32::generate(),
            }],
            audit_signing: Some(Key32::generate()),
            backup: Some(Key32::generate()),
        }
    }

    pub fn current_root(&self) -> Option<&RootKey> {
        self.root(&self.current)
    }

    pub fn root(&self, id: &RootKeyId) -> Option<&RootKey> {
        self.roots.iter().find(|r| &r.id == id)
    }

    pub fn id_hex(id: &RootKeyId) -> String {
        hex(id)
    }

    /// Encrypts the key file. `work_factor` is scrypt's log2(N); `None` lets age pick one that
    /// takes about a second here (use that in production; tests and dev mode pass a small one).
    pub fn seal(
        &self,
        passphrase: &SecretString,
        work_factor: Option<u8>,
    ) -> Result<Vec<u8>, KeyFileError> {
        let stored = Stored {
            format: FORMAT.into(),
            version: VERSION,
            current: hex(&self.current),
            audit_signing_key: self
                .audit_signing
                .as_ref()
                .map(|k| STANDARD.encode(k.expose())),
            backup_key: self.backup.as_ref().map(|k| STANDARD.encode(k.expose())),
            roots: self
                .roots
                .iter()
                .map(|r| StoredRoot {
                    id: hex(&r.id),
                    key: STANDARD.encode(r.key.expose()),
                })
                .collect(),
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&stored).map_err(|e| KeyFileError::Damaged(e.to_string()))?,
        );
        drop(stored);
        seal_with_passphrase(&json, passphrase, work_factor)
    }

    /// Decrypts and checks a key file.
    pub fn open(bytes: &[u8], passphrase: &SecretString) -> Result<Self, KeyFileError> {
        let json = open_with_passphrase(bytes, passphrase)?;
        let stored: Stored = serde_json::from_slice(&json)
            .map_err(|e| KeyFileError::Damaged(format!("contents: {e}")))?;
        if stored.format != FORMAT || stored.version != VERSION {
            return Err(KeyFileError::Damaged(format!(
                "unsupported format {} version {}",
                stored.format, stored.version
            )));
        }
        let current = unhex(&stored.current)
            .ok_or_else(|| KeyFileError::Damaged("bad current root id".into()))?;
        let mut roots = Vec::new();
        for r in stored.roots {
            let id = unhex(&r.id).ok_or_else(|| KeyFileError::Damaged("bad root id".into()))?;
            let raw = Zeroizing::new(
                STANDARD
                    .decode(r.key.as_bytes())
                    .map_err(|_| KeyFileError::Damaged("bad root key".into()))?,
            );
            if raw.len() != KEY_LEN {
                return Err(KeyFileError::Damaged("root key of the wrong length".into()));
            }
            roots.push(RootKey {
                id,
                key: Key32::from_slice(&raw)
                    .map_err(|_| KeyFileError::Damaged("bad root key".into()))?,
            });
            drop(Zeroizing::new(r.key));
        }
        let file = Self {
            current,
            roots,
            audit_signing: optional_key(stored.audit_signing_key, "audit signing key")?,
            backup: optional_key(stored.backup_key, "backup key")?,
        };
        if file.current_root().is_none() {
            return Err(KeyFileError::Damaged(
                "the current root key is missing".into(),
            ));
        }
        Ok(file)
    }
}

/// A key stored as base64, if the file has one.
fn optional_key(b64: Option<String>, what: &str) -> Result<Option<Key32>, KeyFileError> {
    let Some(b64) = b64.map(Zeroizing::new) else {
        return Ok(None);
    };
    let raw = Zeroizing::new(
        STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| KeyFileError::Damaged(format!("bad {what}")))?,
    );
    Key32::from_slice(&raw)
        .map(Some)
        .map_err(|_| KeyFileError::Damaged(format!("bad {what}")))
}

/// Encrypts bytes in the age format under a passphrase (scrypt). `work_factor` is log2(N);
/// `None` lets age choose about one second's worth on this machine.
pub fn seal_with_passphrase(
    plaintext: &[u8],
    passphrase: &SecretString,
    work_factor: Option<u8>,
) -> Result<Vec<u8>, KeyFileError> {
    let mut recipient =
        age::scrypt::Recipient::new(AgeSecret::from(passphrase.expose_secret().to_owned()));
    if let Some(n) = work_factor {
        recipient.set_work_factor(n.clamp(1, MAX_WORK_FACTOR));
    }
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    let mut out = Vec::new();
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    writer
        .write_all(plaintext)
        .map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    writer
        .finish()
        .map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    Ok(out)
}

/// Opens what [`seal_with_passphrase`] (or `age -p`) wrote.
pub fn open_with_passphrase(
    bytes: &[u8],
    passphrase: &SecretString,
) -> Result<Zeroizing<Vec<u8>>, KeyFileError> {
    let decryptor =
        age::Decryptor::new_buffered(bytes).map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    let mut identity =
        age::scrypt::Identity::new(AgeSecret::from(passphrase.expose_secret().to_owned()));
    identity.set_max_work_factor(MAX_WORK_FACTOR);
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::DecryptionFailed
            | age::DecryptError::NoMatchingKeys
            | age::DecryptError::KeyDecryptionFailed => KeyFileError::WrongPassphrase,
            other => KeyFileError::Damaged(other.to_string()),
        })?;
    let mut out = Zeroizing::new(Vec::new());
    reader
        .read_to_end(&mut out)
        .map_err(|e| KeyFileError::Damaged(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pw(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn round_trip_wrong_passphrase_and_damage() {
        let kf = KeyFile::generate();
        let sealed = kf.seal(&pw("correct horse battery"), Some(4)).unwrap();
        assert!(sealed.starts_with(b"age-encryption.org/v1"));
        let back = KeyFile::open(&sealed, &pw("correct horse battery")).unwrap();
        assert_eq!(back.current, kf.current);
        assert_eq!(
            back.current_root().unwrap().key,
            kf.current_root().unwrap().key
        );
        assert!(back.backup.is_some());
        assert_eq!(back.backup, kf.backup);
        assert_eq!(back.audit_signing, kf.audit_signing);
        assert!(matches!(
            KeyFile::open(&sealed, &pw("wrong")),
            Err(KeyFileError::WrongPassphrase)
        ));
        assert!(matches!(
            KeyFile::open(b"not a key file", &pw("x")),
            Err(KeyFileError::Damaged(_))
        ));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 5;
        flipped[last] ^= 1;
        assert!(matches!(
            KeyFile::open(&flipped, &pw("correct horse battery")),
            Err(KeyFileError::Damaged(_))
        ));
        assert!(matches!(
            KeyFile::open(&sealed[..sealed.len() - 20], &pw("correct horse battery")),
            Err(KeyFileError::Damaged(_))
        ));
    }

    #[test]
    fn several_roots_survive() {
        let mut kf = KeyFile::generate();
        let old = kf.current;
        let new_id = [5u8; 16];
        kf.roots.push(RootKey {
            id: new_id,
            key: Key32::generate(),
        });
        kf.current = new_id;
        let back = KeyFile::open(&kf.seal(&pw("p"), Some(4)).unwrap(), &pw("p")).unwrap();
        assert_eq!(back.roots.len(), 2);
        assert_eq!(back.current, new_id);
        assert!(back.root(&old).is_some());
    }
}
