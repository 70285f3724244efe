//! Encryption to a third party: an age X25519 recipient (`age1…`) the operator names, for a
//! disclosure's release. Only the holder of the matching identity opens the file; Strongroom
//! keeps no key for it.

use std::io::{Read as _, Write as _};
use std::str::FromStr as _;

/// Encrypts `plaintext` to `recipient` (`age1…`); `Err` names what is wrong.
pub fn seal_for(recipient: &str, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let recipient = age::x25519::Recipient::from_str(recipient.trim())
        .map_err(|e| format!("not an age X25519 recipient (age1…): {e}"))?;
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
            .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut w = encryptor.wrap_output(&mut out).map_err(|e| e.to_string())?;
    w.write_all(plaintext).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())?;
    Ok(out)
}

/// A new identity and its recipient (`AGE-SECRET-KEY-1…`, `age1…`): for the recipient's side
/// and for tests.
pub fn new_identity() -> (secrecy::SecretString, String) {
    use age::secrecy::ExposeSecret as _;
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (
        secrecy::SecretString::from(id.to_string().expose_secret().to_owned()),
        recipient,
    )
}

/// Opens what [`seal_for`] wrote, with the recipient's identity.
pub fn open_with(identity: &str, sealed: &[u8]) -> Result<Vec<u8>, String> {
    let id = age::x25519::Identity::from_str(identity.trim()).map_err(ToString::to_string)?;
    let d = age::Decryptor::new_buffered(sealed).map_err(|e| e.to_string())?;
    let mut r = d
        .decrypt(std::iter::once(&id as &dyn age::Identity))
        .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    r.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::ExposeSecret as _;

    #[test]
    fn only_the_recipient_opens_it() {
        let (id, recipient) = new_identity();
        let sealed = seal_for(&recipient, b"records").unwrap();
        assert_eq!(open_with(id.expose_secret(), &sealed).unwrap(), b"records");
        let (other, _) = new_identity();
        assert!(open_with(other.expose_secret(), &sealed).is_err());
        assert!(seal_for("age1notarecipient", b"x").is_err());
    }
}
