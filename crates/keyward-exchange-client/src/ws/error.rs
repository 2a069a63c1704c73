//! [`WsError`]: everything that can go wrong with a WebSocket session, and [`AuthFailure`], what a
//! venue said when it refused the credentials. Neither ever carries key material, a signature or
//! an auth message: only the venue, a redacted URL and the venue's own error code and text.

use std::fmt;
use std::time::Duration;

use keyward_signing::Scheme;

/// The longest venue error text kept, in characters: a venue's message is informative, not a
/// payload, and a long one is cut.
const MAX_MESSAGE_CHARS: usize = 200;

/// What a venue answered when it rejected the authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    /// The venue (or service scheme).
    pub venue: Scheme,
    /// The venue's error code, when it gives one (`-1022`, `60009`, `13004`, `bad_signature`).
    pub code: Option<String>,
    /// The venue's error text (cut at 200 characters).
    pub message: String,
}

impl AuthFailure {
    pub(crate) fn new(venue: Scheme, code: Option<String>, message: &str) -> Self {
        Self {
            venue,
            code,
            message: message.chars().take(MAX_MESSAGE_CHARS).collect(),
        }
    }
}

impl fmt::Display for AuthFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rejected the WebSocket authentication", self.venue)?;
        if let Some(code) = &self.code {
            write!(f, " (code {code})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        f.write_str("; check the API key, secret and passphrase, and the key's permissions")
    }
}

/// " with an X key", for [`WsError::Unsupported`].
fn with_key(key: Option<keyward_signing::keys::KeyKind>) -> String {
    key.map(|k| format!(" with an {k} key")).unwrap_or_default()
}

/// A WebSocket session error. URLs in it are shown without their query; nothing in it carries a
/// secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The URL cannot be used.
    #[error("WebSocket URL {url:?} cannot be used: {reason}")]
    InvalidUrl {
        /// The URL, without its query.
        url: String,
        /// Why.
        reason: &'static str,
    },
    /// The configuration is inconsistent.
    #[error("invalid WebSocket configuration: {reason}")]
    InvalidConfig {
        /// Why.
        reason: &'static str,
    },
    /// The credentials could not be read from the secret store.
    #[error("could not read the credentials {name:?} from the secret store")]
    Credentials {
        /// The secret's name.
        name: String,
        /// What failed: an [`Error::Credentials`](crate::Error::Credentials) holding the
        /// store's error, or naming the missing field.
        #[source]
        source: Box<crate::Error>,
    },
    /// The scheme has no WebSocket authentication keyward can perform, or none with the kind
    /// of key the credentials hold (Coinbase Advanced with a legacy HMAC key).
    #[error("{venue} has no WebSocket authentication keyward can perform{}", with_key(*.key))]
    Unsupported {
        /// The venue.
        venue: Scheme,
        /// The kind of key the venue's WebSocket auth does not take, where that is the reason.
        key: Option<keyward_signing::keys::KeyKind>,
    },
    /// The auth message could not be signed.
    #[error("the {venue} WebSocket auth message could not be signed: {source}")]
    Signing {
        /// The venue.
        venue: Scheme,
        /// The signing error (it names no secret).
        source: keyward_signing::Error,
    },
    /// The TCP, TLS or WebSocket handshake failed.
    #[error("could not open the WebSocket to {url}: {reason}")]
    Connect {
        /// The URL, without its query.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The venue refused the credentials. The session does not reconnect after this: retrying
    /// a bad key would hammer the venue.
    #[error("{}", AuthFailure { venue: *venue, code: code.clone(), message: message.clone() })]
    AuthRejected {
        /// The venue.
        venue: Scheme,
        /// The venue's error code, when it gives one.
        code: Option<String>,
        /// The venue's error text (cut at 200 characters).
        message: String,
    },
    /// The venue did not answer the auth message in time.
    #[error("{venue} did not acknowledge the WebSocket authentication within {timeout:?}")]
    AckTimeout {
        /// The venue.
        venue: Scheme,
        /// The configured ack timeout.
        timeout: Duration,
    },
    /// The connection closed or failed while waiting for the auth acknowledgement.
    #[error("the {venue} WebSocket closed during authentication: {reason}")]
    ClosedDuringAuth {
        /// The venue.
        venue: Scheme,
        /// What happened.
        reason: String,
    },
    /// Kraken's WebSocket token could not be obtained.
    #[error("could not obtain the Kraken WebSocket token: {reason}")]
    Token {
        /// What failed (never the token).
        reason: String,
    },
    /// The venue refused the authentication's timestamp and its clock could not be read to
    /// resync.
    #[error(
        "{venue} refused the WebSocket authentication's timestamp and its server time could not be read"
    )]
    ClockSync {
        /// The venue.
        venue: Scheme,
        /// The REST client's error reading the venue's time.
        #[source]
        source: Box<crate::Error>,
    },
    /// [`ClientBuilder::build_ws`](crate::ClientBuilder::build_ws) could not build the REST
    /// client the session is bound to (base URL, credentials, limits).
    #[error("the client for the {venue} WebSocket session could not be built: {source}")]
    Client {
        /// The venue.
        venue: Scheme,
        /// The builder's error.
        #[source]
        source: Box<crate::Error>,
    },
    /// Kraken's token request got no answer in time.
    #[error("the Kraken WebSocket token request got no answer within {timeout:?}")]
    TokenTimeout {
        /// The configured limit.
        timeout: Duration,
    },
    /// The message could not be sent.
    #[error("could not send on the WebSocket: {reason}")]
    Send {
        /// What failed.
        reason: String,
    },
    /// The session is between connections (reconnecting); the message was not sent.
    #[error("the WebSocket is reconnecting; the message was not sent")]
    NotConnected,
    /// The session is closed.
    #[error("the WebSocket session is closed")]
    Closed,
}

impl WsError {
    /// The venue's rejection, if this error is one.
    pub fn auth_failure(&self) -> Option<AuthFailure> {
        match self {
            WsError::AuthRejected {
                venue,
                code,
                message,
            } => Some(AuthFailure {
                venue: *venue,
                code: code.clone(),
                message: message.clone(),
            }),
            _ => None,
        }
    }
}

impl From<AuthFailure> for WsError {
    fn from(f: AuthFailure) -> Self {
        WsError::AuthRejected {
            venue: f.venue,
            code: f.code,
            message: f.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failure_reads_as_a_sentence_and_long_text_is_cut() {
        let f = AuthFailure::new(Scheme::Okx, Some("60009".into()), "Login failed.");
        assert_eq!(
            WsError::from(f).to_string(),
            "okx rejected the WebSocket authentication (code 60009): Login failed.; check the API \
             key, secret and passphrase, and the key's permissions"
        );
        let long = "x".repeat(1000);
        assert_eq!(
            AuthFailure::new(Scheme::Bybit, None, &long).message.len(),
            200
        );
    }
}
