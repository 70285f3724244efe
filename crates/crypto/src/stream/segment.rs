//! The segment-level API: [`Encryptor`] seals and [`Decryptor`] opens one segment at a time.

use super::{
    FileKey, HEADER_LEN, NONCE_PREFIX_LEN, SEGMENT_LEN, StreamError, TAG_LEN, aead_key,
    check_segment, header_bytes, parse_header, segment_aad, segment_nonce,
};
use aws_lc_rs::aead::{Aad, LessSafeKey};
use zeroize::Zeroize;

/// Seals a stream segment by segment (the low-level API; [`EncryptingWriter`] uses it).
///
/// Write [`Encryptor::header`] first, then each sealed segment followed by its tag. Every
/// segment but the last must be exactly [`SEGMENT_LEN`] bytes, and the last may be empty only
/// if it is the first.
///
/// [`EncryptingWriter`]: super::EncryptingWriter
pub struct Encryptor {
    key: LessSafeKey,
    header: [u8; HEADER_LEN],
    nonce_prefix: [u8; NONCE_PREFIX_LEN],
    aad: Vec<u8>,
    pub(super) next: u64,
    finished: bool,
}

impl Encryptor {
    /// A new encryption under `key` with a fresh random nonce prefix, bound to `aad`.
    pub fn new(key: &FileKey, aad: &[u8]) -> Result<Self, StreamError> {
        Self::with_nonce_prefix(key, aad, crate::random_bytes())
    }

    pub(super) fn with_nonce_prefix(
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
    pub(super) fn reseal_as_last(&mut self, sealed: &mut [u8]) -> Result<(), StreamError> {
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

    pub(super) fn with_aead_key(
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
