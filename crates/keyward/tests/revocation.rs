//! Revocation through the facade: a client reading its credentials from a store refuses them
//! once they are revoked, at its next read (the builder's, or the re-read a rotation notice
//! triggers before the next request), with a Credentials error that names the revocation.

#![allow(clippy::unwrap_used)] // reason: tests fail loudly

use std::sync::Arc;

use keyward::secrets::{CacheConfig, CachedStore, SqliteVault};
use keyward::{ErrorKind, RestClient, Scheme, SecretStore, SecretValue};

const CANARY: &str = "CANARY-facade-revoked-3e9a";

fn value(key: &str) -> SecretValue {
    SecretValue::fields([("api_key", key), ("secret", CANARY)])
}

#[tokio::test]
async fn a_revoked_credential_is_refused_at_the_next_read_and_a_new_value_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    let (vault, _key) = SqliteVault::create(dir.path().join("vault.db")).unwrap();
    let store: Arc<dyn SecretStore> =
        Arc::new(CachedStore::new(Arc::new(vault), CacheConfig::default()));
    store.put("bot", &value("key-1")).await.unwrap();
    // Nothing listens on port 9: a request that got past the credentials would fail to connect.
    let builder = || {
        RestClient::builder(Scheme::Binance, "http://127.0.0.1:9")
            .secret_store(store.clone(), "bot")
            .clock_sync(false)
    };
    let client = builder().build().await.unwrap();

    store
        .revoke("bot", Some("leaked in a CI log"))
        .await
        .unwrap();
    // The running client: the revocation's notice makes it read again before sending.
    let err = client.balance().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials, "{err}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("revoked"), "{text}");
    assert!(!text.contains(CANARY), "{text}");
    // A new client: refused when it is built.
    let err = builder().build().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Credentials, "{err}");
    assert!(err.to_string().contains("revoked"), "{err}");

    // Rotation: a new value replaces the revoked one and the client reads it.
    store.put("bot", &value("key-2")).await.unwrap();
    builder().build().await.unwrap();
    let err = client.balance().await.unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Credentials, "{err}");
}
