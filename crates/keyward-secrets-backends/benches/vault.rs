//! SQLite vault throughput: `get` (with decryption) against the read path before issue 18
//! (`get_before`) and the bare SQLite + Fernet limit (`sqlite_floor`); `get_audited` with
//! grouped read audit (flush included) against one committed row per read
//! (`get_audited_each`); `put`; and a master-key rotation of 100,000 rows.
#![allow(missing_docs)] // reason: criterion's macros generate undocumented items
#![allow(clippy::unwrap_used)] // reason: a benchmark has nowhere to report an error

use std::hint::black_box;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::audit::GroupConfig;
use keyward_secrets_backends::{SecretStore, SecretValue, Selector, SqliteVault};
use rusqlite::config::DbConfig;
use rusqlite::{Connection, OptionalExtension, params};

const ROTATION_ROWS: usize = 100_000;

fn credential(n: usize) -> SecretValue {
    let secret = format!("{n:064x}");
    SecretValue::fields([("api_key", "0123456789abcdef"), ("api_secret", &secret)])
}

fn get_put(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ring = KeyRing::new(FernetKey::generate().unwrap());
    let path = dir.path().join("vault.db");
    let vault = SqliteVault::create_with_ring(&path, ring.clone()).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(vault.put("bench/key", &credential(1))).unwrap();
    let quiet = vault.with_read_audit(false);
    let before = Before::open(&path, ring.clone());
    let floor = Floor::open(&path, ring);

    let mut group = c.benchmark_group("vault");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("get", |b| {
        b.iter(|| rt.block_on(quiet.get(black_box("bench/key"), &Selector::Current)))
    });
    group.bench_function("get_before", |b| {
        b.iter(|| before.get(black_box("bench/key")).unwrap())
    });
    group.bench_function("sqlite_floor", |b| {
        b.iter(|| floor.get(black_box("bench/key")))
    });
    // Grouped read audit: each read queues its row; the time of `iters` reads includes the
    // flush that makes all their rows durable, so the figure is the cost of a durable
    // audited read, not of a queued one.
    let audited = quiet
        .with_grouped_read_audit(GroupConfig::default())
        .unwrap();
    group.bench_function("get_audited", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(audited.get(black_box("bench/key"), &Selector::Current))
                    .unwrap();
            }
            audited.flush_read_audit().unwrap();
            start.elapsed()
        })
    });
    // The default read audit: one committed (fsync'd) row per read, as before grouping.
    let dir_sync = tempfile::tempdir().unwrap();
    let each = SqliteVault::create_with_ring(
        dir_sync.path().join("vault.db"),
        KeyRing::new(FernetKey::generate().unwrap()),
    )
    .unwrap();
    rt.block_on(each.put("bench/key", &credential(1))).unwrap();
    group.bench_function("get_audited_each", |b| {
        b.iter(|| rt.block_on(each.get(black_box("bench/key"), &Selector::Current)))
    });
    let value = credential(2);
    group.bench_function("put", |b| {
        b.iter(|| rt.block_on(audited.put(black_box("bench/key"), &value)))
    });
    group.finish();
}

/// `vault/get_before`: the read path as it was before issue 18, reproduced with plain
/// rusqlite on the same file: the connection configured as the vault configured it then (WAL,
/// `synchronous=FULL`, foreign keys, `secure_delete`, no query-plan stability, so the bundled
/// SQLite's STAT4 re-prepares statements whose bound values change), behind a mutex; the same
/// five statements, each prepared through rusqlite's statement cache and run in its own
/// implicit read transaction (the stage's version, the revocation mark, the token and key id,
/// the version's dates, its labels); the sealing key checked by formatting every key id of the
/// ring; the same Fernet decryption and value parsing. No blocking hop (there was none).
struct Before {
    conn: Mutex<Connection>,
    ring: KeyRing,
}

impl Before {
    fn open(path: &Path, ring: KeyRing) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        conn.pragma_update(None, "secure_delete", true).unwrap();
        Self {
            conn: Mutex::new(conn),
            ring,
        }
    }

    fn get(&self, name: &str) -> rusqlite::Result<(SecretValue, i64, Option<i64>, Vec<String>)> {
        let conn = self.conn.lock().unwrap();
        let version: i64 = conn
            .prepare_cached("SELECT version FROM stages WHERE name = ?1 AND stage = ?2")?
            .query_row([name, "current"], |row| row.get(0))?;
        let revoked = conn
            .prepare_cached(
                "SELECT name, revoked_version, revoked_at, revoked_reason FROM secrets \
                 WHERE name = ?1 AND revoked_version IS NOT NULL",
            )?
            .query_row([name], |row| row.get::<_, i64>(1))
            .optional()?;
        assert_ne!(revoked.map(|v| v.to_string()), Some(version.to_string()));
        let (token, key_id): (String, String) = conn
            .prepare_cached("SELECT token, key_id FROM versions WHERE name = ?1 AND version = ?2")?
            .query_row(params![name, version], |row| Ok((row.get(0)?, row.get(1)?)))?;
        assert!(
            self.ring
                .key_ids()
                .iter()
                .any(|id| id.to_string() == key_id)
        );
        let plain = self.ring.decrypt(&token).unwrap();
        let value = SecretValue::from_stored(plain.expose_secret());
        let (created, rotated_at): (i64, Option<i64>) = conn
            .prepare_cached(
                "SELECT v.created, s.rotated_at FROM versions v JOIN secrets s ON s.name = v.name \
                 WHERE v.name = ?1 AND v.version = ?2",
            )?
            .query_row(params![name, version], |r| Ok((r.get(0)?, r.get(1)?)))?;
        let stages = conn
            .prepare_cached(
                "SELECT stage FROM stages WHERE name = ?1 AND version = ?2 ORDER BY stage",
            )?
            .query_map(params![name, version], |row| row.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok((value, created, rotated_at, stages))
    }
}

/// `vault/sqlite_floor`: the limit of this path: one cached `SELECT` of the token by name and
/// version on a connection with stable query plans, and the Fernet decryption. No stage
/// lookup, revocation check, metadata or value parsing.
struct Floor {
    conn: Connection,
    ring: KeyRing,
}

impl Floor {
    fn open(path: &Path, ring: KeyRing) -> Self {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
            .unwrap();
        Self { conn, ring }
    }

    fn get(&self, name: &str) -> keyward_core_crypto::Plaintext {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT token FROM versions WHERE name = ?1 AND version = ?2")
            .unwrap();
        let mut rows = stmt.query(params![name, 1]).unwrap();
        let row = rows.next().unwrap().unwrap();
        let token = row.get_ref(0).unwrap().as_bytes().unwrap();
        self.ring.decrypt(token).unwrap()
    }
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
