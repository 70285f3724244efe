//! Tests of the stream module: round trips, the byte layout, tamper detection, ranges.

use super::*;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use proptest::prelude::*;
use std::io::{self, BufRead, Read, Write};
use std::ops::Range;
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
