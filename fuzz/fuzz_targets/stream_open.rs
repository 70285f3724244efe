//! Fuzzes the stream decryptor: arbitrary bytes as a whole encrypted stream, as header +
//! segments with arbitrary range requests and segment indexes, and valid streams of arbitrary
//! plaintext with one bit flipped or the end cut off. It must never panic; on valid streams
//! it must return exactly the plaintext, and on altered ones an error.
//!
//! Run (stable toolchain): `RUSTC_BOOTSTRAP=1 cargo fuzz run stream_open -- -max_total_time=60`

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::io::{Read, Write};
use strongroom_crypto::stream::{
    DecryptingReader, Decryptor, EncryptingWriter, FileKey, HEADER_LEN, RangePlan, SEGMENT_LEN,
    derive_file_key, plaintext_len,
};

const AAD: &[u8] = b"tenant / record / fuzz.bin";

fn key() -> FileKey {
    derive_file_key(&[0x42; 32], b"fuzz-file")
}

/// Reads `r` to its end with reads of `step` bytes (large steps take the direct path).
fn drain(mut r: impl Read, step: usize) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; step.max(1)];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok(out);
        }
        out.extend_from_slice(&buf[..n]);
    }
}

fn read_range(
    ciphertext: &[u8],
    plaintext_len: u64,
    start: u64,
    end: u64,
    step: usize,
) -> Option<Result<Vec<u8>, std::io::Error>> {
    let plan = RangePlan::new(plaintext_len, start..end).ok()?;
    let header: &[u8; HEADER_LEN] = ciphertext.first_chunk()?;
    let decryptor = Decryptor::new(&key(), header, AAD).ok()?;
    let from = usize::try_from(plan.ciphertext().start).ok()?;
    let source = ciphertext.get(from..).unwrap_or_default();
    let got = drain(DecryptingReader::for_range(source, decryptor, &plan), step);
    if let Ok(bytes) = &got {
        assert_eq!(
            bytes.len() as u64,
            plan.len(),
            "a range read returns the whole range"
        );
    }
    Some(got)
}

/// Arbitrary bytes: never a panic, and (without the key) never a success past the header.
fn arbitrary_ciphertext(body: &[u8], a: u64, b: u64, step: usize) {
    if let Ok(r) = DecryptingReader::new(body, &key(), AAD) {
        let _ = drain(r, step);
    }
    let claimed = plaintext_len(body.len() as u64).unwrap_or(a);
    let _ = read_range(
        body,
        claimed,
        a % claimed.saturating_add(1),
        b % claimed.saturating_add(2),
        step,
    );
    let _ = read_range(body, a, a.min(b), a.max(b), step);
    if let Some((header, rest)) = body.split_first_chunk::<HEADER_LEN>() {
        if let Ok(d) = Decryptor::new(&key(), header, AAD) {
            let mut segment = rest.to_vec();
            let _ = d.open_segment(b, a & 1 == 1, &mut segment);
            let mut out = vec![0u8; rest.len().saturating_sub(a as usize % 32)];
            let _ = d.open_segment_to(b, a & 2 == 2, rest, &mut out);
        }
    }
}

/// A real stream of `len` bytes, altered or not, read whole and by range.
fn valid_stream(seed: &[u8], a: u64, b: u64, step: usize, alter: u8) {
    let len = usize::try_from(a % (3 * SEGMENT_LEN as u64 + 64)).unwrap_or(0);
    let plaintext: Vec<u8> = if seed.is_empty() {
        vec![0; len]
    } else {
        seed.iter().copied().cycle().take(len).collect()
    };
    let mut w = EncryptingWriter::new(Vec::new(), &key(), AAD).unwrap();
    let write_size = 1 + (b as usize % (2 * SEGMENT_LEN + 1));
    for chunk in plaintext.chunks(write_size) {
        w.write_all(chunk).unwrap();
    }
    let mut ciphertext = w.finish().unwrap();
    let altered = match alter % 4 {
        1 => {
            let bit = usize::try_from(b >> 20).unwrap_or(0) % (ciphertext.len() * 8);
            ciphertext[bit / 8] ^= 1 << (bit % 8);
            true
        }
        2 => {
            let cut = usize::try_from(b >> 20).unwrap_or(0) % ciphertext.len();
            ciphertext.truncate(cut);
            true
        }
        _ => false,
    };
    let whole = DecryptingReader::new(ciphertext.as_slice(), &key(), AAD)
        .map_err(std::io::Error::from)
        .and_then(|r| drain(r, step));
    if altered {
        assert!(whole.is_err(), "an altered stream must not decrypt");
    } else {
        assert_eq!(whole.unwrap(), plaintext);
        let n = plaintext.len() as u64;
        let (s, e) = ((b >> 8) % (n + 1), (b >> 32) % (n + 1));
        let (s, e) = (s.min(e), s.max(e));
        let got = read_range(&ciphertext, n, s, e, step).unwrap().unwrap();
        assert_eq!(got, plaintext[s as usize..e as usize]);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((control, body)) = data.split_first_chunk::<19>() else {
        return;
    };
    let [mode, s0, s1, rest @ ..] = *control;
    let a = u64::from_le_bytes(rest[..8].try_into().unwrap());
    let b = u64::from_le_bytes(rest[8..].try_into().unwrap());
    let step = usize::from(u16::from_le_bytes([s0, s1])) * 2;
    if mode & 1 == 0 {
        arbitrary_ciphertext(body, a, b, step);
    } else {
        valid_stream(body, a, b, step, mode >> 1);
    }
});
