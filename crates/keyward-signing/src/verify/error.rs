//! Why a request was rejected: typed, actionable, and never carrying a secret or a signature.

/// A verification failure. Each maps to an HTTP status ([`VerifyError::status`]) and a short
/// machine-readable kind ([`VerifyError::kind`]). A signature mismatch is opaque: it never says
/// which byte differed or what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header or parameter the scheme needs is missing or badly formed.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// No active secret is known for the request's key.
    #[error("unknown key")]
    UnknownKey,
    /// The signature does not match.
    #[error("signature mismatch")]
    BadSignature,
    /// The request is older than the freshness window allows (or past its expiry).
    #[error("request expired: it is {age_ms} ms older than allowed; check the client's clock")]
    Expired {
        /// How far past the allowed age the request is, in milliseconds.
        age_ms: u64,
    },
    /// The request's time is further in the future than the window allows.
    #[error(
        "request timestamp is {ahead_ms} ms ahead of the server's clock; check the client's clock"
    )]
    TooFarInFuture {
        /// How far ahead of the allowed future skew, in milliseconds.
        ahead_ms: u64,
    },
    /// The request was accepted before (same signature or nonce inside the window).
    #[error("replayed request")]
    Replayed,
    /// A Kraken-style nonce is not greater than the last one accepted for the key.
    #[error("invalid nonce: not greater than the last nonce accepted for this key")]
    StaleNonce,
    /// The replay cache is full of live entries: requests are refused until entries expire.
    #[error("replay protection is at capacity; retry shortly")]
    CacheFull,
    /// The shared replay memory (Redis) is unreachable, failing or too slow: the request is
    /// refused rather than accepted unchecked (fail closed). Nothing was decided about the
    /// request itself, so the client may send it again later.
    #[error("replay protection is unavailable (shared replay memory unreachable); retry later")]
    ReplayUnavailable,
    /// The shared replay memory restarted empty after this request could first have been
    /// accepted, so it cannot tell whether the request is a replay. Refused for one window after
    /// the restart; a request signed now is accepted.
    #[error("request signed before the shared replay memory restarted; sign a new request")]
    SignedBeforeRestart,
}

impl VerifyError {
    /// The HTTP status to answer with: 401 for every rejection of the request itself, 503 when
    /// the replay cache fails closed (full, or its shared memory unavailable).
    pub fn status(&self) -> u16 {
        match self {
            VerifyError::CacheFull | VerifyError::ReplayUnavailable => 503,
            _ => 401,
        }
    }

    /// A short machine-readable kind: `malformed`, `unknown_key`, `bad_signature`, `expired`,
    /// `replayed`, `signed_before_restart` or `unavailable`. A request too far in the future is
    /// `expired` (its time is outside the window); a stale nonce is `replayed`.
    pub fn kind(&self) -> &'static str {
        match self {
            VerifyError::Malformed(_) => "malformed",
            VerifyError::UnknownKey => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::Expired { .. } | VerifyError::TooFarInFuture { .. } => "expired",
            VerifyError::Replayed | VerifyError::StaleNonce => "replayed",
            VerifyError::CacheFull | VerifyError::ReplayUnavailable => "unavailable",
            VerifyError::SignedBeforeRestart => "signed_before_restart",
        }
    }

    /// A malformed-request error naming what is wrong.
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        VerifyError::Malformed(what.into())
    }
}
