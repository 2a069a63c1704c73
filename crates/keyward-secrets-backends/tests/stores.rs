//! Backend-specific behaviour: .env environments and precedence, permission refusals, the
//! encrypted file's key handling, and the chain.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::{
    ChainStore, DotenvStore, EnvStore, Error, FileStore, SecretStore, SecretValue, Selector,
};

fn write_mode(path: &std::path::Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn dotenv_refuses_loose_files_and_missing_environments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env.production");
    write_mode(&path, "KEYWARD_X=SECRET-CANARY\n", 0o644);
    let err = DotenvStore::for_environment(dir.path(), "production", "KEYWARD").unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    assert!(!format!("{err} {err:?}").contains("CANARY"));
    // A missing environment is an error, never a fallback to another file.
    write_mode(&dir.path().join(".env.development"), "KEYWARD_X=1\n", 0o600);
    let err = DotenvStore::for_environment(dir.path(), "staging", "KEYWARD").unwrap_err();
    assert!(err.to_string().contains(".env.staging"), "{err}");
    assert!(DotenvStore::for_environment(dir.path(), "../etc", "KEYWARD").is_err());
}

#[tokio::test]
async fn process_variables_win_unless_overriding_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    write_mode(
        &path,
        "KEYWARD_SVC=from-file\nKEYWARD_ONLY_FILE=file\n",
        0o600,
    );
    let process = [("KEYWARD_SVC".to_owned(), "from-process".to_owned())];
    let store = DotenvStore::with_process_vars(&path, "KEYWARD", process.clone(), false).unwrap();
    let got = store.get("svc", &Selector::Current).await.unwrap();
    assert!(
        got.value
            .same_as(&SecretValue::bytes(b"from-process".to_vec()))
    );
    let store = DotenvStore::with_process_vars(&path, "KEYWARD", process, true).unwrap();
    let got = store.get("svc", &Selector::Current).await.unwrap();
    assert!(
        got.value
            .same_as(&SecretValue::bytes(b"from-file".to_vec()))
    );
    assert!(store.get("only-file", &Selector::Current).await.is_ok());
}

#[test]
fn dotenv_parse_errors_do_not_echo_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".env");
    write_mode(&path, "KEYWARD_A=\"SECRET-CANARY\n", 0o600);
    let err = DotenvStore::open(&path, "KEYWARD").unwrap_err();
    assert!(!format!("{err} {err:?}").contains("CANARY"), "{err:?}");
}

#[tokio::test]
async fn the_file_store_refuses_loose_permissions_and_other_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.fernet");
    let key = FernetKey::generate().unwrap();
    let store = FileStore::new(&path, KeyRing::new(key.clone()));
    store
        .put("a", &SecretValue::bytes(b"1".to_vec()))
        .await
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let err = store.get("a", &Selector::Current).await.unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let stranger = FileStore::new(&path, KeyRing::new(FernetKey::generate().unwrap()));
    assert!(matches!(
        stranger.get("a", &Selector::Current).await,
        Err(Error::Crypto(_))
    ));
    // A rotated ring (new key first, old key after) still reads it, and writes under the new key.
    let new = FernetKey::generate().unwrap();
    let rotated = FileStore::new(&path, KeyRing::from_keys([new.clone(), key]).unwrap());
    rotated
        .put("b", &SecretValue::bytes(b"2".to_vec()))
        .await
        .unwrap();
    let only_new = FileStore::new(&path, KeyRing::new(new));
    assert!(only_new.get("a", &Selector::Current).await.is_ok());
}

#[tokio::test]
async fn the_chain_reports_which_store_answered() {
    let env = Arc::new(EnvStore::from_vars(
        "KEYWARD",
        [("KEYWARD_SVC_TOKEN".to_owned(), "env-token".to_owned())],
    ));
    let dir = tempfile::tempdir().unwrap();
    let file = Arc::new(FileStore::new(
        dir.path().join("s"),
        KeyRing::new(FernetKey::generate().unwrap()),
    ));
    file.put("svc", &SecretValue::fields([("token", "file-token")]))
        .await
        .unwrap();
    file.put("other", &SecretValue::fields([("token", "other")]))
        .await
        .unwrap();
    let chain = ChainStore::new(vec![env, file]);
    let (secret, answered) = chain.resolve("svc", &Selector::Current).await.unwrap();
    assert_eq!((answered.index, answered.kind), (0, "env"));
    assert_eq!(
        secret.value.field("token").unwrap().expose_secret(),
        "env-token"
    );
    let (_, answered) = chain.resolve("other", &Selector::Current).await.unwrap();
    assert_eq!((answered.index, answered.kind), (1, "file"));
    assert!(matches!(
        chain.resolve("none", &Selector::Current).await,
        Err(Error::NotFound { .. })
    ));
    // Writes go to the first writable store; listing skips stores that cannot list.
    chain
        .put("new", &SecretValue::bytes(b"x".to_vec()))
        .await
        .unwrap();
    assert_eq!(chain.list().await.unwrap(), ["new", "other", "svc"]);
    assert!(!format!("{answered:?} {chain:?}").contains("token"));
}

/// Finding 17 of issue 13: the file store's lock file is opened without following a symbolic
/// link, so a link planted at `<file>.lock` cannot make a write create or touch another file.
#[tokio::test]
async fn the_file_store_refuses_a_symlink_at_its_lock_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.fernet");
    let victim = dir.path().join("victim");
    std::os::unix::fs::symlink(&victim, dir.path().join("secrets.fernet.lock")).unwrap();
    let store = FileStore::new(&path, KeyRing::new(FernetKey::generate().unwrap()));
    let err = store
        .put("svc", &SecretValue::bytes(b"v".to_vec()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("secrets.fernet.lock"), "{err}");
    assert!(!victim.exists(), "the link was followed");
    assert!(!path.exists(), "nothing was written");
}
