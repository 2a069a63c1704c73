//! Config integrity: the digests taken at load, the check that reports a changed, removed or
//! symlinked file once (with an event, a subscriber message and an audit entry), and the 0600
//! record that survives the process; no content anywhere.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditLog, verify};
use keyward_secrets_backends::environment::{DotenvLoader, Environment};
use keyward_secrets_backends::integrity::{Change, FileDigest, IntegrityRecord, IntegrityWatch};
use keyward_secrets_backends::{Error, FileStore, SecretStore};

const CANARY: &str = "INTEGRITY-CANARY-51d0";

fn write_0600(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

async fn audit_log(dir: &Path) -> Arc<AuditLog> {
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    Arc::new(
        AuditLog::open(
            dir.join("audit.log"),
            store,
            "audit/mac",
            Arc::new(FixedClock::new(1_700_000_000_000)),
        )
        .await
        .unwrap(),
    )
}

#[tokio::test]
async fn changes_are_reported_once_with_an_event_and_an_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env.production");
    write_0600(&env_file, &format!("KEYWARD_BOT_API_KEY={CANARY}\n"));
    let config = dir.path().join("bot.toml");
    std::fs::write(&config, "max_position = 1\n").unwrap();
    let audit = audit_log(dir.path()).await;
    let watch = Arc::new(IntegrityWatch::new().with_audit(audit.clone()));
    let mut events = watch.subscribe();

    // The loader records the bytes it parsed; any other file is tracked by path.
    DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(Some(Environment::new("production").unwrap()))
        .process_vars([])
        .watch(watch.clone())
        .load()
        .await
        .unwrap();
    watch.track(&config).unwrap();
    assert_eq!(watch.files().len(), 2);
    assert_eq!(
        watch.files()[0].1,
        FileDigest::of(format!("KEYWARD_BOT_API_KEY={CANARY}\n").as_bytes())
    );
    assert!(watch.check().await.is_empty(), "nothing changed yet");

    // Modified.
    write_0600(&env_file, "KEYWARD_BOT_API_KEY=swapped\n");
    let found = watch.check().await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].path, env_file);
    assert!(matches!(found[0].change, Change::Modified(_)));
    assert_eq!(events.try_recv().unwrap(), found[0]);
    // Reported once ...
    assert!(watch.check().await.is_empty());
    // ... and again when it changes once more.
    write_0600(&env_file, "KEYWARD_BOT_API_KEY=again\n");
    assert_eq!(watch.check().await.len(), 1);

    // Disappeared.
    std::fs::remove_file(&config).unwrap();
    let found = watch.check().await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].change, Change::Disappeared);
    assert!(found[0].to_string().contains("disappeared"));

    // Restored, then the audit log shows three alerts and no content.
    std::fs::write(&config, "max_position = 1\n").unwrap();
    assert!(watch.check().await.is_empty());
    let text = std::fs::read_to_string(audit.path()).unwrap();
    assert_eq!(verify(audit.path()).unwrap().entries, 3, "{text}");
    assert!(text.contains(r#""event":"integrity_alert""#));
    assert!(
        text.contains(&format!(r#""subject":"{}""#, env_file.display())),
        "{text}"
    );
    assert!(!text.contains(CANARY));
    let shown = format!("{watch:?} {found:?} {}", found[0]);
    assert!(!shown.contains(CANARY), "{shown}");
}

#[tokio::test]
async fn a_symlink_swapped_in_is_reported_and_never_followed() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env");
    write_0600(&env_file, "KEYWARD_A=1\n");
    let watch = IntegrityWatch::new();
    let loaded = watch.track(&env_file).unwrap();
    // An attacker's file with the very same contents, linked in place: the link is the alert.
    let elsewhere = dir.path().join("elsewhere");
    write_0600(&elsewhere, "KEYWARD_A=1\n");
    std::fs::remove_file(&env_file).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &env_file).unwrap();
    let found = watch.check().await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].change, Change::ReplacedBySymlink);
    assert_eq!(found[0].loaded, loaded);
    // A link cannot be tracked in the first place.
    assert!(watch.track(&env_file).is_err());
    // A directory in its place is reported too.
    std::fs::remove_file(&env_file).unwrap();
    std::fs::create_dir(&env_file).unwrap();
    assert_eq!(watch.check().await[0].change, Change::NotAFile);
}

#[test]
fn the_record_is_private_atomic_and_compared_later() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".env.staging");
    write_0600(&env_file, &format!("KEYWARD_X={CANARY}\n"));
    let watch = IntegrityWatch::new();
    watch.track(&env_file).unwrap();
    let mut record = IntegrityRecord::for_project(dir.path()).unwrap();
    assert!(record.is_empty());
    watch.persist(&mut record).unwrap();

    let file = dir.path().join(".keyward/integrity.json");
    assert_eq!(record.path(), file);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&dir.path().join(".keyward")), 0o700);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains(r#"".env.staging""#),
        "paths are relative: {text}"
    );
    assert!(!text.contains(CANARY));
    // No temporary file is left beside it.
    assert_eq!(
        std::fs::read_dir(dir.path().join(".keyward"))
            .unwrap()
            .count(),
        1
    );

    // A later process (or doctor) reads it back and compares.
    let record = IntegrityRecord::for_project(dir.path()).unwrap();
    assert!(record.compare().is_empty());
    write_0600(&env_file, "KEYWARD_X=changed\n");
    let found = record.compare();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, env_file);
    assert!(matches!(found[0].change, Change::Modified(_)));

    // A loose or corrupt record is refused with a typed error.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = IntegrityRecord::for_project(dir.path()).unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    write_0600(
        &file,
        "{\"version\":1,\"files\":{\"a\":{\"sha256\":\"zz\"}}}",
    );
    let err = IntegrityRecord::for_project(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
}

#[test]
fn a_record_directory_that_is_a_link_is_refused() {
    let elsewhere = tempfile::tempdir().unwrap();
    let project = tempfile::tempdir().unwrap();
    let env_file = project.path().join(".env");
    write_0600(&env_file, "KEYWARD_A=1\n");
    // A record made while .keyward did not exist ...
    let mut record = IntegrityRecord::for_project(project.path()).unwrap();
    record.insert(&env_file, FileDigest::of(b"KEYWARD_A=1\n"));
    // ... is not written through a link planted there since,
    std::os::unix::fs::symlink(elsewhere.path(), project.path().join(".keyward")).unwrap();
    let err = record.save().unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0);
    // and nothing is read through it.
    write_0600(&elsewhere.path().join("integrity.json"), "{}");
    let err = IntegrityRecord::for_project(project.path()).unwrap_err();
    assert!(err.to_string().contains("symbolic link"), "{err}");
}
