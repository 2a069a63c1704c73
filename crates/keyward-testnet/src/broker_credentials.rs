//! The login credentials of a broker flow the testnet serves (`upstox`): given, or generated
//! fresh. Brokers log in with a user id, a PIN and a TOTP code rather than an API secret, so
//! these carry the fields of a login instead of [`VenueCredentials`](crate::VenueCredentials)'s
//! `secret`.

use std::fmt;

use keyward_signing::secrecy::{ExposeSecret, SecretString};

use crate::credentials::{hex, random_bytes};
use crate::error::{Error, Result};

/// The broker login flows the testnet serves, each on its own listener.
pub const BROKERS: [&str; 1] = ["upstox"];

/// The login fields a broker flow of the testnet accepts. `Debug` shows the venue, the user
/// name and the client id, never the password, PIN, TOTP seed or client secret.
#[derive(Clone)]
pub struct BrokerCredentials {
    /// The broker (`upstox`).
    pub venue: String,
    /// The login user name (Upstox: the registered mobile number).
    pub username: String,
    /// The account password (kept for flows that send it; Upstox's TOTP flow does not).
    pub password: SecretString,
    /// The PIN of the second factor (Upstox: six digits).
    pub pin: SecretString,
    /// The TOTP seed, base32.
    pub totp_secret: SecretString,
    /// The OAuth client id of the app (Upstox: the API key).
    pub client_id: String,
    /// The OAuth client secret of the app (Upstox: the API secret).
    pub client_secret: SecretString,
    /// The redirect URI registered for the app.
    pub redirect_uri: String,
}

impl BrokerCredentials {
    /// Fresh random credentials: a ten-digit mobile number, a six-digit PIN, a 160-bit base32
    /// TOTP seed, a hex client id and secret (characters that need no URL encoding, as the
    /// `upstox-totp` SDK sends them unencoded), and a loopback redirect URI.
    pub fn generate(venue: &str) -> Result<Self> {
        let digits = |n: usize| -> Result<String> {
            Ok(random_bytes(n)?
                .iter()
                .map(|b| char::from(b'0' + b % 10))
                .collect())
        };
        let seed = totp_rs::Secret::Raw(random_bytes(20)?).to_encoded();
        let totp_secret = match &seed {
            totp_rs::Secret::Encoded(text) => text.clone(),
            totp_rs::Secret::Raw(_) => {
                return Err(Error::InvalidCredentials {
                    venue: venue.to_owned(),
                    reason: "the TOTP seed could not be encoded".to_owned(),
                });
            }
        };
        Ok(Self {
            venue: venue.to_owned(),
            username: format!("9{}", digits(9)?),
            password: SecretString::from(hex(&random_bytes(12)?)),
            pin: SecretString::from(digits(6)?),
            totp_secret: SecretString::from(totp_secret),
            client_id: hex(&random_bytes(16)?),
            client_secret: SecretString::from(hex(&random_bytes(16)?)),
            redirect_uri: "http://127.0.0.1/keyward/upstox/callback".to_owned(),
        })
    }

    /// Checks that the credentials can log in: every field set, a TOTP seed that is base32,
    /// and a redirect URI to a loopback address (the testnet never points anywhere else).
    pub(crate) fn check(&self) -> Result<()> {
        let invalid = |reason: &str| Error::InvalidCredentials {
            venue: self.venue.clone(),
            reason: reason.to_owned(),
        };
        for (name, empty) in [
            ("username", self.username.is_empty()),
            ("pin", self.pin.expose_secret().is_empty()),
            ("totp_secret", self.totp_secret.expose_secret().is_empty()),
            ("client_id", self.client_id.is_empty()),
            (
                "client_secret",
                self.client_secret.expose_secret().is_empty(),
            ),
            ("redirect_uri", self.redirect_uri.is_empty()),
        ] {
            if empty {
                return Err(invalid(&format!("the {name} is empty")));
            }
        }
        if self.seed().is_none() {
            return Err(invalid("the totp_secret is not a base32 seed"));
        }
        if !is_loopback_http(&self.redirect_uri) {
            return Err(invalid(
                "the redirect_uri must be an http:// URL to a loopback address",
            ));
        }
        Ok(())
    }

    /// The TOTP seed's bytes, or None when it is not base32 (spaces, lower case and missing
    /// padding accepted).
    pub(crate) fn seed(&self) -> Option<Vec<u8>> {
        let clean: String = self
            .totp_secret
            .expose_secret()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        totp_rs::Secret::Encoded(clean)
            .to_bytes()
            .ok()
            .filter(|b| !b.is_empty())
    }
}

/// Whether `uri` is `http://` to `127.0.0.0/8`, `[::1]` or `localhost`.
fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl fmt::Debug for BrokerCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerCredentials")
            .field("venue", &self.venue)
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .field("pin", &"[REDACTED]")
            .field("totp_secret", &"[REDACTED]")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_credentials_check_and_differ() {
        let a = BrokerCredentials::generate("upstox").unwrap();
        let b = BrokerCredentials::generate("upstox").unwrap();
        a.check().unwrap();
        assert_eq!(a.username.len(), 10);
        assert_eq!(a.pin.expose_secret().len(), 6);
        assert_eq!(a.seed().unwrap().len(), 20);
        assert_ne!(a.totp_secret.expose_secret(), b.totp_secret.expose_secret());
    }

    #[test]
    fn debug_redacts_every_secret() {
        let mut c = BrokerCredentials::generate("upstox").unwrap();
        c.password = SecretString::from("CANARY-PASSWORD");
        c.pin = SecretString::from("CANARY-PIN");
        c.totp_secret = SecretString::from("CANARYSEED");
        c.client_secret = SecretString::from("CANARY-CLIENT-SECRET");
        let shown = format!("{c:?}");
        assert!(!shown.contains("CANARY"), "{shown}");
    }

    #[test]
    fn bad_credentials_are_refused() {
        let mut c = BrokerCredentials::generate("upstox").unwrap();
        c.redirect_uri = "https://example.com/cb".to_owned();
        assert!(c.check().is_err());
        let mut c = BrokerCredentials::generate("upstox").unwrap();
        c.totp_secret = SecretString::from("not base32 !!");
        assert!(c.check().is_err());
        let mut c = BrokerCredentials::generate("upstox").unwrap();
        c.pin = SecretString::from("");
        assert!(c.check().is_err());
        for ok in [
            "http://127.0.0.1:8/cb",
            "http://[::1]/cb",
            "http://localhost/x",
        ] {
            assert!(is_loopback_http(ok), "{ok}");
        }
        assert!(!is_loopback_http("http://127.0.0.1.example.com/cb"));
    }
}
