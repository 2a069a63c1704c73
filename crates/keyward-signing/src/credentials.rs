//! API credentials: a public key id and a secret (plus a passphrase for some venues).

use std::fmt;

use secrecy::SecretString;

/// What a venue issues: an API key (public identifier), a secret and, for OKX and Coinbase
/// Exchange, a passphrase (BitMart calls it a memo). The secret and passphrase are
/// `secrecy` strings: zeroized on drop and `[REDACTED]` in `Debug`.
#[derive(Clone)]
pub struct Credentials {
    api_key: String,
    secret: SecretString,
    passphrase: Option<SecretString>,
}

impl Credentials {
    /// Credentials without a passphrase.
    pub fn new(api_key: impl Into<String>, secret: SecretString) -> Self {
        Self {
            api_key: api_key.into(),
            secret,
            passphrase: None,
        }
    }

    /// Adds the passphrase (OKX, Coinbase Exchange) or memo (BitMart).
    pub fn with_passphrase(mut self, passphrase: SecretString) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// The API key (a public identifier, sent in clear to the venue).
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The secret.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// The passphrase, if any.
    pub fn passphrase(&self) -> Option<&SecretString> {
        self.passphrase.as_ref()
    }
}

/// The API key is shown shortened (it identifies an account); the secret and passphrase never.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("api_key", &short_key(&self.api_key))
            .field("secret", &"[REDACTED]")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// The first four characters of an API key and an ellipsis.
pub(crate) fn short_key(key: &str) -> String {
    let head: String = key.chars().take(4).collect();
    format!("{head}…")
}
