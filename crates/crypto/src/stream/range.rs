//! Range reads: [`RangePlan`], which segments and ciphertext bytes hold a plaintext byte range.

use super::{
    ENCRYPTED_SEGMENT_LEN, ENCRYPTED_SEGMENT_LEN_U64, HEADER_LEN_U64, SEGMENT_LEN_U64, StreamError,
    TAG_LEN, segment_count,
};
use std::ops::Range;

/// Which segments, and which ciphertext bytes, hold a range of plaintext bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangePlan {
    pub(super) segments: Range<u64>,
    ciphertext: Range<u64>,
    pub(super) skip: usize,
    pub(super) len: u64,
    final_index: u64,
    final_len: usize,
}

impl RangePlan {
    /// The plan for plaintext bytes `range` (half-open) of a plaintext of `plaintext_len`
    /// bytes (from the stored length, or [`plaintext_len`] of the ciphertext's length).
    ///
    /// [`plaintext_len`]: super::plaintext_len
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
    ///
    /// [`Decryptor`]: super::Decryptor
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

    /// Plaintext bytes to drop from the start of the first segment.
    pub fn skip(&self) -> usize {
        self.skip
    }

    /// Whether segment `index` is the last of the whole stream, and its ciphertext length.
    pub fn segment(&self, index: u64) -> (bool, usize) {
        if index == self.final_index {
            (true, self.final_len + TAG_LEN)
        } else {
            (false, ENCRYPTED_SEGMENT_LEN)
        }
    }
}
