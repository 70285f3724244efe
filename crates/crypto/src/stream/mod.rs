//! Streaming file encryption: the STREAM construction over AES-256-GCM in 64 KiB segments.
//!
//! STREAM is the online authenticated encryption of Hoang, Reyhanitabar, Rogaway and Vizár
//! ("Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015), as age and
//! Tink use it: the plaintext is cut into segments, each sealed on its own with a nonce that
//! carries the segment's position and whether it is the last one. Memory is one segment, for
//! any file size, and any segment can be opened alone (random access, HTTP `Range`).
//!
//! # Byte layout (version 1)
//!
//! ```text
//! ciphertext = header ‖ segment 0 ‖ segment 1 ‖ … ‖ segment n-1
//!
//! header     (HEADER_LEN = 10 bytes)
//!   0..2     magic        b"SR"
//!   2        version      0x01
//!   3..10    nonce prefix 7 random bytes, fresh for every encryption
//!
//! segment i  = AES-256-GCM(file key, nonce i, aad, plaintext i)
//!            = ciphertext i (as long as plaintext i) ‖ tag i (TAG_LEN = 16 bytes)
//!   nonce i  = nonce prefix (7) ‖ i as u32 big-endian (4) ‖ last flag (1): 0x00, 0x01 on i = n-1
//!   aad      = header (10) ‖ the caller's associated data (tenant, record, file name, …)
//! ```
//!
//! Plaintext segments 0..n-1 hold exactly [`SEGMENT_LEN`] = 65 536 bytes; the final one holds
//! 1..=`SEGMENT_LEN` bytes, or 0 when the whole plaintext is empty (an empty file is the header
//! and one tag). So `n = max(1, ⌈len / SEGMENT_LEN⌉)`, at most 2^32, and the ciphertext is
//! `10 + len + 16·n` bytes ([`ciphertext_len`], [`plaintext_len`]). Sizes are fixed by the
//! version byte; nothing in the header is trusted before a segment authenticates it.
//!
//! # What is detected
//!
//! A changed bit anywhere (header, ciphertext, tag), a wrong key, different associated data or
//! a header from another encryption fail the segment's tag. Reordered, duplicated or spliced
//! segments fail because the index and the nonce prefix are in the nonce. Truncation fails
//! because the segment the stream now ends with was not sealed as the last one; extension
//! fails because the real last segment then is not at the end. The counter never wraps: a
//! 2^32-nd segment is [`StreamError::TooManySegments`].
//!
//! Plaintext comes out one authenticated segment at a time, before the end is seen: a reader
//! must treat everything it got as void unless reading ends with `Ok(0)`.
//!
//! # Keys and nonces
//!
//! Each file has its own key, [`derive_file_key`] (HKDF-SHA256 from the subject's key and the
//! file id), so nonces only need to be unique per file: the random 56-bit prefix keeps the
//! chance of a collision below 2^-17 even if one file id were encrypted 2^20 times.

use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use zeroize::{Zeroize, ZeroizeOnDrop};

mod io;
mod range;
mod segment;

pub use io::{DecryptingReader, EncryptingWriter};
pub use range::RangePlan;
pub use segment::{Decryptor, Encryptor};

/// Plaintext bytes per segment (every segment but the last is exactly this long).
pub const SEGMENT_LEN: usize = 65_536;
/// Bytes of the AES-GCM tag that ends each segment.
pub const TAG_LEN: usize = 16;
/// Ciphertext bytes of a full segment.
pub const ENCRYPTED_SEGMENT_LEN: usize = SEGMENT_LEN + TAG_LEN;
/// Random bytes at the start of every nonce of one encryption.
pub const NONCE_PREFIX_LEN: usize = 7;
/// Bytes of the header: magic, version, nonce prefix.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_PREFIX_LEN;
/// The first bytes of every encrypted stream.
pub const MAGIC: [u8; 2] = *b"SR";
/// The format version this module writes and reads.
pub const VERSION: u8 = 1;
/// Most segments a stream can have: the counter is 32 bits and never wraps.
pub const MAX_SEGMENTS: u64 = 1 << 32;
/// Bytes of a file key.
pub const FILE_KEY_LEN: usize = 32;

/// HKDF info prefix for file keys; the file id follows it.
const FILE_KEY_LABEL: &[u8] = b"strongroom-file-v1";
const SEGMENT_LEN_U64: u64 = SEGMENT_LEN as u64;
const ENCRYPTED_SEGMENT_LEN_U64: u64 = ENCRYPTED_SEGMENT_LEN as u64;
const TAG_LEN_U64: u64 = TAG_LEN as u64;
const HEADER_LEN_U64: u64 = HEADER_LEN as u64;

/// Everything that can go wrong. Messages carry indexes and lengths, never key or plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error("not an encrypted stream: wrong magic bytes")]
    BadMagic,
    #[error("unsupported encrypted stream version {0}")]
    UnsupportedVersion(u8),
    #[error("encrypted stream ends before its final segment")]
    Truncated,
    #[error(
        "segment {index} failed authentication: wrong key or associated data, or the stream \
         was modified, reordered, truncated or extended"
    )]
    Authentication { index: u64 },
    #[error("segment {index} has a length no valid stream has there")]
    SegmentLength { index: u64 },
    #[error("a stream has at most 2^32 segments")]
    TooManySegments,
    #[error("the final segment has already been sealed")]
    Finished,
    #[error("{0} bytes is not the length of an encrypted stream")]
    InvalidLength(u64),
    #[error("byte range {start}..{end} is not inside a plaintext of {len} bytes")]
    RangeOutOfBounds { start: u64, end: u64, len: u64 },
    #[error("an earlier error left this stream unusable")]
    Poisoned,
    #[error("AES-256-GCM failed")]
    Crypto,
}

impl From<StreamError> for std::io::Error {
    fn from(e: StreamError) -> Self {
        let kind = match e {
            StreamError::Truncated => std::io::ErrorKind::UnexpectedEof,
            StreamError::TooManySegments | StreamError::Finished => {
                std::io::ErrorKind::InvalidInput
            }
            _ => std::io::ErrorKind::InvalidData,
        };
        std::io::Error::new(kind, e)
    }
}

/// The key of one file: zeroised on drop, never printed, never exposed.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct FileKey([u8; FILE_KEY_LEN]);

impl std::fmt::Debug for FileKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileKey(<redacted>)")
    }
}

/// The key of file `file_id` under a subject's key: HKDF-SHA256 (RFC 5869) with no salt and
/// info = `"strongroom-file-v1" ‖ file_id`, 32 bytes of output.
pub fn derive_file_key(subject_key: &[u8; 32], file_id: &[u8]) -> FileKey {
    FileKey(hkdf_sha256_32(subject_key, &[FILE_KEY_LABEL, file_id]))
}

/// HKDF-SHA256 with the default salt (32 zero bytes) and 32 bytes of output.
///
/// For an output of one hash length, HKDF-Expand is the single block T(1) = HMAC(PRK, info ‖
/// 0x01); computing it with `hmac` directly keeps the derivation infallible, where
/// `aws_lc_rs::hkdf` reports errors for output lengths that cannot occur here. The tests check
/// it against `aws_lc_rs::hkdf` and RFC 5869 test case 3.
pub(crate) fn hkdf_sha256_32(ikm: &[u8], info: &[&[u8]]) -> [u8; 32] {
    let prk = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &[0u8; 32]), ikm);
    let mut expand = hmac::Context::with_key(&hmac::Key::new(hmac::HMAC_SHA256, prk.as_ref()));
    for part in info {
        expand.update(part);
    }
    expand.update(&[1]);
    let okm = expand.sign();
    let mut out = [0u8; 32];
    for (o, b) in out.iter_mut().zip(okm.as_ref()) {
        *o = *b;
    }
    out
}

fn aead_key(key: &FileKey) -> Result<LessSafeKey, StreamError> {
    UnboundKey::new(&AES_256_GCM, &key.0)
        .map(LessSafeKey::new)
        .map_err(|_| StreamError::Crypto)
}

fn header_bytes(prefix: [u8; NONCE_PREFIX_LEN]) -> [u8; HEADER_LEN] {
    let [m0, m1] = MAGIC;
    let [p0, p1, p2, p3, p4, p5, p6] = prefix;
    [m0, m1, VERSION, p0, p1, p2, p3, p4, p5, p6]
}

/// Checks magic and version; returns the nonce prefix.
fn parse_header(header: &[u8; HEADER_LEN]) -> Result<[u8; NONCE_PREFIX_LEN], StreamError> {
    let [m0, m1, version, p0, p1, p2, p3, p4, p5, p6] = *header;
    if [m0, m1] != MAGIC {
        return Err(StreamError::BadMagic);
    }
    if version != VERSION {
        return Err(StreamError::UnsupportedVersion(version));
    }
    Ok([p0, p1, p2, p3, p4, p5, p6])
}

/// The associated data of every segment: header ‖ caller's AAD.
fn segment_aad(header: &[u8; HEADER_LEN], aad: &[u8]) -> Vec<u8> {
    let mut all = Vec::with_capacity(HEADER_LEN + aad.len());
    all.extend_from_slice(header);
    all.extend_from_slice(aad);
    all
}

fn segment_nonce(prefix: [u8; NONCE_PREFIX_LEN], index: u32, last: bool) -> Nonce {
    let [p0, p1, p2, p3, p4, p5, p6] = prefix;
    let [c0, c1, c2, c3] = index.to_be_bytes();
    let nonce: [u8; NONCE_LEN] = [p0, p1, p2, p3, p4, p5, p6, c0, c1, c2, c3, u8::from(last)];
    Nonce::assume_unique_for_key(nonce)
}

/// The 32-bit counter of segment `index`, which must also have a valid plaintext length.
fn check_segment(index: u64, plaintext_len: usize, last: bool) -> Result<u32, StreamError> {
    let counter = u32::try_from(index).map_err(|_| StreamError::TooManySegments)?;
    let valid = if last {
        plaintext_len <= SEGMENT_LEN && (plaintext_len > 0 || index == 0)
    } else {
        plaintext_len == SEGMENT_LEN
    };
    if valid {
        Ok(counter)
    } else {
        Err(StreamError::SegmentLength { index })
    }
}

/// Number of segments of a plaintext of `plaintext_len` bytes (at least one).
pub fn segment_count(plaintext_len: u64) -> Result<u64, StreamError> {
    let n = plaintext_len.div_ceil(SEGMENT_LEN_U64).max(1);
    if n > MAX_SEGMENTS {
        return Err(StreamError::TooManySegments);
    }
    Ok(n)
}

/// Length of the encrypted stream (header included) of a plaintext of `plaintext_len` bytes.
pub fn ciphertext_len(plaintext_len: u64) -> Result<u64, StreamError> {
    let n = segment_count(plaintext_len)?;
    // n ≤ 2^32 bounds plaintext_len by 2^48: no overflow.
    Ok(HEADER_LEN_U64 + plaintext_len + n * TAG_LEN_U64)
}

/// Length of the plaintext in an encrypted stream of `ciphertext_len` bytes; an error for
/// lengths no stream has (e.g. a final segment shorter than a tag).
pub fn plaintext_len(ciphertext_len: u64) -> Result<u64, StreamError> {
    let invalid = StreamError::InvalidLength(ciphertext_len);
    let body = ciphertext_len.checked_sub(HEADER_LEN_U64).ok_or(invalid)?;
    if body < TAG_LEN_U64 {
        return Err(invalid);
    }
    let n = body.div_ceil(ENCRYPTED_SEGMENT_LEN_U64);
    if n > MAX_SEGMENTS {
        return Err(StreamError::TooManySegments);
    }
    let final_segment = body - (n - 1) * ENCRYPTED_SEGMENT_LEN_U64;
    // A final segment is at least a tag, and holds no plaintext only if it is the only one.
    if final_segment < TAG_LEN_U64 || (n > 1 && final_segment == TAG_LEN_U64) {
        return Err(invalid);
    }
    Ok(body - n * TAG_LEN_U64)
}

#[cfg(test)]
mod tests;
