//! AES-256-GCM sealing of 64 KiB chunks in place, on one core (one thread), with aws-lc-rs,
//! ring and RustCrypto `aes-gcm`. The chunk stays in cache, so this is the ciphers' own speed.
//! Run: see README.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const CHUNK: usize = 64 * 1024;
const KEY: [u8; 32] = [7; 32];
const AAD: &[u8] = b"tenant / record / file";

fn nonce_bytes(i: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&i.to_be_bytes());
    n
}

fn aead(c: &mut Criterion) {
    let mut g = c.benchmark_group("aes256gcm_seal_64KiB");
    g.throughput(Throughput::Bytes(CHUNK as u64));
    let mut buf = vec![0x5au8; CHUNK];

    {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
        let mut i = 0u64;
        g.bench_function("aws-lc-rs", |b| {
            b.iter(|| {
                i += 1;
                let nonce = Nonce::assume_unique_for_key(nonce_bytes(i));
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(AAD), &mut buf)
                    .unwrap();
                black_box(tag.as_ref()[0])
            });
        });
    }

    {
        use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &KEY).unwrap());
        let mut i = 0u64;
        g.bench_function("ring", |b| {
            b.iter(|| {
                i += 1;
                let nonce = Nonce::assume_unique_for_key(nonce_bytes(i));
                let tag = key
                    .seal_in_place_separate_tag(nonce, Aad::from(AAD), &mut buf)
                    .unwrap();
                black_box(tag.as_ref()[0])
            });
        });
    }

    {
        use aes_gcm::aead::AeadInPlace;
        use aes_gcm::{Aes256Gcm, KeyInit, Nonce};
        let key = Aes256Gcm::new_from_slice(&KEY).unwrap();
        let mut i = 0u64;
        g.bench_function("aes-gcm (RustCrypto)", |b| {
            b.iter(|| {
                i += 1;
                let n = nonce_bytes(i);
                let tag = key
                    .encrypt_in_place_detached(Nonce::from_slice(&n), AAD, &mut buf)
                    .unwrap();
                black_box(tag[0])
            });
        });
    }
    g.finish();
}

criterion_group!(benches, aead);
criterion_main!(benches);
