//! Where the client's credentials come from: given directly, or read from any [`SecretStore`]
//! under a name the caller chooses, with fields `api_key`, `secret` (or `api_secret`) and
//! optionally `passphrase`.

use std::fmt;
use std::sync::Arc;

use keyward_secrets_backends::{SecretStore, SecretValue, Selector};
use keyward_signing::Credentials;
use keyward_signing::secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// The source of a client's credentials.
#[derive(Clone)]
pub(crate) enum CredentialSource {
    /// Given once; never re-read.
    Fixed(Credentials),
    /// Read from a store, and again after a rotation notice or an authentication error.
    Store {
        store: Arc<dyn SecretStore>,
        name: String,
    },
}

impl fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed(c) => f.debug_tuple("Fixed").field(c).finish(),
            Self::Store { store, name } => f
                .debug_struct("Store")
                .field("kind", &store.kind())
                .field("name", name)
                .finish(),
        }
    }
}

impl CredentialSource {
    /// Whether reading again may give other credentials.
    pub(crate) fn reloadable(&self) -> bool {
        matches!(self, Self::Store { .. })
    }

    /// The secret's name in its store.
    pub(crate) fn name(&self) -> Option<&str> {
        match self {
            Self::Fixed(_) => None,
            Self::Store { name, .. } => Some(name),
        }
    }

    /// The current credentials.
    pub(crate) async fn load(&self) -> Result<Credentials> {
        self.read(false).await
    }

    /// The current credentials from the store itself, past any cache
    /// ([`SecretStore::get_fresh`]): the re-read after the venue refused the ones we have.
    pub(crate) async fn load_fresh(&self) -> Result<Credentials> {
        self.read(true).await
    }

    async fn read(&self, fresh: bool) -> Result<Credentials> {
        match self {
            Self::Fixed(c) => Ok(c.clone()),
            Self::Store { store, name } => {
                let secret = if fresh {
                    store.get_fresh(name).await
                } else {
                    store.get(name, &Selector::Current).await
                }
                .map_err(|e| refused(name, e))?;
                from_value(name, &secret.value)
            }
        }
    }
}

/// The error for a store that did not give `name`: a revoked secret says so (the store's
/// [`keyward_secrets_backends::Error::Revoked`] is kept as the source, so callers can match it).
fn refused(name: &str, e: keyward_secrets_backends::Error) -> Error {
    let reason = match &e {
        keyward_secrets_backends::Error::Revoked { version, .. } => format!(
            "secret {name:?} was revoked (version {version} is marked compromised) and is refused until a new value replaces it"
        ),
        _ => format!("the secret store could not give {name:?}"),
    };
    Error::Credentials {
        reason,
        source: Some(e.into()),
    }
}

/// Credentials from a secret's fields.
pub(crate) fn from_value(name: &str, value: &SecretValue) -> Result<Credentials> {
    let missing = |field: &str| Error::Credentials {
        reason: format!(
            "secret {name:?} has no field {field:?}; store api_key, secret and (for OKX, Coinbase Exchange) passphrase"
        ),
        source: None,
    };
    let api_key = value
        .field("api_key")
        .ok_or_else(|| missing("api_key"))?
        .expose_secret()
        .to_owned();
    // `keyward key generate --type ...` stores a key pair before the venue has assigned its
    // API key: signing with an empty key would only be refused by the venue.
    if api_key.is_empty() {
        return Err(Error::Credentials {
            reason: format!(
                "secret {name:?} has an empty api_key: register its public key with the venue, then record the API key it assigns (keyward key set-api-key --name {name} --api-key KEY)"
            ),
            source: None,
        });
    }
    let secret = value
        .field("secret")
        .or_else(|| value.field("api_secret"))
        .ok_or_else(|| missing("secret"))?;
    let mut creds = Credentials::new(api_key, SecretString::from(secret.expose_secret()));
    if let Some(p) = value.field("passphrase") {
        creds = creds.with_passphrase(SecretString::from(p.expose_secret()));
    }
    Ok(creds)
}

/// Whether two credentials differ (key, secret or passphrase).
pub(crate) fn differ(a: &Credentials, b: &Credentials) -> bool {
    a.api_key() != b.api_key()
        || a.secret().expose_secret() != b.secret().expose_secret()
        || a.passphrase().map(ExposeSecret::expose_secret)
            != b.passphrase().map(ExposeSecret::expose_secret)
}

/// The first four characters of an API key and an ellipsis, for logs. Formats lazily: a log
/// line that is filtered out costs no allocation.
#[derive(Clone, Copy)]
pub(crate) struct KeyHint<'a>(pub(crate) &'a str);

impl std::fmt::Display for KeyHint<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = self
            .0
            .char_indices()
            .nth(4)
            .map_or(self.0.len(), |(i, _)| i);
        f.write_str(&self.0[..end])?;
        f.write_str("…")
    }
}

/// [`KeyHint`] as a string.
pub(crate) fn key_hint(api_key: &str) -> String {
    KeyHint(api_key).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_and_missing_ones_named() {
        let v = SecretValue::fields([("api_key", "k1"), ("api_secret", "s1"), ("passphrase", "p")]);
        let c = from_value("bot", &v).unwrap();
        assert_eq!(c.api_key(), "k1");
        assert!(c.passphrase().is_some());
        let err = from_value(
            "bot",
            &SecretValue::fields([("api_key", ""), ("secret", "s")]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("set-api-key"), "{err}");
        let err = from_value("bot", &SecretValue::fields([("api_key", "k")])).unwrap_err();
        assert!(err.to_string().contains("\"secret\""), "{err}");
        let err = from_value("bot", &SecretValue::bytes(b"CANARY".to_vec())).unwrap_err();
        assert!(!err.to_string().contains("CANARY"));
    }

    /// A store whose value the test sets.
    #[derive(Debug, Default)]
    struct Settable(std::sync::Mutex<String>);

    #[async_trait::async_trait]
    impl SecretStore for Settable {
        fn kind(&self) -> &'static str {
            "settable"
        }
        fn capabilities(&self) -> keyward_secrets_backends::Capabilities {
            keyward_secrets_backends::Capabilities {
                writable: false,
                versioned: false,
                stages: false,
            }
        }
        async fn get(
            &self,
            name: &str,
            _: &Selector,
        ) -> keyward_secrets_backends::Result<keyward_secrets_backends::Secret> {
            let key = self.0.lock().unwrap().clone();
            Ok(keyward_secrets_backends::Secret {
                value: SecretValue::fields([("api_key", key.as_str()), ("secret", "s")]),
                meta: keyward_secrets_backends::Metadata {
                    name: name.into(),
                    version: "1".into(),
                    created: None,
                    stages: vec![],
                    rotation_due: None,
                },
            })
        }
        async fn put(
            &self,
            _: &str,
            _: &SecretValue,
        ) -> keyward_secrets_backends::Result<keyward_secrets_backends::Metadata> {
            Err(self.unsupported("writing"))
        }
        async fn delete(&self, _: &str) -> keyward_secrets_backends::Result<()> {
            Err(self.unsupported("deleting"))
        }
        async fn list(&self) -> keyward_secrets_backends::Result<Vec<String>> {
            Ok(vec![])
        }
        async fn versions(
            &self,
            _: &str,
        ) -> keyward_secrets_backends::Result<Vec<keyward_secrets_backends::Metadata>> {
            Ok(vec![])
        }
    }

    /// Finding 11 of issue 13: the re-read after an authentication refusal goes past a cache
    /// that still holds the refused credentials.
    #[tokio::test]
    async fn the_fresh_load_goes_past_a_cache() {
        use keyward_secrets_backends::{CacheConfig, CachedStore, FixedClock};
        let inner = Arc::new(Settable::default());
        *inner.0.lock().unwrap() = "k1".into();
        let cache = CachedStore::with_clock(
            inner.clone(),
            CacheConfig::default(),
            Arc::new(FixedClock::default()),
        );
        let source = CredentialSource::Store {
            store: Arc::new(cache),
            name: "bot".into(),
        };
        assert_eq!(source.load().await.unwrap().api_key(), "k1");
        *inner.0.lock().unwrap() = "k2".into();
        assert_eq!(source.load().await.unwrap().api_key(), "k1", "cached");
        assert_eq!(source.load_fresh().await.unwrap().api_key(), "k2");
        assert_eq!(source.load().await.unwrap().api_key(), "k2");
    }

    /// A secret revoked in its store is refused at the client's next read, with a Credentials
    /// error that names the revocation and keeps the store's typed error; no value shows.
    #[tokio::test]
    async fn a_revoked_secret_is_refused_at_the_next_read() {
        use keyward_secrets_backends::{FileStore, SecretStore as _};
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(FileStore::new(
            dir.path().join("s.fernet"),
            keyward_core_crypto::KeyRing::new(keyward_core_crypto::FernetKey::generate().unwrap()),
        ));
        let value = SecretValue::fields([("api_key", "k1"), ("secret", "CANARY-revoked-secret")]);
        store.put("bot", &value).await.unwrap();
        let source = CredentialSource::Store {
            store: store.clone(),
            name: "bot".into(),
        };
        assert_eq!(source.load().await.unwrap().api_key(), "k1");
        store.revoke("bot", Some("leaked")).await.unwrap();
        for fresh in [false, true] {
            let err = source.read(fresh).await.unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(
                text.contains("revoked") && !text.contains("CANARY"),
                "{text}"
            );
            match &err {
                Error::Credentials {
                    source: Some(crate::error::Cause::Store(e)),
                    ..
                } => assert!(
                    matches!(**e, keyward_secrets_backends::Error::Revoked { .. }),
                    "{e}"
                ),
                other => panic!("{other:?}"),
            }
            assert_eq!(err.kind(), crate::ErrorKind::Credentials);
        }
        // Rotation: a new value replaces the revoked one.
        let value = SecretValue::fields([("api_key", "k2"), ("secret", "s2")]);
        store.put("bot", &value).await.unwrap();
        assert_eq!(source.load_fresh().await.unwrap().api_key(), "k2");
    }

    #[test]
    fn differ_and_hint() {
        let a = Credentials::new("key-1", "s".into());
        let b = Credentials::new("key-1", "t".into());
        assert!(differ(&a, &b));
        assert!(!differ(&a, &a.clone()));
        assert_eq!(key_hint("abcdefgh"), "abcd…");
        assert_eq!(key_hint("ab"), "ab…");
        assert_eq!(key_hint(""), "…");
        assert_eq!(key_hint("ééééé"), "éééé…");
    }
}
