//! Environment isolation: `.env.<NAME>` selection, checked names, a missing environment file,
//! the override policy (refused by default in production, warned and audited on request), and
//! shared values across environments; no value in any error, log line or audit entry.
#![cfg(unix)]
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use keyward_core_crypto::{FernetKey, FixedClock, KeyRing};
use keyward_secrets_backends::audit::{AuditLog, verify};
use keyward_secrets_backends::environment::{
    DotenvLoader, Environment, OverridePolicy, shared_values,
};
use keyward_secrets_backends::{DotenvStore, Error, FileStore, SecretStore, SecretValue, Selector};

const CANARY: &str = "ENV-CANARY-9f3a";
const SHELL_CANARY: &str = "SHELL-CANARY-77c1";

fn write_0600(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

fn process(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn env(name: &str) -> Option<Environment> {
    Some(Environment::new(name).unwrap())
}

fn assert_no_value(what: &str, text: &str) {
    assert!(
        !text.contains(CANARY) && !text.contains(SHELL_CANARY),
        "{what} carries a value: {text}"
    );
}

async fn value(store: &DotenvStore, name: &str) -> SecretValue {
    store.get(name, &Selector::Current).await.unwrap().value
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

struct Audit {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    log: Arc<AuditLog>,
}

async fn audit_log() -> Audit {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn SecretStore> = Arc::new(FileStore::new(
        dir.path().join("store.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    let path = dir.path().join("audit.log");
    let log = AuditLog::open(
        &path,
        store,
        "audit/mac",
        Arc::new(FixedClock::new(1_700_000_000_000)),
    )
    .await
    .unwrap();
    Audit {
        _dir: dir,
        path,
        log: Arc::new(log),
    }
}

#[tokio::test]
async fn the_environment_selects_its_own_file_and_never_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(&dir.path().join(".env"), "KEYWARD_SVC=default\n");
    write_0600(&dir.path().join(".env.staging"), "KEYWARD_SVC=staging\n");
    let store = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("staging"))
        .process_vars([])
        .load()
        .await
        .unwrap();
    assert!(
        value(&store, "svc")
            .await
            .same_as(&SecretValue::bytes(b"staging".to_vec()))
    );
    assert_eq!(store.path().unwrap(), dir.path().join(".env.staging"));
    // Beside a .env file given by path, too.
    let store = DotenvLoader::new(dir.path().join(".env"), "KEYWARD")
        .environment(env("staging"))
        .process_vars([])
        .load()
        .await
        .unwrap();
    assert!(
        value(&store, "svc")
            .await
            .same_as(&SecretValue::bytes(b"staging".to_vec()))
    );

    // A selected environment with no file is a typed error, though .env exists.
    for location in [dir.path().to_owned(), dir.path().join(".env")] {
        let err = DotenvLoader::new(&location, "KEYWARD")
            .environment(env("qa"))
            .load()
            .await
            .unwrap_err();
        match &err {
            Error::EnvironmentFileMissing { environment, path } => {
                assert_eq!(environment, "qa");
                assert_eq!(path, &dir.path().join(".env.qa"));
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains(".env.qa"), "{err}");
    }
    // The synchronous path says the same.
    let err = DotenvStore::for_environment(dir.path(), "qa", "KEYWARD").unwrap_err();
    assert!(
        matches!(err, Error::EnvironmentFileMissing { .. }),
        "{err:?}"
    );
    // Another environment's file given by path conflicts with the selection.
    let err = DotenvLoader::new(dir.path().join(".env.staging"), "KEYWARD")
        .environment(env("qa"))
        .load()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidName { .. }), "{err:?}");
}

#[test]
fn environment_names_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [
        "",
        ".",
        "..",
        "../prod",
        "a/b",
        "a\\b",
        "prod.old",
        &"e".repeat(65),
    ] {
        let err = DotenvStore::for_environment(dir.path(), bad, "KEYWARD").unwrap_err();
        assert!(matches!(err, Error::InvalidName { .. }), "{bad:?}: {err:?}");
        assert!(Environment::new(bad).is_err());
    }
    assert!(Environment::new(&"e".repeat(64)).is_ok());
}

#[tokio::test]
async fn production_refuses_a_differing_process_variable_by_default() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(
        &dir.path().join(".env.production"),
        &format!("KEYWARD_BOT_API_KEY={CANARY}\nKEYWARD_BOT_API_SECRET=same\n"),
    );
    let audit = audit_log().await;
    for name in ["production", "prod", "PRODUCTION"] {
        if name != "production" {
            std::fs::copy(
                dir.path().join(".env.production"),
                dir.path().join(format!(".env.{name}")),
            )
            .unwrap();
        }
        let err = DotenvLoader::new(dir.path(), "KEYWARD")
            .environment(env(name))
            .process_vars(process(&[
                ("KEYWARD_BOT_API_KEY", SHELL_CANARY),
                ("KEYWARD_BOT_API_SECRET", "same"),
            ]))
            .audit(audit.log.clone())
            .load()
            .await
            .unwrap_err();
        match &err {
            Error::OverrideRefused {
                variable, count, ..
            } => {
                assert_eq!(variable, "KEYWARD_BOT_API_KEY");
                assert_eq!(*count, 1, "an equal value overrides nothing");
            }
            other => panic!("{other:?}"),
        }
        assert_no_value("the error", &format!("{err} {err:?}"));
    }
    // Each refusal was audited: integrity_alert, refused, naming the variable.
    let text = std::fs::read_to_string(&audit.path).unwrap();
    assert_eq!(verify(&audit.path).unwrap().entries, 3);
    assert!(text.contains(r#""event":"integrity_alert""#), "{text}");
    assert!(
        text.contains(r#""subject":"env/production/KEYWARD_BOT_API_KEY""#),
        "{text}"
    );
    assert!(text.contains(r#""outcome":"refused""#), "{text}");
    assert_no_value("the audit log", &text);

    // The synchronous constructors refuse too, and the production file opened by path keeps
    // its rules.
    let path = dir.path().join(".env.production");
    let err = DotenvStore::with_process_vars(
        &path,
        "KEYWARD",
        process(&[("KEYWARD_BOT_API_KEY", SHELL_CANARY)]),
        false,
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnsafeOverridePolicy { .. }), "{err:?}");
    // A variable only the process sets is read as usual.
    let store = DotenvLoader::new(&path, "KEYWARD")
        .process_vars(process(&[("KEYWARD_EXTRA", "x")]))
        .load()
        .await
        .unwrap();
    assert!(
        value(&store, "extra")
            .await
            .same_as(&SecretValue::bytes(b"x".to_vec()))
    );
}

#[tokio::test]
async fn the_silent_policy_is_refused_for_production() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(&dir.path().join(".env.prod"), "KEYWARD_A=1\n");
    let err = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("prod"))
        .policy(OverridePolicy::ProcessWins)
        .process_vars([])
        .load()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnsafeOverridePolicy { .. }), "{err:?}");
    assert!(err.to_string().contains("prod"), "{err}");
}

#[tokio::test]
async fn warn_uses_the_process_value_with_a_warning_and_an_audit_entry() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().unwrap();
    write_0600(
        &dir.path().join(".env.production"),
        &format!("KEYWARD_BOT_API_KEY={CANARY}\n"),
    );
    let audit = audit_log().await;
    let store = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("production"))
        .policy(OverridePolicy::WarnAndAudit)
        .process_vars(process(&[("KEYWARD_BOT_API_KEY", SHELL_CANARY)]))
        .audit(audit.log.clone())
        .load()
        .await
        .unwrap();
    let got = store.get("bot", &Selector::Current).await.unwrap();
    assert!(
        got.value
            .same_as(&SecretValue::fields([("api_key", SHELL_CANARY)]))
    );
    let logs = capture.text();
    assert!(logs.contains("KEYWARD_BOT_API_KEY"), "{logs}");
    assert!(logs.contains("overrides"), "{logs}");
    assert_no_value("the log", &logs);
    let text = std::fs::read_to_string(&audit.path).unwrap();
    assert!(text.contains(r#""outcome":"success""#), "{text}");
    assert!(
        text.contains(r#""subject":"env/production/KEYWARD_BOT_API_KEY""#),
        "{text}"
    );
    assert_no_value("the audit log", &text);
    assert_no_value("the store's Debug", &format!("{store:?}"));

    // FileWins keeps the file's value, with nothing to audit.
    let store = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("production"))
        .policy(OverridePolicy::FileWins)
        .process_vars(process(&[("KEYWARD_BOT_API_KEY", SHELL_CANARY)]))
        .audit(audit.log.clone())
        .load()
        .await
        .unwrap();
    let got = store.get("bot", &Selector::Current).await.unwrap();
    assert!(
        got.value
            .same_as(&SecretValue::fields([("api_key", CANARY)]))
    );
    assert_eq!(verify(&audit.path).unwrap().entries, 1);
}

#[tokio::test]
async fn outside_production_the_process_still_wins_by_default() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(&dir.path().join(".env.staging"), "KEYWARD_SVC=from-file\n");
    let store = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("staging"))
        .process_vars(process(&[("KEYWARD_SVC", "from-process")]))
        .load()
        .await
        .unwrap();
    assert!(
        value(&store, "svc")
            .await
            .same_as(&SecretValue::bytes(b"from-process".to_vec()))
    );
    // Refuse is available to any environment that asks for it.
    let err = DotenvLoader::new(dir.path(), "KEYWARD")
        .environment(env("staging"))
        .policy(OverridePolicy::Refuse)
        .process_vars(process(&[("KEYWARD_SVC", "from-process")]))
        .load()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OverrideRefused { .. }), "{err:?}");
}

#[test]
fn the_same_value_in_two_environments_is_found_by_name_only() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(
        &dir.path().join(".env.staging"),
        &format!(
            "KEYWARD_BOT_API_KEY={CANARY}\nKEYWARD_BOT_API_SECRET=staging-only\nLOG_LEVEL=info\n"
        ),
    );
    write_0600(
        &dir.path().join(".env.production"),
        &format!("KEYWARD_BOT_API_KEY=prod-key\nBINANCE_SECRET={CANARY}\nLOG_LEVEL=info\n"),
    );
    // A template is not an environment; a file with a value twice is not a sharing.
    write_0600(
        &dir.path().join(".env.example"),
        &format!("KEYWARD_BOT_API_KEY={CANARY}\n"),
    );
    write_0600(
        &dir.path().join(".env.dev"),
        "KEYWARD_A_TOKEN=dup-dup\nKEYWARD_B_TOKEN=dup-dup\n",
    );
    let scan = shared_values(dir.path(), "KEYWARD").unwrap();
    assert!(scan.skipped.is_empty(), "{:?}", scan.skipped);
    assert_eq!(scan.shared.len(), 1, "{scan:?}");
    let found: Vec<(String, String)> = scan.shared[0]
        .occurrences
        .iter()
        .map(|o| {
            (
                o.environment.as_ref().unwrap().to_string(),
                o.variable.clone(),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            ("production".to_owned(), "BINANCE_SECRET".to_owned()),
            ("staging".to_owned(), "KEYWARD_BOT_API_KEY".to_owned()),
        ]
    );
    assert_no_value("the scan", &format!("{scan:?}"));
}
