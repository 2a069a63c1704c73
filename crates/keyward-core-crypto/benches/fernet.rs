//! Fernet encryption and decryption throughput for credential-sized and page-sized payloads.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyward_core_crypto::{FernetKey, KeyRing};

fn fernet(c: &mut Criterion) {
    #[allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let mut group = c.benchmark_group("fernet");
    for size in [100usize, 4096] {
        let data = vec![0x5a_u8; size];
        let token = ring.encrypt(&data);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("encrypt", size), &data, |b, data| {
            b.iter(|| ring.encrypt(black_box(data)))
        });
        group.bench_with_input(BenchmarkId::new("decrypt", size), &token, |b, token| {
            b.iter(|| ring.decrypt(black_box(token)))
        });
    }
    group.finish();
}

criterion_group!(benches, fernet);
criterion_main!(benches);
