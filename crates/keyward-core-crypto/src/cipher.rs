//! [`Fernet`]: encryption under one key, as Python `cryptography.fernet.Fernet`.

use std::fmt;
use std::time::Duration;

use crate::error::Result;
use crate::key::{FernetKey, KeyId};
use crate::token::{self, Plaintext};

/// Fernet encryption under a single key (Python `cryptography.fernet.Fernet`).
///
/// Every method that reads the clock has an `_at` twin that takes the time as seconds since the
/// Unix epoch, for tests and for re-encryption that keeps a timestamp. For several keys and
/// rotation use [`crate::KeyRing`] (Python `MultiFernet`).
///
/// ```
/// use keyward_core_crypto::{Fernet, FernetKey};
/// use secrecy::ExposeSecret;
///
/// let fernet = Fernet::new(FernetKey::generate()?);
/// let token = fernet.encrypt(b"api-secret");
/// assert_eq!(fernet.decrypt(&token)?.expose_secret().as_slice(), b"api-secret");
/// # Ok::<(), keyward_core_crypto::Error>(())
/// ```
#[derive(Clone)]
pub struct Fernet {
    key: FernetKey,
}

impl Fernet {
    /// A cipher over `key`.
    pub fn new(key: FernetKey) -> Self {
        Self { key }
    }

    /// The key's non-secret id.
    pub fn key_id(&self) -> KeyId {
        self.key.id()
    }

    /// The key.
    pub fn key(&self) -> &FernetKey {
        &self.key
    }

    fn keys(&self) -> &[FernetKey] {
        std::slice::from_ref(&self.key)
    }

    /// Encrypts `data` with the current time as the token's timestamp.
    pub fn encrypt(&self, data: &[u8]) -> String {
        self.encrypt_at(data, token::now_secs())
    }

    /// Encrypts `data` with `at` (seconds since the Unix epoch) as the timestamp.
    pub fn encrypt_at(&self, data: &[u8], at: u64) -> String {
        token::encrypt(&self.key, data, at)
    }

    /// Verifies and decrypts a token of any age.
    pub fn decrypt(&self, token: impl AsRef<[u8]>) -> Result<Plaintext> {
        self.decrypt_at(token, None, token::now_secs())
    }

    /// Verifies and decrypts a token no older than `ttl`. A token whose timestamp is more than
    /// 60 s in the future is invalid; an older one is [`crate::Error::Expired`].
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
        token::decrypt(self.keys(), token.as_ref(), ttl, now)
            .map(|opened| token::into_plaintext(opened.plaintext))
    }

    /// The timestamp of an authentic token (seconds since the Unix epoch). The MAC is verified
    /// first; the payload is decrypted and discarded.
    pub fn extract_timestamp(&self, token: impl AsRef<[u8]>) -> Result<u64> {
        token::open(self.keys(), token.as_ref()).map(|opened| opened.timestamp)
    }
}

impl fmt::Debug for Fernet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fernet").field("key", &self.key).finish()
    }
}
