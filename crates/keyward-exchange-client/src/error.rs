//! The crate's one error type: venue answers mapped to kinds a bot can act on, plus the client's
//! own failures. No variant holds a secret, a signature, a signed URL or a request body.

use std::fmt;
use std::time::Duration;

use keyward_resilience::FailureKind;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the venue said about a refused request: its HTTP status, its own error code and message
/// (as the venue wrote them, cut to 200 characters). Venues never echo credentials in these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VenueDetail {
    /// The HTTP status of the answer.
    pub status: u16,
    /// The venue's error code (`-1022`, `50113`, `EAPI:Invalid key`, ...), if it gave one.
    pub code: Option<String>,
    /// The venue's message.
    pub message: String,
}

impl VenueDetail {
    /// A detail from an answer, the message cut to 200 characters.
    pub fn new(status: u16, code: Option<String>, message: &str) -> Self {
        Self {
            status,
            code,
            message: message.chars().take(200).collect(),
        }
    }
}

impl fmt::Display for VenueDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, ", code {code}")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// Everything a call can fail with. Match on [`Error::kind`] for a stable, data-free view.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The venue refused the credentials (wrong key, wrong secret, bad signature). Not retried.
    #[error("{venue} refused the credentials ({detail}); check the API key, secret and passphrase")]
    Authentication {
        /// The venue (preset name).
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The key is valid but may not do this (missing permission, IP not allowed).
    #[error("{venue} says the key may not do this ({detail}); check the key's permissions")]
    Permission {
        /// The venue.
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The venue's rate limit was hit; wait at least `retry_after` when given.
    #[error("{venue} rate limit hit ({detail}){}", retry_hint(.retry_after))]
    RateLimited {
        /// The venue.
        venue: &'static str,
        /// The venue's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The request's timestamp was outside the venue's window (it was resynced and retried once).
    #[error(
        "{venue} refused the request's timestamp ({detail}); the local clock is too far from the server's"
    )]
    Timestamp {
        /// The venue.
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The nonce was not greater than the last one the venue saw for the key (another process
    /// uses the key, or a persistent nonce file was not used across restarts).
    #[error("{venue} refused the nonce ({detail}); share one persistent nonce source per key")]
    Nonce {
        /// The venue.
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The account lacks the funds for the order.
    #[error("{venue}: insufficient funds ({detail})")]
    InsufficientFunds {
        /// The venue.
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// Any other refusal by the venue (bad parameter, unknown order, ...).
    #[error("{venue} rejected the request ({detail})")]
    Rejected {
        /// The venue.
        venue: &'static str,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// The venue answered with a server error (5xx), and retrying did not help.
    #[error("{venue} answered with a server error ({detail})")]
    Server {
        /// The venue.
        venue: &'static str,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// What the venue said.
        detail: VenueDetail,
    },
    /// A non-idempotent write (an order placement) may or may not have been executed: the
    /// venue answered 5xx, something other than 2xx or 4xx (a 1xx or a 3xx), a 2xx that could
    /// not be read, or no answer came in time. Reconcile (query the order by
    /// `client_order_id`) before sending it again; the client never re-sends it by itself.
    #[error(
        "the outcome of {method} {endpoint} on {venue} is unknown ({reason}); reconcile{} before sending it again",
        reconcile_hint(.client_order_id)
    )]
    UnknownOutcome {
        /// The venue.
        venue: &'static str,
        /// The method.
        method: String,
        /// The endpoint (path without query).
        endpoint: String,
        /// Why the outcome is unknown.
        reason: String,
        /// The order's client order id (the caller's, or the one the client generated), for
        /// venues that take one: look the order up by it.
        client_order_id: Option<String>,
    },
    /// The venue answered with a status that is neither a success (2xx) nor an error (4xx,
    /// 5xx): a 1xx or a 3xx (redirects are never followed, they would carry the signed
    /// request elsewhere). Not retried; an order placement answered so is an
    /// [`Error::UnknownOutcome`].
    #[error(
        "{venue} answered {endpoint} with HTTP {status}, which is not a success; nothing was read"
    )]
    UnexpectedStatus {
        /// The venue.
        venue: &'static str,
        /// The endpoint (path without query).
        endpoint: String,
        /// The HTTP status.
        status: u16,
    },
    /// The client's own rate limiter would have to wait longer than its ceiling
    /// ([`ClientBuilder::max_rate_limit_wait`](crate::ClientBuilder::max_rate_limit_wait)) to
    /// send this call: it failed at once, unsent, rather than park the caller. A venue's
    /// usage headers can raise the local count up to the limit's capacity.
    #[error(
        "{venue}'s rate limit {limit} would hold this call for {wait:?}, longer than the client waits; it was not sent"
    )]
    RateLimitWait {
        /// The venue.
        venue: &'static str,
        /// The local limit that refused (`weight/1m`, `orders/1d`).
        limit: String,
        /// How long the call would have had to wait.
        wait: Duration,
    },
    /// No answer in time.
    #[error("{venue} did not answer {endpoint} in time")]
    Timeout {
        /// The venue.
        venue: &'static str,
        /// The endpoint (path without query).
        endpoint: String,
    },
    /// The request could not be sent or its answer not read. `connect` says whether it failed
    /// before reaching the server (then it certainly was not executed).
    #[error("could not reach {venue} at {endpoint}: {reason}")]
    Transport {
        /// The venue.
        venue: &'static str,
        /// The endpoint (path without query).
        endpoint: String,
        /// Whether the connection itself failed (the request never left).
        connect: bool,
        /// The transport's message, without the URL.
        reason: String,
    },
    /// The answer was not what the venue documents.
    #[error("could not read {venue}'s answer from {endpoint}: {reason}")]
    Decode {
        /// The venue.
        venue: &'static str,
        /// The endpoint (path without query).
        endpoint: String,
        /// What was wrong.
        reason: String,
    },
    /// The venue's circuit breaker is open: calls are refused locally until it lets a trial
    /// call through.
    #[error("circuit for {venue} is open; calls resume{}", open_hint(.retry_after))]
    CircuitOpen {
        /// The venue.
        venue: &'static str,
        /// How long until the breaker lets trial calls through, if known.
        retry_after: Option<Duration>,
    },
    /// The client is configured wrongly (base URL, credentials, limits).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The credentials could not be read from the secret store.
    #[error("could not load credentials: {0}")]
    Credentials(String),
    /// The request could not be signed (missing passphrase, exhausted nonce source, ...).
    #[error("could not sign the request: {0}")]
    Signing(String),
}

fn retry_hint(retry_after: &Option<Duration>) -> String {
    retry_after.map_or_else(String::new, |d| format!("; retry after {d:?}"))
}

fn reconcile_hint(client_order_id: &Option<String>) -> String {
    client_order_id
        .as_deref()
        .map_or_else(String::new, |id| format!(" (client order id {id})"))
}

fn open_hint(retry_after: &Option<Duration>) -> String {
    retry_after.map_or_else(
        || " once it half-opens".to_owned(),
        |d| format!(" in {d:?}"),
    )
}

/// The kind of an [`Error`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// [`Error::Authentication`].
    Authentication,
    /// [`Error::Permission`].
    Permission,
    /// [`Error::RateLimited`].
    RateLimited,
    /// [`Error::Timestamp`].
    Timestamp,
    /// [`Error::Nonce`].
    Nonce,
    /// [`Error::InsufficientFunds`].
    InsufficientFunds,
    /// [`Error::Rejected`].
    Rejected,
    /// [`Error::Server`].
    Server,
    /// [`Error::UnknownOutcome`].
    UnknownOutcome,
    /// [`Error::UnexpectedStatus`].
    UnexpectedStatus,
    /// [`Error::RateLimitWait`].
    RateLimitWait,
    /// [`Error::Timeout`].
    Timeout,
    /// [`Error::Transport`].
    Transport,
    /// [`Error::Decode`].
    Decode,
    /// [`Error::CircuitOpen`].
    CircuitOpen,
    /// [`Error::Config`].
    Config,
    /// [`Error::Credentials`].
    Credentials,
    /// [`Error::Signing`].
    Signing,
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Authentication { .. } => ErrorKind::Authentication,
            Self::Permission { .. } => ErrorKind::Permission,
            Self::RateLimited { .. } => ErrorKind::RateLimited,
            Self::Timestamp { .. } => ErrorKind::Timestamp,
            Self::Nonce { .. } => ErrorKind::Nonce,
            Self::InsufficientFunds { .. } => ErrorKind::InsufficientFunds,
            Self::Rejected { .. } => ErrorKind::Rejected,
            Self::Server { .. } => ErrorKind::Server,
            Self::UnknownOutcome { .. } => ErrorKind::UnknownOutcome,
            Self::UnexpectedStatus { .. } => ErrorKind::UnexpectedStatus,
            Self::RateLimitWait { .. } => ErrorKind::RateLimitWait,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::CircuitOpen { .. } => ErrorKind::CircuitOpen,
            Self::Config(_) => ErrorKind::Config,
            Self::Credentials(_) => ErrorKind::Credentials,
            Self::Signing(_) => ErrorKind::Signing,
        }
    }

    /// The venue's answer, for errors that carry one.
    pub fn venue_detail(&self) -> Option<&VenueDetail> {
        match self {
            Self::Authentication { detail, .. }
            | Self::Permission { detail, .. }
            | Self::RateLimited { detail, .. }
            | Self::Timestamp { detail, .. }
            | Self::Nonce { detail, .. }
            | Self::InsufficientFunds { detail, .. }
            | Self::Rejected { detail, .. }
            | Self::Server { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// The error with every occurrence of `api_key` in the venue's message shortened to its
    /// first four characters (Bybit's sign errors echo the signed string, key included).
    pub(crate) fn without_key(mut self, api_key: &str) -> Self {
        if api_key.len() >= 4 {
            if let Some(d) = self.detail_mut() {
                if d.message.contains(api_key) {
                    d.message = d
                        .message
                        .replace(api_key, &crate::credentials::key_hint(api_key));
                }
            }
        }
        self
    }

    fn detail_mut(&mut self) -> Option<&mut VenueDetail> {
        match self {
            Self::Authentication { detail, .. }
            | Self::Permission { detail, .. }
            | Self::RateLimited { detail, .. }
            | Self::Timestamp { detail, .. }
            | Self::Nonce { detail, .. }
            | Self::InsufficientFunds { detail, .. }
            | Self::Rejected { detail, .. }
            | Self::Server { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// How the retry policy sees this error (see `keyward_resilience::retry`).
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Self::RateLimited { retry_after, .. } => FailureKind::RateLimited {
                retry_after: *retry_after,
            },
            Self::Server { retry_after, .. } => FailureKind::ServerError {
                retry_after: *retry_after,
            },
            Self::Timeout { .. } => FailureKind::Timeout,
            Self::Transport { connect: true, .. } => FailureKind::ConnectRefused,
            // Sent, but the answer was lost: it may have been executed.
            Self::Transport { connect: false, .. } => FailureKind::Other { retryable: true },
            // A nonce refusal proves the request was not executed; the retry draws a new one.
            Self::Nonce { .. } => FailureKind::RejectedBeforeExecution,
            // Timestamps are resynced and retried once inside the attempt; not again here.
            _ => FailureKind::ClientError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_as_a_sentence_with_the_venue_code() {
        let e = Error::Authentication {
            venue: "binance",
            detail: VenueDetail::new(
                400,
                Some("-1022".into()),
                "Signature for this request is not valid.",
            ),
        };
        assert_eq!(
            e.to_string(),
            "binance refused the credentials (HTTP 400, code -1022: Signature for this request is not valid.); check the API key, secret and passphrase"
        );
        assert_eq!(e.kind(), ErrorKind::Authentication);
        assert_eq!(e.failure_kind(), FailureKind::ClientError);
    }

    #[test]
    fn retry_classification() {
        let d = VenueDetail::new(429, None, "");
        let e = Error::RateLimited {
            venue: "okx",
            retry_after: Some(Duration::from_secs(2)),
            detail: d,
        };
        assert!(e.to_string().contains("retry after 2s"));
        assert_eq!(e.failure_kind().retry_after(), Some(Duration::from_secs(2)));
        let t = Error::Transport {
            venue: "okx",
            endpoint: "/x".into(),
            connect: true,
            reason: "refused".into(),
        };
        assert!(t.failure_kind().never_executed());
    }

    #[test]
    fn the_api_key_is_cut_out_of_venue_messages() {
        let e = Error::Authentication {
            venue: "bybit",
            detail: VenueDetail::new(
                200,
                Some("10004".into()),
                "error sign! origin_string[1700000000000LONGAPIKEY12345000category=spot]",
            ),
        }
        .without_key("LONGAPIKEY123");
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("LONGAPIKEY123"), "{shown}");
        assert!(shown.contains("LONG…"), "{shown}");
    }

    #[test]
    fn long_messages_are_cut() {
        let d = VenueDetail::new(400, None, &"x".repeat(1000));
        assert_eq!(d.message.len(), 200);
    }
}
