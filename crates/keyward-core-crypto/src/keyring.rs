//! [`KeyRing`]: several keys with rotation, as Python `cryptography.fernet.MultiFernet`.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::key::{FernetKey, KeyId, read_env};
use crate::token::{self, Plaintext};

/// A list of keys where the first (the primary) encrypts and every key decrypts
/// (Python `MultiFernet`; with one key, Python `Fernet`, see [`Fernet`]).
///
/// Every method that reads the clock has an `_at` twin that takes the time as seconds since the
/// Unix epoch, for tests and for re-encryption that keeps a timestamp.
///
/// To rotate a master key: put the new key first, keep the old ones after it, [`rotate`] every
/// stored token, then drop the old keys. Each key has a non-secret [`KeyId`]; stores record the id
/// returned by [`decrypt_identified`] or [`primary_id`] to know which key sealed a record.
///
/// [`rotate`]: KeyRing::rotate
/// [`decrypt_identified`]: KeyRing::decrypt_identified
/// [`primary_id`]: KeyRing::primary_id
///
/// ```
/// use keyward_core_crypto::{FernetKey, KeyRing};
/// use secrecy::ExposeSecret;
///
/// let old = FernetKey::generate()?;
/// let token = KeyRing::new(old.clone()).encrypt(b"api-secret");
///
/// let new = FernetKey::generate()?;
/// let ring = KeyRing::from_keys([new.clone(), old])?;
/// let rotated = ring.rotate(&token)?;
/// assert_eq!(KeyRing::new(new).decrypt(&rotated)?.expose_secret().as_slice(), b"api-secret");
/// # Ok::<(), keyward_core_crypto::Error>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    /// Never empty; the first is the primary.
    keys: Vec<FernetKey>,
}

/// Python's `Fernet` is a key ring of one key: `Fernet::new(key)` encrypts and decrypts under
/// `key` alone, with the same methods (`encrypt`, `encrypt_at`, `decrypt`, `decrypt_with_ttl`,
/// `decrypt_at`, `extract_timestamp`).
///
/// ```
/// use keyward_core_crypto::{Fernet, FernetKey};
/// use keyward_core_crypto::secrecy::ExposeSecret;
///
/// let fernet = Fernet::new(FernetKey::generate()?);
/// let token = fernet.encrypt(b"api-secret");
/// assert_eq!(fernet.decrypt(&token)?.expose_secret().as_slice(), b"api-secret");
/// # Ok::<(), keyward_core_crypto::Error>(())
/// ```
pub type Fernet = KeyRing;

impl KeyRing {
    /// A ring of one key (Python `Fernet(key)`).
    pub fn new(primary: FernetKey) -> Self {
        Self {
            keys: vec![primary],
        }
    }

    /// A ring of `keys`, the first being the primary. Fails on an empty list.
    pub fn from_keys(keys: impl IntoIterator<Item = FernetKey>) -> Result<Self> {
        let keys: Vec<FernetKey> = keys.into_iter().collect();
        if keys.is_empty() {
            return Err(Error::EmptyKeyRing);
        }
        Ok(Self { keys })
    }

    /// Reads comma-separated keys from the environment variable `var`, the first being the
    /// primary (the format of `KEYWARD_MASTER_KEY`). Whitespace around each key is ignored.
    pub fn from_env(var: &str) -> Result<Self> {
        Self::parse_list(var, &read_env(var)?)
    }

    /// Parses comma-separated keys (the format of `KEYWARD_MASTER_KEY`), the first being the
    /// primary; `var` names the variable they came from in errors.
    pub(crate) fn parse_list(var: &str, value: &str) -> Result<Self> {
        let mut keys = Vec::new();
        for (i, part) in value.split(',').enumerate() {
            let key =
                crate::key::decode_key(part.trim()).map_err(|reason| Error::InvalidEnvKey {
                    var: var.to_owned(),
                    index: i + 1,
                    reason,
                })?;
            keys.push(FernetKey::from_bytes(&key));
        }
        Self::from_keys(keys)
    }

    /// The primary key, which encrypts.
    pub fn primary(&self) -> &FernetKey {
        &self.keys[0]
    }

    /// The primary key's id.
    pub fn primary_id(&self) -> KeyId {
        self.primary().id()
    }

    /// All keys, primary first.
    pub fn keys(&self) -> &[FernetKey] {
        &self.keys
    }

    /// The ids of all keys, primary first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.keys.iter().map(FernetKey::id).collect()
    }

    /// Encrypts under the primary key with the current time.
    pub fn encrypt(&self, data: &[u8]) -> String {
        self.encrypt_at(data, token::now_secs())
    }

    /// Encrypts under the primary key with `at` (seconds since the Unix epoch) as the timestamp.
    pub fn encrypt_at(&self, data: &[u8], at: u64) -> String {
        token::encrypt(self.primary(), data, at)
    }

    /// Verifies and decrypts with whichever key made the token.
    pub fn decrypt(&self, token: impl AsRef<[u8]>) -> Result<Plaintext> {
        self.decrypt_at(token, None, token::now_secs())
    }

    /// As [`KeyRing::decrypt`], refusing tokens older than `ttl` ([`Error::Expired`]) or more
    /// than 60 s in the future ([`Error::InvalidToken`]).
    pub fn decrypt_with_ttl(&self, token: impl AsRef<[u8]>, ttl: Duration) -> Result<Plaintext> {
        self.decrypt_at(token, Some(ttl), token::now_secs())
    }

    /// Verifies and decrypts as at `now` (seconds since the Unix epoch), with an optional TTL.
    pub fn decrypt_at(
        &self,
        token: impl AsRef<[u8]>,
        ttl: Option<Duration>,
        now: u64,
    ) -> Result<Plaintext> {
        self.decrypt_identified(token, ttl, now)
            .map(|(plaintext, _)| plaintext)
    }

    /// As [`KeyRing::decrypt_at`], also telling which key verified the token.
    pub fn decrypt_identified(
        &self,
        token: impl AsRef<[u8]>,
        ttl: Option<Duration>,
        now: u64,
    ) -> Result<(Plaintext, KeyId)> {
        token::decrypt(&self.keys, token.as_ref(), ttl, now)
            .map(|opened| (token::into_plaintext(opened.plaintext), opened.key_id))
    }

    /// Re-encrypts a token made by any key of the ring under the primary key, keeping its
    /// original timestamp (Python `MultiFernet.rotate`). The token's age is not checked.
    pub fn rotate(&self, token: impl AsRef<[u8]>) -> Result<String> {
        let opened = token::open(&self.keys, token.as_ref())?;
        Ok(token::encrypt(
            self.primary(),
            &opened.plaintext,
            opened.timestamp,
        ))
    }

    /// The timestamp of a token made by any key of the ring, after verifying it.
    pub fn extract_timestamp(&self, token: impl AsRef<[u8]>) -> Result<u64> {
        token::open(&self.keys, token.as_ref()).map(|opened| opened.timestamp)
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.key_ids())
            .field("keys", &"[REDACTED]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn key() -> FernetKey {
        FernetKey::generate().unwrap()
    }

    #[test]
    fn primary_encrypts_every_key_decrypts() {
        let (a, b) = (key(), key());
        let old_token = KeyRing::new(b.clone()).encrypt_at(b"x", 100);
        let ring = KeyRing::from_keys([a.clone(), b.clone()]).unwrap();
        let (plain, id) = ring.decrypt_identified(&old_token, None, 100).unwrap();
        assert_eq!(plain.expose_secret().as_slice(), b"x");
        assert_eq!(id, b.id());
        let fresh = ring.encrypt_at(b"y", 100);
        assert_eq!(
            ring.decrypt_identified(&fresh, None, 100).unwrap().1,
            a.id()
        );
        assert!(KeyRing::new(b).decrypt(&fresh).is_err());
    }

    #[test]
    fn rotate_keeps_the_timestamp() {
        let (a, b) = (key(), key());
        let token = KeyRing::new(b.clone()).encrypt_at(b"secret", 1234);
        let ring = KeyRing::from_keys([a.clone(), b]).unwrap();
        let rotated = ring.rotate(&token).unwrap();
        let only_new = KeyRing::new(a);
        assert_eq!(only_new.extract_timestamp(&rotated).unwrap(), 1234);
        assert_eq!(
            only_new
                .decrypt(&rotated)
                .unwrap()
                .expose_secret()
                .as_slice(),
            b"secret"
        );
    }

    #[test]
    fn rotate_refuses_foreign_tokens() {
        let token = KeyRing::new(key()).encrypt(b"x");
        assert!(matches!(
            KeyRing::new(key()).rotate(&token),
            Err(Error::InvalidToken)
        ));
    }

    #[test]
    fn empty_ring_is_an_error() {
        assert!(matches!(
            KeyRing::from_keys(Vec::new()),
            Err(Error::EmptyKeyRing)
        ));
    }

    #[test]
    fn ttl_applies_after_the_mac() {
        let ring = KeyRing::new(key());
        let token = ring.encrypt_at(b"x", 1000);
        let ttl = Some(Duration::from_secs(10));
        assert!(ring.decrypt_at(&token, ttl, 1010).is_ok());
        assert!(matches!(
            ring.decrypt_at(&token, ttl, 1011),
            Err(Error::Expired)
        ));
        // A forged token is never reported as merely expired.
        let other = KeyRing::new(key());
        assert!(matches!(
            other.decrypt_at(&token, ttl, 5000),
            Err(Error::InvalidToken)
        ));
    }
}
