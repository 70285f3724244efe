//! The `std::io` adapters over the segment API: [`EncryptingWriter`] and [`DecryptingReader`].

use super::{
    Decryptor, ENCRYPTED_SEGMENT_LEN, Encryptor, FileKey, HEADER_LEN, RangePlan, SEGMENT_LEN,
    StreamError, TAG_LEN, aead_key,
};
use aws_lc_rs::aead::LessSafeKey;
use std::io::{self, BufRead, Read, Write};
use std::ops::Range;
use zeroize::Zeroizing;

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

    pub(super) fn with_encryptor(inner: W, encryptor: Encryptor) -> Self {
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
