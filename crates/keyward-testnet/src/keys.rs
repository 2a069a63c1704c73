//! Asymmetric API keys: the public halves the testnet verifies with ([`VenueKey`]), and fresh
//! key pairs for `keyward testnet serve` ([`KeyPair`], [`generate_key_pairs`]), whose private
//! halves go to the caller and never into the testnet.
//!
//! A key's name is `<venue>-<kind>`, the kind spelled as `keyward key generate --kind` takes it
//! (`ed25519`, `rsa`, `p256`): `binance-ed25519`, `coinbase-advanced-p256`. `keyward testnet
//! serve` stores each generated private half in the vault as `testnet/<name>`.

use std::fmt;

use keyward_signing::keys::{self, GeneratedKey, KeyKind};
use keyward_signing::secrecy::SecretString;
use keyward_signing::{Credentials, Scheme};

use crate::credentials::{VenueCredentials, hex, random_bytes};
use crate::error::{Error, Result};
use crate::venues;

/// The asymmetric kinds a venue may accept, in the order keys are generated and listed.
pub const ASYMMETRIC_KINDS: [KeyKind; 3] = [KeyKind::Ed25519, KeyKind::P256, KeyKind::Rsa];

/// The name of `venue`'s key of `kind`: `<venue>-<kind>` (`binance-ed25519`).
pub fn key_name(venue: &str, kind: KeyKind) -> String {
    format!("{venue}-{}", kind.word())
}

/// The asymmetric kinds `venue` accepts (its signing scheme says), in [`ASYMMETRIC_KINDS`]
/// order; empty for a venue the testnet does not serve or one that takes HMAC keys only.
pub fn accepted_kinds(venue: &str) -> Vec<KeyKind> {
    let Some(rules) = venues::rules(venue) else {
        return Vec::new();
    };
    let scheme = rules.scheme();
    ASYMMETRIC_KINDS
        .into_iter()
        .filter(|k| scheme.accepts_key(*k))
        .collect()
}

/// A public key the testnet accepts requests signed with: the venue, the API key naming it,
/// and the SPKI `PUBLIC KEY` PEM. The testnet never holds the private half.
#[derive(Clone, PartialEq, Eq)]
pub struct VenueKey {
    /// The venue (`binance`, `bybit`, `coinbase-advanced`, ...).
    pub venue: String,
    /// The API key (Coinbase: the key name) requests signed with this key carry.
    pub api_key: String,
    /// The public key as an SPKI `PUBLIC KEY` PEM (a PKCS#1 `RSA PUBLIC KEY` PEM is read too).
    pub public_key: String,
}

impl VenueKey {
    /// A public key for `venue` under `api_key`.
    pub fn new(
        venue: impl Into<String>,
        api_key: impl Into<String>,
        public_pem: impl Into<String>,
    ) -> Self {
        Self {
            venue: venue.into(),
            api_key: api_key.into(),
            public_key: public_pem.into(),
        }
    }

    /// The key's kind, read from the PEM.
    ///
    /// # Errors
    /// [`Error::InvalidPublicKey`] when the text is not a public key (an HMAC secret, a private
    /// key, or a PEM that cannot be read); the message never repeats the text.
    pub fn kind(&self) -> Result<KeyKind> {
        let invalid = |reason: String| Error::InvalidPublicKey {
            venue: self.venue.clone(),
            api_key: short(&self.api_key),
            reason,
        };
        let info = keys::inspect(&SecretString::from(self.public_key.as_str()))
            .map_err(|e| invalid(e.to_string()))?;
        if info.kind == KeyKind::Hmac {
            return Err(invalid(
                "it is not a PEM public key (give the SPKI `PUBLIC KEY` PEM)".to_owned(),
            ));
        }
        if !info.public {
            return Err(invalid(
                "it is a private key: the testnet takes the public half only".to_owned(),
            ));
        }
        Ok(info.kind)
    }

    /// The key's name, `<venue>-<kind>`.
    ///
    /// # Errors
    /// As [`VenueKey::kind`].
    pub fn name(&self) -> Result<String> {
        Ok(key_name(&self.venue, self.kind()?))
    }

    /// Checks that the venue is served, the API key is not empty and the venue accepts the
    /// key's kind; returns the kind. [`Testnet::start`](crate::Testnet::start) checks every
    /// key it is given this way.
    ///
    /// # Errors
    /// [`Error::UnknownVenue`], [`Error::InvalidPublicKey`] or [`Error::KeyNotAccepted`].
    pub fn check(&self) -> Result<KeyKind> {
        let Some(rules) = venues::rules(&self.venue) else {
            return Err(Error::UnknownVenue {
                name: self.venue.clone(),
                known: crate::VENUES.join(", "),
            });
        };
        if self.api_key.is_empty() {
            return Err(Error::InvalidPublicKey {
                venue: self.venue.clone(),
                api_key: String::new(),
                reason: "the API key is empty".to_owned(),
            });
        }
        let kind = self.kind()?;
        let scheme: Scheme = rules.scheme();
        if !scheme.accepts_key(kind) {
            let accepted: Vec<&str> = accepted_kinds(&self.venue)
                .into_iter()
                .map(KeyKind::name)
                .collect();
            return Err(Error::KeyNotAccepted {
                venue: self.venue.clone(),
                kind,
                accepted: if accepted.is_empty() {
                    "HMAC secrets only".to_owned()
                } else {
                    format!("HMAC secrets and {} public keys", accepted.join(", "))
                },
            });
        }
        Ok(kind)
    }

    /// The public key as the verifier takes it: the PEM as the credential's secret text.
    pub(crate) fn to_verifying(&self) -> Credentials {
        Credentials::new(&self.api_key, SecretString::from(self.public_key.as_str()))
    }
}

impl fmt::Debug for VenueKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VenueKey")
            .field("venue", &self.venue)
            .field("api_key", &short(&self.api_key))
            .field("public_key", &self.public_key)
            .finish()
    }
}

/// A fresh key pair for a venue: what a client signs with ([`KeyPair::credentials`]) and what
/// the testnet verifies with ([`KeyPair::public`]). `Debug` never shows the private half.
pub struct KeyPair {
    venue: String,
    api_key: String,
    key: GeneratedKey,
}

impl KeyPair {
    /// A new key pair of `kind` for `venue` under a fresh random API key.
    ///
    /// # Errors
    /// [`Error::KeyNotAccepted`] when the venue does not take `kind`, [`Error::UnknownVenue`]
    /// for a venue the testnet does not serve, [`Error::InvalidPublicKey`] when generation
    /// fails (no OS randomness).
    pub fn generate(venue: &str, kind: KeyKind) -> Result<Self> {
        let api_key = hex(&random_bytes(16)?);
        let key = keys::generate(kind).map_err(|e| Error::InvalidPublicKey {
            venue: venue.to_owned(),
            api_key: short(&api_key),
            reason: format!("generating a {kind} key failed: {e}"),
        })?;
        let pair = Self {
            venue: venue.to_owned(),
            api_key,
            key,
        };
        pair.public().check()?;
        Ok(pair)
    }

    /// The venue.
    pub fn venue(&self) -> &str {
        &self.venue
    }

    /// The API key.
    pub fn api_key(&self) -> &str {
        &self.api_key
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.key.kind()
    }

    /// The key's name, `<venue>-<kind>` (`binance-ed25519`).
    pub fn name(&self) -> String {
        key_name(&self.venue, self.kind())
    }

    /// The private half as a PKCS#8 `PRIVATE KEY` PEM.
    pub fn private_pem(&self) -> &SecretString {
        self.key.private_pem()
    }

    /// The public half the testnet is given.
    pub fn public(&self) -> VenueKey {
        VenueKey::new(&self.venue, &self.api_key, self.key.public_pem())
    }

    /// The client's credentials: the API key and the private PEM as the secret.
    pub fn credentials(&self) -> VenueCredentials {
        VenueCredentials {
            venue: self.venue.clone(),
            api_key: Some(self.api_key.clone()),
            secret: self.key.private_pem().clone(),
            passphrase: None,
        }
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyPair")
            .field("venue", &self.venue)
            .field("api_key", &short(&self.api_key))
            .field("kind", &self.kind())
            .field("private_pem", &"[REDACTED]")
            .finish()
    }
}

/// One fresh key pair per venue and asymmetric kind the venue accepts (Binance Ed25519 and
/// RSA, Bybit RSA, Coinbase Advanced P-256 and Ed25519), in [`crate::VENUES`] then
/// [`ASYMMETRIC_KINDS`] order. RSA keys take the longest (2048-bit primes).
///
/// # Errors
/// As [`KeyPair::generate`].
pub fn generate_key_pairs() -> Result<Vec<KeyPair>> {
    let mut out = Vec::new();
    for venue in crate::VENUES {
        for kind in accepted_kinds(venue) {
            out.push(KeyPair::generate(venue, kind)?);
        }
    }
    Ok(out)
}

/// The first characters of an API key, for messages and `Debug`.
fn short(api_key: &str) -> String {
    format!("{}…", api_key.chars().take(4).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_venue_dash_kind() {
        assert_eq!(key_name("binance", KeyKind::Ed25519), "binance-ed25519");
        assert_eq!(
            key_name("coinbase-advanced", KeyKind::P256),
            "coinbase-advanced-p256"
        );
        for kind in ASYMMETRIC_KINDS {
            assert_eq!(kind.word().parse::<KeyKind>().unwrap(), kind);
        }
    }

    #[test]
    fn accepted_kinds_come_from_the_scheme() {
        assert_eq!(accepted_kinds("binance"), [KeyKind::Ed25519, KeyKind::Rsa]);
        assert_eq!(accepted_kinds("bybit"), [KeyKind::Rsa]);
        assert_eq!(
            accepted_kinds("coinbase-advanced"),
            [KeyKind::Ed25519, KeyKind::P256]
        );
        assert!(accepted_kinds("okx").is_empty());
        assert!(accepted_kinds("nowhere").is_empty());
    }

    #[test]
    fn a_key_pair_debug_never_shows_the_private_half() {
        let pair = KeyPair::generate("binance", KeyKind::Ed25519).unwrap();
        let shown = format!("{pair:?} {:?}", pair.credentials());
        assert!(!shown.contains("PRIVATE"), "{shown}");
        assert!(shown.contains("[REDACTED]"));
        assert_eq!(pair.public().kind().unwrap(), KeyKind::Ed25519);
        assert_eq!(pair.name(), "binance-ed25519");
    }

    #[test]
    fn a_private_key_or_a_secret_is_not_a_public_key() {
        let pair = KeyPair::generate("binance", KeyKind::Ed25519).unwrap();
        use keyward_signing::secrecy::ExposeSecret as _;
        let private = pair.private_pem().expose_secret().to_owned();
        let given = VenueKey::new("binance", "k", private.as_str());
        let err = given.check().unwrap_err();
        assert!(matches!(err, Error::InvalidPublicKey { .. }), "{err}");
        assert!(!err.to_string().contains(&private[40..60]), "{err}");
        assert!(!format!("{err:?}").contains(&private[40..60]));
        let err = VenueKey::new("binance", "k", "just-a-secret")
            .check()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidPublicKey { .. }), "{err}");
        assert!(!err.to_string().contains("just-a-secret"), "{err}");
    }

    #[test]
    fn a_kind_the_venue_does_not_take_is_a_config_error() {
        let p256 = KeyPair::generate("coinbase-advanced", KeyKind::P256).unwrap();
        let err = VenueKey::new("binance", "k", p256.public().public_key)
            .check()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::KeyNotAccepted {
                    kind: KeyKind::P256,
                    ..
                }
            ),
            "{err}"
        );
        let text = err.to_string();
        assert!(
            text.contains("binance") && text.contains("Ed25519, RSA"),
            "{text}"
        );
        let err = VenueKey::new("okx", "k", p256.public().public_key)
            .check()
            .unwrap_err();
        assert!(err.to_string().contains("HMAC secrets only"), "{err}");
        assert!(
            KeyPair::generate("kraken", KeyKind::Ed25519).is_err(),
            "kraken takes HMAC only"
        );
    }
}
