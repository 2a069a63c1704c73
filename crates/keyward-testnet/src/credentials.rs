//! The credentials each venue and service scheme accepts: given, or generated fresh.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_signing::secrecy::{ExposeSecret, SecretString};
use keyward_signing::{Credentials, Scheme, Signer};

use crate::error::{Error, Result};
use crate::venues::{self, SecretForm};

/// The credentials a venue (or service scheme) of the testnet accepts. `Debug` shows the venue
/// and a shortened API key, never the secret or passphrase.
#[derive(Clone)]
pub struct VenueCredentials {
    /// The venue or service scheme name (`binance`, `hmac-concat`, ...).
    pub venue: String,
    /// The API key; `None` for `hmac-newline-v0`, whose requests carry no key id.
    pub api_key: Option<String>,
    /// The secret, in the form the venue issues it (base64 for Kraken and Coinbase Exchange).
    pub secret: SecretString,
    /// The passphrase (OKX, Coinbase Exchange) or memo (BitMart).
    pub passphrase: Option<SecretString>,
}

impl VenueCredentials {
    /// Credentials with an API key and a secret, without a passphrase.
    pub fn new(venue: impl Into<String>, api_key: impl Into<String>, secret: &str) -> Self {
        Self {
            venue: venue.into(),
            api_key: Some(api_key.into()),
            secret: SecretString::from(secret),
            passphrase: None,
        }
    }

    /// Adds a passphrase (OKX, Coinbase Exchange) or memo (BitMart).
    pub fn with_passphrase(mut self, passphrase: &str) -> Self {
        self.passphrase = Some(SecretString::from(passphrase));
        self
    }

    /// Fresh random credentials in the form `venue` issues: hex secrets, except base64 for
    /// Kraken and Coinbase Exchange; a passphrase where the venue needs one; no API key for
    /// `hmac-newline-v0`.
    pub fn generate(venue: &str) -> Result<Self> {
        let secret = match secret_form(venue) {
            SecretForm::Base64 => STANDARD.encode(random_bytes(64)?),
            SecretForm::Hex => hex(&random_bytes(32)?),
        };
        let api_key = (venue != "hmac-newline-v0")
            .then(|| random_bytes(16).map(|b| hex(&b)))
            .transpose()?;
        let passphrase = if needs_passphrase(venue) {
            Some(SecretString::from(hex(&random_bytes(8)?)))
        } else {
            None
        };
        Ok(Self {
            venue: venue.to_owned(),
            api_key,
            secret: SecretString::from(secret),
            passphrase,
        })
    }

    /// The API key, or the key id the testnet uses for `hmac-newline-v0` (its name).
    pub fn key_id(&self) -> &str {
        self.api_key.as_deref().unwrap_or(&self.venue)
    }

    /// The same credentials as `keyward_signing` takes them.
    pub fn to_signing(&self) -> Credentials {
        let creds = Credentials::new(self.key_id(), self.secret.clone());
        match &self.passphrase {
            Some(p) => creds.with_passphrase(p.clone()),
            None => creds,
        }
    }

    /// Checks that the credentials can sign for their venue.
    pub(crate) fn check(&self, scheme: Scheme) -> Result<()> {
        let invalid = |reason: &str| Error::InvalidCredentials {
            venue: self.venue.clone(),
            reason: reason.to_owned(),
        };
        if self.secret.expose_secret().is_empty() {
            return Err(invalid("the secret is empty"));
        }
        if needs_passphrase(&self.venue) && self.passphrase.is_none() {
            return Err(invalid("the venue needs a passphrase"));
        }
        if self.api_key.is_none() && self.venue != "hmac-newline-v0" {
            return Err(invalid("the venue needs an API key"));
        }
        Signer::new(scheme, &self.to_signing())
            .map(|_| ())
            .map_err(|e| invalid(&e.to_string()))
    }
}

/// Whether the venue's credentials carry a passphrase: the venue's rules say (the service
/// schemes take none).
fn needs_passphrase(venue: &str) -> bool {
    venues::rules(venue).is_some_and(|r| r.needs_passphrase())
}

/// The form of the venue's secrets: the venue's rules say (the service schemes take hex).
fn secret_form(venue: &str) -> SecretForm {
    venues::rules(venue).map_or(SecretForm::Hex, |r| r.secret_form())
}

impl fmt::Debug for VenueCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = self
            .api_key
            .as_ref()
            .map(|k| format!("{}…", k.chars().take(4).collect::<String>()));
        f.debug_struct("VenueCredentials")
            .field("venue", &self.venue)
            .field("api_key", &key)
            .field("secret", &"[REDACTED]")
            .field(
                "passphrase",
                &self.passphrase.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// `n` random bytes from the operating system.
pub(crate) fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    getrandom::getrandom(&mut buf).map_err(|e| Error::InvalidCredentials {
        venue: "(generated)".to_owned(),
        reason: format!("the operating system gave no randomness: {e}"),
    })?;
    Ok(buf)
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets() {
        let c = VenueCredentials::new("okx", "AKEYVALUE", "CANARY-SECRET")
            .with_passphrase("CANARY-PASS");
        let shown = format!("{c:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
        assert!(shown.contains("[REDACTED]"));
        assert!(!shown.contains("AKEYVALUE"));
    }

    #[test]
    fn generated_credentials_fit_their_venue() {
        for venue in crate::VENUES.iter().chain(crate::SERVICE_SCHEMES.iter()) {
            let c = VenueCredentials::generate(venue).unwrap();
            let scheme: Scheme = venue.parse().unwrap();
            c.check(scheme).unwrap();
        }
        let a = VenueCredentials::generate("binance").unwrap();
        let b = VenueCredentials::generate("binance").unwrap();
        assert_ne!(a.secret.expose_secret(), b.secret.expose_secret());
        assert!(
            VenueCredentials::generate("hmac-newline-v0")
                .unwrap()
                .api_key
                .is_none()
        );
    }

    #[test]
    fn bad_credentials_are_refused() {
        let c = VenueCredentials::new("kraken", "k", "not base64 !!");
        assert!(matches!(
            c.check(Scheme::Kraken),
            Err(Error::InvalidCredentials { .. })
        ));
        let c = VenueCredentials::new("okx", "k", "s");
        assert!(c.check(Scheme::Okx).is_err());
    }
}
