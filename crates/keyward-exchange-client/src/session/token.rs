//! [`AccessToken`]: a token a broker login issued, and the [`ExpiryRule`] that says when it
//! stops working.

use std::fmt;
use std::time::SystemTime;

use secrecy::{ExposeSecret, SecretString};

/// An access token a broker issued at the end of a login.
///
/// The value is held in a [`SecretString`]: it is wiped when the token is dropped, `Debug`
/// shows only whether an expiry is known, and no error carries it.
#[derive(Clone)]
pub struct AccessToken {
    value: SecretString,
    expires_at: Option<SystemTime>,
}

impl AccessToken {
    /// A token with no expiry known yet; the cache works it out from the provider's
    /// [`ExpiryRule`].
    pub fn new(value: SecretString) -> Self {
        Self {
            value,
            expires_at: None,
        }
    }

    /// The same token with the expiry the broker's answer stated (an `expires_in`, say).
    #[must_use]
    pub fn with_expiry(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// The token itself, to put in an `Authorization` header. Never log it.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// The expiry the broker's answer stated, if it stated one.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"[redacted]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// When a broker's tokens stop working, besides an expiry stated in the login answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiryRule {
    /// The token is a JWT: its `exp` claim (read without verifying the signature, only to
    /// schedule a refresh) is the expiry.
    JwtExp,
    /// Every token dies at a wall-clock time of day in a named IANA zone: the first such
    /// instant after the token was issued (Upstox: 03:30, `Asia/Kolkata`).
    DailyCutoff {
        /// The hour of the cutoff, 0 to 23, in `zone`.
        hour: u8,
        /// The minute of the cutoff, 0 to 59.
        minute: u8,
        /// The IANA zone name, such as `Asia/Kolkata` or `America/New_York`.
        zone: &'static str,
    },
}
