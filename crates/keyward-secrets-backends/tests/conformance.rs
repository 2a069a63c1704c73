//! One conformance suite, run against every backend: what a store can do, it does alike.
#![allow(clippy::unwrap_used)] // reason: test helpers fail loudly on anything unexpected

#[cfg(feature = "aws")]
#[path = "common/aws.rs"]
mod aws_support;

use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use keyward_core_crypto::secrecy::ExposeSecret;
use keyward_core_crypto::{FernetKey, KeyRing};
use keyward_secrets_backends::{
    CURRENT, DotenvStore, EnvStore, Error, FileStore, PENDING, PREVIOUS, SecretStore, SecretValue,
    Selector,
};

const CANARY: &str = "CANARY-api-secret-7f3a";

/// The secret every read-only store is seeded with, as its fields.
fn seeded() -> SecretValue {
    SecretValue::fields([("api_key", "key-1"), ("api_secret", CANARY)])
}

fn assert_no_canary(text: &str) {
    assert!(!text.contains(CANARY), "secret leaked: {text}");
}

/// The checks every store passes. `seeded` names a secret the store holds with [`seeded`].
async fn conformance(store: Arc<dyn SecretStore>, seeded_name: &str) {
    let caps = store.capabilities();
    let kind = store.kind();
    // Reading the seeded secret.
    let got = store.get(seeded_name, &Selector::Current).await.unwrap();
    assert!(got.value.same_as(&seeded()), "{kind}");
    assert_eq!(got.value.field("api_key").unwrap().expose_secret(), "key-1");
    assert!(got.meta.stages.iter().any(|s| s == CURRENT), "{kind}");
    assert_eq!(
        store.metadata(seeded_name).await.unwrap().version,
        got.meta.version
    );
    // Unknown and invalid names.
    assert!(
        matches!(
            store.get("no-such-secret", &Selector::Current).await,
            Err(Error::NotFound { .. })
        ),
        "{kind}"
    );
    assert!(
        matches!(
            store.get("bad name!", &Selector::Current).await,
            Err(Error::InvalidName { .. })
        ),
        "{kind}"
    );
    // Nothing prints the value.
    assert_no_canary(&format!("{store:?} {got:?}"));

    if !caps.writable {
        assert!(
            matches!(
                store.put("x", &seeded()).await,
                Err(Error::Unsupported { .. })
            ),
            "{kind}"
        );
        assert!(
            matches!(
                store.delete(seeded_name).await,
                Err(Error::Unsupported { .. })
            ),
            "{kind}"
        );
        // Revocation needs a store that can be written; dates a store that keeps them.
        let err = store.revoke(seeded_name, Some("leaked")).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    operation: "revocation",
                    ..
                }
            ),
            "{kind}: {err}"
        );
        assert_eq!(store.revocations().await.unwrap(), vec![], "{kind}");
        assert!(
            matches!(
                store.credential_ages().await,
                Err(Error::Unsupported { .. })
            ),
            "{kind}"
        );
        return;
    }
    revocation(&*store).await;
    // Writing: a put creates a version that becomes current.
    let first = store
        .put("conf/one", &SecretValue::bytes(b"v1".to_vec()))
        .await
        .unwrap();
    let second = store
        .put("conf/one", &SecretValue::fields([("api_secret", "v2")]))
        .await
        .unwrap();
    assert_ne!(first.version, second.version, "{kind}");
    let now = store.get("conf/one", &Selector::Current).await.unwrap();
    assert_eq!(now.value.field("api_secret").unwrap().expose_secret(), "v2");
    assert!(store.list().await.unwrap().contains(&"conf/one".to_owned()));
    if caps.versioned {
        let versions = store.versions("conf/one").await.unwrap();
        let ids: Vec<&str> = versions.iter().map(|m| m.version.as_str()).collect();
        assert_eq!(
            ids,
            [first.version.as_str(), second.version.as_str()],
            "{kind}: oldest first"
        );
        let old = store
            .get("conf/one", &Selector::Version(first.version.clone()))
            .await
            .unwrap();
        assert!(old.value.same_as(&SecretValue::bytes(b"v1".to_vec())));
    }
    if caps.stages {
        let prev = store
            .get("conf/one", &Selector::Stage(PREVIOUS.into()))
            .await
            .unwrap();
        assert_eq!(prev.meta.version, first.version);
        // Rotation: put pending, verify it, then promote it.
        let pending = store
            .put_pending("conf/one", &SecretValue::bytes(b"v3".to_vec()))
            .await
            .unwrap();
        let cur = store.get("conf/one", &Selector::Current).await.unwrap();
        assert_eq!(
            cur.meta.version, second.version,
            "{kind}: pending is not current"
        );
        let p = store
            .get("conf/one", &Selector::Stage(PENDING.into()))
            .await
            .unwrap();
        assert!(p.value.same_as(&SecretValue::bytes(b"v3".to_vec())));
        store.promote("conf/one", &pending.version).await.unwrap();
        let cur = store.get("conf/one", &Selector::Current).await.unwrap();
        assert_eq!(cur.meta.version, pending.version);
        let prev = store
            .get("conf/one", &Selector::Stage(PREVIOUS.into()))
            .await
            .unwrap();
        assert_eq!(prev.meta.version, second.version);
    }
    // Deleting.
    store.delete("conf/one").await.unwrap();
    assert!(matches!(
        store.get("conf/one", &Selector::Current).await,
        Err(Error::NotFound { .. })
    ));
    assert!(!store.list().await.unwrap().contains(&"conf/one".to_owned()));
}

/// Revocation in a writable store: reads of the revoked version are refused with a typed error
/// that names no value, the mark survives a second revoke, and a new value clears it.
async fn revocation(store: &dyn SecretStore) {
    let kind = store.kind();
    let name = "conf/revoked";
    let v1 = store
        .put(name, &SecretValue::fields([("api_secret", CANARY)]))
        .await
        .unwrap();
    assert_eq!(store.revocation(name).await.unwrap(), None, "{kind}");
    let revoked = store
        .revoke(name, Some("leaked in a CI log"))
        .await
        .unwrap();
    assert_eq!(revoked.version, v1.version, "{kind}");
    assert_eq!(revoked.reason.as_deref(), Some("leaked in a CI log"));
    for which in [
        Selector::Current,
        Selector::Version(v1.version.clone()),
        Selector::Stage(CURRENT.into()),
    ] {
        let err = store.get(name, &which).await.unwrap_err();
        assert!(
            matches!(&err, Error::Revoked { name: n, version, .. } if n == name && *version == v1.version),
            "{kind} {which:?}: {err}"
        );
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("revoked") && text.contains("leaked in a CI log"),
            "{text}"
        );
        assert_no_canary(&text);
    }
    assert!(
        matches!(store.get_fresh(name).await, Err(Error::Revoked { .. })),
        "{kind}"
    );
    // Metadata stays readable; the revocation is listed; a second revoke keeps the first.
    assert_eq!(
        store.metadata(name).await.unwrap().version,
        v1.version,
        "{kind}"
    );
    assert_eq!(
        store.revocation(name).await.unwrap().as_ref(),
        Some(&revoked)
    );
    let again = store.revoke(name, Some("again")).await.unwrap();
    assert_eq!(again, revoked, "{kind}: the first revocation is kept");
    let listed = store.revocations().await.unwrap();
    assert!(listed.contains(&revoked), "{kind}: {listed:?}");
    // Unknown names and bad reasons are typed errors.
    assert!(matches!(
        store.revoke("no-such-secret", None).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        store.revoke(name, Some("a\nb")).await,
        Err(Error::InvalidReason { .. })
    ));
    // A new value replaces the revoked one and clears the mark.
    let v2 = store
        .put(name, &SecretValue::fields([("api_secret", "v2")]))
        .await
        .unwrap();
    let now = store.get(name, &Selector::Current).await.unwrap();
    assert_eq!(now.meta.version, v2.version, "{kind}");
    assert_eq!(store.revocation(name).await.unwrap(), None, "{kind}");
    assert!(
        !store
            .revocations()
            .await
            .unwrap()
            .iter()
            .any(|r| r.name == name),
        "{kind}"
    );
    // A store that keeps dates reports the new value's age, not yet due.
    let ages = store.credential_ages().await.unwrap();
    let age = ages.iter().find(|a| a.name == name).unwrap();
    assert!(age.rotated_at.is_some() && !age.due, "{kind}: {age:?}");
    assert_eq!(now.meta.rotation_due, Some(false), "{kind}");
    store.delete(name).await.unwrap();
    assert!(
        store
            .revocations()
            .await
            .unwrap()
            .iter()
            .all(|r| r.name != name)
    );
}

#[tokio::test]
async fn env() {
    let vars = [
        ("KEYWARD_BINANCE_TESTNET_API_KEY", "key-1"),
        ("KEYWARD_BINANCE_TESTNET_API_SECRET", CANARY),
        ("UNRELATED", "x"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()));
    conformance(
        Arc::new(EnvStore::from_vars("KEYWARD", vars)),
        "binance-testnet",
    )
    .await;
}

fn write_0600(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test]
async fn dotenv() {
    let dir = tempfile::tempdir().unwrap();
    write_0600(
        &dir.path().join(".env.staging"),
        &format!(
            "# staging\nKEYWARD_BINANCE_TESTNET_API_KEY=key-1\nexport KEYWARD_BINANCE_TESTNET_API_SECRET=\"{CANARY}\"\n"
        ),
    );
    let store = DotenvStore::for_environment(dir.path(), "staging", "KEYWARD").unwrap();
    conformance(Arc::new(store), "binance-testnet").await;
}

#[tokio::test]
async fn file() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::new(
        dir.path().join("secrets.fernet"),
        KeyRing::new(FernetKey::generate().unwrap()),
    );
    store.put("binance-testnet", &seeded()).await.unwrap();
    conformance(Arc::new(store), "binance-testnet").await;
    // The file on disk is mode 0600 and holds no plaintext.
    let path = dir.path().join("secrets.fernet");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_no_canary(&std::fs::read_to_string(&path).unwrap());
}

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _key) =
        keyward_secrets_backends::SqliteVault::create(dir.path().join("vault.db")).unwrap();
    vault.put("binance-testnet", &seeded()).await.unwrap();
    conformance(Arc::new(vault), "binance-testnet").await;
}

/// AWS Secrets Manager, against moto_server (see `common/aws.rs`): skipped with a notice when
/// `KEYWARD_AWS_ENDPOINT` is unset, unless `KEYWARD_REQUIRE_INTEROP` is set.
#[cfg(feature = "aws")]
#[tokio::test]
async fn aws() {
    let Some(store) = aws_support::moto("conformance").await else {
        return;
    };
    store.put("binance-testnet", &seeded()).await.unwrap();
    conformance(Arc::new(store.clone()), "binance-testnet").await;
    store.delete("binance-testnet").await.unwrap();
}
