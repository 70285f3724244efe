//! Streaming file encryption measured against its floor, the bare AEAD, in the same run.
//!
//! `stream_64MiB/*` moves 64 MiB of plaintext each iteration: `bare_seal_in_place` is
//! aws-lc-rs AES-256-GCM sealing the 64 MiB buffer in place in 64 KiB chunks, `bare_open` opens
//! such chunks into a 64 KiB buffer; `writer_*` go through `EncryptingWriter` to `io::sink()`
//! (one 64 MiB write, or 64 KiB writes) and `reader` through `DecryptingReader` from memory
//! into a 64 KiB buffer. `segments_seal_in_place` and `segments_open_to` use the segment API
//! with exactly the memory pattern of the two bare loops, so their ratios to those are the cost
//! of the framing alone; the writer and reader also pay one copy of the data (sealing from a
//! borrowed slice, reading ciphertext out of `R`). Throughput is plaintext bytes.
//!
//! Run: `cargo bench -p strongroom-crypto --bench stream`
//!
//! Memory: `STRONGROOM_BENCH_4GIB=1 cargo bench -p strongroom-crypto --bench stream` runs no
//! benchmark; it encrypts 4 GiB from a repeating 1 MiB buffer to `io::sink()`, then encrypts
//! another 4 GiB into a pipe and decrypts it on the other end, and prints the peak resident
//! set (VmHWM from /proc/self/status) before and after each.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "a benchmark harness: a failed set-up should stop it loudly"
)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use criterion::{Criterion, Throughput, criterion_group};
use std::hint::black_box;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};
use strongroom_crypto::stream::{
    DecryptingReader, Decryptor, ENCRYPTED_SEGMENT_LEN, EncryptingWriter, Encryptor, HEADER_LEN,
    SEGMENT_LEN, TAG_LEN, derive_file_key,
};

const TOTAL: usize = 64 << 20;
const AAD: &[u8] = b"tenant 1 / record 2 / recording.mp4";

fn counter_nonce(i: usize) -> Nonce {
    let mut nonce = [0u8; 12];
    for (n, b) in nonce
        .iter_mut()
        .skip(7)
        .zip(u32::try_from(i).unwrap().to_be_bytes())
    {
        *n = b;
    }
    Nonce::assume_unique_for_key(nonce)
}

fn stream(crit: &mut Criterion) {
    let key = derive_file_key(&[7; 32], b"bench-file");
    let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let plaintext: Vec<u8> = (0..TOTAL).map(|i| (i % 251).to_le_bytes()[0]).collect();

    let mut group = crit.benchmark_group("stream_64MiB");
    group.throughput(Throughput::Bytes(TOTAL as u64));
    group.sample_size(30);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(6));

    let mut buf = plaintext.clone();
    group.bench_function("bare_seal_in_place", |bencher| {
        bencher.iter(|| {
            for (i, chunk) in buf.chunks_mut(SEGMENT_LEN).enumerate() {
                let tag = raw
                    .seal_in_place_separate_tag(counter_nonce(i), Aad::from(AAD), chunk)
                    .unwrap();
                black_box(tag.as_ref());
            }
        });
    });

    let mut sealed = plaintext.clone();
    let tags: Vec<[u8; TAG_LEN]> = sealed
        .chunks_mut(SEGMENT_LEN)
        .enumerate()
        .map(|(i, chunk)| {
            let tag = raw
                .seal_in_place_separate_tag(counter_nonce(i), Aad::from(AAD), chunk)
                .unwrap();
            tag.as_ref().try_into().unwrap()
        })
        .collect();
    let mut out = vec![0u8; SEGMENT_LEN];
    group.bench_function("bare_open", |bencher| {
        bencher.iter(|| {
            for (i, (chunk, tag)) in sealed.chunks(SEGMENT_LEN).zip(&tags).enumerate() {
                raw.open_separate_gather(counter_nonce(i), Aad::from(AAD), chunk, tag, &mut out)
                    .unwrap();
                black_box(&out);
            }
        });
    });

    // The segment API, in place, with exactly the bare loops' memory pattern: the framing alone.
    let mut buf = plaintext.clone();
    let segments = TOTAL.div_ceil(SEGMENT_LEN);
    group.bench_function("segments_seal_in_place", |bencher| {
        bencher.iter(|| {
            let mut enc = Encryptor::new(&key, AAD).unwrap();
            for (i, chunk) in buf.chunks_mut(SEGMENT_LEN).enumerate() {
                black_box(enc.seal_segment(chunk, i + 1 == segments).unwrap());
            }
        });
    });

    group.bench_function("writer_one_write", |bencher| {
        bencher.iter(|| {
            let mut writer = EncryptingWriter::new(io::sink(), &key, AAD).unwrap();
            writer.write_all(&plaintext).unwrap();
            writer.finish().unwrap();
        });
    });

    group.bench_function("writer_64KiB_writes", |bencher| {
        bencher.iter(|| {
            let mut writer = EncryptingWriter::new(io::sink(), &key, AAD).unwrap();
            for chunk in plaintext.chunks(SEGMENT_LEN) {
                writer.write_all(chunk).unwrap();
            }
            writer.finish().unwrap();
        });
    });

    let mut writer = EncryptingWriter::new(Vec::new(), &key, AAD).unwrap();
    writer.write_all(&plaintext).unwrap();
    let ciphertext = writer.finish().unwrap();
    let mut out = vec![0u8; SEGMENT_LEN];
    let header: [u8; HEADER_LEN] = ciphertext[..HEADER_LEN].try_into().unwrap();
    group.bench_function("segments_open_to", |bencher| {
        bencher.iter(|| {
            let dec = Decryptor::new(&key, &header, AAD).unwrap();
            for (i, seg) in ciphertext[HEADER_LEN..]
                .chunks(ENCRYPTED_SEGMENT_LEN)
                .enumerate()
            {
                dec.open_segment_to(i as u64, i + 1 == segments, seg, &mut out)
                    .unwrap();
                black_box(&out);
            }
        });
    });

    group.bench_function("reader", |bencher| {
        bencher.iter(|| {
            let mut reader = DecryptingReader::new(ciphertext.as_slice(), &key, AAD).unwrap();
            let mut n = 0;
            loop {
                let k = reader.read(&mut out).unwrap();
                if k == 0 {
                    break;
                }
                n += k;
            }
            assert_eq!(n, TOTAL);
        });
    });
    group.finish();
}

/// Peak resident set size of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn memory_check() {
    const BLOCK: usize = 1 << 20;
    const BLOCKS: usize = 4096;
    let block: Vec<u8> = (0..BLOCK).map(|i| (i % 253).to_le_bytes()[0]).collect();
    let key = derive_file_key(&[9; 32], b"four-gib");
    let start = peak_rss_kib();
    eprintln!("VmHWM at start (1 MiB source allocated): {start} KiB");

    let t = Instant::now();
    let mut writer = EncryptingWriter::new(io::sink(), &key, AAD).unwrap();
    for _ in 0..BLOCKS {
        writer.write_all(&block).unwrap();
    }
    writer.finish().unwrap();
    let after_encrypt = peak_rss_kib();
    eprintln!(
        "encrypted 4 GiB to io::sink() in {:.2} s; VmHWM {after_encrypt} KiB, growth {} KiB",
        t.elapsed().as_secs_f64(),
        after_encrypt.saturating_sub(start)
    );

    let t = Instant::now();
    let (from_pipe, into_pipe) = io::pipe().unwrap();
    let producer = std::thread::spawn(move || {
        let key = derive_file_key(&[9; 32], b"four-gib");
        let mut writer = EncryptingWriter::new(into_pipe, &key, AAD).unwrap();
        for _ in 0..BLOCKS {
            writer.write_all(&block).unwrap();
        }
        writer.finish().unwrap();
    });
    let mut reader = DecryptingReader::new(from_pipe, &key, AAD).unwrap();
    let n = io::copy(&mut reader, &mut io::sink()).unwrap();
    producer.join().unwrap();
    assert_eq!(n, (BLOCK * BLOCKS) as u64);
    let after_decrypt = peak_rss_kib();
    eprintln!(
        "encrypted 4 GiB into a pipe and decrypted it from the other end in {:.2} s; \
         VmHWM {after_decrypt} KiB, growth since start {} KiB",
        t.elapsed().as_secs_f64(),
        after_decrypt.saturating_sub(start)
    );
}

criterion_group!(benches, stream);

fn main() {
    if std::env::var_os("STRONGROOM_BENCH_4GIB").is_some_and(|v| v == "1") {
        memory_check();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
