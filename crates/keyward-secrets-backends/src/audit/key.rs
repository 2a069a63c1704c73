//! The log's MAC key and the chain's head, kept in a [`SecretStore`] under a name the caller
//! gives (`NAME` for the key, `NAME.head` for the head).

use std::fmt;

use hmac::{Hmac, Mac};
use keyward_core_crypto::secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use sha2::Sha256;

use super::error::AuditError;
use crate::Error;
use crate::store::{SecretStore, Selector};
use crate::value::SecretValue;

/// The MAC key's length in bytes.
pub const KEY_LEN: usize = 32;

/// The suffix of the head's name beside the key's.
const HEAD_SUFFIX: &str = ".head";

/// The chain's last entry as the writer last recorded it: kept in the store beside the key, so
/// that cutting the log's tail (which the chain alone cannot show) is found on verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// The last entry's sequence number.
    pub seq: u64,
    /// Hex SHA-256 of the last entry's line.
    pub hash: String,
}

/// The HMAC-SHA256 key over the log's entries. `Debug` shows only the store name.
pub struct AuditKey {
    name: String,
    key: SecretBox<[u8; KEY_LEN]>,
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditKey")
            .field("name", &self.name)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

impl AuditKey {
    /// Reads the key stored under `name`; `Ok(None)` when there is none.
    pub async fn load(store: &dyn SecretStore, name: &str) -> Result<Option<Self>, AuditError> {
        check_name(name)?;
        match store.get(name, &Selector::Current).await {
            Ok(secret) => {
                let SecretValue::Bytes(bytes) = &secret.value else {
                    return Err(bad(name, "it holds fields, not 32 bytes"));
                };
                let bytes: [u8; KEY_LEN] = bytes
                    .expose_secret()
                    .as_slice()
                    .try_into()
                    .map_err(|_| bad(name, "it is not 32 bytes long"))?;
                Ok(Some(Self {
                    name: name.to_owned(),
                    key: SecretBox::new(Box::new(bytes)),
                }))
            }
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(AuditError::Store(e)),
        }
    }

    /// Reads the key stored under `name`, or generates one from the operating system's RNG and
    /// stores it there when there is none.
    pub async fn load_or_create(store: &dyn SecretStore, name: &str) -> Result<Self, AuditError> {
        if let Some(key) = Self::load(store, name).await? {
            return Ok(key);
        }
        let mut bytes = SecretBox::new(Box::new([0u8; KEY_LEN]));
        getrandom::getrandom(&mut bytes.expose_secret_mut()[..]).map_err(AuditError::Random)?;
        store
            .put(name, &SecretValue::bytes(bytes.expose_secret().to_vec()))
            .await
            .map_err(AuditError::Store)?;
        Ok(Self {
            name: name.to_owned(),
            key: bytes,
        })
    }

    /// The store name the key is kept under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The hex HMAC-SHA256 of `body` under this key.
    pub(super) fn mac_hex(&self, body: &[u8]) -> String {
        hex::encode(self.mac(body).finalize().into_bytes())
    }

    /// Whether `mac_hex` is the MAC of `body`, compared in constant time.
    pub(super) fn verify(&self, body: &[u8], mac_hex: &str) -> bool {
        match hex::decode(mac_hex) {
            Ok(tag) => self.mac(body).verify_slice(&tag).is_ok(),
            Err(_) => false,
        }
    }

    fn mac(&self, body: &[u8]) -> Hmac<Sha256> {
        // HMAC takes a key of any length; 32 bytes never fails.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC accepts every key length"));
        mac.update(body);
        mac
    }

    /// The head stored beside the key; `None` before the first entry was recorded.
    pub async fn head(&self, store: &dyn SecretStore) -> Result<Option<Head>, AuditError> {
        let name = self.head_name();
        let secret = match store.get(&name, &Selector::Current).await {
            Ok(secret) => secret,
            Err(Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(AuditError::Store(e)),
        };
        let field = |f: &str| {
            secret
                .value
                .field(f)
                .map(|v| v.expose_secret().to_owned())
                .ok_or_else(|| bad(&name, "it lacks the seq or hash field"))
        };
        let seq = field("seq")?
            .parse()
            .map_err(|_| bad(&name, "its seq is not a number"))?;
        let hash = field("hash")?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(&name, "its hash is not 64 hex digits"));
        }
        Ok(Some(Head { seq, hash }))
    }

    /// Records `head` in the store beside the key.
    pub(super) async fn save_head(
        &self,
        store: &dyn SecretStore,
        head: &Head,
    ) -> Result<(), AuditError> {
        let seq = head.seq.to_string();
        let value = SecretValue::fields([("seq", seq.as_str()), ("hash", head.hash.as_str())]);
        store
            .put(&self.head_name(), &value)
            .await
            .map(|_| ())
            .map_err(AuditError::Store)
    }

    pub(super) fn head_name(&self) -> String {
        format!("{}{HEAD_SUFFIX}", self.name)
    }
}

fn check_name(name: &str) -> Result<(), AuditError> {
    crate::store::validate_name(&format!("{name}{HEAD_SUFFIX}")).map_err(AuditError::Store)
}

fn bad(name: &str, reason: &'static str) -> AuditError {
    AuditError::BadKey {
        name: name.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_key() {
        let key = AuditKey {
            name: "audit/mac".into(),
            key: SecretBox::new(Box::new([0x5a; KEY_LEN])),
        };
        let shown = format!("{key:?}");
        assert!(shown.contains("[REDACTED]"));
        assert!(!shown.contains("90") && !shown.contains("5a"));
        let mac = key.mac_hex(b"body");
        assert!(key.verify(b"body", &mac));
        assert!(!key.verify(b"bodz", &mac));
        assert!(!key.verify(b"body", "zz"));
    }
}
