//! SQLite vault throughput: `get` (with decryption) and `put` per second, and a master-key
//! rotation of 100,000 rows.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::{SecretStore, SecretValue, Selector, SqliteVault};

const ROTATION_ROWS: usize = 100_000;

fn credential(n: usize) -> SecretValue {
    let secret = format!("{n:064x}");
    SecretValue::fields([("api_key", "0123456789abcdef"), ("api_secret", &secret)])
}

fn get_put(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let vault = SqliteVault::create_with_ring(dir.path().join("vault.db"), ring).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(vault.put("bench/key", &credential(1))).unwrap();
    let quiet = vault.with_read_audit(false);

    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("get", |b| {
        b.iter(|| rt.block_on(quiet.get(black_box("bench/key"), &Selector::Current)))
    });
    let audited = quiet.with_read_audit(true);
    group.bench_function("get_audited", |b| {
        b.iter(|| rt.block_on(audited.get(black_box("bench/key"), &Selector::Current)))
    });
    let value = credential(2);
    group.bench_function("put", |b| {
        b.iter(|| rt.block_on(audited.put(black_box("bench/key"), &value)))
    });
    group.finish();
}

fn rotation(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        FernetKey::generate().unwrap(),
        FernetKey::generate().unwrap(),
    );
    let vault = SqliteVault::create_with_ring(dir.path().join("vault.db"), KeyRing::new(a.clone()))
        .unwrap();
    let values: Vec<(String, SecretValue)> = (0..ROTATION_ROWS)
        .map(|n| (format!("bench/{n}"), credential(n)))
        .collect();
    vault
        .put_many(values.iter().map(|(n, v)| (n.as_str(), v)))
        .unwrap();
    drop(values);
    // Each iteration re-encrypts every row under the other key, both keys in the ring.
    let rings = [
        KeyRing::from_keys([b.clone(), a.clone()]).unwrap(),
        KeyRing::from_keys([a, b]).unwrap(),
    ];
    let mut turn = 0;

    let mut group = c.benchmark_group("vault_rotation");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(30));
    group.throughput(Throughput::Elements(ROTATION_ROWS as u64));
    group.bench_function("rotate_master_key_100k", |bench| {
        bench.iter(|| {
            turn += 1;
            vault
                .rotate_master_key(&rings[turn % 2], |_| ControlFlow::Continue(()))
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, get_put, rotation);
criterion_main!(benches);
