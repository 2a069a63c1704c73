//! What the SQLite vault reads back (keyward-secrets-backends): the stored form of a
//! `SecretValue`, the audit log's lines, and every column of a vault's rows.
//!
//! The first byte picks the reader:
//! - 0: `SecretValue::from_stored` on arbitrary bytes, and the round trip SecretValue →
//!   stored form → SecretValue for arbitrary fields (same value, field by field); `Debug`
//!   never shows a value.
//! - 1: an audit log file of arbitrary lines through `audit::verify` and `audit::read_entries`
//!   (a typed error or a summary; never a panic).
//! - 2: a vault whose rows (versions, secrets, stages, audit) hold arbitrary column values,
//!   written with a second connection as another process or a damaged file would, read
//!   through the vault's API: a typed error or a value; never a panic, never the value in an
//!   error or a `Debug`.
#![no_main]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use keyward_secrets_backends::{SecretStore, SecretValue, Selector, SqliteVault, audit};
use libfuzzer_sys::arbitrary::{self, Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use rusqlite::Connection;
use secrecy::ExposeSecret as _;

/// The value stored in the fuzzed vault; never in an error or a `Debug`.
const CANARY: &str = "CANARY-vault-rows-value-7f3a";
const NAME: &str = "fuzz-secret";

/// Where the target keeps its files: a per-process directory in memory when there is one.
fn workdir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = PathBuf::from("/dev/shm");
        let base = if base.is_dir() {
            base
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("keyward-fuzz-vault-rows-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("work directory");
        dir
    })
}

struct Fixture {
    runtime: tokio::runtime::Runtime,
    vault: SqliteVault,
    raw: Mutex<Connection>,
    /// The token the vault sealed the canary into (valid under its key).
    token: String,
    key_id: String,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let path = workdir().join("vault.db");
        let (vault, _key) = SqliteVault::create(&path).expect("vault");
        runtime
            .block_on(vault.put(NAME, &SecretValue::fields([("api_secret", CANARY)])))
            .expect("put");
        let raw = Connection::open(&path).expect("second connection");
        raw.execute_batch("PRAGMA synchronous=OFF; PRAGMA foreign_keys=OFF;")
            .expect("pragmas");
        let (token, key_id) = raw
            .query_row(
                "SELECT token, key_id FROM versions WHERE name = ?1",
                [NAME],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("the stored row");
        Fixture {
            runtime,
            vault,
            raw: Mutex::new(raw),
            token,
            key_id,
        }
    })
}

/// Column values for the fuzzed secret's rows.
#[derive(Arbitrary, Debug)]
struct Rows {
    /// None: keep the valid token (so that reads get past decryption).
    token: Option<String>,
    key_id: Option<String>,
    version: i64,
    created: i64,
    rotated_at: Option<i64>,
    stage: String,
    stage_version: i64,
    revoked: Option<(i64, i64, Option<String>)>,
    audit: Vec<(
        i64,
        Option<String>,
        String,
        i64,
        Option<i64>,
        Option<String>,
    )>,
    selector: (u8, String),
}

fn stored_form(data: &[u8]) {
    let value = SecretValue::from_stored(data);
    let stored = value.to_stored();
    let again = SecretValue::from_stored(&stored);
    // After one reading, the stored form is a fixed point.
    assert!(again.same_as(&value), "stored form is not stable");
    if let SecretValue::Bytes(b) = &value {
        assert_eq!(b.expose_secret().as_slice(), data, "bytes changed");
        assert_eq!(format!("{value:?}"), "SecretValue::Bytes([REDACTED])");
    }
    // SecretValue → stored form → SecretValue, for arbitrary fields.
    let mut u = Unstructured::new(data);
    let Ok(fields) = BTreeMap::<String, String>::arbitrary(&mut u) else {
        return;
    };
    let value = SecretValue::fields(fields.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let back = SecretValue::from_stored(&value.to_stored());
    assert!(
        back.same_as(&value),
        "fields changed through the stored form"
    );
    let SecretValue::Fields(map) = &back else {
        panic!("fields came back as bytes");
    };
    assert_eq!(map.len(), fields.len());
    for (k, v) in &fields {
        assert_eq!(back.field(k).map(|s| s.expose_secret()), Some(v.as_str()));
    }
    // Debug is the field names, each with `[REDACTED]`, and nothing else.
    let redacted: BTreeMap<&String, &str> = fields.keys().map(|k| (k, "[REDACTED]")).collect();
    assert_eq!(
        format!("{back:?}"),
        format!("{redacted:?}"),
        "Debug shows a value"
    );
}

fn audit_lines(data: &[u8]) {
    let path = workdir().join("audit.log");
    let _ = std::fs::remove_file(&path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .expect("audit file");
    file.write_all(data).expect("write audit file");
    drop(file);
    let verified = audit::verify(&path);
    let read = audit::read_entries(&path, None);
    match (&verified, &read) {
        (Ok(a), Ok((b, entries))) => {
            assert_eq!(a, b);
            assert_eq!(entries.len() as u64, a.entries);
        }
        (Err(_), Err(_)) => {}
        _ => panic!("verify and read_entries disagree: {verified:?} / {read:?}"),
    }
}

fn vault_rows(data: &[u8]) {
    let f = fixture();
    let Ok(rows) = Rows::arbitrary(&mut Unstructured::new(data)) else {
        return;
    };
    {
        let mut raw = f.raw.lock().unwrap_or_else(|e| e.into_inner());
        let tx = raw.transaction().expect("transaction");
        tx.execute(
            "UPDATE versions SET token = ?2, key_id = ?3, version = ?4, created = ?5 WHERE name = ?1",
            rusqlite::params![
                NAME,
                rows.token.as_deref().unwrap_or(&f.token),
                rows.key_id.as_deref().unwrap_or(&f.key_id),
                rows.version,
                rows.created
            ],
        )
        .expect("update versions");
        let (revoked_version, revoked_at, reason) = match &rows.revoked {
            Some((v, at, reason)) => (Some(*v), Some(*at), reason.clone()),
            None => (None, None, None),
        };
        tx.execute(
            "UPDATE secrets SET rotated_at = ?2, revoked_version = ?3, revoked_at = ?4, \
             revoked_reason = ?5 WHERE name = ?1",
            rusqlite::params![NAME, rows.rotated_at, revoked_version, revoked_at, reason],
        )
        .expect("update secrets");
        tx.execute("DELETE FROM stages WHERE name = ?1", [NAME])
            .expect("clear stages");
        tx.execute(
            "INSERT INTO stages(name, stage, version) VALUES (?1, ?2, ?3)",
            rusqlite::params![NAME, rows.stage, rows.stage_version],
        )
        .expect("insert stage");
        tx.execute("DELETE FROM audit", []).expect("clear audit");
        for (at, name, op, pid, seq, hash) in rows.audit.iter().take(16) {
            tx.execute(
                "INSERT INTO audit(at, name, operation, pid, chain_seq, chain_hash) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![at, name, op, pid, seq, hash],
            )
            .expect("insert audit");
        }
        tx.commit().expect("commit");
    }
    let selector = match rows.selector.0 % 3 {
        0 => Selector::Current,
        1 => Selector::Version(rows.selector.1.clone()),
        _ => Selector::Stage(rows.selector.1.clone()),
    };
    // Only the sealed value may hold the canary: a column given it by the fuzzer is shown
    // as what it is (a name, a stage, a key id), not a leak.
    let planted = format!("{rows:?}").contains(CANARY);
    let v = &f.vault;
    f.runtime.block_on(async {
        let shown = format!(
            "{:?} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            v.get(NAME, &selector).await,
            v.get(NAME, &Selector::Current).await,
            v.versions(NAME).await,
            v.metadata(NAME).await,
            v.list().await,
            v.revocations().await,
            v.revocation(NAME).await,
            v.credential_ages(),
        );
        assert!(planted || !shown.contains(CANARY), "a read shows the value");
        for r in [
            v.get(NAME, &selector).await.err(),
            v.versions(NAME).await.err(),
            v.metadata(NAME).await.err(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                planted || !r.to_string().contains(CANARY),
                "an error shows the value"
            );
        }
    });
    let _ = format!("{:?} {:?}", v.audit_log(), v.schema_version());
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => stored_form(rest),
        1 => audit_lines(rest),
        _ => vault_rows(rest),
    }
});
