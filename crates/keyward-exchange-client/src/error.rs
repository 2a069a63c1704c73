//! The crate's one error type: venue answers mapped to kinds a bot can act on, plus the client's
//! own failures. No variant holds a secret, a signature, a signed URL or a request body.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use keyward_resilience::FailureKind;
use keyward_signing::Scheme;

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
///
/// The venue's own refusals are one variant, [`Error::Venue`], whose [`ErrorKind`] says what
/// the venue meant; the client's own failures have a variant each. Errors from the layers
/// below (signing, the secret store, the resilience policies) are kept whole as the
/// [`source`](std::error::Error::source) of [`Error::Config`], [`Error::Credentials`] and
/// [`Error::Signing`], never flattened to text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The venue refused the request. `kind` is one of [`ErrorKind::Authentication`] (wrong
    /// key, secret or signature; not retried), [`ErrorKind::Permission`] (the key may not do
    /// this), [`ErrorKind::RateLimited`] (wait at least `retry_after` when given),
    /// [`ErrorKind::Timestamp`] (outside the venue's window; resynced and retried once),
    /// [`ErrorKind::Nonce`] (not greater than the last one the venue saw for the key),
    /// [`ErrorKind::InsufficientFunds`], [`ErrorKind::Rejected`] (any other refusal) or
    /// [`ErrorKind::Server`] (a 5xx that retrying did not cure).
    #[error("{}", refusal(*.kind, *.venue, .detail, *.retry_after))]
    Venue {
        /// What the venue meant.
        kind: ErrorKind,
        /// The venue (preset).
        venue: Scheme,
        /// What the venue said.
        detail: VenueDetail,
        /// The venue's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
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
        venue: Scheme,
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
        venue: Scheme,
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
        venue: Scheme,
        /// The local limit that refused (`weight/1m`, `orders/1d`).
        limit: String,
        /// How long the call would have had to wait.
        wait: Duration,
    },
    /// No answer in time.
    #[error("{venue} did not answer {endpoint} in time")]
    Timeout {
        /// The venue.
        venue: Scheme,
        /// The endpoint (path without query).
        endpoint: String,
    },
    /// The request could not be sent or its answer not read. `connect` says whether it failed
    /// before reaching the server (then it certainly was not executed).
    #[error("could not reach {venue} at {endpoint}: {reason}")]
    Transport {
        /// The venue.
        venue: Scheme,
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
        venue: Scheme,
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
        venue: Scheme,
        /// How long until the breaker lets trial calls through, if known.
        retry_after: Option<Duration>,
    },
    /// The client is configured wrongly (base URL, credentials, limits); `source` is the lower
    /// layer's error, when one refused.
    #[error("invalid client configuration: {reason}")]
    Config {
        /// What is wrong, and what to do about it.
        reason: String,
        /// The error underneath, if any.
        #[source]
        source: Option<Cause>,
    },
    /// The credentials could not be read from the secret store (`source`: the store's error),
    /// or the secret lacks a field.
    #[error("could not load credentials: {reason}")]
    Credentials {
        /// What failed (never a secret's value).
        reason: String,
        /// The store's error, if it refused.
        #[source]
        source: Option<Cause>,
    },
    /// The request could not be signed (missing passphrase, exhausted nonce source, ...).
    #[error("could not sign the request for {venue}")]
    Signing {
        /// The venue.
        venue: Scheme,
        /// The signer's error (it names no secret).
        #[source]
        source: Cause,
    },
}

/// The error of a lower layer under an [`Error::Config`], [`Error::Credentials`] or
/// [`Error::Signing`], kept whole (its own [`source`](std::error::Error::source) chain
/// included) rather than turned into text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Cause {
    /// From `keyward-signing` (a key that does not fit the scheme, a nonce source, a clock).
    #[error(transparent)]
    Signing(Arc<keyward_signing::Error>),
    /// From `keyward-secrets-backends` (the secret store).
    #[error(transparent)]
    Store(Arc<keyward_secrets_backends::Error>),
    /// From `keyward-resilience` (a rate limit or retry policy that cannot be built).
    #[error(transparent)]
    Resilience(keyward_resilience::Error),
}

impl From<keyward_signing::Error> for Cause {
    fn from(e: keyward_signing::Error) -> Self {
        Self::Signing(Arc::new(e))
    }
}

impl From<keyward_secrets_backends::Error> for Cause {
    fn from(e: keyward_secrets_backends::Error) -> Self {
        Self::Store(Arc::new(e))
    }
}

impl From<keyward_resilience::Error> for Cause {
    fn from(e: keyward_resilience::Error) -> Self {
        Self::Resilience(e)
    }
}

/// The sentence of a venue's refusal: one per kind, naming what to do.
fn refusal(
    kind: ErrorKind,
    venue: Scheme,
    detail: &VenueDetail,
    retry_after: Option<Duration>,
) -> String {
    match kind {
        ErrorKind::Authentication => format!(
            "{venue} refused the credentials ({detail}); check the API key, secret and passphrase"
        ),
        ErrorKind::Permission => {
            format!("{venue} says the key may not do this ({detail}); check the key's permissions")
        }
        ErrorKind::RateLimited => format!(
            "{venue} rate limit hit ({detail}){}",
            retry_hint(retry_after)
        ),
        ErrorKind::Timestamp => format!(
            "{venue} refused the request's timestamp ({detail}); the local clock is too far from the server's"
        ),
        ErrorKind::Nonce => format!(
            "{venue} refused the nonce ({detail}); share one persistent nonce source per key"
        ),
        ErrorKind::InsufficientFunds => format!("{venue}: insufficient funds ({detail})"),
        ErrorKind::Server => format!("{venue} answered with a server error ({detail})"),
        _ => format!("{venue} rejected the request ({detail})"),
    }
}

fn retry_hint(retry_after: Option<Duration>) -> String {
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

/// The kind of an [`Error`], without its data: the variant's name, or for [`Error::Venue`]
/// what the venue meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The venue refused the credentials (wrong key, wrong secret, bad signature).
    Authentication,
    /// The key is valid but may not do this (missing permission, IP not allowed).
    Permission,
    /// The venue's rate limit was hit.
    RateLimited,
    /// The request's timestamp was outside the venue's window.
    Timestamp,
    /// The nonce was not greater than the last one the venue saw for the key (another
    /// process uses the key, or a persistent nonce file was not used across restarts).
    Nonce,
    /// The account lacks the funds for the order.
    InsufficientFunds,
    /// Any other refusal by the venue (bad parameter, unknown order, ...).
    Rejected,
    /// The venue answered with a server error (5xx).
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
            Self::Venue { kind, .. } => *kind,
            Self::UnknownOutcome { .. } => ErrorKind::UnknownOutcome,
            Self::UnexpectedStatus { .. } => ErrorKind::UnexpectedStatus,
            Self::RateLimitWait { .. } => ErrorKind::RateLimitWait,
            Self::Timeout { .. } => ErrorKind::Timeout,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::CircuitOpen { .. } => ErrorKind::CircuitOpen,
            Self::Config { .. } => ErrorKind::Config,
            Self::Credentials { .. } => ErrorKind::Credentials,
            Self::Signing { .. } => ErrorKind::Signing,
        }
    }

    /// The venue's answer, for the venue's refusals ([`Error::Venue`]).
    pub fn venue_detail(&self) -> Option<&VenueDetail> {
        match self {
            Self::Venue { detail, .. } => Some(detail),
            _ => None,
        }
    }

    /// A refusal by `venue` of kind `kind` (one of the venue kinds listed on [`Error::Venue`]).
    pub(crate) fn refused(
        kind: ErrorKind,
        venue: Scheme,
        detail: VenueDetail,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::Venue {
            kind,
            venue,
            detail,
            retry_after,
        }
    }

    /// A configuration error with nothing underneath.
    pub(crate) fn config(reason: impl Into<String>) -> Self {
        Self::Config {
            reason: reason.into(),
            source: None,
        }
    }

    /// A configuration error a lower layer's `source` caused.
    pub(crate) fn config_from(reason: impl Into<String>, source: impl Into<Cause>) -> Self {
        Self::Config {
            reason: reason.into(),
            source: Some(source.into()),
        }
    }

    /// The error with every occurrence of `api_key` in the venue's message shortened to its
    /// first four characters (Bybit's sign errors echo the signed string, key included).
    pub(crate) fn without_key(mut self, api_key: &str) -> Self {
        if let Self::Venue { detail, .. } = &mut self {
            if api_key.len() >= 4 && detail.message.contains(api_key) {
                detail.message = detail
                    .message
                    .replace(api_key, &crate::credentials::key_hint(api_key));
            }
        }
        self
    }

    /// How the retry policy sees this error (see `keyward_resilience::retry`): the one place
    /// the client's errors meet the resilience crate's [`FailureKind`].
    pub fn failure_kind(&self) -> FailureKind {
        match self {
            Self::Venue {
                kind, retry_after, ..
            } => match kind {
                ErrorKind::RateLimited => FailureKind::RateLimited {
                    retry_after: *retry_after,
                },
                ErrorKind::Server => FailureKind::ServerError {
                    retry_after: *retry_after,
                },
                // A nonce refusal proves the request was not executed; the retry draws a new one.
                ErrorKind::Nonce => FailureKind::RejectedBeforeExecution,
                // Timestamps are resynced and retried once inside the attempt; not again here.
                _ => FailureKind::ClientError,
            },
            Self::Timeout { .. } => FailureKind::Timeout,
            Self::Transport { connect: true, .. } => FailureKind::ConnectRefused,
            // Sent, but the answer was lost: it may have been executed.
            Self::Transport { connect: false, .. } => FailureKind::Other { retryable: true },
            _ => FailureKind::ClientError,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_reads_as_a_sentence_with_the_venue_code() {
        let e = Error::refused(
            ErrorKind::Authentication,
            Scheme::Binance,
            VenueDetail::new(
                400,
                Some("-1022".into()),
                "Signature for this request is not valid.",
            ),
            None,
        );
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
        let e = Error::refused(
            ErrorKind::RateLimited,
            Scheme::Okx,
            d,
            Some(Duration::from_secs(2)),
        );
        assert!(e.to_string().contains("retry after 2s"));
        assert_eq!(e.failure_kind().retry_after(), Some(Duration::from_secs(2)));
        let t = Error::Transport {
            venue: Scheme::Okx,
            endpoint: "/x".into(),
            connect: true,
            reason: "refused".into(),
        };
        assert!(t.failure_kind().never_executed());
    }

    #[test]
    fn the_api_key_is_cut_out_of_venue_messages() {
        let e = Error::refused(
            ErrorKind::Authentication,
            Scheme::Bybit,
            VenueDetail::new(
                200,
                Some("10004".into()),
                "error sign! origin_string[1700000000000LONGAPIKEY12345000category=spot]",
            ),
            None,
        )
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

    #[test]
    fn a_lower_layer_error_is_kept_whole_as_the_source() {
        let signing = keyward_signing::Signer::new(
            Scheme::Kraken,
            &keyward_signing::Credentials::new("k", "not base64!".into()),
        )
        .unwrap_err();
        let shown = signing.to_string();
        let e = Error::config_from("the credentials cannot sign for kraken", signing);
        assert_eq!(e.kind(), ErrorKind::Config);
        let source = std::error::Error::source(&e).unwrap();
        assert_eq!(source.to_string(), shown);
        assert!(matches!(
            source.downcast_ref::<Cause>(),
            Some(Cause::Signing(_))
        ));
        assert_eq!(
            e.to_string(),
            "invalid client configuration: the credentials cannot sign for kraken"
        );
    }
}
