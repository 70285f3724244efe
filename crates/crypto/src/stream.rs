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

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use std::io::{self, BufRead, Read, Write};
use std::ops::Range;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

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

impl From<StreamError> for io::Error {
    fn from(e: StreamError) -> Self {
        let kind = match e {
            StreamError::Truncated => io::ErrorKind::UnexpectedEof,
            StreamError::TooManySegments | StreamError::Finished => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
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
fn hkdf_sha256_32(ikm: &[u8], info: &[&[u8]]) -> [u8; 32] {
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

/// Seals a stream segment by segment (the low-level API; [`EncryptingWriter`] uses it).
///
/// Write [`Encryptor::header`] first, then each sealed segment followed by its tag. Every
/// segment but the last must be exactly [`SEGMENT_LEN`] bytes, and the last may be empty only
/// if it is the first.
pub struct Encryptor {
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: Vec<u8>,
    next: u64,
    finished: bool,
}

impl Encryptor {
    /// A new encryption under `key` with a fresh random nonce prefix, bound to `aad`.
    pub fn new(key: &FileKey, aad: &[u8]) -> Result<Self, StreamError> {
        Self::with_nonce_prefix(key, aad, crate::random_bytes())
    }

    fn with_nonce_prefix(
        key: &FileKey,
        aad: &[u8],
        nonce_prefix: [u8; NONCE_PREFIX_LEN],
    ) -> Result<Self, StreamError> {
        let header = header_bytes(nonce_prefix);
        Ok(Self {
            key: aead_key(key)?,
            header,
            nonce_prefix,
            aad: segment_aad(&header, aad),
            next: 0,
            finished: false,
        })
    }

    /// The header that starts the ciphertext.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    /// Index of the next segment to seal (= segments sealed so far).
    pub fn next_index(&self) -> u64 {
        self.next
    }

    /// Whether the final segment has been sealed.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn next_counter(&self, plaintext_len: usize, last: bool) -> Result<u32, StreamError> {
        if self.finished {
            return Err(StreamError::Finished);
        }
        check_segment(self.next, plaintext_len, last)
    }

    fn advance(&mut self, last: bool) {
        self.next += 1;
        self.finished = last;
    }

    /// Encrypts the next segment in place and returns its tag, which follows it in the stream.
    pub fn seal_segment(
        &mut self,
        in_out: &mut [u8],
        last: bool,
    ) -> Result<[u8; TAG_LEN], StreamError> {
        let counter = self.next_counter(in_out.len(), last)?;
        let mut tag = [0u8; TAG_LEN];
        self.key
            .seal_in_place_scatter(
                segment_nonce(self.nonce_prefix, counter, last),
                Aad::from(self.aad.as_slice()),
                in_out,
                &[],
                &mut tag,
            )
            .map_err(|_| StreamError::Crypto)?;
        self.advance(last);
        Ok(tag)
    }

    /// Encrypts the next segment from `plaintext` into `out` (ciphertext ‖ tag, exactly
    /// `plaintext.len() + TAG_LEN` bytes), leaving `plaintext` as it is.
    pub fn seal_segment_to(
        &mut self,
        plaintext: &[u8],
        out: &mut [u8],
        last: bool,
    ) -> Result<(), StreamError> {
        let counter = self.next_counter(plaintext.len(), last)?;
        let (ciphertext, tag) = out
            .split_at_mut_checked(plaintext.len())
            .filter(|(_, tag)| tag.len() == TAG_LEN)
            .ok_or(StreamError::SegmentLength { index: self.next })?;
        self.key
            .seal_out_of_place_scatter(
                segment_nonce(self.nonce_prefix, counter, last),
                Aad::from(self.aad.as_slice()),
                plaintext,
                ciphertext,
                &[],
                tag,
            )
            .map_err(|_| StreamError::Crypto)?;
        self.advance(last);
        Ok(())
    }

    /// Turns the segment just sealed (a full one, sealed as not the last, still in `sealed`:
    /// ciphertext ‖ tag) into the final segment: opens it and seals it again as the last.
    fn reseal_as_last(&mut self, sealed: &mut [u8]) -> Result<(), StreamError> {
        if self.finished {
            return Err(StreamError::Finished);
        }
        let index = self.next.checked_sub(1).ok_or(StreamError::Crypto)?;
        let counter = u32::try_from(index).map_err(|_| StreamError::TooManySegments)?;
        let (segment, tag) = sealed
            .split_at_mut_checked(SEGMENT_LEN)
            .filter(|(_, tag)| tag.len() == TAG_LEN)
            .ok_or(StreamError::SegmentLength { index })?;
        self.key
            .open_in_place_separate_tag(
                segment_nonce(self.nonce_prefix, counter, false),
                Aad::from(self.aad.as_slice()),
                tag,
                segment,
            )
            .map_err(|_| StreamError::Crypto)?;
        self.key
            .seal_in_place_scatter(
                segment_nonce(self.nonce_prefix, counter, true),
                Aad::from(self.aad.as_slice()),
                segment,
                &[],
                tag,
            )
            .map_err(|_| StreamError::Crypto)?;
        self.finished = true;
        Ok(())
    }
}

/// Opens the segments of one stream, each on its own and in any order.
pub struct Decryptor {
    key: LessSafeKey,
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: Vec<u8>,
}

impl Decryptor {
    /// A decryptor for the stream that starts with `header`, under `key` and bound to `aad`.
    /// Only magic and version are checked here; the segments authenticate the rest.
    pub fn new(key: &FileKey, header: &[u8; HEADER_LEN], aad: &[u8]) -> Result<Self, StreamError> {
        Self::with_aead_key(aead_key(key)?, header, aad)
    }

    fn with_aead_key(
        key: LessSafeKey,
        header: &[u8; HEADER_LEN],
        aad: &[u8],
    ) -> Result<Self, StreamError> {
        Ok(Self {
            key,
            nonce_prefix: parse_header(header)?,
            aad: segment_aad(header, aad),
        })
    }

    /// Opens segment `index` (ciphertext ‖ tag, in place) and returns its plaintext, a prefix
    /// of `in_out`. `last` says whether it is the stream's final segment. On error `in_out`
    /// is zeroed, so no unauthenticated plaintext is left behind.
    pub fn open_segment<'a>(
        &self,
        index: u64,
        last: bool,
        in_out: &'a mut [u8],
    ) -> Result<&'a mut [u8], StreamError> {
        let plaintext_len = in_out
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(StreamError::SegmentLength { index })?;
        let counter = check_segment(index, plaintext_len, last)?;
        let (ciphertext, tag) = in_out
            .split_at_mut_checked(plaintext_len)
            .ok_or(StreamError::SegmentLength { index })?;
        let opened = self
            .key
            .open_in_place_separate_tag(
                segment_nonce(self.nonce_prefix, counter, last),
                Aad::from(self.aad.as_slice()),
                tag,
                ciphertext,
            )
            .is_ok();
        if !opened {
            ciphertext.zeroize();
            tag.zeroize();
            return Err(StreamError::Authentication { index });
        }
        Ok(ciphertext)
    }

    /// Opens segment `index` from `sealed` (ciphertext ‖ tag) into `out`, which must be
    /// exactly `sealed.len() - TAG_LEN` bytes; `sealed` is left as it is. On error `out` is
    /// zeroed.
    pub fn open_segment_to(
        &self,
        index: u64,
        last: bool,
        sealed: &[u8],
        out: &mut [u8],
    ) -> Result<(), StreamError> {
        let plaintext_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .filter(|n| *n == out.len())
            .ok_or(StreamError::SegmentLength { index })?;
        let counter = check_segment(index, plaintext_len, last)?;
        let (ciphertext, tag) = sealed
            .split_at_checked(plaintext_len)
            .ok_or(StreamError::SegmentLength { index })?;
        let opened = self
            .key
            .open_separate_gather(
                segment_nonce(self.nonce_prefix, counter, last),
                Aad::from(self.aad.as_slice()),
                ciphertext,
                tag,
                out,
            )
            .is_ok();
        if !opened {
            out.zeroize();
            return Err(StreamError::Authentication { index });
        }
        Ok(())
    }
}

/// Which segments, and which ciphertext bytes, hold a range of plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    segments: Range<u64>,
    ciphertext: Range<u64>,
    skip: usize,
    len: u64,
    final_index: u64,
    final_len: usize,
}

impl RangePlan {
    /// The plan for plaintext bytes `range` (half-open) of a plaintext of `plaintext_len`
    /// bytes (from the stored length, or [`plaintext_len`] of the ciphertext's length).
    pub fn new(plaintext_len: u64, range: Range<u64>) -> Result<Self, StreamError> {
        if range.start > range.end || range.end > plaintext_len {
            return Err(StreamError::RangeOutOfBounds {
                start: range.start,
                end: range.end,
                len: plaintext_len,
            });
        }
        let final_index = segment_count(plaintext_len)? - 1;
        let final_len = usize::try_from(plaintext_len - final_index * SEGMENT_LEN_U64)
            .map_err(|_| StreamError::InvalidLength(plaintext_len))?;
        let len = range.end - range.start;
        if len == 0 {
            return Ok(Self {
                segments: 0..0,
                ciphertext: HEADER_LEN_U64..HEADER_LEN_U64,
                skip: 0,
                len,
                final_index,
                final_len,
            });
        }
        let first = range.start / SEGMENT_LEN_U64;
        let last = (range.end - 1) / SEGMENT_LEN_U64;
        let last_ciphertext_len = if last == final_index {
            final_len + TAG_LEN
        } else {
            ENCRYPTED_SEGMENT_LEN
        };
        let skip = usize::try_from(range.start - first * SEGMENT_LEN_U64)
            .map_err(|_| StreamError::InvalidLength(plaintext_len))?;
        Ok(Self {
            segments: first..last + 1,
            ciphertext: HEADER_LEN_U64 + first * ENCRYPTED_SEGMENT_LEN_U64
                ..HEADER_LEN_U64 + last * ENCRYPTED_SEGMENT_LEN_U64 + last_ciphertext_len as u64,
            skip,
            len,
            final_index,
            final_len,
        })
    }

    /// Indexes of the segments to open (empty for an empty range).
    pub fn segments(&self) -> Range<u64> {
        self.segments.clone()
    }

    /// Offsets in the whole ciphertext (header included) of the bytes to read: exactly those
    /// segments. The header, bytes `0..HEADER_LEN`, is needed as well, for the [`Decryptor`].
    pub fn ciphertext(&self) -> Range<u64> {
        self.ciphertext.clone()
    }

    /// Plaintext bytes the range holds.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the range is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether segment `index` is the last of the whole stream, and its ciphertext length.
    fn segment(&self, index: u64) -> (bool, usize) {
        if index == self.final_index {
            (true, self.final_len + TAG_LEN)
        } else {
            (false, ENCRYPTED_SEGMENT_LEN)
        }
    }
}

/// A `Write` that encrypts into `W`: header first, then one sealed segment per
/// [`SEGMENT_LEN`] bytes. Holds at most one segment. Call [`EncryptingWriter::finish`] to
/// seal the final segment; without it the ciphertext is truncated and will not open.
/// `flush` flushes `W` but cannot emit a partial segment.
///
/// A full segment is sealed at once, as not the last, straight from the caller's slice when it
/// can be (no copy), but written only when more data follows. If `finish` comes first, that
/// segment is opened and sealed again as the last: the first ciphertext is never written, and
/// the two use different nonces.
pub struct EncryptingWriter<W: Write> {
    inner: W,
    encryptor: Encryptor,
    /// Either `filled` bytes of plaintext, or (if `sealed`) a full segment and its tag.
    buf: Zeroizing<Box<[u8]>>,
    filled: usize,
    sealed: bool,
    header_written: bool,
    failed: bool,
}

impl<W: Write> EncryptingWriter<W> {
    /// Encrypts into `inner` under `key`, bound to `aad`, with a fresh nonce prefix.
    pub fn new(inner: W, key: &FileKey, aad: &[u8]) -> Result<Self, StreamError> {
        Ok(Self::with_encryptor(inner, Encryptor::new(key, aad)?))
    }

    fn with_encryptor(inner: W, encryptor: Encryptor) -> Self {
        Self {
            inner,
            encryptor,
            buf: Zeroizing::new(vec![0u8; ENCRYPTED_SEGMENT_LEN].into_boxed_slice()),
            filled: 0,
            sealed: false,
            header_written: false,
            failed: false,
        }
    }

    /// The header this writer starts the ciphertext with.
    pub fn header(&self) -> &[u8; HEADER_LEN] {
        self.encryptor.header()
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// Seals what is buffered as the final segment, writes it, flushes and returns `W`.
    pub fn finish(mut self) -> io::Result<W> {
        if self.failed {
            return Err(StreamError::Poisoned.into());
        }
        self.write_header()?;
        let end = if self.sealed {
            self.encryptor.reseal_as_last(&mut self.buf)?;
            ENCRYPTED_SEGMENT_LEN
        } else {
            let (segment, tag_space) = self
                .buf
                .split_at_mut_checked(self.filled)
                .ok_or(StreamError::Crypto)?;
            let tag = self.encryptor.seal_segment(segment, true)?;
            tag_space
                .get_mut(..TAG_LEN)
                .ok_or(StreamError::Crypto)?
                .copy_from_slice(&tag);
            self.filled + TAG_LEN
        };
        self.inner
            .write_all(self.buf.get(..end).ok_or(StreamError::Crypto)?)?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn write_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.inner.write_all(self.encryptor.header())?;
            self.header_written = true;
        }
        Ok(())
    }

    fn write_data(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_header()?;
        let mut rest = data;
        while !rest.is_empty() {
            // More data follows, so the sealed segment was rightly sealed as not the last.
            if self.sealed {
                self.inner.write_all(&self.buf)?;
                self.sealed = false;
            }
            if self.filled == 0 && rest.len() >= SEGMENT_LEN {
                let (segment, tail) = rest
                    .split_at_checked(SEGMENT_LEN)
                    .ok_or(StreamError::Crypto)?;
                self.encryptor
                    .seal_segment_to(segment, &mut self.buf, false)?;
                self.sealed = true;
                rest = tail;
                continue;
            }
            let take = (SEGMENT_LEN - self.filled).min(rest.len());
            let (now, tail) = rest.split_at_checked(take).ok_or(StreamError::Crypto)?;
            self.buf
                .get_mut(self.filled..self.filled + take)
                .ok_or(StreamError::Crypto)?
                .copy_from_slice(now);
            self.filled += take;
            rest = tail;
            if self.filled == SEGMENT_LEN {
                let (segment, tag_space) = self
                    .buf
                    .split_at_mut_checked(SEGMENT_LEN)
                    .ok_or(StreamError::Crypto)?;
                let tag = self.encryptor.seal_segment(segment, false)?;
                tag_space.copy_from_slice(&tag);
                self.filled = 0;
                self.sealed = true;
            }
        }
        Ok(())
    }
}

impl<W: Write> Write for EncryptingWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.failed {
            return Err(StreamError::Poisoned.into());
        }
        // A failed write may have sent part of a segment: nothing after it could be opened.
        self.write_data(data).inspect_err(|_| self.failed = true)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where a [`DecryptingReader`] is: waiting for the header, or with a [`Decryptor`].
enum Opener {
    AwaitingHeader { key: LessSafeKey, aad: Vec<u8> },
    Ready(Decryptor),
    Gone,
}

/// What a [`DecryptingReader`] reads: a whole stream to its end, or the segments of a range.
enum Extent {
    Stream,
    Range {
        plan: RangePlan,
        skip: usize,
        remaining: u64,
    },
}

/// A `Read` (and `BufRead`) that decrypts a stream from `R`, one authenticated segment at a
/// time; holds at most one segment. Data read is trustworthy only once a read returns `Ok(0)`:
/// an error (truncation, tampering, wrong key or AAD) voids everything read before it. After
/// an error every further read fails too.
pub struct DecryptingReader<R: Read> {
    inner: R,
    opener: Opener,
    extent: Extent,
    buf: Zeroizing<Box<[u8]>>,
    filled: usize,
    carry: bool,
    window: Range<usize>,
    next: u64,
    done: bool,
    failed: Option<StreamError>,
}

impl<R: Read> DecryptingReader<R> {
    /// Decrypts the whole stream `inner` (header first) under `key`, bound to `aad`. Reads
    /// nothing until the first read.
    pub fn new(inner: R, key: &FileKey, aad: &[u8]) -> Result<Self, StreamError> {
        let opener = Opener::AwaitingHeader {
            key: aead_key(key)?,
            aad: aad.to_vec(),
        };
        Ok(Self::with(inner, opener, Extent::Stream))
    }

    /// Decrypts only the plaintext range of `plan`. `inner` yields the ciphertext from offset
    /// `plan.ciphertext().start` (at least `plan.ciphertext()`; nothing past it is read), and
    /// `decryptor` was made from the stream's header.
    pub fn for_range(inner: R, decryptor: Decryptor, plan: &RangePlan) -> Self {
        let extent = Extent::Range {
            plan: plan.clone(),
            skip: plan.skip,
            remaining: plan.len,
        };
        let mut reader = Self::with(inner, Opener::Ready(decryptor), extent);
        reader.next = plan.segments.start;
        reader
    }

    fn with(inner: R, opener: Opener, extent: Extent) -> Self {
        Self {
            inner,
            opener,
            extent,
            buf: Zeroizing::new(vec![0u8; ENCRYPTED_SEGMENT_LEN + 1].into_boxed_slice()),
            filled: 0,
            carry: false,
            window: 0..0,
            next: 0,
            done: false,
            failed: None,
        }
    }

    /// The underlying reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Reads from `inner` until `target` bytes are buffered or it ends; returns the count.
    fn fill_to(&mut self, target: usize) -> io::Result<usize> {
        while self.filled < target {
            let space = self
                .buf
                .get_mut(self.filled..target)
                .ok_or(StreamError::Crypto)?;
            match self.inner.read(space) {
                Ok(0) => break,
                Ok(n) => self.filled += n.min(target - self.filled),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.filled)
    }

    /// The decryptor, reading and checking the header first if not done yet.
    fn ready(&mut self) -> io::Result<&Decryptor> {
        if let Opener::AwaitingHeader { .. } = self.opener {
            if self.fill_to(HEADER_LEN)? < HEADER_LEN {
                return Err(StreamError::Truncated.into());
            }
            let header: [u8; HEADER_LEN] = self
                .buf
                .get(..HEADER_LEN)
                .and_then(|h| h.try_into().ok())
                .ok_or(StreamError::Truncated)?;
            self.filled = 0;
            if let Opener::AwaitingHeader { key, aad } =
                std::mem::replace(&mut self.opener, Opener::Gone)
            {
                self.opener = Opener::Ready(Decryptor::with_aead_key(key, &header, &aad)?);
            }
        }
        match &self.opener {
            Opener::Ready(d) => Ok(d),
            _ => Err(StreamError::Poisoned.into()),
        }
    }

    /// Reads and opens the next segment: straight into `out` if the whole plaintext of the
    /// segment is wanted and fits (returns the bytes written there), else into the window
    /// (returns 0). Errors are kept: the reader fails from then on.
    fn load(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let loaded = self.load_segment(out);
        if let Err(e) = &loaded {
            if let Some(stream_error) = e.get_ref().and_then(|e| e.downcast_ref()) {
                self.failed = Some(*stream_error);
            }
            self.window = 0..0;
        }
        loaded
    }

    fn load_segment(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.ready()?;
        let (last, sealed_len, take) = match &self.extent {
            Extent::Stream => {
                if self.carry {
                    // The byte read ahead to learn that the previous segment was not the last.
                    let ahead = *self
                        .buf
                        .get(ENCRYPTED_SEGMENT_LEN)
                        .ok_or(StreamError::Crypto)?;
                    *self.buf.get_mut(0).ok_or(StreamError::Crypto)? = ahead;
                    self.filled = 1;
                    self.carry = false;
                }
                let n = self.fill_to(ENCRYPTED_SEGMENT_LEN + 1)?;
                let last = n <= ENCRYPTED_SEGMENT_LEN;
                if last && n < TAG_LEN {
                    return Err(StreamError::Truncated.into());
                }
                self.carry = !last;
                (last, n.min(ENCRYPTED_SEGMENT_LEN), None)
            }
            Extent::Range {
                plan,
                skip,
                remaining,
            } => {
                if self.next >= plan.segments.end || *remaining == 0 {
                    self.done = true;
                    return Ok(0);
                }
                let (last, sealed_len) = plan.segment(self.next);
                let take = Some((*skip, *remaining));
                if self.fill_to(sealed_len)? < sealed_len {
                    return Err(StreamError::Truncated.into());
                }
                (last, sealed_len, take)
            }
        };
        let index = self.next;
        let plaintext_len = sealed_len
            .checked_sub(TAG_LEN)
            .ok_or(StreamError::SegmentLength { index })?;
        // The part of the plaintext to hand out.
        let (start, len) = match take {
            None => (0, plaintext_len),
            Some((skip, remaining)) => {
                let start = skip.min(plaintext_len);
                let available = plaintext_len - start;
                let len = usize::try_from(remaining).map_or(available, |r| r.min(available));
                (start, len)
            }
        };
        let Opener::Ready(decryptor) = &self.opener else {
            return Err(StreamError::Poisoned.into());
        };
        let direct = match out.get_mut(..plaintext_len) {
            Some(target) if len == plaintext_len && len > 0 => {
                let sealed = self.buf.get(..sealed_len).ok_or(StreamError::Crypto)?;
                decryptor.open_segment_to(index, last, sealed, target)?;
                true
            }
            _ => {
                let segment = self.buf.get_mut(..sealed_len).ok_or(StreamError::Crypto)?;
                decryptor.open_segment(index, last, segment)?;
                false
            }
        };
        if !self.carry {
            self.filled = 0;
        }
        self.next += 1;
        match &mut self.extent {
            Extent::Stream => self.done = last,
            Extent::Range {
                skip, remaining, ..
            } => {
                *skip = 0;
                *remaining = remaining.saturating_sub(len as u64);
            }
        }
        if direct {
            self.window = 0..0;
            Ok(len)
        } else {
            self.window = start..start + len;
            Ok(0)
        }
    }
}

impl<R: Read> BufRead for DecryptingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        while self.window.is_empty() && !self.done {
            self.load(&mut [])?;
        }
        Ok(self.buf.get(self.window.clone()).unwrap_or_default())
    }

    fn consume(&mut self, amount: usize) {
        self.window.start = self
            .window
            .start
            .saturating_add(amount)
            .min(self.window.end);
    }
}

impl<R: Read> Read for DecryptingReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        // A caller with room for a whole segment gets it decrypted straight into `out`.
        if self.window.is_empty() && !self.done && out.len() >= SEGMENT_LEN {
            let n = self.load(out)?;
            if n > 0 {
                return Ok(n);
            }
        }
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        if let (Some(to), Some(from)) = (out.get_mut(..n), available.get(..n)) {
            to.copy_from_slice(from);
        }
        self.consume(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::LazyLock;

    const AAD: &[u8] = b"tenant 1 / record 2 / scan.pdf";
    const SEG: usize = SEGMENT_LEN;

    fn key() -> FileKey {
        derive_file_key(&[7u8; 32], b"file-1")
    }

    /// Deterministic pseudo-random bytes (xorshift64*), cheap enough for large inputs.
    fn data(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|_| {
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                (x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
            })
            .collect()
    }

    fn encrypt_chunked(key: &FileKey, aad: &[u8], plaintext: &[u8], chunks: &[usize]) -> Vec<u8> {
        let mut w = EncryptingWriter::new(Vec::new(), key, aad).unwrap();
        let mut rest = plaintext;
        for size in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (now, tail) = rest.split_at((*size).min(rest.len()));
            w.write_all(now).unwrap();
            rest = tail;
        }
        w.finish().unwrap()
    }

    fn encrypt(key: &FileKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        encrypt_chunked(key, aad, plaintext, &[plaintext.len().max(1)])
    }

    fn decrypt(key: &FileKey, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, StreamError> {
        let mut r = DecryptingReader::new(ciphertext, key, aad)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| stream_error(&e))?;
        Ok(out)
    }

    fn stream_error(e: &io::Error) -> StreamError {
        *e.get_ref()
            .and_then(|e| e.downcast_ref::<StreamError>())
            .unwrap_or_else(|| panic!("not a stream error: {e}"))
    }

    fn header_of(ciphertext: &[u8]) -> [u8; HEADER_LEN] {
        ciphertext[..HEADER_LEN].try_into().unwrap()
    }

    /// Start offset of segment `i` in a ciphertext.
    fn seg_at(i: usize) -> usize {
        HEADER_LEN + i * ENCRYPTED_SEGMENT_LEN
    }

    /// The bytes of `bytes` at offsets `range`.
    fn part(bytes: &[u8], range: Range<u64>) -> &[u8] {
        let at = |x: u64| usize::try_from(x).unwrap();
        &bytes[at(range.start)..at(range.end)]
    }

    fn read_range(ciphertext: &[u8], range: Range<u64>) -> Result<Vec<u8>, StreamError> {
        let plan = RangePlan::new(plaintext_len(ciphertext.len() as u64)?, range)?;
        let d = Decryptor::new(&key(), &header_of(ciphertext), AAD)?;
        let source = part(ciphertext, plan.ciphertext());
        let mut r = DecryptingReader::for_range(source, d, &plan);
        let mut out = Vec::new();
        r.read_to_end(&mut out).map_err(|e| stream_error(&e))?;
        Ok(out)
    }

    #[test]
    fn round_trips_at_segment_boundaries() {
        for len in [0, 1, SEG - 1, SEG, SEG + 1, 2 * SEG, 3 * SEG + 17] {
            let plaintext = data(len, len as u64);
            let ciphertext = encrypt(&key(), AAD, &plaintext);
            assert_eq!(ciphertext.len() as u64, ciphertext_len(len as u64).unwrap());
            assert_eq!(plaintext_len(ciphertext.len() as u64).unwrap(), len as u64);
            assert_eq!(
                decrypt(&key(), AAD, &ciphertext).unwrap(),
                plaintext,
                "{len}"
            );
            // Whole segments per write take the path that seals before knowing what follows.
            for chunks in [
                &[SEG][..],
                &[SEG / 2],
                &[1, SEG],
                &[2 * SEG],
                &[SEG + 1, SEG - 1],
            ] {
                let ciphertext = encrypt_chunked(&key(), AAD, &plaintext, chunks);
                assert_eq!(ciphertext.len() as u64, ciphertext_len(len as u64).unwrap());
                assert_eq!(
                    decrypt(&key(), AAD, &ciphertext).unwrap(),
                    plaintext,
                    "{len} {chunks:?}"
                );
            }
        }
    }

    #[test]
    fn an_empty_plaintext_is_the_header_and_one_tag() {
        let ciphertext = encrypt(&key(), AAD, b"");
        assert_eq!(ciphertext.len(), HEADER_LEN + TAG_LEN);
        assert_eq!(decrypt(&key(), AAD, &ciphertext).unwrap(), b"");
        let w = EncryptingWriter::new(Vec::new(), &key(), AAD).unwrap();
        assert_eq!(w.finish().unwrap().len(), HEADER_LEN + TAG_LEN);
    }

    #[test]
    fn the_byte_layout_is_the_documented_one() {
        let prefix = [1, 2, 3, 4, 5, 6, 7];
        let encryptor = Encryptor::with_nonce_prefix(&key(), AAD, prefix).unwrap();
        let mut w = EncryptingWriter::with_encryptor(Vec::new(), encryptor);
        let plaintext = data(2 * SEG + 5, 1);
        w.write_all(&plaintext).unwrap();
        let ciphertext = w.finish().unwrap();
        assert_eq!(
            &ciphertext[..HEADER_LEN],
            b"SR\x01\x01\x02\x03\x04\x05\x06\x07"
        );

        // Each segment opens with plain aws-lc-rs given the nonce and AAD built by hand.
        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key().0).unwrap());
        let mut aad = ciphertext[..HEADER_LEN].to_vec();
        aad.extend_from_slice(AAD);
        let ends = [seg_at(1), seg_at(2), ciphertext.len()];
        let mut opened = Vec::new();
        for (i, end) in ends.into_iter().enumerate() {
            let mut nonce = [0u8; 12];
            nonce[..7].copy_from_slice(&prefix);
            nonce[7..11].copy_from_slice(&u32::try_from(i).unwrap().to_be_bytes());
            nonce[11] = u8::from(i == 2);
            let mut segment = ciphertext[seg_at(i)..end].to_vec();
            let pt = raw
                .open_in_place(
                    Nonce::assume_unique_for_key(nonce),
                    Aad::from(&aad),
                    &mut segment,
                )
                .unwrap();
            opened.extend_from_slice(pt);
        }
        assert_eq!(opened, plaintext);
    }

    #[test]
    fn the_segment_api_opens_segments_independently() {
        let plaintext = data(3 * SEG + 9, 2);
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        let mut sealed = Vec::new();
        let chunks: Vec<&[u8]> = plaintext.chunks(SEG).collect();
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let mut buf = chunk.to_vec();
            let tag = e.seal_segment(&mut buf, last).unwrap();
            buf.extend_from_slice(&tag);
            sealed.push(buf);
        }
        assert!(e.is_finished());
        assert_eq!(e.next_index(), 4);
        let d = Decryptor::new(&key(), e.header(), AAD).unwrap();
        for i in (0..sealed.len()).rev() {
            let mut buf = sealed[i].clone();
            let last = i + 1 == sealed.len();
            let pt = d.open_segment(i as u64, last, &mut buf).unwrap();
            assert_eq!(pt, chunks[i]);
        }
        // Out-of-place sealing produces a stream that reads back the same.
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        let mut ciphertext = e.header().to_vec();
        for (i, chunk) in chunks.iter().enumerate() {
            let mut out = vec![0u8; chunk.len() + TAG_LEN];
            e.seal_segment_to(chunk, &mut out, i + 1 == chunks.len())
                .unwrap();
            ciphertext.extend_from_slice(&out);
        }
        assert_eq!(decrypt(&key(), AAD, &ciphertext).unwrap(), plaintext);
    }

    #[test]
    fn segment_lengths_and_order_are_enforced_when_sealing() {
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        let mut short = vec![0u8; SEG - 1];
        assert_eq!(
            e.seal_segment(&mut short, false),
            Err(StreamError::SegmentLength { index: 0 })
        );
        let mut long = vec![0u8; SEG + 1];
        assert_eq!(
            e.seal_segment(&mut long, true),
            Err(StreamError::SegmentLength { index: 0 })
        );
        let mut full = vec![0u8; SEG];
        e.seal_segment(&mut full, false).unwrap();
        // Only a lone final segment may be empty.
        assert_eq!(
            e.seal_segment(&mut [], true),
            Err(StreamError::SegmentLength { index: 1 })
        );
        e.seal_segment(&mut [1, 2, 3], true).unwrap();
        assert_eq!(e.seal_segment(&mut [1], true), Err(StreamError::Finished));
        let mut out = [0u8; 3 + TAG_LEN];
        assert_eq!(
            e.seal_segment_to(&[1, 2, 3], &mut out, true),
            Err(StreamError::Finished)
        );
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        let mut wrong_out = [0u8; 3 + TAG_LEN - 1];
        assert_eq!(
            e.seal_segment_to(&[1, 2, 3], &mut wrong_out, true),
            Err(StreamError::SegmentLength { index: 0 })
        );
    }

    #[test]
    fn the_counter_never_wraps() {
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        e.next = u64::from(u32::MAX);
        let mut full = vec![5u8; SEG];
        let tag = e.seal_segment(&mut full, false).unwrap();
        full.extend_from_slice(&tag);
        assert_eq!(
            e.seal_segment(&mut [1], true),
            Err(StreamError::TooManySegments)
        );
        let d = Decryptor::new(&key(), e.header(), AAD).unwrap();
        assert_eq!(
            d.open_segment(u64::from(u32::MAX), false, &mut full.clone())
                .unwrap(),
            vec![5u8; SEG]
        );
        // The same bytes at index 0 (what a wrapping counter would use) do not open.
        assert!(d.open_segment(0, false, &mut full.clone()).is_err());
        assert_eq!(
            d.open_segment(MAX_SEGMENTS, false, &mut full),
            Err(StreamError::TooManySegments)
        );
        // Segment 2^32 - 1 may be the last.
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        e.next = u64::from(u32::MAX);
        e.seal_segment(&mut [1], true).unwrap();

        let most = MAX_SEGMENTS * SEG as u64;
        assert_eq!(segment_count(most), Ok(MAX_SEGMENTS));
        assert_eq!(segment_count(most + 1), Err(StreamError::TooManySegments));
        assert_eq!(ciphertext_len(most + 1), Err(StreamError::TooManySegments));
        let c = ciphertext_len(most).unwrap();
        assert_eq!(plaintext_len(c), Ok(most));
        assert_eq!(plaintext_len(c + 1), Err(StreamError::TooManySegments));
        assert_eq!(plaintext_len(u64::MAX), Err(StreamError::TooManySegments));
        assert!(RangePlan::new(most + 1, 0..1).is_err());
    }

    #[test]
    fn the_writer_stops_at_the_counter_limit() {
        let plaintext = data(SEG + 1, 15);
        // Segment 2^32 - 1, full, is the last: fine.
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        e.next = u64::from(u32::MAX);
        let header = *e.header();
        let mut w = EncryptingWriter::with_encryptor(Vec::new(), e);
        w.write_all(&plaintext[..SEG]).unwrap();
        let ciphertext = w.finish().unwrap();
        let d = Decryptor::new(&key(), &header, AAD).unwrap();
        let mut segment = ciphertext[HEADER_LEN..].to_vec();
        let pt = d
            .open_segment(u64::from(u32::MAX), true, &mut segment)
            .unwrap();
        assert_eq!(pt, &plaintext[..SEG]);
        // One byte more needs segment index 2^32.
        let mut e = Encryptor::new(&key(), AAD).unwrap();
        e.next = u64::from(u32::MAX);
        let mut w = EncryptingWriter::with_encryptor(Vec::new(), e);
        w.write_all(&plaintext).unwrap();
        let err = w.finish().unwrap_err();
        assert_eq!(stream_error(&err), StreamError::TooManySegments);
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn lengths_no_stream_has_are_rejected() {
        let e = (HEADER_LEN + ENCRYPTED_SEGMENT_LEN) as u64;
        for bad in [
            0,
            HEADER_LEN as u64,
            (HEADER_LEN + TAG_LEN - 1) as u64,
            e + 1,
            e + TAG_LEN as u64 - 1,
            // A full segment followed by an empty final one is not canonical.
            e + TAG_LEN as u64,
        ] {
            assert_eq!(plaintext_len(bad), Err(StreamError::InvalidLength(bad)));
        }
        assert_eq!(plaintext_len((HEADER_LEN + TAG_LEN) as u64), Ok(0));
        assert_eq!(plaintext_len(e), Ok(SEG as u64));
        assert_eq!(plaintext_len(e + TAG_LEN as u64 + 1), Ok(SEG as u64 + 1));
    }

    #[test]
    fn file_keys_are_hkdf_sha256_of_subject_key_and_file_id() {
        struct Len32;
        impl aws_lc_rs::hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        // RFC 5869 test case 3 (no salt, no info), first 32 bytes of the OKM.
        assert_eq!(
            hkdf_sha256_32(&[0x0b; 22], &[]),
            *b"\x8d\xa4\xe7\x75\xa5\x63\xc1\x8f\x71\x5f\x80\x2a\x06\x3c\x5a\x31\
               \xb8\xa1\x1f\x5c\x5e\xe1\x87\x9e\xc3\x45\x4e\x5f\x3c\x73\x8d\x2d"
        );
        // Same as aws-lc-rs's HKDF.
        let subject: [u8; 32] = std::array::from_fn(|i| u8::try_from(i).unwrap());
        let prk = aws_lc_rs::hkdf::Salt::new(aws_lc_rs::hkdf::HKDF_SHA256, &[]).extract(&subject);
        let mut expected = [0u8; 32];
        prk.expand(&[FILE_KEY_LABEL, b"file-1"], Len32)
            .unwrap()
            .fill(&mut expected)
            .unwrap();
        assert_eq!(derive_file_key(&subject, b"file-1").0, expected);
        // And a value computed independently (Python's hmac module).
        assert_eq!(
            expected,
            *b"\xdc\x69\xca\xc3\xc8\x2d\x5b\xce\x1b\xd7\x82\x43\x9a\xb3\x40\x61\
               \xe8\xc8\xf0\x1c\xcd\x42\x10\xc3\xea\xa0\x76\xfd\x4e\x36\xc3\x34"
        );
        assert_ne!(derive_file_key(&subject, b"file-2").0, expected);
        assert_ne!(derive_file_key(&[1; 32], b"file-1").0, expected);
        assert_eq!(format!("{:?}", key()), "FileKey(<redacted>)");
    }

    #[test]
    fn truncation_is_detected() {
        for len in [0, 5, SEG, 2 * SEG, 3 * SEG + 100] {
            let ciphertext = encrypt(&key(), AAD, &data(len, 3));
            let mut cuts = vec![0, 1, HEADER_LEN - 1, HEADER_LEN, HEADER_LEN + TAG_LEN - 1];
            cuts.extend([ciphertext.len() - 1, ciphertext.len() - TAG_LEN]);
            for i in 1..=3 {
                cuts.extend([seg_at(i), seg_at(i) + 1, seg_at(i) - 1, seg_at(i) + TAG_LEN]);
            }
            for cut in cuts.into_iter().filter(|c| *c < ciphertext.len()) {
                let got = decrypt(&key(), AAD, &ciphertext[..cut]);
                assert!(got.is_err(), "len {len}, cut at {cut}");
            }
        }
        let ciphertext = encrypt(&key(), AAD, &data(3 * SEG, 3));
        assert_eq!(
            decrypt(&key(), AAD, &ciphertext[..5]),
            Err(StreamError::Truncated)
        );
        assert_eq!(
            decrypt(&key(), AAD, &ciphertext[..HEADER_LEN]),
            Err(StreamError::Truncated)
        );
        // Cut after whole segments: the new last segment was not sealed as the last.
        assert_eq!(
            decrypt(&key(), AAD, &ciphertext[..seg_at(2)]),
            Err(StreamError::Authentication { index: 1 })
        );
    }

    #[test]
    fn extension_is_detected() {
        for len in [0, 1, SEG, SEG + 5, 2 * SEG] {
            let ciphertext = encrypt(&key(), AAD, &data(len, 4));
            let other = encrypt(&key(), AAD, &data(len, 5));
            let last_segment = ciphertext[seg_at((len.max(1) - 1) / SEG)..].to_vec();
            for tail in [
                vec![0u8],
                vec![0u8; TAG_LEN],
                last_segment,
                other[HEADER_LEN..].to_vec(),
                other.clone(),
            ] {
                let mut extended = ciphertext.clone();
                extended.extend_from_slice(&tail);
                assert!(
                    decrypt(&key(), AAD, &extended).is_err(),
                    "len {len} + {} bytes",
                    tail.len()
                );
            }
        }
    }

    #[test]
    fn reordered_duplicated_or_dropped_segments_are_detected() {
        let plaintext = data(3 * SEG + 10, 6);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        let seg = |i: usize| ciphertext[seg_at(i)..seg_at(i + 1).min(ciphertext.len())].to_vec();
        let head = ciphertext[..HEADER_LEN].to_vec();
        let build = |order: &[usize]| {
            let mut c = head.clone();
            for i in order {
                c.extend_from_slice(&seg(*i));
            }
            c
        };
        assert_eq!(
            decrypt(&key(), AAD, &build(&[0, 1, 2, 3])).unwrap(),
            plaintext
        );
        assert_eq!(
            decrypt(&key(), AAD, &build(&[1, 0, 2, 3])),
            Err(StreamError::Authentication { index: 0 })
        );
        assert_eq!(
            decrypt(&key(), AAD, &build(&[0, 0, 2, 3])),
            Err(StreamError::Authentication { index: 1 })
        );
        assert_eq!(
            decrypt(&key(), AAD, &build(&[0, 2, 3])),
            Err(StreamError::Authentication { index: 1 })
        );
        assert_eq!(
            decrypt(&key(), AAD, &build(&[0, 1, 2, 2, 3])),
            Err(StreamError::Authentication { index: 3 })
        );
    }

    #[test]
    fn bit_flips_are_detected() {
        let ciphertext = encrypt(&key(), AAD, &data(2 * SEG + 3, 7));
        let flipped = |at: usize| {
            let mut c = ciphertext.clone();
            c[at] ^= 0x10;
            decrypt(&key(), AAD, &c)
        };
        assert_eq!(flipped(0), Err(StreamError::BadMagic));
        assert_eq!(flipped(2), Err(StreamError::UnsupportedVersion(0x11)));
        for at in [3, 9] {
            assert_eq!(flipped(at), Err(StreamError::Authentication { index: 0 }));
        }
        for (at, index) in [
            (HEADER_LEN, 0),
            (seg_at(1) - 1, 0),
            (seg_at(1), 1),
            (seg_at(2) + 2, 2),
            (ciphertext.len() - 1, 2),
        ] {
            assert_eq!(flipped(at), Err(StreamError::Authentication { index }));
        }
    }

    #[test]
    fn wrong_key_context_or_header_is_detected() {
        let plaintext = data(SEG + 1, 8);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        let auth0 = Err(StreamError::Authentication { index: 0 });
        let other_file = derive_file_key(&[7u8; 32], b"file-2");
        assert_eq!(decrypt(&other_file, AAD, &ciphertext), auth0);
        let other_subject = derive_file_key(&[8u8; 32], b"file-1");
        assert_eq!(decrypt(&other_subject, AAD, &ciphertext), auth0);
        assert_eq!(
            decrypt(&key(), b"tenant 1 / record 3 / scan.pdf", &ciphertext),
            auth0
        );
        assert_eq!(decrypt(&key(), b"", &ciphertext), auth0);
        // The header (nonce prefix) of another encryption of the same file under the same key.
        let again = encrypt(&key(), AAD, &plaintext);
        let mut spliced = again[..HEADER_LEN].to_vec();
        spliced.extend_from_slice(&ciphertext[HEADER_LEN..]);
        assert_eq!(decrypt(&key(), AAD, &spliced), auth0);
        // A segment from that other encryption, in the right place.
        let mut spliced = ciphertext[..seg_at(1)].to_vec();
        spliced.extend_from_slice(&again[seg_at(1)..]);
        assert_eq!(
            decrypt(&key(), AAD, &spliced),
            Err(StreamError::Authentication { index: 1 })
        );
    }

    #[test]
    fn a_failed_open_leaves_no_plaintext_and_the_reader_stays_failed() {
        let ciphertext = encrypt(&key(), AAD, &data(SEG + 1, 9));
        let d = Decryptor::new(&key(), &header_of(&ciphertext), AAD).unwrap();
        let mut segment = ciphertext[seg_at(0)..seg_at(1)].to_vec();
        segment[5] ^= 1;
        assert!(d.open_segment(0, false, &mut segment).is_err());
        assert!(segment.iter().all(|b| *b == 0));
        assert_eq!(
            d.open_segment(0, false, &mut [0u8; TAG_LEN - 1]),
            Err(StreamError::SegmentLength { index: 0 })
        );
        assert_eq!(
            d.open_segment(1, true, &mut [0u8; TAG_LEN]),
            Err(StreamError::SegmentLength { index: 1 })
        );

        let mut bad = ciphertext.clone();
        bad[seg_at(1) + 3] ^= 1;
        let mut sealed = ciphertext[seg_at(0)..seg_at(1)].to_vec();
        let mut out = vec![0xff; SEG];
        d.open_segment_to(0, false, &sealed, &mut out).unwrap();
        sealed[SEG] ^= 1;
        assert!(d.open_segment_to(0, false, &sealed, &mut out).is_err());
        assert!(out.iter().all(|b| *b == 0));
        assert_eq!(
            d.open_segment_to(0, false, &sealed, &mut out[1..]),
            Err(StreamError::SegmentLength { index: 0 })
        );

        let mut r = DecryptingReader::new(bad.as_slice(), &key(), AAD).unwrap();
        let mut out = vec![0u8; 2 * SEG];
        assert_eq!(r.read(&mut out).unwrap(), SEG);
        out.fill(0xff);
        // Segment 1 is opened straight into `out`, which is wiped when it fails.
        let e = r.read(&mut out).unwrap_err();
        assert_eq!(out[0], 0);
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(stream_error(&e), StreamError::Authentication { index: 1 });
        assert_eq!(
            stream_error(&r.read(&mut out).unwrap_err()),
            StreamError::Authentication { index: 1 }
        );
        assert!(r.fill_buf().is_err());
    }

    #[test]
    fn range_reads_at_segment_boundaries() {
        let len = 3 * SEG + 100;
        let plaintext = data(len, 10);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        let l = len as u64;
        let s = SEG as u64;
        for range in [
            0..0,
            0..1,
            0..s,
            s - 1..s + 1,
            s..2 * s,
            s..2 * s + 1,
            2 * s..3 * s,
            3 * s..l,
            l - 1..l,
            0..l,
            l..l,
        ] {
            let want = part(&plaintext, range.clone());
            assert_eq!(
                read_range(&ciphertext, range.clone()).unwrap(),
                want,
                "{range:?}"
            );
        }
        let plan = RangePlan::new(l, s - 1..s + 1).unwrap();
        assert_eq!(plan.segments(), 0..2);
        assert_eq!(plan.ciphertext(), seg_at(0) as u64..seg_at(2) as u64);
        assert_eq!(plan.len(), 2);
        let plan = RangePlan::new(l, 2 * s..3 * s).unwrap();
        assert_eq!(plan.segments(), 2..3);
        let plan = RangePlan::new(l, 3 * s + 1..l).unwrap();
        assert_eq!(plan.segments(), 3..4);
        assert_eq!(plan.ciphertext(), seg_at(3) as u64..ciphertext.len() as u64);
        assert!(RangePlan::new(l, 0..0).unwrap().is_empty());
        let (start, end) = (5, 4);
        assert_eq!(
            RangePlan::new(l, start..end),
            Err(StreamError::RangeOutOfBounds { start, end, len: l })
        );
        assert!(RangePlan::new(l, 0..l + 1).is_err());
        // An empty file has one (empty) segment and only the empty range.
        let empty = encrypt(&key(), AAD, b"");
        assert_eq!(read_range(&empty, 0..0).unwrap(), b"");
        assert!(RangePlan::new(0, 0..1).is_err());
    }

    #[test]
    fn range_reads_detect_tampering_and_truncation() {
        let plaintext = data(2 * SEG + 100, 11);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        let l = plaintext.len() as u64;
        let d = || Decryptor::new(&key(), &header_of(&ciphertext), AAD).unwrap();
        let plan = RangePlan::new(l, 10..SEG as u64 + 10).unwrap();
        let c = plan.ciphertext();
        let mut source = part(&ciphertext, c.clone()).to_vec();
        source[SEG + 40] ^= 4;
        let mut out = Vec::new();
        let e = DecryptingReader::for_range(source.as_slice(), d(), &plan)
            .read_to_end(&mut out)
            .unwrap_err();
        assert_eq!(stream_error(&e), StreamError::Authentication { index: 1 });
        // The source ends early.
        let short = part(&ciphertext, c.start..c.end - 1);
        let e = DecryptingReader::for_range(short, d(), &plan)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(stream_error(&e), StreamError::Truncated);
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
        // A wrong length (the file was cut by a whole segment) makes the end fail.
        let cut = plaintext_len(seg_at(2) as u64 + TAG_LEN as u64 + 1).unwrap();
        let plan = RangePlan::new(cut, cut - 1..cut).unwrap();
        let rest = part(
            &ciphertext,
            plan.ciphertext().start..ciphertext.len() as u64,
        );
        let e = DecryptingReader::for_range(rest, d(), &plan)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert_eq!(stream_error(&e), StreamError::Authentication { index: 2 });
        // Ranges are bound to key and AAD like whole streams.
        let plan = RangePlan::new(l, 0..1).unwrap();
        let wrong = Decryptor::new(&key(), &header_of(&ciphertext), b"other").unwrap();
        assert!(
            DecryptingReader::for_range(&ciphertext[HEADER_LEN..], wrong, &plan)
                .read_to_end(&mut Vec::new())
                .is_err()
        );
    }

    /// A source that returns at most `max` bytes per read and is interrupted every other call.
    struct Trickle<'a> {
        data: &'a [u8],
        max: usize,
        interrupt: bool,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.interrupt = !self.interrupt;
            if self.interrupt {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = self.max.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[test]
    fn short_and_interrupted_reads_are_handled() {
        let plaintext = data(2 * SEG + 1, 12);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        for max in [1, 7, TAG_LEN, 4096] {
            let source = Trickle {
                data: &ciphertext,
                max,
                interrupt: false,
            };
            let mut r = DecryptingReader::new(source, &key(), AAD).unwrap();
            let mut out = Vec::new();
            r.read_to_end(&mut out).unwrap();
            assert_eq!(out, plaintext, "{max}");
        }
    }

    #[test]
    fn buf_read_hands_out_whole_segments() {
        let plaintext = data(SEG + 3, 13);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        let mut r = DecryptingReader::new(ciphertext.as_slice(), &key(), AAD).unwrap();
        assert_eq!(r.fill_buf().unwrap(), &plaintext[..SEG]);
        r.consume(SEG - 1);
        assert_eq!(r.fill_buf().unwrap(), &plaintext[SEG - 1..SEG]);
        r.consume(5);
        assert_eq!(r.fill_buf().unwrap(), &plaintext[SEG..]);
        r.consume(3);
        assert!(r.fill_buf().unwrap().is_empty());
        assert_eq!(r.into_inner().len(), 0);
    }

    /// A sink that fails once it has taken `room` bytes.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::other("disk full"));
            }
            let n = b.len().min(self.room);
            self.room -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_poisons_the_writer() {
        let mut w = EncryptingWriter::new(Full { room: 100 }, &key(), AAD).unwrap();
        assert_eq!(w.header()[..3], *b"SR\x01");
        w.write_all(&vec![0u8; SEG]).unwrap();
        assert!(w.write_all(&[0u8; 10]).is_err());
        let e = w.write(&[0u8]).unwrap_err();
        assert_eq!(stream_error(&e), StreamError::Poisoned);
        assert!(w.finish().is_err());
    }

    #[test]
    fn messages_carry_no_secrets() {
        let e = StreamError::Authentication { index: 3 };
        assert!(e.to_string().starts_with("segment 3 failed authentication"));
        let io: io::Error = StreamError::Truncated.into();
        assert_eq!(io.kind(), io::ErrorKind::UnexpectedEof);
    }

    /// One plaintext and its ciphertext, shared by the property tests.
    static FIXTURE: LazyLock<(Vec<u8>, Vec<u8>)> = LazyLock::new(|| {
        let plaintext = data(2 * SEG + 100, 14);
        let ciphertext = encrypt(&key(), AAD, &plaintext);
        (plaintext, ciphertext)
    });

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_data_written_and_read_in_any_chunks_round_trips(
            len in 0..3 * SEG + 200,
            seed in any::<u64>(),
            writes in prop::collection::vec(1..2 * SEG + 2, 1..6),
            reads in prop::collection::vec(1..2 * SEG + 2, 1..6),
        ) {
            let plaintext = data(len, seed);
            let ciphertext = encrypt_chunked(&key(), AAD, &plaintext, &writes);
            prop_assert_eq!(ciphertext.len() as u64, ciphertext_len(len as u64).unwrap());
            let mut r = DecryptingReader::new(ciphertext.as_slice(), &key(), AAD).unwrap();
            let mut out = Vec::new();
            for size in reads.iter().cycle() {
                let mut buf = vec![0u8; *size];
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            prop_assert_eq!(out, plaintext);
        }

        #[test]
        fn any_single_bit_flip_is_rejected(bit in 0..FIXTURE.1.len() * 8) {
            let mut ciphertext = FIXTURE.1.clone();
            ciphertext[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(decrypt(&key(), AAD, &ciphertext).is_err());
        }

        #[test]
        fn any_truncation_is_rejected(cut in 0..FIXTURE.1.len()) {
            prop_assert!(decrypt(&key(), AAD, &FIXTURE.1[..cut]).is_err());
        }

        #[test]
        fn any_range_decrypts_to_its_bytes(a in 0..=FIXTURE.0.len(), b in 0..=FIXTURE.0.len()) {
            let (start, end) = (a.min(b), a.max(b));
            let got = read_range(&FIXTURE.1, start as u64..end as u64).unwrap();
            prop_assert_eq!(got.as_slice(), &FIXTURE.0[start..end]);
        }

        #[test]
        fn lengths_convert_both_ways(len in 0..MAX_SEGMENTS * SEG as u64, extra in 0..20u64) {
            let c = ciphertext_len(len).unwrap();
            prop_assert_eq!(plaintext_len(c), Ok(len));
            // Any other length is either invalid or the length of another plaintext.
            if let Ok(p) = plaintext_len(c + extra) {
                prop_assert_eq!(ciphertext_len(p), Ok(c + extra));
            }
        }
    }
}
