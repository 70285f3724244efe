//! Per-field costs of the key hierarchy: sealing and opening one personal value (an e-mail
//! address) under its subject key, unwrapping a subject key, and a blind index.
//!
//! Run: `cargo bench -p strongroom-crypto --bench field`

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark harness: a failed set-up should stop it loudly"
)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use strongroom_crypto::Key32;
use strongroom_crypto::field::{self, FieldContext};

fn bench(c: &mut Criterion) {
    let subject_key = Key32::generate();
    let kek = Key32::generate();
    let wrapped = kek.wrap(b"subject-key-context", &subject_key).unwrap();
    let (tenant, row, key_id) = ([1u8; 16], [2u8; 16], [3u8; 16]);
    let ctx = FieldContext {
        tenant: &tenant,
        table: "users",
        row: &row,
        field: "email",
    };
    let value = b"zebedee.quintessence@example.org";
    let sealed = field::seal(&subject_key, &key_id, &ctx, value).unwrap();

    let mut g = c.benchmark_group("field");
    g.bench_function("seal_email", |b| {
        b.iter(|| field::seal(&subject_key, &key_id, black_box(&ctx), black_box(value)).unwrap());
    });
    g.bench_function("open_email", |b| {
        b.iter(|| field::open(&subject_key, black_box(&ctx), black_box(&sealed)).unwrap());
    });
    g.bench_function("unwrap_subject_key", |b| {
        b.iter(|| {
            kek.unwrap_key(b"subject-key-context", black_box(&wrapped))
                .unwrap()
        });
    });
    g.bench_function("blind_index_email", |b| {
        b.iter(|| kek.blind_index("user-email", black_box("zebedee.quintessence@example.org")));
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
